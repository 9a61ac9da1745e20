import BindingState
import Testing
import WireFormat

/// A binding whose keys all derive from `n`, so distinct `n` give distinct keys on both sides.
private func makeBinding(
    _ n: Int, protocol transport: TransportProtocol = .tcp, external: Endpoint? = nil, created: ContinuousClock.Instant = t0
) -> Binding {
    Binding(
        protocol: transport,
        cpe: Endpoint(address: cpe(n / 60000), port: UInt16(1024 + n % 60000)),
        service: Endpoint(address: address("192.0.2.1"), port: 443),
        external: external ?? Endpoint(address: .v4(IPv4Address(0xC633_6400 + UInt32(n / 60000))), port: UInt16(1024 + n % 60000)),
        remote: Endpoint(address: address("203.0.113.5"), port: 80),
        created: created)
}

@Suite("Endpoint, TransportProtocol and Binding values")
struct BindingValueTests {
    @Test("descriptions and raw values")
    func values() {
        #expect(Endpoint(address: address("198.51.100.1"), port: 5000).description == "198.51.100.1:5000")
        #expect(Endpoint(address: address("2001:db8::1"), port: 5000).description == "[2001:db8::1]:5000")
        #expect(TransportProtocol.tcp.rawValue == 6 && TransportProtocol.udp.rawValue == 17)
        #expect(TransportProtocol(rawValue: 17) == .udp && TransportProtocol(rawValue: 1) == nil)
        #expect("\(TransportProtocol.tcp)/\(TransportProtocol.udp)" == "tcp/udp")
        let binding = makeBinding(1)
        #expect(binding.id == 0)
        #expect(binding.state == .connecting)
        #expect(binding.lastActivity == binding.created)
        #expect(binding.flowKey == FlowKey(protocol: .tcp, cpe: binding.cpe, service: binding.service))
        #expect(binding.flowKey.description == "tcp [2001:db8::1]:1025 -> 192.0.2.1:443")
    }
}

@Suite("BindingTable")
struct BindingTableTests {
    @Test("insert assigns increasing ids; both lookups and the id lookup find the binding")
    func insertAndLookups() throws {
        let table = try BindingTable()
        let a = try table.insert(makeBinding(1))
        let b = try table.insert(makeBinding(2, protocol: .udp))
        #expect(a.id >= 1 && b.id > a.id)
        #expect(table.binding(cpeSide: a.flowKey) == a)
        #expect(table.binding(external: a.external, remote: a.remote, protocol: .tcp) == a)
        #expect(table.binding(id: a.id) == a)
        #expect(table.binding(cpeSide: b.flowKey) == b)
        #expect(table.binding(external: b.external, remote: b.remote, protocol: .udp) == b)
        // The same external endpoint for the other protocol, or another service, is another key.
        #expect(table.binding(external: a.external, remote: a.remote, protocol: .udp) == nil)
        #expect(table.binding(cpeSide: FlowKey(protocol: .udp, cpe: a.cpe, service: a.service)) == nil)
        #expect(table.binding(cpeSide: FlowKey(protocol: .tcp, cpe: a.cpe, service: Endpoint(address: address("192.0.2.1"), port: 80))) == nil)
        #expect(table.binding(id: 999) == nil)
        #expect(table.count == 2)
    }

    @Test("a duplicate CPE-side key is refused and names the binding holding it")
    func duplicateCPESide() throws {
        let table = try BindingTable(shardCount: 4)
        let a = try table.insert(makeBinding(1))
        let clash = makeBinding(1, external: Endpoint(address: address("198.51.100.9"), port: 7000))
        #expect(throws: BindingTableError.duplicateCPESideKey(a.flowKey, existingID: a.id)) { try table.insert(clash) }
        #expect(table.count == 1)
        // The refused binding's external key was never claimed.
        #expect(table.binding(external: clash.external, remote: clash.remote, protocol: .tcp) == nil)
        #expect(try table.insert(makeBinding(2, external: clash.external)).external == clash.external)
    }

    @Test("a duplicate external key is refused, and the CPE-side key it claimed is given back")
    func duplicateExternal() throws {
        let table = try BindingTable(shardCount: 4)
        let a = try table.insert(makeBinding(1))
        let clash = makeBinding(2, external: a.external)
        #expect(throws: BindingTableError.duplicateExternalKey(a.external, .tcp, existingID: a.id)) { try table.insert(clash) }
        #expect(table.binding(cpeSide: clash.flowKey) == nil)
        #expect(table.count == 1)
        let retried = try table.insert(makeBinding(2))
        #expect(table.binding(cpeSide: clash.flowKey) == retried)
        // The same external endpoint under UDP does not clash with the TCP binding.
        #expect(try table.insert(makeBinding(3, protocol: .udp, external: a.external)).protocol == .udp)
    }

