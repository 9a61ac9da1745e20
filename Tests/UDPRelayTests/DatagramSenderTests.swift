import BindingState
import Counters
import Glibc
import NamespaceSupport
import Syscalls
import Testing
import UDPRelay
import WireFormat

/// `DatagramSender` against the real kernel, in a network namespace the test makes: datagrams
/// built in place and sent in `sendmmsg` batches reach a UDP socket whole, in order, from the
/// source they name (the kernel drops a locally built datagram whose checksum is not whole).
@Suite(.serialized) struct DatagramSenderTests {
    static let port: UInt16 = 9998

    static func payload(_ index: Int) -> [UInt8] {
        (0..<(index * 37 % 1400)).map { UInt8(truncatingIfNeeded: $0 &+ index) }
    }

    @Test func batchedDatagramsArriveWholeInOrderFromTheirSource() throws {
        try Namespace.with("sender") { namespace in
            let result = try namespace.onThread { () throws -> (received: [[UInt8]], ports: [UInt16], sources: Set<UInt32>, counters: [Int]) in
                let receiver = try UDPSocket(bindingLoopbackPort: Self.port)
                defer { receiver.close() }
                let counters = UDPCounters()
                let sender = try DatagramSender(counters: counters)
                let destination = Endpoint(address: .v4(IPv4Address(0x7F00_0001)), port: Self.port)
                // 100 datagrams of 0..1399 bytes from 127.0.0.2, ports 1000-1002; flushed every 7,
                // so batches end both at a flush and at the 32-datagram capacity.
                var received: [[UInt8]] = []
                var ports: [UInt16] = []
                var sources: Set<UInt32> = []
                // The sender keeps payload pointers until its flush: the payloads live in one block.
                let payloads = (0..<100).map(Self.payload)
                let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: payloads.reduce(0) { $0 + $1.count }, alignment: 1)
                defer { storage.deallocate() }
                var offsets = [0]
                for payload in payloads {
                    storage.baseAddress!.advanced(by: offsets.last!).copyMemory(from: payload, byteCount: payload.count)
                    offsets.append(offsets.last! + payload.count)
                }
                for start in stride(from: 0, to: 100, by: 7) {
                    for index in start..<min(start + 7, 100) {
                        sender.send(UnsafeRawBufferPointer(rebasing: storage[offsets[index]..<offsets[index + 1]]),
                                    from: Endpoint(address: .v4(IPv4Address(0x7F00_0002)), port: UInt16(1000 + index % 3)),
                                    to: destination)
                    }
                    sender.flush()
                    while let datagram = receiver.receiveWithSource(timeoutMilliseconds: 20) {
                        received.append(datagram.bytes)
                        ports.append(datagram.port)
                        sources.insert(datagram.address)
                    }
                }
                while received.count < 100, let datagram = receiver.receiveWithSource(timeoutMilliseconds: 1000) {
                    received.append(datagram.bytes)
                    ports.append(datagram.port)
                    sources.insert(datagram.address)
                }
                // Mixed families are refused, too-large payloads are not sent: both counted.
                [UInt8](repeating: 0, count: 10).withUnsafeBytes { bytes in
                    sender.send(bytes, from: Endpoint(address: .v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: 1)), port: 1),
                                to: destination)
                }
                [UInt8](repeating: 0, count: 65_508).withUnsafeBytes { bytes in
                    sender.send(bytes, from: Endpoint(address: .v4(IPv4Address(0x7F00_0002)), port: 1), to: destination)
                }
                sender.flush()
                return (received, ports, sources, [counters[.datagramsSent], counters[.datagramSendErrors], counters[.datagramTooBig]])
            }
            #expect(result.received == (0..<100).map(Self.payload))
            #expect(result.ports == (0..<100).map { UInt16(1000 + $0 % 3) })
            #expect(result.sources == [0x7F00_0002])
            #expect(result.counters == [100, 1, 1])
        }
    }
}
