@testable import StreamPlane
import Syscalls
import SystemPackage
import Testing
import TestSupport
import WireFormat
import Glibc

/// The relay's per-direction pump over real loopback TCP sockets: every byte arrives in order,
/// end of stream becomes a half-close, a reset becomes a source failure.
@Suite struct SpliceChannelTests {
    /// A connected pair of non-blocking loopback TCP sockets.
    static func connectedPair() throws -> (Socket, Socket) {
        let loopback = SocketAddress(.v4(IPv4Address(127, 0, 0, 1)), port: 0)
        let listener = try Socket.stream(family: loopback.family)
        defer { listener.close() }
        try listener.bind(loopback)
        try listener.listen(backlog: 1)
        let client = try Socket.stream(family: loopback.family)
        _ = try client.connect(to: try listener.localAddress())
        for _ in 0..<1000 {
            if let (server, _) = try listener.accept() { return (client, server) }
            usleep(1000)
        }
        throw Errno.timedOut
    }

    /// Blocking-style helpers for the test's own ends (bounded polling).
    static func sendAll(_ socket: Socket, _ bytes: [UInt8]) throws {
        var offset = 0
        for _ in 0..<100_000 where offset < bytes.count {
            if let n = try socket.send(bytes, from: offset) { offset += n } else { usleep(100) }
        }
        #expect(offset == bytes.count)
    }

    @Test func relaysEveryByteInOrderThenHalfCloses() throws {
        let (writer, source) = try Self.connectedPair()
        let (destination, reader) = try Self.connectedPair()
        defer { [writer, source, destination, reader].forEach { $0.close() } }
        var channel = SpliceChannel()
        channel.pipe = try Pipe()
        defer { channel.pipe?.close() }

        var generator = SplitMix64(seed: 3)
        let payload = (0..<300_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        var received: [UInt8] = []
        var sent = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        var sawEnd = false
        for _ in 0..<200_000 where !sawEnd {
            if sent < payload.count, let n = try writer.send(Array(payload[sent..<min(sent + 8192, payload.count)]), from: 0) {
                sent += n
                if sent == payload.count { writer.shutdownWrite() }
            }
            if case .sourceFailed(let e) = channel.pump(from: source, to: destination) { Issue.record("source failed: \(e)") }
            let n = try chunk.withUnsafeMutableBytes { try reader.receive(into: $0) }
            if let n {
                if n == 0 { sawEnd = true } else { received += chunk[..<n] }
            }
        }
        #expect(sawEnd, "no end of stream after the source's FIN")
        #expect(received == payload)
        #expect(channel.isFinished)
    }

    @Test func aResetSourceIsReported() throws {
        let (writer, source) = try Self.connectedPair()
        let (destination, reader) = try Self.connectedPair()
        defer { [source, destination, reader].forEach { $0.close() } }
        var channel = SpliceChannel()
        channel.pipe = try Pipe()
        defer { channel.pipe?.close() }
        try Self.sendAll(writer, [1, 2, 3])
        writer.abort()  // RST
        var failed = false
        for _ in 0..<1000 where !failed {
            if case .sourceFailed(let error) = channel.pump(from: source, to: destination) {
                #expect(error == .connectionReset)
                failed = true
            }
            usleep(1000)
        }
        #expect(failed)
    }

    @Test func pendingBytesGoFirst() throws {
        let (writer, source) = try Self.connectedPair()
        let (destination, reader) = try Self.connectedPair()
        defer { [writer, source, destination, reader].forEach { $0.close() } }
        var channel = SpliceChannel()
        channel.pipe = try Pipe()
        defer { channel.pipe?.close() }
        let block: [UInt8] = [0x1E, 0x0A, 0xE0, 0x06, 0xCB, 0x00, 0x71, 0x02, 0x1F, 0x96, 0x00]
        channel.pending = block
        try Self.sendAll(writer, Array("hello".utf8))
        writer.shutdownWrite()
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 256)
        for _ in 0..<2000 where received.count < 16 {
            _ = channel.pump(from: source, to: destination)
            if let n = try chunk.withUnsafeMutableBytes({ try reader.receive(into: $0) }), n > 0 { received += chunk[..<n] }
            usleep(500)
        }
        #expect(received == block + Array("hello".utf8))
        #expect(!channel.hasPending)
    }
}
