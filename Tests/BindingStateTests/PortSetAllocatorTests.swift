import BindingState
import PortSets
import Testing
import TestSupport
import WireFormat

@Suite("PortSetAllocator: paired pooling")
struct PairedPoolingTests {
    @Test("the same CPE gets the same address and PSID every time, and all its ports on that address")
    func sameCPESameLease() throws {
        let allocator = try PortSetAllocator(pool: [prefix("198.51.100.0/30")], geometry: PSIDGeometry(offset: 6, psidLength: 6))
        let first = try allocator.lease(for: subscriber(1), now: t0)
        for step in 1...5 {
            #expect(try allocator.lease(for: subscriber(1), now: t0 + .seconds(step)) == first)
        }
        #expect(allocator.currentLease(for: subscriber(1)) == first)
        #expect(first.subscriber == subscriber(1))
        for _ in 0..<50 {
            for transport in TransportProtocol.allCases {
                let endpoint = try allocator.allocatePort(for: subscriber(1), protocol: transport, now: t0)
                #expect(endpoint.address == .v4(first.address))
                #expect(first.portSet.contains(port: endpoint.port))
            }
        }
        #expect(try allocator.lease(for: subscriber(1), now: t0) == first)
        #expect(allocator.statistics.leases == 1)
    }

    @Test("allocatePort leases on first use")
    func allocateLeases() throws {
        let allocator = try PortSetAllocator(pool: [prefix("198.51.100.7")], geometry: PSIDGeometry(offset: 6, psidLength: 6))
        #expect(allocator.currentLease(for: subscriber(1)) == nil)
        let endpoint = try allocator.allocatePort(for: subscriber(1), protocol: .udp, now: t0)
        let lease = try #require(allocator.currentLease(for: subscriber(1)))
        #expect(endpoint.address == address("198.51.100.7"))
        #expect(lease.portSet.contains(port: endpoint.port))
    }

    @Test("two CPEs on a one-address pool with k=1 get different PSIDs; a third gets poolExhausted")
    func oneAddressTwoPSIDs() throws {
        let allocator = try PortSetAllocator(pool: [prefix("198.51.100.1/32")], geometry: PSIDGeometry(offset: 6, psidLength: 1))
        #expect(allocator.portSetCapacity == 2)
        let a = try allocator.lease(for: subscriber(1), now: t0)
        let b = try allocator.lease(for: subscriber(2), now: t0)
        #expect(a.address == b.address)
        #expect(a.psid != b.psid)
        #expect(Set([a.psid, b.psid]) == [0, 1])
        #expect(throws: AllocationError.poolExhausted) { try allocator.lease(for: subscriber(3), now: t0) }
        #expect(throws: AllocationError.poolExhausted) { try allocator.allocatePort(for: subscriber(3), protocol: .tcp, now: t0) }
        #expect(allocator.statistics.poolExhaustions == 2)
        #expect(allocator.statistics.leases == 2)
        // The existing CPEs are unaffected by the exhaustion.
        #expect(try allocator.lease(for: subscriber(1), now: t0) == a)
    }

    @Test("CPEs are spread over the pool addresses before any address gets a second CPE")
    func spreadsOverAddresses() throws {
        let pool = [prefix("198.51.100.0/31"), prefix("203.0.113.8/31")]
        let allocator = try PortSetAllocator(pool: pool, geometry: PSIDGeometry(offset: 6, psidLength: 6))
        #expect(allocator.addressCount == 4)
        #expect(allocator.portSetCapacity == 4 * 64)
        let leases = try (1...4).map { try allocator.lease(for: subscriber($0), now: t0) }
        #expect(Set(leases.map(\.address)) == Set(["198.51.100.0", "198.51.100.1", "203.0.113.8", "203.0.113.9"].map { IPv4Address($0)! }))
        let fifth = try allocator.lease(for: subscriber(5), now: t0)
        #expect(!leases.contains { $0.address == fifth.address && $0.psid == fifth.psid })
    }

