extension PortSetAllocator {
    /// What `restore` made of the stored leases.
    public struct Restoration: Sendable {
        /// Leases held again by their subscribers (their idle hold starts now).
        public var active = 0
        /// Released leases remembered as their subscribers' previous ones.
        public var previous = 0
        /// Stored port sets this pool no longer has (address or PSID gone), for the caller to drop.
        public var outsidePool: [LeaseRecord] = []
    }

    /// Takes back the leases of the durable store at start-up, before any connection: each
    /// active one goes to its subscriber again, each released one is remembered as its
    /// subscriber's previous lease. Records nothing in `events` (the store has them already) but the
    /// release of a second active lease of one subscriber.
    public func restore(_ records: [LeaseRecord], now: ContinuousClock.Instant) -> Restoration {
        var result = Restoration()
        // Oldest first, so a subscriber's most recent lease is the one that sticks.
        for record in records.sorted(by: { ($0.end ?? .max, $0.lastUse) < ($1.end ?? .max, $1.lastUse) }) {
            guard let slot = slot(address: record.address, psid: record.psid) else {
                result.outsidePool.append(record)
                continue
            }
            guard record.isActive else {
                freePortSets.withLock { $0.remember(slot, heldBy: record.subscriber) }
                result.previous += 1
                continue
            }
            let shard = shards.shard(for: record.subscriber)
            // A subscriber with two active rows (a changed subscribers file) keeps the later one.
            if let older = shard.mutex.withLock({ $0.subscribers.removeValue(forKey: record.subscriber) }) {
                freePortSets.withLock { $0.giveBack(older.slot, releasedBy: record.subscriber) }
                events?.record(LeaseEvent(.released, subscriber: record.subscriber, address: older.lease.address, psid: older.lease.psid))
                result.active -= 1
            }
            guard freePortSets.withLock({ $0.take(slot: slot, for: record.subscriber) }) else { continue }
            var state = CPEPortState(lease: makeLease(subscriber: record.subscriber, slot: slot), slot: slot,
                                     isBlocked: isBlocked, now: now)
            state.wasIdle = true  // its first use after the restart renews it in the store
            shard.mutex.withLock { $0.subscribers[record.subscriber] = state }
            result.active += 1
        }
        return result
    }
}
