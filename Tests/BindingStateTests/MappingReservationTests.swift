import BindingState
import PortSets
import Testing
import TestSupport
import WireFormat

/// Ports for inbound mappings inside a subscriber's lease (issue 16): PORT_SET runs inside one
/// 16-port block under a=6, k=6, parity, suggestions, and no collision with outbound ports.
@Suite("PortSetAllocator: mapping ports")
struct MappingReservationTests {
    static let geometry = try! PSIDGeometry(offset: 6, psidLength: 6)

    func allocator(leaseHold: Duration = .seconds(300)) throws -> PortSetAllocator {
        try PortSetAllocator(pool: [prefix("192.0.2.3/32")], geometry: Self.geometry, leaseHold: leaseHold)
    }

    /// The 16-port block (A - 1) a port of a=6, k=6 lies in.
    func block(_ port: UInt16) -> Int { Int(port >> 10) }

    @Test("100 ports asked under a=6,k=6: 16 contiguous ports, one whole block of the subscriber's set")
    func hundredPortsGetOneBlock() throws {
        let allocator = try allocator()
        var random = SplitMix64(seed: 1)
        let (lease, ports) = try allocator.reserveMappingPorts(for: subscriber(1), protocol: .udp, MappingPortRequest(count: 100),
                                                               now: t0, random: &random)
        #expect(ports.count == 16)
        #expect(ports.allSatisfy { lease.portSet.contains(port: $0) })
        #expect(block(ports.lowerBound) == block(ports.upperBound))
        #expect(ports.lowerBound & 15 == 0, "a whole block starts at a multiple of 16: \(ports)")
        #expect(allocator.mappedPortCount(for: subscriber(1)) == 16)
    }

    @Test("grants never span two blocks: 63 blocks of 16 fill the set, then portSetFull")
    func grantsStayInsideBlocks() throws {
        let allocator = try allocator()
        var random = SplitMix64(seed: 2)
        var seen = Set<UInt16>()
        for _ in 0..<63 {
            let (_, ports) = try allocator.reserveMappingPorts(for: subscriber(1), protocol: .tcp, MappingPortRequest(count: 20),
                                                               now: t0, random: &random)
            #expect(ports.count == 16 && block(ports.lowerBound) == block(ports.upperBound))
            for port in ports { #expect(seen.insert(port).inserted, "port \(port) granted twice") }
        }
        #expect(seen.count == Self.geometry.portsPerPSID)
        #expect(throws: MappingReservationError.portSetFull(subscriber: subscriber(1), transport: .tcp)) {
            try allocator.reserveMappingPorts(for: subscriber(1), protocol: .tcp, MappingPortRequest(count: 1), now: t0, random: &random)
        }
        // UDP has its own space.
        _ = try allocator.reserveMappingPorts(for: subscriber(1), protocol: .udp, MappingPortRequest(count: 1), now: t0, random: &random)
    }

    @Test("the largest free run wins when no block has N free ports")
    func largestRunWhenFragmented() throws {
        let allocator = try allocator()
        var random = SplitMix64(seed: 3)
        var grants: [ClosedRange<UInt16>] = []
        for _ in 0..<63 {
            grants.append(try allocator.reserveMappingPorts(for: subscriber(1), protocol: .tcp, MappingPortRequest(count: 16),
                                                            now: t0, random: &random).ports)
        }
        let lease = try #require(allocator.currentLease(for: subscriber(1)))
        // Free 3 ports in one block and 5 (in the middle) in another.
        let a = grants[10], b = grants[40]
        #expect(allocator.releaseMappingPorts(for: subscriber(1), protocol: .tcp, address: lease.address, ports: a.lowerBound...(a.lowerBound + 2)))
        #expect(allocator.releaseMappingPorts(for: subscriber(1), protocol: .tcp, address: lease.address, ports: (b.lowerBound + 4)...(b.lowerBound + 8)))
        let (_, ports) = try allocator.reserveMappingPorts(for: subscriber(1), protocol: .tcp, MappingPortRequest(count: 100),
                                                           now: t0, random: &random)
        #expect(ports == (b.lowerBound + 4)...(b.lowerBound + 8))
        let (_, rest) = try allocator.reserveMappingPorts(for: subscriber(1), protocol: .tcp, MappingPortRequest(count: 100),
                                                          now: t0, random: &random)
        #expect(rest == a.lowerBound...(a.lowerBound + 2))
    }

