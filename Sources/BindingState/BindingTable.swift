import Synchronization

/// The relayed flows, found from the CPE side (`FlowKey`), from the Internet side (protocol,
/// external endpoint and remote) or by id.
///
/// Three sharded maps, each key hashed to its own shard: id -> `Binding` (the record), and the
/// two keys -> id. No operation holds two shard locks at once. A binding exists from the moment
/// its record is stored (the last step of `insert`) until its record is removed (the first step
/// of `remove`); a key lookup in between those steps and the key updates finds no binding.
public final class BindingTable: Sendable {
    /// Shards per map.
    public let shardCount: Int
    let records: Shards<[UInt64: Binding]>
    let byFlow: Shards<[FlowKey: UInt64]>
    let byExternal: Shards<[ExternalKey: UInt64]>
    let nextID = Atomic<UInt64>(1)

    /// `shardCount` must be a power of two in 1...1024 (a daemon flag).
    public init(shardCount: Int = 16) throws(BindingTableError) {
        guard Shards<[UInt64: Binding]>.isValid(count: shardCount) else { throw .invalidShardCount(shardCount) }
        self.shardCount = shardCount
        records = Shards(count: shardCount) { [:] }
        byFlow = Shards(count: shardCount) { [:] }
        byExternal = Shards(count: shardCount) { [:] }
    }

    /// Stores `binding` under a new id and returns it with that id. Both keys must be free.
    public func insert(_ binding: Binding) throws(BindingTableError) -> Binding {
        var binding = binding
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        binding.id = id
        let flow = binding.flowKey
        let external = binding.externalKey
        // Claim the CPE-side key, then the external key, undoing the first if the second is taken.
        if let existing = claim(flow, in: byFlow, for: id) {
            throw .duplicateCPESideKey(flow, existingID: existing)
        }
        if let existing = claim(external, in: byExternal, for: id) {
            unclaim(flow, in: byFlow, for: id)
            throw .duplicateExternalKey(external.external, external.transport, existingID: existing)
        }
        let record = binding
        records.shard(forSequence: id).mutex.withLock { $0[id] = record }
        return binding
    }

    /// Maps `key` to `id` unless it is taken; returns the id that holds it when it is.
    private func claim<Key: Hashable & Sendable>(_ key: Key, in map: Shards<[Key: UInt64]>, for id: UInt64) -> UInt64? {
        map.shard(for: key).mutex.withLock { entries -> UInt64? in
            if let existing = entries[key] { return existing }
            entries[key] = id
            return nil
        }
    }

    /// Removes `key` if it still maps to `id`.
    private func unclaim<Key: Hashable & Sendable>(_ key: Key, in map: Shards<[Key: UInt64]>, for id: UInt64) {
        map.shard(for: key).mutex.withLock { entries in
            if entries[key] == id { entries[key] = nil }
        }
    }

    /// The binding of a CPE-side key (the stream plane's lookup).
    public func binding(cpeSide key: FlowKey) -> Binding? {
        guard let id = byFlow.shard(for: key).mutex.withLock({ $0[key] }) else { return nil }
        return binding(id: id)
    }

    /// The binding between `external` and `remote` for `transport` (traffic from the Internet).
    public func binding(external: Endpoint, remote: Endpoint, protocol transport: TransportProtocol) -> Binding? {
        let key = ExternalKey(transport: transport, external: external, remote: remote)
        guard let id = byExternal.shard(for: key).mutex.withLock({ $0[key] }) else { return nil }
        return binding(id: id)
    }

    /// The binding with this id.
    public func binding(id: UInt64) -> Binding? {
        records.shard(forSequence: id).mutex.withLock { $0[id] }
    }

    /// Runs `body` on the binding in place, under its shard lock (keep it short); false if absent.
    @discardableResult
    public func update(id: UInt64, _ body: (inout Binding) -> Void) -> Bool {
        records.shard(forSequence: id).mutex.withLock { entries -> Bool in
            guard let index = entries.index(forKey: id) else { return false }
            body(&entries.values[index])
            return true
        }
    }

    /// Removes the binding and both its keys; returns it, or nil if it was not there.
    @discardableResult
    public func remove(id: UInt64) -> Binding? {
        guard let removed = records.shard(forSequence: id).mutex.withLock({ $0.removeValue(forKey: id) }) else {
            return nil
        }
        unclaimKeys(of: removed)
        return removed
    }

    private func unclaimKeys(of binding: Binding) {
        unclaim(binding.flowKey, in: byFlow, for: binding.id)
        unclaim(binding.externalKey, in: byExternal, for: binding.id)
    }

    /// Removes and returns (by id) the `.closing` bindings whose `until` is at or before `now`.
    public func expired(now: ContinuousClock.Instant) -> [Binding] {
        var removed: [Binding] = []
        for shard in records.shards {
            let due = shard.mutex.withLock { entries -> [Binding] in
                let due = entries.values.filter {
                    if case .closing(let until) = $0.state { until <= now } else { false }
                }
                for binding in due { entries[binding.id] = nil }
                return due
            }
            removed += due
        }
        for binding in removed { unclaimKeys(of: binding) }
        return removed.sorted { $0.id < $1.id }
    }

    /// Bindings stored (summed shard by shard).
    public var count: Int {
        records.shards.reduce(0) { total, shard in total + shard.mutex.withLock { $0.count } }
    }

    /// Every binding, ordered by id, copied shard by shard.
    public func snapshot() -> [Binding] {
        var all: [Binding] = []
        for shard in records.shards {
            all += shard.mutex.withLock { Array($0.values) }
        }
        return all.sorted { $0.id < $1.id }
    }
}
