import BindingState
import PortSets
import Testing
import WireFormat

/// A one-address pool with 64 PSIDs (a=6, k=6): 1008 usable ports per subscriber.
private func makeAllocator() throws -> PortSetAllocator {
    try PortSetAllocator(pool: [prefix("192.0.2.128/32")], geometry: PSIDGeometry(offset: 6, psidLength: 6))
}

private func lanKey(_ subscriberNumber: Int, port: UInt16, host: String = "192.168.1.2") -> EndpointMappingKey {
    EndpointMappingKey(subscriber: subscriber(subscriberNumber), transport: .udp, internal: Endpoint(address: address(host), port: port))
}

@Suite("EndpointMappingTable: endpoint-independent mapping (RFC 4787 REQ-1)")
struct EndpointMappingTableTests {
    @Test("the first binding of an internal endpoint allocates a port of its set; later ones reuse it")
    func reuse() throws {
        let allocator = try makeAllocator()
        let table = EndpointMappingTable(allocator: allocator, shardCount: 4)
        let key = lanKey(1, port: 41000)
        let first = try table.acquire(key, now: t0)
        guard case .created(let external) = first else { Issue.record("first acquire reused \(first)"); return }
        let lease = try #require(allocator.currentLease(for: subscriber(1)))
        #expect(external.address == .v4(lease.address) && lease.portSet.contains(port: external.port))
        for users in 2...4 {
            #expect(try table.acquire(key, now: t0) == .reused(external))
            #expect(table.mapping(key) == EndpointMapping(external: external, users: users))
        }
        // One port for the four bindings.
        #expect(allocator.statistics.udpPortsInUse == 1)
        #expect(table.count == 1)
    }

    @Test("another port, another host, another subscriber or TCP is another mapping with its own port")
    func distinctKeys() throws {
        let allocator = try makeAllocator()
        let table = EndpointMappingTable(allocator: allocator)
        let keys = [
            lanKey(1, port: 41000), lanKey(1, port: 41001), lanKey(1, port: 41000, host: "192.168.1.3"),
            lanKey(2, port: 41000),
            EndpointMappingKey(subscriber: subscriber(1), transport: .tcp, internal: Endpoint(address: address("192.168.1.2"), port: 41000)),
        ]
        var externals: [Endpoint] = []
        for key in keys {
            let acquired = try table.acquire(key, now: t0)
            guard case .created(let external) = acquired else { Issue.record("\(key) reused \(acquired)"); return }
            externals.append(external)
        }
        // The two subscribers lease different PSIDs; the TCP mapping is in the TCP port space.
        #expect(Set(externals.prefix(4)).count == 4)
        #expect(allocator.statistics.udpPortsInUse == 4 && allocator.statistics.tcpPortsInUse == 1)
        #expect(table.count == 5)
        #expect(table.snapshot().map(\.key.subscriber) == [subscriber(1), subscriber(1), subscriber(1), subscriber(1), subscriber(2)])
    }

    @Test("the port goes back only when the last binding releases the mapping, with the caller's hold")
    func releaseAtLastUser() throws {
        let allocator = try makeAllocator()
        let table = EndpointMappingTable(allocator: allocator)
        let key = lanKey(1, port: 41000)
        let external = try table.acquire(key, now: t0).external
        _ = try table.acquire(key, now: t0)
        _ = try table.acquire(key, now: t0)
        #expect(table.release(key, external: external) == .stillUsed(users: 2))
        #expect(table.release(key, external: external) == .stillUsed(users: 1))
        #expect(allocator.statistics.udpPortsInUse == 1)
        #expect(table.release(key, external: external) == .ended)
        #expect(table.mapping(key) == nil && table.count == 0)
        #expect(allocator.statistics.udpPortsInUse == 0 && allocator.statistics.portsHeld == 0)
        // Released twice, or with another external endpoint: nothing changes.
        #expect(table.release(key, external: external) == .notMapped)
        let again = try table.acquire(key, now: t0)
        guard case .created(let next) = again else { Issue.record("a new mapping after the end reused \(again)"); return }
        #expect(next != external, "the allocator's cursor hands out a just-freed port last")
        #expect(table.release(key, external: external) == .notMapped)
        #expect(table.mapping(key)?.users == 1)
        // A hold reaches the allocator.
        #expect(table.release(key, external: next, holdUntil: t0 + .seconds(240)) == .ended)
        #expect(allocator.statistics.udpPortsInUse == 0 && allocator.statistics.portsHeld == 1)
    }

