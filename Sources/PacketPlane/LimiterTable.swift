import BindingState

/// The state behind a per-key limit: a lock-sharded dictionary with a size cap per shard (a
/// flood of new keys cannot grow it without bound) and a sweep that forgets stale entries.
struct LimiterTable<Key: Hashable & Sendable, Entry: Sendable>: Sendable {
    static var maximumEntriesPerShard: Int { 16384 }
    private let shards: Shards<[Key: Entry]>

    init(shards: Int) {
        self.shards = Shards(count: shards) { [:] }
    }

    /// Runs `decide` on `key`'s entry (or on `fresh` when there is none) under the shard lock and
    /// stores the result; a new key is not stored when its shard is full, but still decided.
    func update(_ key: Key, fresh: Entry, _ decide: (inout Entry) -> Bool) -> Bool {
        shards.shard(for: key).mutex.withLock { entries in
            let known = entries[key]
            var entry = known ?? fresh
            let admitted = decide(&entry)
            if known != nil || entries.count < Self.maximumEntriesPerShard { entries[key] = entry }
            return admitted
        }
    }

    /// Whether `key` has an entry that satisfies `matches`; stores nothing.
    func lookup(_ key: Key, _ matches: (Entry) -> Bool) -> Bool {
        shards.shard(for: key).mutex.withLock { entries in entries[key].map(matches) ?? false }
    }

    /// Forgets every entry for which `isStale` is true.
    func removeAll(where isStale: (Entry) -> Bool) {
        for shard in shards.shards {
            shard.mutex.withLock { entries in entries = entries.filter { !isStale($0.value) } }
        }
    }
}
