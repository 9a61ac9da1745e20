import Foundation
import Glibc
import NamespaceSupport
import NetfilterQueue
import Syscalls
import Testing
import WireFormat

/// The NFQUEUE engine against the real kernel: each test makes its own network namespace, queues
/// UDP sent to 127.0.0.1 inside it, and removes the namespace even when the test fails.
@Suite(.serialized) struct NetfilterQueueTests {
    static let port: UInt16 = 9999

    /// Queues UDP to the test port to `number`, then runs `body` on a thread in the namespace with
    /// the bound queue, a receiver on the port and a sender; all three are closed after it.
    static func withLoopbackQueue<R: Sendable>(_ namespace: Namespace, queue number: UInt16,
                                               _ body: @escaping @Sendable (NetfilterQueue, UDPSocket, UDPSocket) throws -> R) throws -> R {
        try namespace.queueUDP(port: port, queue: number)
        return try namespace.onThread { () throws -> R in
            let queue = try NetfilterQueue(NetfilterQueueConfiguration(queue: number))
            defer { queue.close() }
            let receiver = try UDPSocket(bindingLoopbackPort: port)
            defer { receiver.close() }
            let sender = try UDPSocket(bindingLoopbackPort: 0)
            defer { sender.close() }
            return try body(queue, receiver, sender)
        }
    }

    @Test func verdictsDecideWhichDatagramsAreDelivered() throws {
        try Namespace.with("verdict") { namespace in
            let result = try Self.withLoopbackQueue(namespace, queue: 3) { (queue, receiver, sender) throws -> (delivered: [UInt8], counters: [NetfilterQueueCounter: Int], payloadsOK: Bool) in
                var payloadsOK = true
                var seen = 0
                // Datagram i carries [i, i, i, ...] (i + 1 bytes): even ones are dropped.
                for index in 0..<100 { try sender.send([UInt8](repeating: UInt8(index), count: index + 1), toLoopbackPort: Self.port) }
                let deadline = ContinuousClock.now + .seconds(10)
                while seen < 100 && ContinuousClock.now < deadline {
                    seen += queue.processBurst(timeoutMilliseconds: 100) { packet in
                        let bytes = packet.bytes
                        // IPv4 + UDP header, then the payload the sender wrote.
                        let headerLength = bytes.count >= 20 ? Int(bytes[0] & 0x0F) * 4 : 0
                        let payload = bytes.count >= headerLength + 8 ? Array(bytes[(headerLength + 8)...]) : []
                        guard let first = payload.first, payload.count == Int(first) + 1, payload.allSatisfy({ $0 == first }),
                              packet.hardwareProtocol == 0x0800, !packet.isTruncated,
                              // Sent on loopback: the checksum is partial, not for the consumer to check.
                              packet.checksumNotReady, !packet.checksumNeedsVerifying
                        else {
                            payloadsOK = false
                            return .accept
                        }
                        return first % 2 == 0 ? .drop : .accept
                    }
                }
                var delivered: [UInt8] = []
                while let datagram = receiver.receive(timeoutMilliseconds: delivered.count < 50 ? 1000 : 100) { delivered.append(datagram[0]) }
                let counters = Dictionary(uniqueKeysWithValues: NetfilterQueueCounter.allCases.map { ($0, queue.counters[$0]) })
                return (delivered, counters, payloadsOK)
            }
            #expect(result.payloadsOK, "a queued packet did not carry the datagram that was sent")
            #expect(result.delivered.sorted() == Array(stride(from: 1, to: 100, by: 2)).map(UInt8.init))
            #expect(result.counters[.received] == 100)
            #expect(result.counters[.dropped] == 50)
            #expect(result.counters[.accepted] == 50)
            #expect(result.counters[.verdictErrors] == 0)
            #expect(result.counters[.receiveOverruns] == 0)
        }
    }

    /// 256 datagrams queued before the first receive (so bursts are full), each given `verdict`;
    /// returns how many reached the receiver, the verdict sends, the receive system calls and the
    /// queue's drop count.
    static func answerFullBursts(_ namespace: Namespace, queue number: UInt16, with verdict: Verdict) throws
        -> (delivered: Int, sends: Int, receives: Int, dropped: Int)
    {
        try withLoopbackQueue(namespace, queue: number) { (queue, receiver, sender) throws -> (Int, Int, Int, Int) in
            for index in 0..<256 { try sender.send([UInt8(index & 0xFF)], toLoopbackPort: port) }
            var seen = 0
            let deadline = ContinuousClock.now + .seconds(10)
            while seen < 256 && ContinuousClock.now < deadline { seen += queue.processBurst(timeoutMilliseconds: 100) { _ in verdict } }
            var delivered = 0
            while delivered < 256, receiver.receive(timeoutMilliseconds: verdict == .accept ? 1000 : 300) != nil { delivered += 1 }
            return (delivered, queue.counters[.verdictSends], queue.counters[.receiveCalls], queue.counters[.dropped])
        }
    }

    @Test func aBurstOfAcceptsIsAnsweredWithFewSends() throws {
        try Namespace.with("batch") { namespace in
            let result = try Self.answerFullBursts(namespace, queue: 4, with: .accept)
            #expect(result.delivered == 256)
            // 256 packets in bursts of at most 64: one batch verdict per burst.
            #expect(result.sends >= 4 && result.sends < 64, "verdict sends: \(result.sends)")
            // Up to 16 packets per recvmmsg: 256 packets take at least 16 calls, far fewer than 256.
            #expect(result.receives >= 16 && result.receives <= 64, "receive calls: \(result.receives)")
        }
    }

