extension PortSetAllocator {
    /// Housekeeping, run periodically by the caller: frees held ports whose instant has come,
    /// returns to the pool the port sets of subscribers that have had no port in use or held for
    /// `leaseHold` (counted from the lease, the last `lease(for:now:)`, or the first sweep that
    /// saw it idle, whichever is latest), and records releases and renewals (an idle lease in use
    /// again) in `events`. Takes one shard lock at a time.
    public func expire(now: ContinuousClock.Instant) {
        for shard in shards.shards {
            let expiry = shard.mutex.withLock { $0.expire(now: now, leaseHold: leaseHold) }
            for lease in expiry.renewed {
                events?.record(LeaseEvent(.renewed, subscriber: lease.subscriber, address: lease.address, psid: lease.psid))
            }
            guard !expiry.released.isEmpty else { continue }
            freePortSets.withLock { free in
                for (lease, slot) in expiry.released { free.giveBack(slot, releasedBy: lease.subscriber) }
            }
            for (lease, _) in expiry.released {
                events?.record(LeaseEvent(.released, subscriber: lease.subscriber, address: lease.address, psid: lease.psid))
            }
        }
    }
}
