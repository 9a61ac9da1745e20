import BindingState
import Counters
import Glibc
import NamespaceSupport
import Syscalls
import Testing
import UDPRelay
import WireFormat

/// `SegmentingDatagramSender` against the real kernel, in a network namespace the test makes:
/// datagrams sent through a transparent UDP socket, equal sizes gathered into segmented sends
/// (UDP GSO), reach a UDP socket whole, in order, from the remote endpoint the socket is bound to.
@Suite(.serialized) struct SegmentingDatagramSenderTests {
    static let port: UInt16 = 9997
    static let remote = SocketAddress(.v4(IPv4Address(0x7F00_0002)), port: 5353)
    static let destination = Endpoint(address: .v4(IPv4Address(0x7F00_0001)), port: port)

    struct Run: Sendable {
        var received: [[UInt8]] = []
        var sources: Set<String> = []
        var counters: [UDPCounter: Int] = [:]
    }

    /// Sends `sizes` (payload bytes derived from the index), flushing after every `flushEvery`,
    /// and collects what the receiver gets.
    static func send(_ sizes: [Int], flushEvery: Int, in namespace: Namespace) throws -> Run {
        try namespace.onThread { () throws -> Run in
            let receiver = try UDPSocket(bindingLoopbackPort: port)
            defer { receiver.close() }
            var receiveBuffer: Int32 = 16 << 20  // a whole batch waits there until drained
            setsockopt(receiver.fd, SOL_SOCKET, SO_RCVBUFFORCE, &receiveBuffer, socklen_t(MemoryLayout<Int32>.size))
            let socket = try Socket.transparentDatagram(boundTo: remote, sendBuffer: 1 << 20)
            defer { socket.close() }
            let counters = UDPCounters()
            let sender = SegmentingDatagramSender(counters: counters)
            // The sender keeps payload pointers until its flush: the payloads live in one block.
            let payloads = sizes.enumerated().map { index, size in (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) } }
            let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, sizes.reduce(0, +)), alignment: 1)
            defer { storage.deallocate() }
            var offsets = [0]
            for payload in payloads {
                storage.baseAddress!.advanced(by: offsets.last!).copyMemory(from: payload, byteCount: payload.count)
                offsets.append(offsets.last! + payload.count)
            }
            var run = Run()
            func drain(timeout: Int32) {
                while let datagram = receiver.receiveWithSource(timeoutMilliseconds: timeout) {
                    run.received.append(datagram.bytes)
                    run.sources.insert("\(IPv4Address(datagram.address)):\(datagram.port)")
                }
            }
            for start in stride(from: 0, to: sizes.count, by: flushEvery) {
                for index in start..<min(start + flushEvery, sizes.count) {
                    sender.send(UnsafeRawBufferPointer(rebasing: storage[offsets[index]..<offsets[index + 1]]),
                                to: destination, through: socket)
                }
                sender.flush()
                drain(timeout: 20)
            }
            while run.received.count < sizes.count, let datagram = receiver.receiveWithSource(timeoutMilliseconds: 1000) {
                run.received.append(datagram.bytes)
                run.sources.insert("\(IPv4Address(datagram.address)):\(datagram.port)")
            }
            for counter in UDPCounter.allCases where counters[counter] != 0 { run.counters[counter] = counters[counter] }
            return run
        }
    }

    static func expected(_ sizes: [Int]) -> [[UInt8]] {
        sizes.enumerated().map { index, size in (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) } }
    }

    /// Runs of one size become one segmented send each; a shorter datagram ends a run, a larger
    /// one, the 64-segment cap and the 65 507-byte cap start a new one; an empty datagram goes alone.
    @Test func equalSizesGoAsSegmentedSendsAndArriveWholeInOrder() throws {
        // Segmented sends: [10 x 1000 + 500], [3 x 1000], (1400 alone), (0 alone), [64 x 100], [6 x 100],
        // [46 x 1400] (47 would pass 65 507 bytes), [4 x 1400 + 7].
        let sizes = Array(repeating: 1000, count: 10) + [500] + Array(repeating: 1000, count: 3) + [1400, 0]
            + Array(repeating: 100, count: 70) + Array(repeating: 1400, count: 50) + [7]
        try Namespace.with("gso") { namespace in
            let run = try Self.send(sizes, flushEvery: 1000, in: namespace)
            #expect(run.received == Self.expected(sizes))
            #expect(run.sources == ["127.0.0.2:5353"])
            #expect(run.counters == [.datagramsSent: sizes.count, .segmentedSends: 6])
        }
    }

    /// More datagrams than the batch holds, and random sizes: all arrive, in order.
    @Test func randomSizesAcrossManyBatchesArriveWholeInOrder() throws {
        var generator = SystemRandomNumberGenerator()
        // Runs of a random size and length, so segmented and single sends mix.
        var sizes: [Int] = []
        while sizes.count < 1500 {
            sizes += Array(repeating: Int.random(in: 0...1472, using: &generator), count: Int.random(in: 1...40, using: &generator))
        }
        try Namespace.with("gso-random") { namespace in
            let run = try Self.send(sizes, flushEvery: 300, in: namespace)
            #expect(run.received.count == sizes.count)
            #expect(run.received == Self.expected(sizes))
            #expect(run.counters[.datagramsSent] == sizes.count)
            #expect(run.counters[.datagramSendErrors] == nil && run.counters[.datagramSendBlocked] == nil)
            #expect((run.counters[.segmentedSends] ?? 0) > 0)
        }
    }

    /// A segmented send the kernel refuses (datagrams over the link MTU: EINVAL) is retried one
    /// datagram at a time, so each gets its own verdict (too big, counted) and none is lost silently.
    @Test func aRefusedSegmentedSendIsRetriedOneByOne() throws {
        try Namespace.with("gso-mtu") { namespace in
            try Namespace.run(["ip", "-n", namespace.name, "link", "set", "lo", "mtu", "1500"])
            // Flushed after the third: [3 x 1600] is refused and retried, [2 x 200] goes segmented.
            let sizes = [1600, 1600, 1600, 200, 200]
            let run = try Self.send(sizes, flushEvery: 3, in: namespace)
            #expect(run.received == Array(Self.expected(sizes)[3...]))
            #expect(run.counters == [.datagramsSent: 2, .segmentedSends: 1, .segmentationRefused: 1, .datagramTooBig: 3])
        }
    }
}
