public import BindingState
public import Counters
import Glibc
public import Syscalls

/// What the lease journal counts (`ctl stats` keys).
public enum LeaseJournalCounter: Int, CounterName {
    /// Events (lease and mapping changes) committed to the database.
    case eventsWritten
    /// Transactions committed (one fsync each).
    case batches
    /// Events lost: the queue was full, the journal was closed, or failed writes kept too many.
    case droppedEvents
    /// Transactions that failed (disk full, I/O error, locked); their events are tried again.
    case writeFailures

    public var name: String {
        switch self {
        case .eventsWritten: "lease_events_written"
        case .batches: "lease_batches"
        case .droppedEvents: "lease_events_dropped"
        case .writeFailures: "lease_write_failures"
        }
    }

    public var help: String {
        switch self {
        case .eventsWritten: "Lease journal: lease and mapping events committed to the lease database."
        case .batches: "Lease journal: transactions committed to the lease database, one fsync each."
        case .droppedEvents: "Lease journal: events lost (queue full, journal closed, too many kept after failed writes); the database misses them."
        case .writeFailures: "Lease journal: transactions that failed (disk full, I/O error, locked); their events are tried again."
        }
    }
}

/// A lease event with its time, or a mapping event (mappings carry their own times).
enum JournalEntry {
    case lease(LeaseEvent, at: Int64)
    case mapping(MappingEvent)
}

/// The allocator's `LeaseEventSink` and the mappings' `MappingEventSink`: `record` stamps the wall-clock time and appends to a bounded
/// queue under a short lock (no I/O, no allocation), and one writer thread commits what has
/// queued in one transaction, so a burst of allocations costs one fsync, not one each.
public final class LeaseJournal: LeaseEventSink, MappingEventSink, @unchecked Sendable {
    /// The journal's counters, readable from any thread.
    public let counters = AtomicCounters<LeaseJournalCounter>()

    private let database: LeaseDatabase
    private let capacity: Int
    private let minimumBatchIntervalNanoseconds: Int64
    private let clock: @Sendable () -> Int64
    private let lock = ConditionLock()
    /// Guarded by `lock`.
    private var state: State

    /// How long the writer waits before trying a failed batch again, unless a flush asks sooner.
    static let retryIntervalNanoseconds: Int64 = 1_000_000_000

    private struct State {
        /// Events recorded and not yet taken by the writer; never grows past `capacity`.
        var pending: [JournalEntry]
        /// Events ever put into `pending`.
        var accepted: UInt64 = 0
        /// Events committed, or given up on by the writer.
        var settled: UInt64 = 0
        /// Failed transactions so far: a flush ends when one fails after it began.
        var failures: UInt64 = 0
        var lastWriteError: LeaseStoreError?
        /// Flushes waiting: the writer then skips its batch interval and retry delay.
        var flushesWaiting = 0
        var stopping = false
        var writerExited = false
        var thread: OSThread?
    }

    /// Starts the writer thread. `capacity` bounds the queue (events beyond it are dropped and
    /// counted); `minimumBatchInterval` spaces transactions so a steady stream of events costs at
    /// most one fsync per interval; `clock` gives wall-clock UTC milliseconds (tests fix it).
    public init(
        database: LeaseDatabase,
        capacity: Int = 65536,
        minimumBatchInterval: Duration = .milliseconds(10),
        clock: @escaping @Sendable () -> Int64 = { WallClock.nowMilliseconds() }
    ) {
        precondition(capacity > 0, "a lease journal needs room for at least one event")
        self.database = database
        self.capacity = capacity
        let (seconds, attoseconds) = minimumBatchInterval.components
        minimumBatchIntervalNanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        self.clock = clock
        var pending: [JournalEntry] = []
        pending.reserveCapacity(capacity)
        state = State(pending: pending)
        let thread = OSThread.start(name: "lease-journal") { self.runWriter() }
        lock.withLock { state.thread = thread }
    }

    /// Queues the event with the current time; drops and counts it when the queue is full.
    public func record(_ event: LeaseEvent) {
        enqueue(.lease(event, at: clock()))
    }

    /// Queues a mapping change; drops and counts it when the queue is full.
    public func record(_ event: MappingEvent) {
        enqueue(.mapping(event))
    }