    @Test("with a=0, k=8 the PSIDs holding system ports (0-3) are never leased; the 253rd CPE is refused")
    func excludedPSIDsNeverLeased() throws {
        let geometry = try PSIDGeometry(offset: 0, psidLength: 8)
        let allocator = try PortSetAllocator(pool: [prefix("198.51.100.1")], geometry: geometry)
        #expect(allocator.portSetCapacity == 252)
        #expect(allocator.allocatablePSIDs == Array(4...255))
        var seen = Set<UInt16>()
        for n in 0..<252 {
            let lease = try allocator.lease(for: subscriber(n), now: t0)
            #expect(!geometry.isExcluded(psid: lease.psid))
            #expect(seen.insert(lease.psid).inserted)
        }
        #expect(throws: AllocationError.poolExhausted) { try allocator.lease(for: subscriber(252), now: t0) }
    }
}

@Suite("PortSetAllocator: ports")
struct PortAllocationTests {
    @Test("property: every port is in the CPE's PSID set, never a system or reserved port, never twice; exhaustion at the usable count")
    func portsStayInTheirSet() throws {
        var random = SplitMix64(seed: 0x5EED_B1D1)
        for round in 0..<24 {
            let offset = Int.random(in: 0...10, using: &random)
            let psidLength = Int.random(in: min(4, 16 - offset)...(16 - offset), using: &random)
            let geometry = try PSIDGeometry(offset: offset, psidLength: psidLength)
            var reserved: [ClosedRange<UInt16>] = []
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                let low = UInt16.random(in: 1024...65000, using: &random)
                reserved.append(low...(low + UInt16.random(in: 0...500, using: &random)))
            }
            let addresses = Int.random(in: 0...2, using: &random)
            let allocator = try PortSetAllocator(
                pool: [prefix("198.51.100.0/\(32 - addresses)")], geometry: geometry, reservedPorts: reserved,
                shardCount: 1 << Int.random(in: 0...4, using: &random))
            let context = "round \(round): a=\(offset) k=\(psidLength) reserved \(reserved)"

            // The capacity counts exactly the PSIDs that are not excluded and keep a usable port.
            var hasUsablePort = [Bool](repeating: false, count: geometry.psidCount)
            for port in 1024...65535 where !reserved.contains(where: { $0.contains(UInt16(port)) }) {
                if let psid = geometry.psid(ofPort: UInt16(port)) { hasUsablePort[Int(psid)] = true }
            }
            let usablePSIDs = (0..<geometry.psidCount).filter { hasUsablePort[$0] && !geometry.isExcluded(psid: UInt16($0)) }.count
            #expect(allocator.portSetCapacity == (1 << addresses) * usablePSIDs, "\(context)")

            for n in 0..<min(3, allocator.portSetCapacity) {
                let lease = try allocator.lease(for: subscriber(n), now: t0)
                #expect(!geometry.isExcluded(psid: lease.psid), "\(context)")
                let expected = try expectedUsablePorts(psid: lease.psid, geometry: geometry, reserved: reserved)
                var handedOut = Set<UInt16>()
                var wrong: [Endpoint] = []
                var exhaustion: AllocationError?
                while handedOut.count <= expected.count {
                    do {
                        let endpoint = try allocator.allocatePort(for: subscriber(n), protocol: .tcp, now: t0)
                        // Outside the lease's address or PSID, a system or reserved port, or a repeat.
                        if endpoint.address != .v4(lease.address) || geometry.psid(ofPort: endpoint.port) != lease.psid
                            || endpoint.port < 1024 || reserved.contains(where: { $0.contains(endpoint.port) })
                            || !handedOut.insert(endpoint.port).inserted {
                            wrong.append(endpoint)
                        }
                    } catch {
                        exhaustion = error
                        break
                    }
                }
                #expect(wrong.isEmpty, "\(context): \(wrong.prefix(5))")
                #expect(exhaustion == .portSetExhausted(subscriber: subscriber(n), portCount: expected.count), "\(context)")
                #expect(handedOut == expected, "\(context)")
            }
        }
    }

    @Test("exactly portsPerPSID allocations per protocol, then portSetExhausted; TCP and UDP are independent")
    func exhaustionPerProtocol() throws {
        let geometry = try PSIDGeometry(offset: 6, psidLength: 6)
        let allocator = try PortSetAllocator(pool: [prefix("198.51.100.1")], geometry: geometry)
        var tcp = Set<UInt16>()
        for _ in 0..<geometry.portsPerPSID {
            tcp.insert(try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0).port)
        }
        #expect(tcp.count == 1008)
        #expect(throws: AllocationError.portSetExhausted(subscriber: subscriber(1), portCount: 1008)) {
            try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0)
        }
        var udp = Set<UInt16>()
        for _ in 0..<geometry.portsPerPSID {
            udp.insert(try allocator.allocatePort(for: subscriber(1), protocol: .udp, now: t0).port)
        }
        #expect(udp == tcp)
        #expect(throws: AllocationError.portSetExhausted(subscriber: subscriber(1), portCount: 1008)) {
            try allocator.allocatePort(for: subscriber(1), protocol: .udp, now: t0)
        }
        let statistics = allocator.statistics
        #expect(statistics.tcpPortsInUse == 1008 && statistics.udpPortsInUse == 1008)
        #expect(statistics.tcpPortSetExhaustions == 1 && statistics.udpPortSetExhaustions == 1)
        // Freeing a TCP port makes exactly that one available for TCP, and nothing for UDP.
        let freed = try #require(tcp.first)
        #expect(allocator.releasePort(Endpoint(address: address("198.51.100.1"), port: freed), protocol: .tcp, subscriber: subscriber(1)))
        #expect(throws: AllocationError.portSetExhausted(subscriber: subscriber(1), portCount: 1008)) {
            try allocator.allocatePort(for: subscriber(1), protocol: .udp, now: t0)
        }
        #expect(try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0).port == freed)
    }

    @Test("reserved ports are skipped and shrink the usable count")
    func reservedPorts() throws {
        let geometry = try PSIDGeometry(offset: 6, psidLength: 6)
        let allocator = try PortSetAllocator(pool: [prefix("198.51.100.1")], geometry: geometry, reservedPorts: [1024...2047, 5000...5000])
        let lease = try allocator.lease(for: subscriber(1), now: t0)
        let expected = try expectedUsablePorts(psid: lease.psid, geometry: geometry, reserved: [1024...2047, 5000...5000])
        #expect(expected.count == 1008 - 16)
        var ports = Set<UInt16>()
        for _ in 0..<expected.count { ports.insert(try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0).port) }
        #expect(ports == expected)
        #expect(throws: AllocationError.portSetExhausted(subscriber: subscriber(1), portCount: 992)) {
            try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0)
        }
        #expect(allocator.snapshot().first?.usablePortCount == 992)
    }

    @Test("the cursor moves on: a port just freed is not handed out again at once")
    func cursorMovesOn() throws {
        let allocator = try PortSetAllocator(pool: [prefix("198.51.100.1")], geometry: PSIDGeometry(offset: 6, psidLength: 6))
        let first = try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0)
        #expect(allocator.releasePort(first, protocol: .tcp, subscriber: subscriber(1)))
        let second = try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0)
        #expect(second != first)
        #expect(allocator.releasePort(second, protocol: .tcp, subscriber: subscriber(1)))
        // Only after going round the whole set does the first port come back.
        var seen: [UInt16] = []
        for _ in 0..<1007 {
            let endpoint = try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0)
            seen.append(endpoint.port)
            allocator.releasePort(endpoint, protocol: .tcp, subscriber: subscriber(1))
        }
        #expect(seen.last == first.port)
        #expect(!seen.dropLast().contains(first.port))
    }

    @Test("releasePort refuses ports that are not in use for that CPE, address and protocol")
    func releaseValidates() throws {
        let allocator = try PortSetAllocator(pool: [prefix("198.51.100.0/31")], geometry: PSIDGeometry(offset: 6, psidLength: 6))
        let endpoint = try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0)
        _ = try allocator.lease(for: subscriber(2), now: t0)
        #expect(!allocator.releasePort(endpoint, protocol: .udp, subscriber: subscriber(1)))
        #expect(!allocator.releasePort(endpoint, protocol: .tcp, subscriber: subscriber(2)))
        #expect(!allocator.releasePort(endpoint, protocol: .tcp, subscriber: subscriber(9)))
        let otherAddress: IPAddress = endpoint.address == address("198.51.100.0") ? address("198.51.100.1") : address("198.51.100.0")
        #expect(!allocator.releasePort(Endpoint(address: otherAddress, port: endpoint.port), protocol: .tcp, subscriber: subscriber(1)))
        #expect(!allocator.releasePort(Endpoint(address: endpoint.address, port: 80), protocol: .tcp, subscriber: subscriber(1)))
        #expect(allocator.statistics.tcpPortsInUse == 1)
        #expect(allocator.releasePort(endpoint, protocol: .tcp, subscriber: subscriber(1)))
        #expect(!allocator.releasePort(endpoint, protocol: .tcp, subscriber: subscriber(1)))
        #expect(allocator.statistics.tcpPortsInUse == 0)
    }

    @Test("a port released with holdUntil is not handed out before that instant, and is after expire")
    func holdAfterRelease() throws {
        let allocator = try PortSetAllocator(pool: [prefix("198.51.100.1")], geometry: PSIDGeometry(offset: 6, psidLength: 6))
        var ports: [Endpoint] = []
        for _ in 0..<1008 { ports.append(try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0)) }
        let held = ports[500]
        let until = t0 + .seconds(240)
        #expect(allocator.releasePort(held, protocol: .tcp, subscriber: subscriber(1), holdUntil: until))
        #expect(!allocator.releasePort(held, protocol: .tcp, subscriber: subscriber(1)))
        #expect(allocator.statistics.portsHeld == 1)
        #expect(allocator.statistics.tcpPortsInUse == 1007)
        #expect(allocator.snapshot().first?.portsHeld == 1)
        for seconds in [0, 1, 120, 239] {
            let now = t0 + .seconds(seconds)
            allocator.expire(now: now)
            #expect(throws: AllocationError.portSetExhausted(subscriber: subscriber(1), portCount: 1008)) {
                try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: now)
            }
        }
        // The same port number is free for UDP all along: holds are per protocol.
        #expect(try allocator.allocatePort(for: subscriber(1), protocol: .udp, now: t0).port == ports[0].port)
        allocator.expire(now: until)
        #expect(allocator.statistics.portsHeld == 0)
        #expect(try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: until) == held)
    }

    @Test("a held port is never handed out early even while other ports are free")
    func holdWithFreePorts() throws {
        let allocator = try PortSetAllocator(pool: [prefix("198.51.100.1")], geometry: PSIDGeometry(offset: 6, psidLength: 6))
        let held = try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0)
        allocator.releasePort(held, protocol: .tcp, subscriber: subscriber(1), holdUntil: t0 + .seconds(240))
        for step in 0..<1007 {
            let endpoint = try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0 + .milliseconds(step))
            #expect(endpoint != held)
        }
        #expect(throws: AllocationError.portSetExhausted(subscriber: subscriber(1), portCount: 1008)) {
            try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0 + .seconds(239))
        }
    }

    @Test("a hold already due is reclaimed by allocatePort when nothing else is free, without waiting for expire")
    func dueHoldReclaimedOnExhaustion() throws {
        let allocator = try PortSetAllocator(pool: [prefix("198.51.100.1")], geometry: PSIDGeometry(offset: 6, psidLength: 6))
        var ports: [Endpoint] = []
        for _ in 0..<1008 { ports.append(try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0)) }
        allocator.releasePort(ports[7], protocol: .tcp, subscriber: subscriber(1), holdUntil: t0 + .seconds(10))
        #expect(throws: AllocationError.portSetExhausted(subscriber: subscriber(1), portCount: 1008)) {
            try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0 + .seconds(9))
        }
        #expect(try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0 + .seconds(10)) == ports[7])
        #expect(allocator.statistics.portsHeld == 0)
        #expect(allocator.statistics.tcpPortsInUse == 1008)
    }
}

