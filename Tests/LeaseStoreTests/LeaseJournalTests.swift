import BindingState
import GRDB
import LeaseStore
import Syscalls
import Testing
import WireFormat

/// Another connection holding the database's write lock (until `COMMIT`), as a second process or
/// a stalled disk would: the journal's transactions wait for it, then fail.
func lockingConnection(_ path: String) throws -> DatabaseQueue {
    var configuration = Configuration()
    configuration.allowsUnsafeTransactions = true
    let blocker = try DatabaseQueue(path: path, configuration: configuration)
    try blocker.inDatabase { db in try db.execute(sql: "BEGIN EXCLUSIVE") }
    return blocker
}

@Suite("LeaseJournal: events from relay threads, committed in batches")
struct LeaseJournalTests {
    @Test("10 000 events from 4 threads end up as the right rows in far fewer transactions")
    func concurrentEvents() throws {
        try withNewDatabase { database, _ in
            let journal = LeaseJournal(database: database)
            defer { journal.close() }
            // Each thread owns 500 port sets: allocated, renewed three times, and every other one released.
            let threads = (0..<4).map { thread in
                OSThread.start(name: "lease-test-\(thread)") {
                    for index in 0..<500 {
                        let portSet = (address: "198.51.\(100 + thread).\(index / 100)", psid: UInt16(index % 100))
                        let owner = "subscriber-\(thread)-\(index)"
                        journal.record(event(.allocated, owner, portSet.address, portSet.psid))
                        for _ in 0..<3 { journal.record(event(.renewed, owner, portSet.address, portSet.psid)) }
                        let last: LeaseEvent.Kind = index.isMultiple(of: 2) ? .released : .renewed
                        journal.record(event(last, owner, portSet.address, portSet.psid))
                    }
                }
            }
            for thread in threads { thread.join() }
            #expect(journal.flush())

            #expect(journal.counters[.eventsWritten] == 10_000)
            #expect(journal.counters[.droppedEvents] == 0)
            #expect(journal.counters[.writeFailures] == 0)
            #expect(journal.counters[.batches] >= 1)
            #expect(journal.counters[.batches] < 500, "one transaction per burst, not per event")

            let rows = try database.load()
            #expect(rows.count == 2000)
            for row in rows {
                let thread = Int(row.address.value >> 8 & 0xFF) - 100
                let index = Int(row.address.value & 0xFF) * 100 + Int(row.psid)
                #expect(row.subscriber == SubscriberID("subscriber-\(thread)-\(index)"))
                #expect(row.isActive == !index.isMultiple(of: 2))
                #expect(row.start <= row.lastUse)
                if let end = row.end { #expect(end == row.lastUse) }
            }
        }
    }

    @Test("a full queue drops and counts; what was queued is committed once the database is free")
    func fullQueueDrops() throws {
        try withNewDatabase { database, path in
            let blocker = try lockingConnection(path)
            defer { try? blocker.close() }

            let journal = LeaseJournal(database: database, capacity: 8)
            defer { journal.close() }
            for index in 0..<100 {
                journal.record(event(.allocated, "subscriber-\(index)", "203.0.113.1", UInt16(index)))
            }
            let dropped = journal.counters[.droppedEvents]
            // The writer took at most one queue's worth before it blocked; the queue holds one more.
            #expect(dropped >= 100 - 2 * 8)
            #expect(dropped < 100)
            try blocker.inDatabase { db in try db.execute(sql: "COMMIT") }

            #expect(journal.flush())
            #expect(journal.counters[.eventsWritten] == 100 - dropped)
            #expect(try database.load().count == 100 - dropped)
        }
    }

    @Test("a failed transaction is counted, its events kept and committed by a later batch")
    func failedWriteRetried() throws {
        try withNewDatabase(busyTimeout: .milliseconds(20)) { database, path in
            let blocker = try lockingConnection(path)
            defer { try? blocker.close() }

            let journal = LeaseJournal(database: database, clock: { 42 })
            defer { journal.close() }
            for psid in UInt16(0)..<5 { journal.record(event(.allocated, "alice", "192.0.2.1", psid)) }
            #expect(!journal.flush(), "the database is locked: the flush reports the failure")
            #expect(journal.counters[.writeFailures] >= 1)
            #expect(journal.lastWriteError?.kind == .ioFailure)
            #expect(journal.lastWriteError?.description.contains(path) == true)

            try blocker.inDatabase { db in try db.execute(sql: "COMMIT") }
            journal.record(event(.released, "alice", "192.0.2.1", 0))
            #expect(journal.flush())
            #expect(journal.counters[.eventsWritten] == 6)
            #expect(journal.counters[.droppedEvents] == 0)
            let rows = try database.load()
            #expect(rows.count == 5)
            #expect(rows.first?.end == 42)
            #expect(rows.dropFirst().allSatisfy { $0.isActive && $0.start == 42 })
        }
    }

    @Test("close commits what is queued; events after it are dropped and counted")
    func closeFlushes() throws {
        try withNewDatabase { database, _ in
            let journal = LeaseJournal(database: database)
            for psid in UInt16(0)..<50 { journal.record(event(.allocated, "bob", "192.0.2.2", psid)) }
            #expect(journal.close())
            journal.record(event(.allocated, "bob", "192.0.2.2", 99))
            #expect(journal.counters[.droppedEvents] == 1)
            let rows = try database.load()
            #expect(rows.count == 50)
        }
    }
}
