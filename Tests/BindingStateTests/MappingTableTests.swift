import BindingState
import PortSets
import Synchronization
import Testing
import TestSupport
import WireFormat

/// Records mapping events for the tests.
final class MappingEventRecorder: MappingEventSink {
    let events = Mutex<[MappingEvent]>([])
    func record(_ event: MappingEvent) { events.withLock { $0.append(event) } }
    var kinds: [MappingEvent.Kind] { events.withLock { $0.map(\.kind) } }
}

@Suite("MappingTable")
struct MappingTableTests {
    static let nonce = MappingNonce(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C)

    func table(quota: Int = 4, events: (any MappingEventSink)? = nil) throws -> MappingTable {
        let allocator = try PortSetAllocator(pool: [prefix("192.0.2.3/32")], geometry: PSIDGeometry(offset: 6, psidLength: 6))
        return try MappingTable(allocator: allocator, maximumMappingsPerSubscriber: quota, shardCount: 4, events: events)
    }

    func request(_ n: Int = 1, transport: TransportProtocol = .tcp, internalPort: UInt16 = 8080, count: Int = 1,
                 filters: [MappingFilter] = []) -> MappingRequest {
        MappingRequest(subscriber: subscriber(n), transport: transport, internalAddress: address("192.168.1.10"),
                       internalPort: internalPort, ports: MappingPortRequest(count: count), cpeAddress: address("198.51.100.2"),
                       nonce: Self.nonce, filters: filters, lifetimeMilliseconds: 120_000)
    }

    @Test("create, look up by external endpoint, renew, delete: ports reserved and given back, events recorded")
    func lifecycle() throws {
        let recorder = MappingEventRecorder()
        let table = try table(events: recorder)
        var random = SplitMix64(seed: 7)
        let mapping = try table.create(request(count: 4), nowMilliseconds: 1000, random: &random)
        #expect(mapping.externalPorts.count == 4 && mapping.expires == 121_000 && mapping.created == 1000)
        #expect(table.allocator.mappedPortCount(for: subscriber(1)) == 4)
        let remote = Endpoint(address: address("203.0.113.9"), port: 40000)
        let third = Endpoint(address: .v4(mapping.externalAddress), port: mapping.externalPorts.lowerBound + 2)
        let route = try #require(table.inboundRoute(.tcp, to: third, from: remote))
        #expect(route.internal == Endpoint(address: address("192.168.1.10"), port: 8082))
        #expect(route.cpeAddress == address("198.51.100.2") && route.subscriber == subscriber(1))
        // Another protocol, or a port next to the mapping: no route.
        #expect(table.inboundRoute(.udp, to: third, from: remote) == nil)
        #expect(table.inboundRoute(.tcp, to: Endpoint(address: third.address, port: mapping.externalPorts.upperBound + 1), from: remote) == nil)

        var renewed = mapping
        renewed.expires = 500_000
        renewed.cpeAddress = address("198.51.100.6")
        #expect(table.renew(renewed) == renewed)
        #expect(table.inboundRoute(.tcp, to: third, from: remote)?.cpeAddress == address("198.51.100.6"))
        #expect(table.delete(renewed))
        #expect(!table.delete(renewed))
        #expect(table.inboundRoute(.tcp, to: third, from: remote) == nil)
        #expect(table.allocator.mappedPortCount(for: subscriber(1)) == 0)
        #expect(recorder.kinds == [.created, .renewed, .deleted])
    }

    @Test("FILTER is enforced at lookup: only admitted remotes get a route")
    func filterEnforced() throws {
        let table = try table()
        var random = SplitMix64(seed: 8)
        let filter = MappingFilter(prefix: prefix("203.0.113.0/28"), port: 443)
        let mapping = try table.create(request(filters: [filter]), nowMilliseconds: 0, random: &random)
        let external = Endpoint(address: .v4(mapping.externalAddress), port: mapping.externalPorts.lowerBound)
        #expect(table.inboundRoute(.tcp, to: external, from: Endpoint(address: address("203.0.113.5"), port: 443)) != nil)
        #expect(table.inboundRoute(.tcp, to: external, from: Endpoint(address: address("203.0.113.5"), port: 444)) == nil)
        #expect(table.inboundRoute(.tcp, to: external, from: Endpoint(address: address("203.0.113.17"), port: 443)) == nil)
    }

    @Test("the quota counts mappings per subscriber, a port set as one")
    func quota() throws {
        let table = try table(quota: 2)
        var random = SplitMix64(seed: 9)
        _ = try table.create(request(internalPort: 1000, count: 16), nowMilliseconds: 0, random: &random)
        _ = try table.create(request(transport: .udp, internalPort: 2000), nowMilliseconds: 0, random: &random)
        #expect(throws: MappingTableError.quotaExceeded(subscriber: subscriber(1), limit: 2)) {
            try table.create(request(internalPort: 3000), nowMilliseconds: 0, random: &random)
        }
        // Another subscriber has its own quota.
        _ = try table.create(request(2, internalPort: 3000), nowMilliseconds: 0, random: &random)
        #expect(table.count == 3 && table.mappings(of: subscriber(1)).count == 2)
    }

    @Test("expiry removes lapsed mappings at their lifetime and frees their ports")
    func expiry() throws {
        let recorder = MappingEventRecorder()
        let table = try table(events: recorder)
        var random = SplitMix64(seed: 10)
        let short = try table.create(request(count: 2), nowMilliseconds: 0, random: &random)
        var longer = request(internalPort: 9000)
        longer.lifetimeMilliseconds = 600_000
        _ = try table.create(longer, nowMilliseconds: 0, random: &random)
        #expect(table.expire(nowMilliseconds: 119_999).isEmpty)
        #expect(table.expire(nowMilliseconds: 120_000) == [short])
        #expect(table.count == 1 && table.allocator.mappedPortCount(for: subscriber(1)) == 1)
        #expect(recorder.kinds == [.created, .created, .expired])
    }

    @Test("restore re-reserves stored ports; lapsed or conflicting mappings are dropped with a reason")
    func restore() throws {
        let first = try table()
        var random = SplitMix64(seed: 11)
        let kept = try first.create(request(count: 16), nowMilliseconds: 0, random: &random)
        var lapsed = try first.create(request(internalPort: 5000), nowMilliseconds: 0, random: &random)
        lapsed.expires = 10

        // A restarted concentrator: the lease comes back first, then the mappings.
        let second = try table()
        let lease = try #require(first.allocator.currentLease(for: subscriber(1)))
        _ = second.allocator.restore([LeaseRecord(subscriber: subscriber(1), address: lease.address, psid: lease.psid,
                                                  start: 0, lastUse: 0, end: nil)], now: t0)
        var clash = kept
        clash.externalPorts = kept.externalPorts.lowerBound...kept.externalPorts.lowerBound
        clash.created = 1
        let result = second.restore([kept, lapsed, clash], nowMilliseconds: 100)
        #expect(result.restored == 1)
        #expect(result.dropped.map(\.mapping) == [lapsed, clash])
        #expect(second.snapshot() == [kept])
        #expect(second.allocator.mappedPortCount(for: subscriber(1)) == 16)
    }
}