@Suite("PortSetAllocator: lease expiry, snapshot, configuration")
struct LeaseLifecycleTests {
    @Test("a lease with no ports in use for leaseHold expires and its PSID goes back to the pool")
    func leaseExpiry() throws {
        let allocator = try PortSetAllocator(
            pool: [prefix("198.51.100.1")], geometry: PSIDGeometry(offset: 6, psidLength: 1), leaseHold: .seconds(300))
        let a = try allocator.lease(for: subscriber(1), now: t0)
        let b = try allocator.lease(for: subscriber(2), now: t0)
        let port = try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0)
        #expect(throws: AllocationError.poolExhausted) { try allocator.lease(for: subscriber(3), now: t0) }

        allocator.expire(now: t0 + .seconds(299))
        #expect(allocator.statistics.leases == 2)
        allocator.expire(now: t0 + .seconds(300))
        // B was idle since it was leased; A has a port in use and stays.
        #expect(allocator.currentLease(for: subscriber(2)) == nil)
        #expect(allocator.currentLease(for: subscriber(1)) == a)
        let c = try allocator.lease(for: subscriber(3), now: t0 + .seconds(300))
        #expect(c.address == b.address && c.psid == b.psid)
        // C keeps a port in use, so only A can expire below.
        _ = try allocator.allocatePort(for: subscriber(3), protocol: .udp, now: t0 + .seconds(300))