    @Test("a full port set refuses a new mapping but not a binding of an existing one")
    func exhaustion() throws {
        let allocator = try makeAllocator()
        let table = EndpointMappingTable(allocator: allocator)
        var port: UInt16 = 1
        var last: EndpointMappingKey?
        while true {
            let key = lanKey(1, port: port)
            do { _ = try table.acquire(key, now: t0) } catch {
                #expect(error == .portSetExhausted(subscriber: subscriber(1), portCount: table.count))
                break
            }
            last = key
            port += 1
            try #require(port < 2000, "the port set never filled")
        }
        #expect(table.mapping(lanKey(1, port: port)) == nil)
        let existing = try #require(last)
        #expect(try table.acquire(existing, now: t0) == .reused(try #require(table.mapping(existing)).external))
        #expect(allocator.statistics.udpPortSetExhaustions == 1)
    }

    @Test("4 tasks x 2 000 acquires and releases of 8 shared keys: every user counted, every port back")
    func concurrentUse() async throws {
        let allocator = try makeAllocator()
        let table = EndpointMappingTable(allocator: allocator, shardCount: 2)
        let keys = (0..<8).map { lanKey(1, port: UInt16(41000 + $0)) }
        let failures = await withTaskGroup(of: Int.self) { group in
            for task in 0..<4 {
                group.addTask {
                    var failures = 0
                    for i in 0..<2000 {
                        let key = keys[(task + i) % keys.count]
                        guard let acquired = try? table.acquire(key, now: t0) else { failures += 1; continue }
                        // While held, the mapping is this one for everyone.
                        if table.mapping(key)?.external != acquired.external { failures += 1 }
                        if table.release(key, external: acquired.external) == .notMapped { failures += 1 }
                    }
                    return failures
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
        #expect(table.count == 0)
        #expect(allocator.statistics.udpPortsInUse == 0)
    }
}

@Suite("BindingTable with endpoint-independent mapping")
struct SharedExternalBindingTests {
    private func udpBinding(cpePort: UInt16, external: Endpoint, remote: String) -> Binding {
        Binding(protocol: .udp, cpe: Endpoint(address: address("198.51.100.2"), port: cpePort),
                service: Endpoint(address: address("198.51.100.1"), port: 5000), external: external,
                remote: Endpoint(address: address(remote), port: 3478), created: t0)
    }

    @Test("one external endpoint towards two remotes is two bindings; the same remote twice is a conflict")
    func sharedExternal() throws {
        let table = try BindingTable(shardCount: 4)
        let external = Endpoint(address: address("192.0.2.128"), port: 4100)
        let first = try table.insert(udpBinding(cpePort: 50000, external: external, remote: "203.0.113.2"))
        let second = try table.insert(udpBinding(cpePort: 50001, external: external, remote: "203.0.113.3"))
        #expect(table.binding(external: external, remote: first.remote, protocol: .udp) == first)
        #expect(table.binding(external: external, remote: second.remote, protocol: .udp) == second)
        #expect(table.binding(external: external, remote: Endpoint(address: address("203.0.113.4"), port: 3478), protocol: .udp) == nil)
        let clash = udpBinding(cpePort: 50002, external: external, remote: "203.0.113.2")
        #expect(throws: BindingTableError.duplicateExternalKey(external, .udp, existingID: first.id)) { try table.insert(clash) }
        #expect(table.count == 2)
        table.remove(id: first.id)
        #expect(table.binding(external: external, remote: second.remote, protocol: .udp) == second)
    }
}
