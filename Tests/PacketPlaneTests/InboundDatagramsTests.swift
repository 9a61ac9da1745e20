import BindingState
import Counters
import Glibc
import PacketPlane
import PlainMode
import Syscalls
import Synchronization
import SystemPackage
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
        let offers = Mutex<[(payload: [UInt8], request: UDPInboundRequest)]>([])

        init(accepts: Bool) { self.accepts = accepts }

        func open(_ payload: UnsafeRawBufferPointer, _ request: UDPInboundRequest, now: ContinuousClock.Instant) -> Bool {
            offers.withLock { $0.append((Array(payload), request)) }
            return accepts
        }
    }

    /// One PCP mapping: `external` (UDP) to a LAN host behind CPE 198.51.100.2.
    final class OneMapping: InboundMappingLookup {
        func inboundRoute(_ transport: TransportProtocol, to external: Endpoint, from remote: Endpoint) -> InboundRoute? {
            guard transport == .udp, external == InboundDatagramsTests.external else { return nil }
            return InboundRoute(subscriber: SubscriberID("198.51.100.2"), cpeAddress: IPAddress("198.51.100.2")!, external: external,
                                internal: Endpoint(address: IPAddress("192.168.1.2")!, port: 9000))
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
            let request = offers.first?.request
            #expect(offers.first?.payload == Array("stranger".utf8) && request?.key.remote == Self.stranger
                    && request?.key.external == Self.external && request?.cpe == Self.route.cpe
                    && request?.destination == Self.route.internal && request?.target == .endpointMapping)
            // Taken: counted as an inbound open; refused: dropped and counted here.
            #expect(counters[.newRemoteNoInbound] == (accepts ? 0 : 1) && counters[.inboundOpens] == (accepts ? 1 : 0))
        }
    }

    /// A datagram to a PCP-mapped pool port with no binding goes to the opener with the mapped
    /// endpoint as the PM destination; one to an unmapped pool port is dropped and counted.
    @Test func aMappedPortOpensAnInboundBindingAnUnmappedOneIsDropped() throws {
        let opener = RecordingOpener(accepts: true)
        let inbound = InboundDatagrams(channels: UDPChannelTable(filtering: .addressAndPortDependent, backlogLimit: 4096, shardCount: 1),
                                       pool: [try IPPrefix("192.0.2.128/27")], opener: opener, mappings: OneMapping())
        let counters = UDPCounters()
        var burst = UDPBurst()
        for port in [Self.external.port, Self.external.port + 1] {
            let packet = Self.datagram(from: Self.remote, to: Endpoint(address: Self.external.address, port: port), payload: [1, 2, 3])
            let verdict = try packet.withUnsafeBytes { bytes in
                "\(inbound.handle(try ParsedPacket.parse(bytes), bytes: bytes, verifyChecksum: false, now: .now, burst: &burst, counters: counters))"
            }
            #expect(verdict == "drop")
        }
        let offers = opener.offers.withLock { $0 }
        #expect(offers.count == 1 && offers.first?.payload == [1, 2, 3])
        #expect(offers.first?.request == UDPInboundRequest(key: UDPChannelKey(external: Self.external, remote: Self.remote),
                                                           cpe: IPAddress("198.51.100.2")!, destination: Self.external,
                                                           target: .mapping(SubscriberID("198.51.100.2"))))
        #expect(counters[.inboundOpens] == 1 && counters[.noBinding] == 1)
    }

    /// The hand-off loses and reorders nothing: the first datagram waits in a pending binding, the
    /// next ones queue behind it while the loop has not connected, and the connection's SYN data is
    /// the PM block followed by every record in arrival order; a full request queue refuses (and
    /// leaves no pending binding behind).
    @Test func theHandOffKeepsEveryDatagramInOrderUntilTheConnectionIsAttached() throws {
        let table = UDPChannelTable(filtering: .addressAndPortDependent, backlogLimit: 4096, shardCount: 1)
        let handOff = try InboundUDPHandOff(channels: table, loops: 1, queueLimit: 1)
        let key = UDPChannelKey(external: Self.external, remote: Self.remote)
        let request = UDPInboundRequest(key: key, cpe: IPAddress("198.51.100.2")!, destination: Self.external,
                                        target: .mapping(SubscriberID("198.51.100.2")))
        #expect([UInt8]([1, 2]).withUnsafeBytes { handOff.open($0, request, now: .now) })
        var burst = UDPBurst()
        let second = [UInt8]([3]).withUnsafeBytes { table.deliver($0, from: Self.remote, to: Self.external, now: .now, burst: &burst) }
        #expect(second == .backlogged)
        #expect(table.flush(&burst) == 0)  // nothing to send yet: the connection is not there
        // A second flow while the loop's queue is full: refused, no binding left behind.
        let other = UDPInboundRequest(key: UDPChannelKey(external: Self.external, remote: Self.stranger), cpe: request.cpe,
                                      destination: Self.external, target: request.target)
        #expect(![UInt8]([9]).withUnsafeBytes { handOff.open($0, other, now: .now) })
        #expect(table.count == 1)
        var taken: [UDPInboundRequest] = []
        handOff.take(forLoop: 0, into: &taken)
        #expect(taken == [request])

        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        let writer = Socket(rawValue: fds[0]), reader = Socket(rawValue: fds[1])
        defer { writer.close(); reader.close() }
        var synData: [UInt8] = []
        let attached = table.attach(key, socket: writer, leading: [0xAA, 0xBB]) { (opening) throws(Errno) -> Int in
            synData = opening
            return 3  // the "SYN" took the block and one byte
        }
        #expect(attached == .attached)
        #expect(synData == [0xAA, 0xBB, 0, 2, 1, 2, 0, 1, 3])
        let third = [UInt8]([4, 5]).withUnsafeBytes { table.deliver($0, from: Self.remote, to: Self.external, now: .now, burst: &burst) }
        #expect(third == .backlogged)
        #expect(table.connected(key) == nil)
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = try buffer.withUnsafeMutableBytes { try reader.receive(into: $0) } ?? 0
        #expect(Array(buffer[0..<count]) == [2, 1, 2, 0, 1, 3, 0, 2, 4, 5], "the rest follows the SYN's bytes, in order")
        table.remove(key)
        #expect(table.attach(key, socket: writer, leading: []) { (_) throws(Errno) -> Int in 0 } == .gone)
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