        // A's idle clock starts at the first sweep after its last port is released.
        #expect(allocator.releasePort(port, protocol: .tcp, subscriber: subscriber(1)))
        allocator.expire(now: t0 + .seconds(400))
        allocator.expire(now: t0 + .seconds(699))
        #expect(allocator.currentLease(for: subscriber(1)) == a)
        allocator.expire(now: t0 + .seconds(700))
        #expect(allocator.currentLease(for: subscriber(1)) == nil)
        let d = try allocator.lease(for: subscriber(4), now: t0 + .seconds(700))
        #expect(d.psid == a.psid)
        #expect(allocator.statistics.leases == 2)
    }

    @Test("lease(for:) on an idle lease restarts its hold; a held port keeps the lease until the hold ends")
    func activityAndHoldsKeepLeases() throws {
        let allocator = try PortSetAllocator(
            pool: [prefix("198.51.100.1")], geometry: PSIDGeometry(offset: 6, psidLength: 1), leaseHold: .seconds(300))
        _ = try allocator.lease(for: subscriber(1), now: t0)
        _ = try allocator.lease(for: subscriber(1), now: t0 + .seconds(200))
        allocator.expire(now: t0 + .seconds(499))
        #expect(allocator.currentLease(for: subscriber(1)) != nil)
        allocator.expire(now: t0 + .seconds(500))
        #expect(allocator.currentLease(for: subscriber(1)) == nil)

        let port = try allocator.allocatePort(for: subscriber(2), protocol: .tcp, now: t0)
        allocator.releasePort(port, protocol: .tcp, subscriber: subscriber(2), holdUntil: t0 + .seconds(1000))
        allocator.expire(now: t0 + .seconds(999))
        #expect(allocator.currentLease(for: subscriber(2)) != nil)
        allocator.expire(now: t0 + .seconds(1000))
        allocator.expire(now: t0 + .seconds(1299))
        #expect(allocator.currentLease(for: subscriber(2)) != nil)
        allocator.expire(now: t0 + .seconds(1300))
        #expect(allocator.currentLease(for: subscriber(2)) == nil)
        #expect(allocator.statistics.leases == 0)
    }

    @Test("snapshot lists each lease with its counts, ordered by address then PSID")
    func snapshot() throws {
        let allocator = try PortSetAllocator(pool: [prefix("198.51.100.0/31")], geometry: PSIDGeometry(offset: 6, psidLength: 6))
        for n in 1...3 { _ = try allocator.lease(for: subscriber(n), now: t0) }
        for _ in 0..<3 { _ = try allocator.allocatePort(for: subscriber(2), protocol: .tcp, now: t0) }
        let udp = try allocator.allocatePort(for: subscriber(2), protocol: .udp, now: t0)
        allocator.releasePort(udp, protocol: .udp, subscriber: subscriber(2), holdUntil: t0 + .seconds(60))
        _ = try allocator.allocatePort(for: subscriber(3), protocol: .udp, now: t0)
        let snapshot = allocator.snapshot()
        #expect(snapshot.count == 3)
        #expect(snapshot.map { ($0.externalAddress, $0.psid) }.elementsEqual(
            snapshot.map { ($0.externalAddress, $0.psid) }.sorted { $0 < $1 }, by: { $0 == $1 }))
        let two = try #require(snapshot.first { $0.subscriber == subscriber(2) })
        let lease = try #require(allocator.currentLease(for: subscriber(2)))
        #expect(two == PortSetLeaseSnapshot(
            subscriber: subscriber(2), externalAddress: lease.address, psid: lease.psid, usablePortCount: 1008,
            tcpPortsInUse: 3, udpPortsInUse: 0, portsHeld: 1))
        #expect(snapshot.first { $0.subscriber == subscriber(3) }?.portsInUse(.udp) == 1)
        #expect(allocator.statistics == PortSetAllocatorStatistics(
            portSetCapacity: 128, leases: 3, tcpPortsInUse: 3, udpPortsInUse: 1, portsHeld: 1,
            poolExhaustions: 0, tcpPortSetExhaustions: 0, udpPortSetExhaustions: 0))
    }

    @Test("configuration errors, one per case")
    func configurationErrors() throws {
        let geometry = try PSIDGeometry(offset: 6, psidLength: 6)
        #expect(throws: PortSetAllocatorError.emptyPool) { try PortSetAllocator(pool: [], geometry: geometry) }
        #expect(throws: PortSetAllocatorError.ipv6PrefixInPool(prefix("2001:db8::/64"))) {
            try PortSetAllocator(pool: [prefix("198.51.100.0/28"), prefix("2001:db8::/64")], geometry: geometry)
        }
        #expect(throws: PortSetAllocatorError.overlappingPrefixes(prefix("198.51.100.0/28"), prefix("198.51.100.8/29"))) {
            try PortSetAllocator(pool: [prefix("198.51.100.0/28"), prefix("203.0.113.0/24"), prefix("198.51.100.8/29")], geometry: geometry)
        }
        for count in [0, 3, 12, 2048, -1] {
            #expect(throws: PortSetAllocatorError.invalidShardCount(count)) {
                try PortSetAllocator(pool: [prefix("198.51.100.0/28")], geometry: geometry, shardCount: count)
            }
        }
        for count in [1, 2, 1024] {
            #expect(try PortSetAllocator(pool: [prefix("198.51.100.0/28")], geometry: geometry, shardCount: count).shardCount == count)
        }
        #expect(throws: PortSetAllocatorError.poolTooSmall(capacity: 1024, required: 1025, addresses: 16, portSetsPerAddress: 64)) {
            try PortSetAllocator(pool: [prefix("198.51.100.0/28")], geometry: geometry, requiredPortSets: 1025)
        }
        #expect(try PortSetAllocator(pool: [prefix("198.51.100.0/28")], geometry: geometry, requiredPortSets: 1024).portSetCapacity == 1024)
        // Reserving every non-system port leaves no PSID worth leasing.
        #expect(throws: PortSetAllocatorError.poolTooSmall(capacity: 0, required: 1, addresses: 1, portSetsPerAddress: 0)) {
            try PortSetAllocator(pool: [prefix("198.51.100.1")], geometry: PSIDGeometry(offset: 0, psidLength: 8), reservedPorts: [1024...65535])
        }
    }

    @Test("error descriptions name the fix")
    func descriptions() {
        #expect(PortSetAllocatorError.emptyPool.description.contains("give at least one IPv4 prefix"))
        #expect(PortSetAllocatorError.invalidShardCount(3).description.contains("power of two"))
        #expect(PortSetAllocatorError.poolTooSmall(capacity: 10, required: 20, addresses: 1, portSetsPerAddress: 10)
            .description.contains("add IPv4 addresses"))
        #expect(AllocationError.poolExhausted.description.contains("add IPv4 addresses to the pool"))
        #expect(AllocationError.portSetExhausted(subscriber: subscriber(1), portCount: 1008).description.contains("1008 usable ports"))
    }

    @Test("concurrent leases and allocations from 4 tasks stay consistent")
    func concurrentAllocation() async throws {
        let allocator = try PortSetAllocator(pool: [prefix("198.51.100.0/28")], geometry: PSIDGeometry(offset: 6, psidLength: 6), shardCount: 4)
        let endpoints = await withTaskGroup(of: [Endpoint].self) { group in
            for task in 0..<4 {
                group.addTask {
                    var mine: [Endpoint] = []
                    for n in 0..<100 {
                        for _ in 0..<10 {
                            guard let endpoint = try? allocator.allocatePort(for: subscriber(task * 1000 + n), protocol: .tcp, now: t0) else { continue }
                            mine.append(endpoint)
                        }
                        // Every CPE also asks for another CPE's lease, so leases race.
                        _ = try? allocator.lease(for: subscriber(((task + 1) % 4) * 1000 + n), now: t0)
                    }
                    return mine
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(endpoints.count == 4000)
        #expect(Set(endpoints).count == 4000)
        let statistics = allocator.statistics
        #expect(statistics.leases == 400)
        #expect(statistics.tcpPortsInUse == 4000)
        let snapshot = allocator.snapshot()
        #expect(Set(snapshot.map { "\($0.externalAddress)/\($0.psid)" }).count == 400)
    }
}
