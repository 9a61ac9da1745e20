import BindingState
import Glibc
import SystemPackage
import PlainMode
import Syscalls
import Testing
import UDPRelay
import WireFormat

/// A non-blocking Unix stream pair with small buffers: the writer's socket fills quickly.
final class StreamPair {
    let writer: Socket
    let reader: Socket

    init() throws {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw Errno(rawValue: errno) }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        writer = Socket(rawValue: fds[0])
        reader = Socket(rawValue: fds[1])
        try writer.setOption(level: SOL_SOCKET, name: SO_SNDBUF, 4096)
    }

    deinit {
        writer.close()
        reader.close()
    }

    /// Everything readable now, decoded as records.
    func drainRecords(into decoder: inout UDPFrameDecoder) throws -> [[UInt8]] {
        var records: [[UInt8]] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try reader.receive(into: $0) }
            guard let n, n > 0 else { return records }
            try decoder.decode(Array(chunk[..<n])) { records.append(Array($0)) }
        }
    }
}

@Suite struct RecordWriterTests {
    static func payload(_ index: Int, length: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
    }

    /// The socket fills mid-record: the tail waits in the backlog, later records queue behind it
    /// up to the limit and the rest are dropped whole; what the reader sees is always whole records.
    @Test func recordsAreWrittenWholeOrDroppedWhole() throws {
        let pair = try StreamPair()
        var writer = RecordWriter(socket: pair.writer, backlogLimit: 3000)
        var outcomes: [RecordWriter.Outcome] = []
        for index in 0..<200 {
            let bytes = Self.payload(index, length: 700)
            outcomes.append(bytes.withUnsafeBytes { writer.write($0) })
        }
        #expect(outcomes.contains(.backlogged), "the 4 KiB socket never filled: \(outcomes)")
        #expect(outcomes.contains(.dropped), "the 3000-byte backlog never overflowed")
        #expect(writer.backlogCount <= 3000 + 702)
        var decoder = UDPFrameDecoder()
        var received: [[UInt8]] = []
        for _ in 0..<100 {
            received += try pair.drainRecords(into: &decoder)
            if writer.flush() == .written && writer.backlogCount == 0 { break }
        }
        received += try pair.drainRecords(into: &decoder)
        #expect(decoder.bufferedByteCount == 0, "the stream ended mid-record")
        let expected = outcomes.indices.filter { outcomes[$0] != .dropped }.map { Self.payload($0, length: 700) }
        #expect(received == expected)
    }

    /// While connecting, records wait (and bytes the SYN could not carry go first).
    @Test func recordsWaitWhileConnecting() throws {
        let pair = try StreamPair()
        var writer = RecordWriter(socket: pair.writer, backlogLimit: 1000, isConnecting: true)
        writer.owe([0, 2, 0xAA, 0xBB][...])
        #expect([UInt8](repeating: 1, count: 10).withUnsafeBytes { writer.write($0) } == .backlogged)
        #expect([UInt8](repeating: 2, count: 990).withUnsafeBytes { writer.write($0) } == .dropped)
        #expect(writer.flush() == .written && writer.backlogCount == 16, "nothing is sent before the handshake")
        writer.isConnecting = false
        #expect(writer.flush() == .written && writer.backlogCount == 0)
        var decoder = UDPFrameDecoder()
        #expect(try pair.drainRecords(into: &decoder) == [[0xAA, 0xBB], [UInt8](repeating: 1, count: 10)])
    }

    @Test func aClosedPeerIsAFailureNotADrop() throws {
        let pair = try StreamPair()
        pair.reader.close()
        var writer = RecordWriter(socket: pair.writer, backlogLimit: 100)
        let outcome = [UInt8](repeating: 0, count: 10).withUnsafeBytes { writer.write($0) }
        guard case .failed = outcome else {
            Issue.record("writing to a closed peer gave \(outcome)")
            return
        }
    }
}

@Suite struct UDPChannelTableTests {
    static let external = Endpoint(address: .v4(IPv4Address(0xC000_0280)), port: 1024)
    static let remote = Endpoint(address: .v4(IPv4Address(0xCB00_7102)), port: 53)
    static let stranger = Endpoint(address: .v4(IPv4Address(0xCB00_7102)), port: 9998)

