extension PortSetAllocator {
    /// Housekeeping, run periodically by the caller: frees held ports whose instant has come, and
    /// returns to the pool the port sets of CPEs that have had no port in use or held for
    /// `leaseHold` (counted from the lease, the last `lease(for:now:)`, or the first sweep that
    /// saw the CPE idle, whichever is latest). Takes one shard lock at a time.
    public func expire(now: ContinuousClock.Instant) {
        for shard in shards.shards {
            let slots = shard.mutex.withLock { $0.expire(now: now, leaseHold: leaseHold) }
            guard !slots.isEmpty else { continue }
            freePortSets.withLock { free in
                for slot in slots { free.giveBack(slot) }
            }
        }
    }
}