    @Test func aBurstOfDropsIsAnsweredWithFewSendsAndDeliversNothing() throws {
        try Namespace.with("dropbatch") { namespace in
            let result = try Self.answerFullBursts(namespace, queue: 7, with: .drop)
            // The carried datagrams' case: every packet of a burst consumed, one batch drop each.
            #expect(result.delivered == 0)
            #expect(result.dropped == 256)
            #expect(result.sends >= 4 && result.sends < 64, "verdict sends: \(result.sends)")
        }
    }

    @Test func aQueueHeldByAnotherSocketIsAClearError() throws {
        try Namespace.with("owned") { namespace in
            let message = try namespace.onThread { () throws -> String in
                let first = try NetfilterQueue(NetfilterQueueConfiguration(queue: 5))
                defer { first.close() }
                do {
                    let second = try NetfilterQueue(NetfilterQueueConfiguration(queue: 5))
                    second.close()
                    return "second bind succeeded"
                } catch let error as NetfilterQueueError {
                    #expect(error == .queueOwned(5))
                    return error.description
                }
            }
            #expect(message.contains("bound by another process"), "\(message)")
        }
    }

    @Test func invalidSettingsAreRefusedBeforeTheKernelIsAsked() {
        var configuration = NetfilterQueueConfiguration(queue: 0)
        configuration.burst = 0
        #expect(throws: NetfilterQueueError.self) { _ = try NetfilterQueue(configuration) }
        configuration.burst = 64
        configuration.copyRange = 10
        #expect(throws: NetfilterQueueError.self) { _ = try NetfilterQueue(configuration) }
    }

    @Test func withoutAConsumerTheBypassRuleLetsDatagramsThrough() throws {
        try Namespace.with("bypass") { namespace in
            try namespace.queueUDP(port: Self.port, queue: 6)
            let delivered = try namespace.onThread { () throws -> Int in
                let receiver = try UDPSocket(bindingLoopbackPort: Self.port)
                defer { receiver.close() }
                let sender = try UDPSocket(bindingLoopbackPort: 0)
                defer { sender.close() }
                for index in 0..<10 { try sender.send([UInt8(index)], toLoopbackPort: Self.port) }
                var delivered = 0
                while receiver.receive(timeoutMilliseconds: 1000) != nil && delivered < 10 { delivered += 1 }
                return delivered
            }
            #expect(delivered == 10)
        }
    }

    /// The delay line's verdicts: held packets stay queued until `acceptHeld(through:)`, which
    /// releases every packet up to that id, in order, and no batch verdict releases them earlier.
    @Test func heldPacketsLeaveOnlyWhenReleasedAndInOrder() throws {
        try Namespace.with("hold") { namespace in
            let result = try Self.withLoopbackQueue(namespace, queue: 8) { (queue, receiver, sender) throws -> (early: Int, afterFirst: [UInt8], afterAll: [UInt8], held: Int) in
                for index in 0..<10 { try sender.send([UInt8(index)], toLoopbackPort: Self.port) }
                var ids: [UInt32] = []
                let deadline = ContinuousClock.now + .seconds(10)
                while ids.count < 10 && ContinuousClock.now < deadline {
                    queue.processBurst(timeoutMilliseconds: 100) { packet in
                        ids.append(packet.id)
                        return .hold
                    }
                }
                var early = 0
                while receiver.receive(timeoutMilliseconds: 300) != nil { early += 1 }
                guard ids.count == 10 else { return (early, [], [], queue.counters[.held]) }
                queue.acceptHeld(through: ids[3])
                var afterFirst: [UInt8] = []
                while afterFirst.count < 4, let datagram = receiver.receive(timeoutMilliseconds: 1000) { afterFirst.append(datagram[0]) }
                queue.acceptHeld(through: ids[9])
                var afterAll: [UInt8] = []
                while afterAll.count < 6, let datagram = receiver.receive(timeoutMilliseconds: 1000) { afterAll.append(datagram[0]) }
                return (early, afterFirst, afterAll, queue.counters[.held])
            }
            #expect(result.early == 0, "held datagrams were delivered before their release")
            #expect(result.afterFirst == [0, 1, 2, 3])
            #expect(result.afterAll == [4, 5, 6, 7, 8, 9])
            #expect(result.held == 10)
        }
    }

    /// `.acceptRewritten` hands the changed bytes back: locally sent UDP (partial checksum) with
    /// its payload changed and the full checksum computed arrives changed (FACTS.md 3).
    @Test func rewrittenPacketsArriveAsRewritten() throws {
        try Namespace.with("rewrite") { namespace in
            let result = try Self.withLoopbackQueue(namespace, queue: 9) { (queue, receiver, sender) throws -> (delivered: [[UInt8]], rewritten: Int, failures: Int) in
                for index in 0..<20 { try sender.send([UInt8(index), 0xAA], toLoopbackPort: Self.port) }
                var seen = 0
                let deadline = ContinuousClock.now + .seconds(10)
                while seen < 20 && ContinuousClock.now < deadline {
                    seen += queue.processBurst(timeoutMilliseconds: 100) { packet in
                        guard let parsed = try? ParsedPacket.parse(packet.bytes) else { return .accept }
                        packet.withMutableBytes { bytes in
                            bytes[parsed.payloadOffset + 1] = 0x55
                            TransportChecksum.fill(bytes, parsed)
                        }
                        return .acceptRewritten
                    }
                }
                var delivered: [[UInt8]] = []
                while delivered.count < 20, let datagram = receiver.receive(timeoutMilliseconds: 1000) { delivered.append(datagram) }
                return (delivered, queue.counters[.rewritten], queue.counters[.rewriteFailures])
            }
            #expect(result.delivered.count == 20)
            #expect(result.delivered.allSatisfy { $0.count == 2 && $0[1] == 0x55 }, "\(result.delivered)")
            #expect(result.rewritten == 20 && result.failures == 0)
        }
    }
}
