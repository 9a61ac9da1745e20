import WireFormat

/// Per-CPE token buckets for new connections, keyed by CPE address. A bucket refills at
/// `perSecond` up to `burst`; buckets that have refilled completely are forgotten.
struct CPERateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let perSecond: Double
    let burst: Double
    private let buckets: LimiterTable<IPAddress, Bucket>

    init(perSecond: Int, burst: Int, shards: Int) {
        self.perSecond = Double(perSecond)
        self.burst = Double(max(burst, 1))
        buckets = LimiterTable(shards: shards)
    }

    /// Takes one token from `cpe`'s bucket; false when it is empty.
    func admit(_ cpe: IPAddress, now: ContinuousClock.Instant) -> Bool {
        guard perSecond > 0 else { return true }
        return buckets.update(cpe, fresh: Bucket(tokens: burst, updated: now)) { bucket in
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            bucket.tokens = min(burst, bucket.tokens + seconds * perSecond)
            bucket.updated = now
            guard bucket.tokens >= 1 else { return false }
            bucket.tokens -= 1
            return true
        }
    }

    /// A full bucket behaves exactly like a missing one, so it can go.
    func expire(now: ContinuousClock.Instant) {
        guard perSecond > 0 else { return }
        let refill = Duration.seconds(burst / perSecond)
        buckets.removeAll { now - $0.updated >= refill }
    }
}
