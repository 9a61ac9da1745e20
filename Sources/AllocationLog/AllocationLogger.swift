public import BindingState
public import WireFormat
public import Counters
import Synchronization
import Syscalls

/// What the allocation log counts (`ctl stats` keys).
public enum AllocationLogCounter: Int, CounterName {
    /// Records written to every output.
    case recordsWritten
    /// Records lost because the queue was full (the data path never waits for the log).
    case recordsDropped
    /// Batches an output failed to take (collector down, socket full, disk error).
    case outputFailures
    /// Repeated exhaustion records left out (at most one per subscriber and protocol per 10 s).
    case exhaustionSuppressed
    /// Held leases announced again: at start-up, and to an output that came back.
    case leasesAnnounced

    public var name: String {
        switch self {
        case .recordsWritten: "log_records_written"
        case .recordsDropped: "log_records_dropped"
        case .outputFailures: "log_output_failures"
        case .exhaustionSuppressed: "log_exhaustion_suppressed"
        case .leasesAnnounced: "log_leases_announced"
        }
    }

    public var help: String {
        switch self {
        case .recordsWritten: "Allocation log: records written, summed over the outputs that took them."
        case .recordsDropped: "Allocation log: records lost because its queue was full or it was closing (the data path never waits for the log)."
        case .outputFailures: "Allocation log: batches an output failed to take (collector down, socket full, disk error); lost for that output."
        case .exhaustionSuppressed: "Allocation log: repeated exhaustion records left out (at most one per subscriber and kind per 10 s)."
        case .leasesAnnounced: "Allocation log: held leases written again, at start-up and to an output that came back."
        }
    }
}

/// The allocation log's queue and thread. The allocator (`LeaseEventSink`), the relay loops
/// (`SessionEventSink`) and the PCP mappings (`MappingEventSink`) only stamp the time and append under a short lock; one thread formats
/// and writes. A full queue drops the record and counts it.
public final class AllocationLogger: LeaseEventSink, SessionEventSink, MappingEventSink, @unchecked Sendable {
    public let counters = AtomicCounters<AllocationLogCounter>()
    private let formatter: LogFormatter
    private let outputs: [any LogOutput]
    private let capacity: Int
    /// The leases held now, for announcing them again (the allocator's snapshot); set by `start`.
    private var heldLeases: @Sendable () -> [(SubscriberID, IPv4Address, UInt16)] = { [] }
    private let lock = ConditionLock()
    /// Guarded by `lock`.
    private var pending: [LogRecord] = []
    private var stopping = false
    private var queuedTotal: UInt64 = 0
    private var settledTotal: UInt64 = 0
    private var thread: OSThread?
    /// Last exhaustion record per (subscriber, kind), for the 10 s suppression.
    private let lastExhaustion = Mutex<[ExhaustionKey: Int64]>([:])

    struct ExhaustionKey: Hashable {
        var subscriber: SubscriberID
        var kind: ExhaustionEvent.Kind
    }

    /// Records are queued from here on; nothing is written before `start`.
    public init(formatter: LogFormatter, outputs: [any LogOutput], capacity: Int = 65536) {
        precondition(capacity > 0)
        self.formatter = formatter
        self.outputs = outputs
        self.capacity = capacity
        pending.reserveCapacity(min(capacity, 4096))
    }

    /// Starts the logging thread, which first announces `heldLeases()` (the leases restored at
    /// start-up); the same closure serves outputs that come back after failing.
    public func start(heldLeases: @escaping @Sendable () -> [(SubscriberID, IPv4Address, UInt16)]) {
        lock.withLock { self.heldLeases = heldLeases }
        let thread = OSThread.start(name: "allocation-log") { self.run() }
        lock.withLock { self.thread = thread }
    }

    // MARK: producers (any thread)

    public func record(_ event: LeaseEvent) {
        enqueue(LogRecord(.lease(event), time: WallClock.nowMilliseconds()))
    }

