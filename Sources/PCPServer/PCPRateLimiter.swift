import BindingState

/// A token bucket per subscriber, so one CPE cannot keep the server busy (RFC 6887 s17.2:
/// servers should limit request rates). Time in wall-clock ms, given by the caller.
struct PCPRateLimiter {
    let rate: Double
    let burst: Double
    private var buckets: [SubscriberID: (tokens: Double, last: Int64)] = [:]

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// Takes a token for `subscriber`; false when its bucket is empty.
    mutating func allow(_ subscriber: SubscriberID, nowMilliseconds: Int64) -> Bool {
        var bucket = buckets[subscriber] ?? (burst, nowMilliseconds)
        let elapsed = Double(max(0, nowMilliseconds - bucket.last)) / 1000
        bucket.tokens = min(burst, bucket.tokens + elapsed * rate)
        bucket.last = nowMilliseconds
        let allowed = bucket.tokens >= 1
        if allowed { bucket.tokens -= 1 }
        buckets[subscriber] = bucket
        return allowed
    }

    /// Forgets buckets that have refilled (quiet subscribers), so the table stays small.
    mutating func forgetIdle(nowMilliseconds: Int64) {
        let refill = Int64(burst / max(rate, 0.001) * 1000)
        buckets = buckets.filter { nowMilliseconds - $0.value.last < refill }
    }

    var count: Int { buckets.count }
}
