import BindingState
import Foundation
import LeaseStore
import Testing
import WireFormat

@Suite("LeaseDatabase: rows that survive a restart")
struct LeaseDatabaseRoundTripTests {
    @Test("a new file is created; allocated, renewed and released rows read back the same after reopening")
    func freshFileRoundTrip() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/leases.db"
            let database = try LeaseDatabase(path: path)
            #expect(try database.load().isEmpty)
            try database.apply([
                (event(.allocated, "alice", "198.51.100.1", 1), at: 1000),
                (event(.allocated, "bob", "198.51.100.1", 2), at: 1100),
                (event(.renewed, "alice", "198.51.100.1", 1), at: 2000),
                (event(.released, "bob", "198.51.100.1", 2), at: 3000),
            ])
            try database.close()

            let reopened = try LeaseDatabase(path: path)
            #expect(try reopened.load() == [
                LeaseRecord(subscriber: SubscriberID("alice"), address: address("198.51.100.1"), psid: 1,
                            start: 1000, lastUse: 2000, end: nil),
                LeaseRecord(subscriber: SubscriberID("bob"), address: address("198.51.100.1"), psid: 2,
                            start: 1100, lastUse: 3000, end: 3000),
            ])
            // The released port set goes to another subscriber: new owner, new start, no end.
            try reopened.apply([(event(.allocated, "carol", "198.51.100.1", 2), at: 4000)])
            try reopened.close()

            let third = try LeaseDatabase(path: path)
            defer { try? third.close() }
            let rows = try third.load()
            #expect(rows.count == 2)
            #expect(rows.last == LeaseRecord(subscriber: SubscriberID("carol"), address: address("198.51.100.1"), psid: 2,
                                             start: 4000, lastUse: 4000, end: nil))
        }
    }

    @Test("a renewal or release whose allocation was lost still leaves a consistent row for its subscriber")
    func eventsWithoutAllocation() throws {
        try withNewDatabase { database, _ in
            try database.apply([(event(.allocated, "alice", "203.0.113.9", 7), at: 10)])
            try database.apply([
                (event(.renewed, "bob", "203.0.113.9", 7), at: 20),
                (event(.released, "carol", "203.0.113.9", 8), at: 30),
            ])
            #expect(try database.load() == [
                LeaseRecord(subscriber: SubscriberID("bob"), address: address("203.0.113.9"), psid: 7, start: 20, lastUse: 20, end: nil),
                LeaseRecord(subscriber: SubscriberID("carol"), address: address("203.0.113.9"), psid: 8, start: 30, lastUse: 30, end: 30),
            ])
        }
    }

    @Test("forget drops the rows of port sets the pool no longer has")
    func forget() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/leases.db"
            try makeDatabase(at: path, leases: 3)
            let database = try LeaseDatabase(path: path)
            defer { try? database.close() }
            #expect(try database.forget(address: address("198.51.100.0"), psid: 1))
            #expect(try !database.forget(address: address("198.51.100.0"), psid: 1))
            #expect(try database.forget([(address: address("198.51.100.0"), psid: 2), (address: address("192.0.2.1"), psid: 0)]) == 1)
            #expect(try database.load().map(\.psid) == [0])
        }
    }
}

@Suite("LeaseDatabase: files that are refused and left untouched")
struct LeaseDatabaseRefusalTests {
    /// Opens `path`, expects a refusal of `kind` naming the file, and checks not a byte changed.
    func expectRefused(_ path: String, _ kind: LeaseStoreError.Kind, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try fileBytes(path)
        let error = #expect(throws: LeaseStoreError.self, sourceLocation: sourceLocation) { try LeaseDatabase(path: path) }
        #expect(error?.kind == kind, sourceLocation: sourceLocation)
        #expect(error?.description.contains(path) == true, "\(String(describing: error))", sourceLocation: sourceLocation)
        #expect(try fileBytes(path) == before, "the refused file was modified", sourceLocation: sourceLocation)
    }

    @Test("a truncated database is refused and its bytes are unchanged", arguments: ["half", "100 bytes", "150 bytes"])
    func truncated(to length: String) throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/leases.db"
            try makeDatabase(at: path, leases: 2000)
            let size = try fileBytes(path).count
            #expect(size > 16384)
            let newSize = switch length { case "half": size / 2; case "100 bytes": 100; default: 150 }
            #expect(truncate(path, off_t(newSize)) == 0)
            try expectRefused(path, .corrupt)
        }
    }

    @Test("random bytes and a text file are refused and unchanged", arguments: [false, true])
    func notADatabase(text: Bool) throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/leases.db"
            var generator = SystemRandomNumberGenerator()
            let bytes = text
                ? Data(String(repeating: "address psid subscriber\n198.51.100.1 3 alice\n", count: 200).utf8)
                : Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
            try bytes.write(to: URL(fileURLWithPath: path))
            try expectRefused(path, .corrupt)
        }
    }

    @Test("an SQLite file with someone else's tables is refused and unchanged")
    func foreignSchema() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/leases.db"
            try executeAsAnotherProgram(path, sql:
                "CREATE TABLE leases (mac TEXT PRIMARY KEY, ip TEXT); INSERT INTO leases VALUES ('00:11', '10.0.0.2')")
            try expectRefused(path, .foreignSchema)
        }
    }

    @Test("our database written by a newer schema version is refused and unchanged")
    func newerSchema() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/leases.db"
            try makeDatabase(at: path, leases: 1)
            try executeAsAnotherProgram(path, sql: "PRAGMA user_version = 3")
            try expectRefused(path, .newerSchema)
        }
    }

    @Test("a missing parent directory is an error naming it, and is not created")
    func missingDirectory() throws {
        try withTemporaryDirectory { directory in
            let missing = directory + "/no-such-dir"
            let error = #expect(throws: LeaseStoreError.self) { try LeaseDatabase(path: missing + "/leases.db") }
            #expect(error?.kind == .missingDirectory)
            #expect(error?.description.contains(missing) == true)
            #expect(access(missing, F_OK) != 0)
        }
    }

    @Test("an empty file (touch leases.db) becomes a new database")
    func emptyFile() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/leases.db"
            #expect(FileManager.default.createFile(atPath: path, contents: nil))
            let database = try LeaseDatabase(path: path)
            defer { try? database.close() }
            try database.apply([(event(.allocated, "alice", "198.51.100.1", 1), at: 1)])
            #expect(try database.load().count == 1)
        }
    }
}