    /// Delivers "hello" as a burst of one and flushes it.
    static func deliver(_ table: UDPChannelTable, from remote: Endpoint, to external: Endpoint = external) -> UDPChannelTable.Delivery {
        var burst = UDPBurst()
        let delivery = [UInt8]("hello".utf8).withUnsafeBytes { table.deliver($0, from: remote, to: external, now: .now, burst: &burst) }
        #expect(table.flush(&burst) == 0 && burst.isEmpty)
        return delivery
    }

    /// A burst's records reach the stream only at its flush, whole and in order; staging past
    /// the limit sends what is staged first, and what the full socket cannot take is dropped whole.
    @Test func aBurstIsStagedAndSentByOneFlush() throws {
        let pair = try StreamPair()
        let table = UDPChannelTable(filtering: .addressAndPortDependent, backlogLimit: 3000, shardCount: 4)
        #expect(table.insert(UDPChannelKey(external: Self.external, remote: Self.remote), socket: pair.writer, now: .now))
        var decoder = UDPFrameDecoder()
        var burst = UDPBurst()
        for index in 0..<3 {
            let delivery = RecordWriterTests.payload(index, length: 700).withUnsafeBytes {
                table.deliver($0, from: Self.remote, to: Self.external, now: .now, burst: &burst)
            }
            #expect(delivery == .written)
        }
        #expect(try pair.drainRecords(into: &decoder).isEmpty, "staged records went out before the flush")
        #expect(table.flush(&burst) == 0 && burst.isEmpty)
        #expect(try pair.drainRecords(into: &decoder) == (0..<3).map { RecordWriterTests.payload($0, length: 700) })

        var deliveries: [UDPChannelTable.Delivery] = []
        for index in 0..<200 {
            deliveries.append(RecordWriterTests.payload(index, length: 700).withUnsafeBytes {
                table.deliver($0, from: Self.remote, to: Self.external, now: .now, burst: &burst)
            })
        }
        #expect(deliveries.filter { $0 == .written }.count > 4, "staging past 3000 bytes did not send the staged records")
        #expect(deliveries.contains(.droppedBacklogFull), "the socket and the 3000-byte buffer never filled")
        #expect(table.flush(&burst) == 0)
        let kept = deliveries.indices.filter { deliveries[$0] != .droppedBacklogFull }
        var received: [[UInt8]] = []
        for _ in 0..<100 where received.count < kept.count {
            received += try pair.drainRecords(into: &decoder)
            #expect(table.flush(UDPChannelKey(external: Self.external, remote: Self.remote)) == nil)
        }
        #expect(decoder.bufferedByteCount == 0, "the stream ended mid-record")
        #expect(received == kept.map { RecordWriterTests.payload($0, length: 700) })
    }

    @Test func addressAndPortDependentFilteringTakesOnlyTheNamedRemote() throws {
        let pair = try StreamPair()
        let table = UDPChannelTable(filtering: .addressAndPortDependent, backlogLimit: 1000, shardCount: 4)
        #expect(Self.deliver(table, from: Self.remote) == .noBinding)
        let key = UDPChannelKey(external: Self.external, remote: Self.remote)
        #expect(table.insert(key, socket: pair.writer, now: .now))
        #expect(!table.insert(key, socket: pair.writer, now: .now), "a second binding with the same key")
        #expect(Self.deliver(table, from: Self.remote) == .written)
        #expect(Self.deliver(table, from: Self.stranger) == .filtered)
        #expect(Self.deliver(table, from: Self.remote, to: Endpoint(address: Self.external.address, port: 1025)) == .noBinding)
        table.remove(key)
        #expect(Self.deliver(table, from: Self.remote) == .noBinding)
        #expect(table.count == 0)
        var decoder = UDPFrameDecoder()
        #expect(try pair.drainRecords(into: &decoder) == [Array("hello".utf8)])
    }

    /// Any remote is admitted, but a record carries no source: one the binding does not name is
    /// handed back as a new remote (for an inbound connection), never written into the binding.
    @Test func endpointIndependentFilteringAdmitsAnyRemoteButWritesOnlyTheNamedOne() throws {
        let pair = try StreamPair()
        let table = UDPChannelTable(filtering: .endpointIndependent, backlogLimit: 1000, shardCount: 4)
        #expect(table.insert(UDPChannelKey(external: Self.external, remote: Self.remote), socket: pair.writer, now: .now))
        #expect(Self.deliver(table, from: Self.stranger) == .newRemote(nil))
        #expect(Self.deliver(table, from: Self.remote) == .written)
        var decoder = UDPFrameDecoder()
        #expect(try pair.drainRecords(into: &decoder) == [Array("hello".utf8)])
    }
}