    @Test("update changes state and activity in place; unknown ids report false")
    func update() throws {
        let table = try BindingTable()
        let a = try table.insert(makeBinding(1))
        #expect(table.update(id: a.id) { $0.state = .established; $0.lastActivity = t0 + .seconds(5) })
        let updated = try #require(table.binding(id: a.id))
        #expect(updated.state == .established)
        #expect(updated.lastActivity == t0 + .seconds(5))
        #expect(table.binding(cpeSide: a.flowKey) == updated)
        #expect(table.binding(external: a.external, remote: a.remote, protocol: .tcp) == updated)
        #expect(!table.update(id: a.id + 100) { $0.state = .established })
    }

    @Test("remove removes the record and both keys, once")
    func remove() throws {
        let table = try BindingTable()
        let a = try table.insert(makeBinding(1))
        let b = try table.insert(makeBinding(2))
        #expect(table.remove(id: a.id) == a)
        #expect(table.remove(id: a.id) == nil)
        #expect(table.binding(id: a.id) == nil)
        #expect(table.binding(cpeSide: a.flowKey) == nil)
        #expect(table.binding(external: a.external, remote: a.remote, protocol: .tcp) == nil)
        #expect(table.binding(cpeSide: b.flowKey) == b)
        #expect(table.count == 1)
        // Both keys are free again.
        let again = try table.insert(makeBinding(1))
        #expect(again.id > b.id)
        #expect(table.binding(external: a.external, remote: a.remote, protocol: .tcp) == again)
    }

    @Test("expired removes closing bindings whose time has come, and only those")
    func expired() throws {
        let table = try BindingTable(shardCount: 2)
        let ids = try (1...5).map { try table.insert(makeBinding($0)).id }
        table.update(id: ids[0]) { $0.state = .closing(until: t0 + .seconds(10)) }
        table.update(id: ids[1]) { $0.state = .established }
        table.update(id: ids[2]) { $0.state = .closing(until: t0 + .seconds(30)) }
        table.update(id: ids[4]) { $0.state = .closing(until: t0 + .seconds(5)) }
        #expect(table.expired(now: t0 + .seconds(4)).isEmpty)
        let first = table.expired(now: t0 + .seconds(10))
        #expect(first.map(\.id) == [ids[0], ids[4]])
        #expect(table.count == 3)
        #expect(table.binding(cpeSide: first[0].flowKey) == nil)
        #expect(table.binding(external: first[1].external, remote: first[1].remote, protocol: .tcp) == nil)
        #expect(table.expired(now: t0 + .seconds(29)).isEmpty)
        #expect(table.expired(now: t0 + .seconds(3600)).map(\.id) == [ids[2]])
        #expect(table.snapshot().map(\.id) == [ids[1], ids[3]])
    }

    @Test("snapshot is ordered by id across shards")
    func snapshot() throws {
        let table = try BindingTable(shardCount: 8)
        let inserted = try (0..<100).map { try table.insert(makeBinding($0)) }
        #expect(table.snapshot() == inserted)
    }

    @Test("shard counts must be powers of two in 1...1024")
    func shardCounts() throws {
        for count in [0, 3, 6, 2048, -4] {
            #expect(throws: BindingTableError.invalidShardCount(count)) { try BindingTable(shardCount: count) }
        }
        #expect(try BindingTable(shardCount: 1).shardCount == 1)
        #expect(try BindingTable(shardCount: 1024).shardCount == 1024)
        #expect(BindingTableError.invalidShardCount(3).description.contains("power of two"))
    }

    @Test("4 tasks x 10 000 inserts, lookups and removes on distinct keys, plus a contended key set")
    func concurrentUse() async throws {
        let table = try BindingTable(shardCount: 16)
        let perTask = 10_000
        let failures = await withTaskGroup(of: Int.self) { group in
            for task in 0..<4 {
                group.addTask {
                    var failures = 0
                    for i in 0..<perTask {
                        guard let binding = try? table.insert(makeBinding(task * perTask + i)) else { failures += 1; continue }
                        if table.binding(cpeSide: binding.flowKey)?.id != binding.id { failures += 1 }
                        if table.binding(external: binding.external, remote: binding.remote, protocol: .tcp)?.id != binding.id { failures += 1 }
                        if !table.update(id: binding.id, { $0.state = .established }) { failures += 1 }
                        // Remove every other one, so the final count is known.
                        if i % 2 == 1, table.remove(id: binding.id)?.id != binding.id { failures += 1 }
                    }
                    return failures
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
        #expect(table.count == 4 * perTask / 2)
        #expect(table.snapshot().allSatisfy { $0.state == .established })

        // All tasks race for the same 100 keys: each key is won exactly once.
        let wins = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    (0..<100).reduce(0) { won, n in (try? table.insert(makeBinding(1_000_000 + n))) == nil ? won : won + 1 }
                }
            }
            return await group.reduce(0, +)
        }
        #expect(wins == 100)
        #expect(table.count == 4 * perTask / 2 + 100)
    }
}