    private func enqueue(_ entry: JournalEntry) {
        let queued = lock.withLock {
            guard state.pending.count < capacity, !state.stopping else { return false }
            state.pending.append(entry)
            state.accepted += 1
            if state.pending.count == 1 { lock.signal(.workAvailable) }
            return true
        }
        if !queued { counters.add(.droppedEvents) }
    }

    /// The error of the most recent failed transaction, for the caller to report.
    public var lastWriteError: LeaseStoreError? { lock.withLock { state.lastWriteError } }

    /// Blocks until every event recorded before the call is committed (true), or a transaction
    /// failed meanwhile (false; its events are kept and tried again).
    @discardableResult
    public func flush() -> Bool {
        lock.withLock {
            let target = state.accepted
            let failuresBefore = state.failures
            state.flushesWaiting += 1
            defer { state.flushesWaiting -= 1 }
            lock.signal(.workAvailable)
            while state.settled < target && state.failures == failuresBefore && !state.writerExited {
                lock.wait(.progress)
            }
            return state.settled >= target
        }
    }

    /// Commits what is queued, then stops the writer thread; later events are dropped and counted.
    /// Answers whether everything recorded was committed.
    @discardableResult
    public func close() -> Bool {
        let thread = lock.withLock {
            state.stopping = true
            lock.signal(.workAvailable)
            defer { state.thread = nil }
            return state.thread
        }
        thread?.join()
        return lock.withLock { state.settled == state.accepted }
    }

    // MARK: - The writer thread

    private func runWriter() {
        var taken: [JournalEntry] = []
        taken.reserveCapacity(capacity)
        var retained: [JournalEntry] = []
        var notBefore: Int64 = 0
        while true {
            let stopping = lock.withLock {
                waitForBatch(retainedCount: retained.count, notBefore: notBefore)
                swap(&state.pending, &taken)
                return state.stopping
            }
            if taken.isEmpty && retained.isEmpty { break }
            let startedAt = monotonicNanoseconds()
            if !retained.isEmpty {
                retained.append(contentsOf: taken)
                taken.removeAll(keepingCapacity: true)
                discardOldest(beyond: capacity, of: &retained)
            }
            let batchCount = retained.isEmpty ? taken.count : retained.count
            do throws(LeaseStoreError) {
                try database.apply(entries: retained.isEmpty ? taken : retained)
                counters.add(.eventsWritten, batchCount)
                counters.add(.batches)
                retained.removeAll(keepingCapacity: true)
                notBefore = startedAt + minimumBatchIntervalNanoseconds
                lock.withLock {
                    state.settled += UInt64(batchCount)
                    lock.broadcast(.progress)
                }
            } catch {
                counters.add(.writeFailures)
                if retained.isEmpty { swap(&retained, &taken) }
                notBefore = monotonicNanoseconds() + Self.retryIntervalNanoseconds
                lock.withLock {
                    state.failures += 1
                    state.lastWriteError = error
                    lock.broadcast(.progress)
                }
                if stopping {
                    // Shutting down and the disk still fails: give up on the kept events.
                    counters.add(.droppedEvents, retained.count)
                    lock.withLock { state.settled += UInt64(retained.count) }
                    retained.removeAll()
                }
            }
            taken.removeAll(keepingCapacity: true)
        }
        lock.withLock {
            state.writerExited = true
            lock.broadcast(.progress)
        }
    }

    /// Sleeps (lock held) until there is something to write and its time has come: a batch waits
    /// out the minimum interval since the last commit, a failed one the retry delay, unless a
    /// flush or close is waiting.
    private func waitForBatch(retainedCount: Int, notBefore: Int64) {
        while true {
            if state.pending.isEmpty && retainedCount == 0 {
                if state.stopping { return }
                lock.wait(.workAvailable)
                continue
            }
            if state.stopping || state.flushesWaiting > 0 || monotonicNanoseconds() >= notBefore { return }
            lock.wait(.workAvailable, untilMonotonicNanoseconds: notBefore)
        }
    }

    /// Keeps a failed batch bounded: the oldest events go first (later ones supersede them).
    private func discardOldest(beyond limit: Int, of events: inout [JournalEntry]) {
        let excess = events.count - limit
        guard excess > 0 else { return }
        events.removeFirst(excess)
        counters.add(.droppedEvents, excess)
        lock.withLock { state.settled += UInt64(excess) }
    }
}
