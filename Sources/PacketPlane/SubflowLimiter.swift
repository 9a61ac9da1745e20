/// Counts MP_JOIN SYNs per MPTCP connection token (the concentrator's token, which the join
/// carries) and refuses those past the limit. Entries are forgotten after `memory` without a join.
struct SubflowLimiter: Sendable {
    struct Entry {
        var joins: Int
        var lastJoin: ContinuousClock.Instant
    }

    let limit: Int
    let memory: Duration
    private let entries: LimiterTable<UInt32, Entry>

    init(limit: Int, shards: Int, memory: Duration = .seconds(600)) {
        self.limit = limit
        self.memory = memory
        entries = LimiterTable(shards: shards)
    }

    /// Records one join for `token`; false once the connection had `limit` joins already.
    func admit(token: UInt32, now: ContinuousClock.Instant) -> Bool {
        guard limit > 0 else { return true }
        return entries.update(token, fresh: Entry(joins: 0, lastJoin: now)) { entry in
            guard entry.joins < limit else { return false }
            entry.joins += 1
            entry.lastJoin = now
            return true
        }
    }

    func expire(now: ContinuousClock.Instant) {
        guard limit > 0 else { return }
        entries.removeAll { now - $0.lastJoin >= memory }
    }
}
