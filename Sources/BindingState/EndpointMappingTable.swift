/// Endpoint-independent mappings (RFC 4787 REQ-1): every binding of one internal endpoint leaves
/// from one external endpoint, whatever its remote, so STUN, games and peer-to-peer see one
/// address and port. The external port comes from the subscriber's port set once, when the first
/// binding takes the mapping, and goes back (with the caller's hold rule) when the last one ends.
///
/// Sharded by key like the other tables, one `Mutex` per shard. The allocator is never called with
/// a shard lock held: a new mapping's port is taken outside the lock and given back if another
/// binding created the mapping in the meantime, so no two locks are ever held at once.
public final class EndpointMappingTable: Sendable {
    public let allocator: PortSetAllocator
    let shards: Shards<[EndpointMappingKey: EndpointMapping]>

    /// `shardCount` must be a power of two in 1...1024 (`Shards.isValid`).
    public init(allocator: PortSetAllocator, shardCount: Int = 16) {
        precondition(Shards<[EndpointMappingKey: EndpointMapping]>.isValid(count: shardCount))
        self.allocator = allocator
        shards = Shards(count: shardCount) { [:] }
    }

    /// What `acquire` handed out.
    public enum Acquisition: Hashable, Sendable {
        /// A new mapping with a port just taken from the subscriber's port set.
        case created(Endpoint)
        /// The mapping another binding of the same internal endpoint already holds.
        case reused(Endpoint)

        public var external: Endpoint {
            switch self {
            case .created(let endpoint), .reused(let endpoint): endpoint
            }
        }
    }

    /// The key's external endpoint, counting one more user; the first user allocates the port.
    public func acquire(_ key: EndpointMappingKey, now: ContinuousClock.Instant) throws(AllocationError) -> Acquisition {
        let shard = shards.shard(for: key)
        if let existing = shard.mutex.withLock({ Self.addUser(key, in: &$0) }) { return .reused(existing) }
        let fresh = try allocator.allocatePort(for: key.subscriber, protocol: key.transport, now: now)
        let raced = shard.mutex.withLock { mappings -> Endpoint? in
            if let existing = Self.addUser(key, in: &mappings) { return existing }
            mappings[key] = EndpointMapping(external: fresh, users: 1)
            return nil
        }
        guard let raced else { return .created(fresh) }
        // Another binding created the mapping while the port was being taken: ours goes back unused.
        allocator.releasePort(fresh, protocol: key.transport, subscriber: key.subscriber)
        return .reused(raced)
    }

    private static func addUser(_ key: EndpointMappingKey, in mappings: inout [EndpointMappingKey: EndpointMapping]) -> Endpoint? {
        guard let index = mappings.index(forKey: key) else { return nil }
        mappings.values[index].users += 1
        return mappings.values[index].external
    }

    /// What `release` did.
    public enum Release: Hashable, Sendable {
        /// Other bindings still use the mapping; this many.
        case stillUsed(users: Int)
        /// That was the last user: the mapping is gone and its port released (or held).
        case ended
        /// No such mapping with that external endpoint; nothing changed.
        case notMapped
    }

    /// One user less; the last one ends the mapping and releases its port, held until `holdUntil`
    /// when given (RFC 7857 section 2.1; the caller's rule for the protocol).
    @discardableResult
    public func release(_ key: EndpointMappingKey, external: Endpoint, holdUntil: ContinuousClock.Instant? = nil) -> Release {
        let outcome = shards.shard(for: key).mutex.withLock { mappings -> Release in
            guard let index = mappings.index(forKey: key), mappings.values[index].external == external else { return .notMapped }
            mappings.values[index].users -= 1
            let users = mappings.values[index].users
            guard users == 0 else { return .stillUsed(users: users) }
            mappings.remove(at: index)
            return .ended
        }
        if outcome == .ended {
            allocator.releasePort(external, protocol: key.transport, subscriber: key.subscriber, holdUntil: holdUntil)
        }
        return outcome
    }

    /// The key's mapping, if it has one.
    public func mapping(_ key: EndpointMappingKey) -> EndpointMapping? {
        shards.shard(for: key).mutex.withLock { $0[key] }
    }

    /// Mappings in force (summed shard by shard).
    public var count: Int {
        shards.shards.reduce(0) { total, shard in total + shard.mutex.withLock { $0.count } }
    }

    /// Every mapping, copied shard by shard, ordered by subscriber, then internal endpoint text.
    public func snapshot() -> [(key: EndpointMappingKey, mapping: EndpointMapping)] {
        var all: [(key: EndpointMappingKey, mapping: EndpointMapping)] = []
        for shard in shards.shards {
            all += shard.mutex.withLock { $0.map { (key: $0.key, mapping: $0.value) } }
        }
        return all.sorted { ($0.key.subscriber, $0.key.internal.description) < ($1.key.subscriber, $1.key.internal.description) }
    }
}