    public func exhausted(_ event: ExhaustionEvent) {
        let now = WallClock.nowMilliseconds()
        let key = ExhaustionKey(subscriber: event.subscriber, kind: event.kind)
        let fresh = lastExhaustion.withLock { last -> Bool in
            if let previous = last[key], now - previous < 10_000 { return false }
            if last.count >= 65536 { last.removeAll(keepingCapacity: true) }  // bounded: forget, log again
            last[key] = now
            return true
        }
        guard fresh else { return counters.add(.exhaustionSuppressed) }
        enqueue(LogRecord(.exhausted(event), time: now))
    }

    public func record(_ event: SessionEvent) {
        enqueue(LogRecord(.session(event), time: WallClock.nowMilliseconds()))
    }

    public func record(_ event: MappingEvent) {
        enqueue(LogRecord(.mapping(event), time: WallClock.nowMilliseconds()))
    }

    private func enqueue(_ record: LogRecord) {
        let queued = lock.withLock { () -> Bool in
            guard pending.count < capacity, !stopping else { return false }
            pending.append(record)
            queuedTotal += 1
            if pending.count == 1 { lock.signal(.workAvailable) }
            return true
        }
        if !queued { counters.add(.recordsDropped) }
    }

    /// Blocks until everything queued so far has been written (tests, shutdown).
    public func flush() {
        lock.withLock {
            let target = queuedTotal
            lock.signal(.workAvailable)
            while settledTotal < target && thread != nil { lock.wait(.progress) }
        }
    }

    /// Writes what is queued and stops the thread.
    public func close() {
        let thread = lock.withLock { () -> OSThread? in
            stopping = true
            lock.signal(.workAvailable)
            defer { self.thread = nil }
            return self.thread
        }
        thread?.join()
    }

    // MARK: the logging thread

    private func run() {
        let renderer = LogRenderer(formatter)
        var failing = [Bool](repeating: false, count: outputs.count)
        let heldLeases = lock.withLock { self.heldLeases }
        announce(heldLeases, to: Array(outputs.indices), renderer: renderer, failing: &failing)
        var batch: [LogRecord] = []
        while true {
            let stop = lock.withLock { () -> Bool in
                // Woken by records, or after a second for the outputs' timers.
                if pending.isEmpty && !stopping {
                    lock.wait(.workAvailable, untilMonotonicNanoseconds: monotonicNanoseconds() + 1_000_000_000)
                }
                swap(&pending, &batch)
                return stopping
            }
            for output in outputs { output.tick() }
            if !batch.isEmpty {
                renderer.readDirectory()
                write(batch, heldLeases, renderer: renderer, failing: &failing)
                lock.withLock {
                    settledTotal += UInt64(batch.count)
                    lock.broadcast(.progress)
                }
                batch.removeAll(keepingCapacity: true)
            }
            if stop && lock.withLock({ pending.isEmpty }) { break }
        }
        lock.withLock { lock.broadcast(.progress) }
    }

    /// Writes to the outputs; one that succeeds after failing gets the held leases again first,
    /// so a collector that was down learns every lease still in force.
    private func write(_ records: [LogRecord], _ heldLeases: () -> [(SubscriberID, IPv4Address, UInt16)], renderer: LogRenderer,
                       failing: inout [Bool]) {
        for index in outputs.indices {
            if failing[index] {
                announce(heldLeases, to: [index], renderer: renderer, failing: &failing)
                if failing[index] {
                    counters.add(.outputFailures)
                    continue
                }
            }
            if outputs[index].write(records, renderer: renderer) {
                counters.add(.recordsWritten, records.count)
            } else {
                failing[index] = true
                counters.add(.outputFailures)
            }
        }
    }

    private func announce(_ heldLeases: () -> [(SubscriberID, IPv4Address, UInt16)], to indices: [Int], renderer: LogRenderer,
                          failing: inout [Bool]) {
        let now = WallClock.nowMilliseconds()
        let records = heldLeases().map { LogRecord(.held(subscriber: $0.0, address: $0.1, psid: $0.2), time: now) }
        renderer.readDirectory()
        for index in indices {
            guard !records.isEmpty else {
                failing[index] = false
                continue
            }
            failing[index] = !outputs[index].write(records, renderer: renderer)
            if !failing[index] { counters.add(.leasesAnnounced, records.count) }
        }
    }
}
