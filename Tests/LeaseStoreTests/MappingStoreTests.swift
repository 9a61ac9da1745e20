import BindingState
import GRDB
import LeaseStore
import Testing
import WireFormat

private func mapping(_ first: UInt16, _ last: UInt16, transport: TransportProtocol = .tcp, expires: Int64 = 9_000,
                     filters: [MappingFilter] = []) throws -> PortMapping {
    PortMapping(subscriber: SubscriberID("cust-7"), transport: transport, externalAddress: address("203.0.113.5"),
                externalPorts: first...last, internalAddress: .v4(address("192.0.2.10")), internalPort: 8080,
                cpeAddress: .v6(IPv6Address("2001:db8::7")!), nonce: MappingNonce(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C),
                filters: filters, created: 1_000, expires: expires)
}

@Suite("PCP mappings and the PCP epoch kept in the lease database")
struct MappingStoreTests {
    @Test("made, renewed and deleted mappings read back as they are after reopening; filters and IPv6 CPE addresses survive")
    func roundTrip() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/leases.db"
            let filter = MappingFilter(prefix: try IPPrefix("198.51.100.0/24"), port: 443)
            let web = try mapping(1856, 1871, filters: [filter])
            let game = try mapping(1860, 1860, transport: .udp)
            let gone = try mapping(1872, 1872)
            do {
                let database = try LeaseDatabase(path: path)
                try database.apply([MappingEvent(.created, web), MappingEvent(.created, game), MappingEvent(.created, gone)])
                var renewed = web
                renewed.expires = 20_000
                try database.apply([MappingEvent(.renewed, renewed), MappingEvent(.deleted, gone)])
                try database.close()
            }
            let reopened = try LeaseDatabase(path: path)
            defer { try? reopened.close() }
            var expected = web
            expected.expires = 20_000
            #expect(try reopened.loadMappings() == [expected, game])
        }
    }

    @Test("a version 1 database (leases only) is upgraded in place: its leases kept, mappings and epoch added")
    func upgradeFromLeasesOnly() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/leases.db"
            try makeDatabase(at: path, leases: 3)
            try executeAsAnotherProgram(path, sql: "DROP TABLE mappings; DROP TABLE server_state; PRAGMA user_version = 1")
            let database = try LeaseDatabase(path: path)
            defer { try? database.close() }
            #expect(try database.load().count == 3)
            #expect(try database.loadMappings().isEmpty)
            try database.apply([MappingEvent(.created, try mapping(1856, 1856))])
            #expect(try database.loadMappings().count == 1)
            let version = try DatabaseQueue(path: path).read { db in try Int32.fetchOne(db, sql: "PRAGMA user_version") }
            #expect(version == 2)
        }
    }

    @Test("the epoch start is kept while mappings were kept, and starts again when they were not")
    func epoch() throws {
        try withNewDatabase { database, _ in
            var starts: [Int64] = []
            for (now, kept) in [(5_000, true), (9_000, true), (12_000, false), (13_000, true), (11_000, true)] as [(Int64, Bool)] {
                starts.append(try database.pcpEpochStart(now: now, keptMappings: kept))
            }
            // Kept, kept, lost (restarts), kept; then a stored start in the future (clock stepped back) is not believed.
            #expect(starts == [5_000, 5_000, 12_000, 12_000, 11_000])
        }
    }

    @Test("a mapping row edited into nonsense is an invalid-row error naming the file")
    func invalidRow() throws {
        try withNewDatabase { database, path in
            try database.apply([MappingEvent(.created, try mapping(1856, 1856))])
            try executeAsAnotherProgram(path, sql: "UPDATE mappings SET nonce = 'xyz'")
            let error = #expect(throws: LeaseStoreError.self) { try database.loadMappings() }
            #expect(error?.kind == .invalidRow && error?.path == path)
        }
    }

    @Test("the journal commits lease and mapping events in order, in the same batches")
    func journal() throws {
        try withNewDatabase { database, _ in
            let journal = LeaseJournal(database: database, clock: { 7_000 })
            journal.record(event(.allocated, "cust-7", "203.0.113.5", 52))
            journal.record(MappingEvent(.created, try mapping(1856, 1871)))
            journal.record(MappingEvent(.created, try mapping(1872, 1872)))
            journal.record(MappingEvent(.expired, try mapping(1872, 1872)))
            #expect(journal.close())
            #expect(try database.load().map(\.subscriber) == [SubscriberID("cust-7")])
            #expect(try database.loadMappings() == [try mapping(1856, 1871)])
            #expect(journal.counters[.eventsWritten] == 4)
        }
    }
}
