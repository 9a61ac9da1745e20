import Glibc

/// A pthread mutex with two condition variables: a writer thread (the lease journal, the
/// allocation log) sleeps on one until there is work, flushers on the other until the writer has
/// made progress. Synchronization's `Mutex` has no condition to wait on, and a writer must sleep,
/// not spin.
public final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let conditions = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 2)

    /// Which of the two conditions a wait or a wake-up is about.
    public enum Condition: Int, Sendable {
        case workAvailable = 0
        case progress = 1
    }

    public init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        // Timed waits count on the monotonic clock, so a wall-clock step never stretches them.
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        for index in 0..<2 { pthread_cond_init(conditions + index, &attributes) }
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        for index in 0..<2 { pthread_cond_destroy(conditions + index) }
        pthread_mutex_destroy(mutex)
        conditions.deallocate()
        mutex.deallocate()
    }

    public func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Sleeps until woken (or spuriously); the caller holds the lock and re-checks its predicate.
    public func wait(_ condition: Condition) {
        pthread_cond_wait(conditions + condition.rawValue, mutex)
    }

    /// Sleeps until woken or until the monotonic clock reaches `deadline` (nanoseconds).
    public func wait(_ condition: Condition, untilMonotonicNanoseconds deadline: Int64) {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        _ = pthread_cond_timedwait(conditions + condition.rawValue, mutex, &time)
    }

    public func signal(_ condition: Condition) { pthread_cond_signal(conditions + condition.rawValue) }

    public func broadcast(_ condition: Condition) { pthread_cond_broadcast(conditions + condition.rawValue) }
}

/// Nanoseconds on CLOCK_MONOTONIC, the clock `ConditionLock`'s timed waits use.
public func monotonicNanoseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}