    @Test("parity: the first external port has the asked low bit, over many seeds", arguments: [UInt16(0), 1])
    func parityHonoured(parity: UInt16) throws {
        for seed in 0..<40 {
            let allocator = try allocator()
            var random = SplitMix64(seed: UInt64(seed))
            for count in [1, 2, 5, 16, 100] {
                let (_, ports) = try allocator.reserveMappingPorts(
                    for: subscriber(1), protocol: .udp, MappingPortRequest(count: count, parity: parity), now: t0, random: &random)
                #expect(ports.lowerBound & 1 == parity, "seed \(seed) count \(count): \(ports)")
                // With parity the whole block cannot start on an odd port, so 16 asked gives 15 when odd.
                if count >= 16 { #expect(ports.count == (parity == 0 ? 16 : 15)) }
            }
        }
    }

    @Test("a free suggested port is honoured, a run from it too; a taken one is moved, or refused under PREFER_FAILURE")
    func suggestedPort() throws {
        let allocator = try allocator()
        var random = SplitMix64(seed: 4)
        let lease = try allocator.lease(for: subscriber(1), now: t0)
        let ranges = Array(lease.portSet.ranges)
        let suggested = ranges[5].lowerBound + 3
        let (_, one) = try allocator.reserveMappingPorts(for: subscriber(1), protocol: .tcp,
                                                         MappingPortRequest(count: 1, suggestedPort: suggested), now: t0, random: &random)
        #expect(one == suggested...suggested)
        // A run of 4 from the block's 12th port fits; from the 14th it would leave the block.
        let start = ranges[7].lowerBound + 12
        let (_, run) = try allocator.reserveMappingPorts(for: subscriber(1), protocol: .tcp,
                                                         MappingPortRequest(count: 4, suggestedPort: start), now: t0, random: &random)
        #expect(run == start...(start + 3))
        let late = ranges[9].lowerBound + 14
        let (_, moved) = try allocator.reserveMappingPorts(for: subscriber(1), protocol: .tcp,
                                                           MappingPortRequest(count: 4, suggestedPort: late), now: t0, random: &random)
        #expect(moved.count == 4 && moved.lowerBound != late && block(moved.lowerBound) == block(moved.upperBound))
        // Taken (the first mapping): moved elsewhere, or refused with PREFER_FAILURE.
        let (_, again) = try allocator.reserveMappingPorts(for: subscriber(1), protocol: .tcp,
                                                           MappingPortRequest(count: 1, suggestedPort: suggested), now: t0, random: &random)
        #expect(again != one)
        #expect(throws: MappingReservationError.suggestedPortUnavailable(port: suggested)) {
            try allocator.reserveMappingPorts(for: subscriber(1), protocol: .tcp,
                                              MappingPortRequest(count: 1, suggestedPort: suggested, requiresSuggestedPort: true),
                                              now: t0, random: &random)
        }
        // Outside the set (another PSID's port, a system port): moved inside it.
        let outside: UInt16 = 80
        let (_, inside) = try allocator.reserveMappingPorts(for: subscriber(1), protocol: .tcp,
                                                            MappingPortRequest(count: 1, suggestedPort: outside), now: t0, random: &random)
        #expect(lease.portSet.contains(port: inside.lowerBound))
        #expect(throws: MappingReservationError.suggestedPortUnavailable(port: outside)) {
            try allocator.reserveMappingPorts(for: subscriber(1), protocol: .tcp,
                                              MappingPortRequest(count: 1, suggestedPort: outside, requiresSuggestedPort: true),
                                              now: t0, random: &random)
        }
    }

    @Test("mapped ports and outbound ports never collide, whichever comes first")
    func noCollisionWithOutbound() throws {
        let allocator = try allocator()
        var random = SplitMix64(seed: 5)
        var outbound = Set<UInt16>()
        for _ in 0..<300 { outbound.insert(try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0).port) }
        // Suggesting an outbound port: never granted.
        let taken = try #require(outbound.first)
        var mapped = Set<UInt16>()
        while true {
            do {
                let (_, ports) = try allocator.reserveMappingPorts(for: subscriber(1), protocol: .tcp,
                                                                   MappingPortRequest(count: 7, suggestedPort: taken), now: t0, random: &random)
                for port in ports { #expect(mapped.insert(port).inserted) }
            } catch { break }
        }
        #expect(mapped.isDisjoint(with: outbound))
        #expect(mapped.count + outbound.count == Self.geometry.portsPerPSID)
        // The set is full: outbound allocation is refused rather than handing out a mapped port.
        #expect(throws: AllocationError.self) { try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0) }
        // Released mapping ports go back to outbound use.
        let lease = try #require(allocator.currentLease(for: subscriber(1)))
        let one = try #require(mapped.first)
        #expect(allocator.releaseMappingPorts(for: subscriber(1), protocol: .tcp, address: lease.address, ports: one...one))
        #expect(try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0).port == one)
    }

    @Test("a lease with mapped ports is never idle: kept past the lease hold, given back only after release")
    func leaseKeptWhileMapped() throws {
        let allocator = try allocator(leaseHold: .seconds(1))
        var random = SplitMix64(seed: 6)
        let (lease, ports) = try allocator.reserveMappingPorts(for: subscriber(1), protocol: .udp, MappingPortRequest(count: 3),
                                                               now: t0, random: &random)
        for step in 1...5 { allocator.expire(now: t0 + .seconds(step * 3600)) }
        #expect(allocator.currentLease(for: subscriber(1)) == lease)
        // The pool has one address and 63 PSIDs: another subscriber gets another PSID, never this one.
        #expect(try allocator.lease(for: subscriber(2), now: t0).psid != lease.psid)
        #expect(allocator.releaseMappingPorts(for: subscriber(1), protocol: .udp, address: lease.address, ports: ports))
        allocator.expire(now: t0 + .seconds(20000))
        allocator.expire(now: t0 + .seconds(20002))
        #expect(allocator.currentLease(for: subscriber(1)) == nil)
    }

    @Test("restoring exact ports: taken or outside the lease is refused, free is reserved")
    func exactRestore() throws {
        let allocator = try allocator()
        let lease = try allocator.lease(for: subscriber(1), now: t0)
        let block = Array(lease.portSet.ranges)[3]
        try allocator.reserveExactMappingPorts(for: subscriber(1), protocol: .tcp, address: lease.address,
                                               ports: block.lowerBound...(block.lowerBound + 9))
        #expect(throws: MappingReservationError.self) {
            try allocator.reserveExactMappingPorts(for: subscriber(1), protocol: .tcp, address: lease.address,
                                                   ports: (block.lowerBound + 9)...(block.lowerBound + 10))
        }
        // Spanning two blocks, or another address: refused.
        #expect(throws: MappingReservationError.self) {
            try allocator.reserveExactMappingPorts(for: subscriber(1), protocol: .udp, address: lease.address,
                                                   ports: (block.upperBound - 1)...(block.upperBound + 1))
        }
        #expect(throws: MappingReservationError.self) {
            try allocator.reserveExactMappingPorts(for: subscriber(1), protocol: .udp, address: IPv4Address(0xC000_0204),
                                                   ports: block.lowerBound...block.lowerBound)
        }
        #expect(allocator.mappedPortCount(for: subscriber(1)) == 10)
    }
}
