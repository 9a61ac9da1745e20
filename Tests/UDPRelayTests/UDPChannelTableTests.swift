import BindingState
import PlainMode
import Testing
import UDPRelay
import WireFormat

/// RFC 4787 filtering at the concentrator: one external endpoint shared by two bindings (the
/// endpoint-independent mapping of one LAN socket), and datagrams from the Internet to it.
@Suite struct SharedExternalEndpointTests {
    static let external = Endpoint(address: IPAddress("192.0.2.130")!, port: 4100)
    static let remoteA = Endpoint(address: IPAddress("203.0.113.2")!, port: 3478)
    static let remoteB = Endpoint(address: IPAddress("203.0.113.3")!, port: 3478)
    static let stranger = Endpoint(address: IPAddress("203.0.113.4")!, port: 3478)
    static let route = UDPReturnRoute(cpe: IPAddress("198.51.100.2")!, internal: Endpoint(address: IPAddress("192.168.1.2")!, port: 41000))

    /// Sends `text` from `remote` to the shared external endpoint; what the table did, and the
    /// records each pair's reader got.
    static func deliver(_ text: String, from remote: Endpoint, table: UDPChannelTable,
                        pairs: [StreamPair]) throws -> (UDPChannelTable.Delivery, [[[UInt8]]]) {
        var burst = UDPBurst()
        let delivery = Array(text.utf8).withUnsafeBytes {
            table.deliver($0, from: remote, to: external, now: .now, burst: &burst)
        }
        #expect(table.flush(&burst) == 0)
        let records = try pairs.map { pair in
            var decoder = UDPFrameDecoder()
            return try pair.drainRecords(into: &decoder)
        }
        return (delivery, records)
    }

    @Test(arguments: UDPFiltering.allCases)
    func eachRemoteReachesOnlyItsOwnBinding(filtering: UDPFiltering) throws {
        let table = UDPChannelTable(filtering: filtering, backlogLimit: 4096, shardCount: 4)
        let a = try StreamPair(), b = try StreamPair()
        #expect(table.insert(UDPChannelKey(external: Self.external, remote: Self.remoteA), socket: a.writer, route: Self.route, now: .now))
        #expect(table.insert(UDPChannelKey(external: Self.external, remote: Self.remoteB), socket: b.writer, route: Self.route, now: .now))
        // The same (external, remote) twice is a conflict.
        #expect(!table.insert(UDPChannelKey(external: Self.external, remote: Self.remoteA), socket: b.writer, now: .now))

        let (toA, fromA) = try Self.deliver("for a", from: Self.remoteA, table: table, pairs: [a, b])
        #expect(toA == .written && fromA == [[Array("for a".utf8)], []])
        let (toB, fromB) = try Self.deliver("for b", from: Self.remoteB, table: table, pairs: [a, b])
        #expect(toB == .written && fromB == [[], [Array("for b".utf8)]])

        // A stranger never lands in another remote's binding, whatever the filtering.
        let (strange, none) = try Self.deliver("stranger", from: Self.stranger, table: table, pairs: [a, b])
        #expect(strange == (filtering == .endpointIndependent ? .newRemote(Self.route) : .filtered))
        #expect(none == [[], []])

        // With both bindings gone the external endpoint is unbound.
        table.remove(UDPChannelKey(external: Self.external, remote: Self.remoteA))
        let (stillB, _) = try Self.deliver("b again", from: Self.remoteB, table: table, pairs: [a, b])
        #expect(stillB == .written)
        table.remove(UDPChannelKey(external: Self.external, remote: Self.remoteB))
        let (gone, _) = try Self.deliver("late", from: Self.stranger, table: table, pairs: [a, b])
        #expect(gone == .noBinding && table.count == 0)
    }

}
