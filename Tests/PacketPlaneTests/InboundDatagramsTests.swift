import BindingState
import Counters
import Glibc
import PacketPlane
import PlainMode
import Syscalls
import Synchronization
import Testing
import UDPRelay
import WireFormat

/// What the concentrator's queue workers do with an Internet datagram to an external endpoint
/// that endpoint-independent mapping shares between two remotes; and that the SYN gate takes the
/// PM block such a binding opens with (an IPv4 source option naming the LAN endpoint).
@Suite struct InboundDatagramsTests {
    static let external = Endpoint(address: IPAddress("192.0.2.130")!, port: 4100)
    static let remote = Endpoint(address: IPAddress("203.0.113.2")!, port: 3478)
    static let stranger = Endpoint(address: IPAddress("203.0.113.4")!, port: 3478)
    static let route = UDPReturnRoute(cpe: IPAddress("198.51.100.2")!, internal: Endpoint(address: IPAddress("192.168.1.2")!, port: 41000))

    /// An IPv4 datagram `from` -> `to` (checksum left 0: the test does not ask for it to be checked).
    static func datagram(from: Endpoint, to: Endpoint, payload: [UInt8]) -> [UInt8] {
        var udp = [UInt8](repeating: 0, count: 8)
        udp[0] = UInt8(from.port >> 8); udp[1] = UInt8(truncatingIfNeeded: from.port)
        udp[2] = UInt8(to.port >> 8); udp[3] = UInt8(truncatingIfNeeded: to.port)
        udp[4] = UInt8((8 + payload.count) >> 8); udp[5] = UInt8(truncatingIfNeeded: 8 + payload.count)
        var header = [UInt8](repeating: 0, count: 20)
        guard case .v4(let source) = from.address, case .v4(let destination) = to.address else { preconditionFailure("IPv4 only") }
        header.withUnsafeMutableBytes {
            _ = IPv4Header.write(into: $0, source: source, destination: destination, protocolNumber: 17, payloadLength: 8 + payload.count)
        }
        return header + udp + payload
    }

    /// Records whatever it is offered; takes it when `accepts`.
    final class RecordingOpener: UDPInboundOpener {
        let accepts: Bool
        let offers = Mutex<[(payload: [UInt8], remote: Endpoint, external: Endpoint, route: UDPReturnRoute)]>([])

        init(accepts: Bool) { self.accepts = accepts }

        func open(_ payload: UnsafeRawBufferPointer, from remote: Endpoint, to external: Endpoint, route: UDPReturnRoute,
                  now: ContinuousClock.Instant) -> Bool {
            offers.withLock { $0.append((Array(payload), remote, external, route)) }
            return accepts
        }
    }

    /// A channel table under endpoint filtering with one binding (external <- remote) on a
    /// socket pair; the stranger's datagram handled by `inbound` built on it.
    static func strangerVerdict(opener: RecordingOpener?) throws -> (verdict: String, counters: UDPCounters, received: Int) {
        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        let writer = Socket(rawValue: fds[0]), reader = Socket(rawValue: fds[1])
        defer { writer.close(); reader.close() }
        let table = UDPChannelTable(filtering: .endpointIndependent, backlogLimit: 4096, shardCount: 1)
        #expect(table.insert(UDPChannelKey(external: external, remote: remote), socket: writer, route: route, now: .now))
        let inbound = InboundDatagrams(channels: table, pool: [try IPPrefix("192.0.2.128/27")], opener: opener)
        let counters = UDPCounters()
        var burst = UDPBurst()
        let packet = datagram(from: stranger, to: external, payload: Array("stranger".utf8))
        let verdict = try packet.withUnsafeBytes { bytes in
            let parsed = try ParsedPacket.parse(bytes)
            return "\(inbound.handle(parsed, bytes: bytes, verifyChecksum: false, now: .now, burst: &burst, counters: counters))"
        }
        inbound.flush(&burst, counters: counters)
        var buffer = [UInt8](repeating: 0, count: 256)
        let received = try buffer.withUnsafeMutableBytes { try reader.receive(into: $0) } ?? 0
        return (verdict, counters, received)
    }

    @Test func withoutAnOpenerAStrangerIsDroppedAndCountedNeverDeliveredToAnotherRemote() throws {
        let (verdict, counters, received) = try Self.strangerVerdict(opener: nil)
        #expect(verdict == "drop" && received == 0)
        #expect(counters[.newRemoteNoInbound] == 1 && counters[.datagramsQueued] == 0 && counters[.filteredRemote] == 0)
    }

    @Test func anOpenerIsOfferedTheStrangerWithTheMappingsLANEndpoint() throws {
        for accepts in [true, false] {
            let opener = RecordingOpener(accepts: accepts)
            let (verdict, counters, received) = try Self.strangerVerdict(opener: opener)
            #expect(verdict == "drop" && received == 0)
            let offers = opener.offers.withLock { $0 }
            #expect(offers.count == 1)
            #expect(offers.first?.payload == Array("stranger".utf8) && offers.first?.remote == Self.stranger
                    && offers.first?.external == Self.external && offers.first?.route == Self.route)
            // Taken: the opener counts it; refused: dropped and counted here.
            #expect(counters[.newRemoteNoInbound] == (accepts ? 0 : 1))
        }
    }

    /// The block a CPE opens a UDP flow with (source option: the LAN endpoint, IPv4 too) passes
    /// the gate, as the stream plane's parser takes it, under the default policy.
    @Test func theGateAcceptsAUDPBlockNamingAnIPv4LANEndpoint() throws {
        let block = PlainModeBlock(
            source: PlainModeOption(direction: .source, protocolNumber: 17, address: IPAddress("192.168.1.2")!, port: 41000),
            destination: PlainModeOption(direction: .destination, protocolNumber: 17, address: IPAddress("203.0.113.2")!, port: 3478))
        let payload = block.encoded() + [0, 4] + Array("ping".utf8)
        let gate = SynGate(settings: SynGateSettings(policy: PlainModePolicy()), shards: 4)
        let packet = SynGateTests.syn(options: SynGateTests.mpCapable, payload: payload)
        #expect(SynGateTests.decide(gate, packet) == .acceptedWithPlainMode)
        let parsed = try PlainModeBlock.parse(block.encoded())
        #expect(parsed.block.source?.port == 41000)
    }
}
