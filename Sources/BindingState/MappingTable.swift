import Synchronization
import WireFormat

/// The inbound mappings (RFC 6887 MAP, RFC 7753 PORT_SET), the one table the PCP server writes
/// and the planes read. A subscriber's mappings all lie in its lease, one (pool address, PSID),
/// so that pair keys both the shard and the bucket: an inbound lookup gets it from the external
/// address and port's PSID, the server from the subscriber's lease. Ports come from the
/// allocator (`reserveMappingPorts`), never from a table of their own.
///
/// Mutations come from the PCP server's thread and housekeeping; lookups from any thread. No
/// shard lock is held while the allocator's lock is taken, and mapping events leave outside
/// every lock. Time is wall-clock UTC milliseconds, given by the caller.
public final class MappingTable: InboundMappingLookup, Sendable {
    /// Where the mapped ports come from.
    public let allocator: PortSetAllocator
    /// Mappings one subscriber may hold at once (a port set counts as one).
    public let maximumMappingsPerSubscriber: Int
    /// Where mapping changes go (durable store, allocation log); nil keeps them in memory only.
    public let events: (any MappingEventSink)?
    let shards: Shards<MappingShardState>

    /// `shardCount` must be a power of two in 1...1024.
    public init(allocator: PortSetAllocator, maximumMappingsPerSubscriber: Int, shardCount: Int = 16,
                events: (any MappingEventSink)? = nil) throws(PortSetAllocatorError) {
        guard Shards<MappingShardState>.isValid(count: shardCount) else { throw .invalidShardCount(shardCount) }
        self.allocator = allocator
        self.maximumMappingsPerSubscriber = max(1, maximumMappingsPerSubscriber)
        self.events = events
        shards = Shards(count: shardCount) { MappingShardState() }
    }

    /// The shard and bucket key of mappings on `address` in the set of `psid`.
    func key(address: IPv4Address, psid: UInt16) -> MappingLeaseKey { MappingLeaseKey(address: address, psid: psid) }

    /// The subscriber's mappings, in creation order; empty without a lease.
    public func mappings(of subscriber: SubscriberID) -> [PortMapping] {
        guard let lease = allocator.currentLease(for: subscriber) else { return [] }
        let key = key(address: lease.address, psid: lease.psid)
        return shards.shard(for: key).mutex.withLock { state in
            (state.buckets[key] ?? []).filter { $0.subscriber == subscriber }
        }
    }

    /// Makes a new mapping: checks the quota, reserves its ports in the subscriber's lease and
    /// records it. The caller has already found that no existing mapping covers the request.
    public func create(
        _ request: MappingRequest, nowMilliseconds: Int64, leaseNow: ContinuousClock.Instant = .now,
        random: inout some RandomNumberGenerator
    ) throws(MappingTableError) -> PortMapping {
        let limit = maximumMappingsPerSubscriber
        guard mappings(of: request.subscriber).count < limit else {
            throw .quotaExceeded(subscriber: request.subscriber, limit: limit)
        }
        let reserved: (lease: PortSetLease, ports: ClosedRange<UInt16>)
        do {
            reserved = try allocator.reserveMappingPorts(for: request.subscriber, protocol: request.transport, request.ports,
                                                         now: leaseNow, random: &random)
        } catch { throw .reservation(error) }
        // Internal ports past 65535 cannot be mapped: the grant is cut to fit (RFC 7753 s4.2: fewer is allowed).
        let fitting = min(reserved.ports.count, 65536 - Int(request.internalPort))
        let ports = reserved.ports.lowerBound...(reserved.ports.lowerBound + UInt16(fitting - 1))
        if fitting < reserved.ports.count {
            allocator.releaseMappingPorts(for: request.subscriber, protocol: request.transport, address: reserved.lease.address,
                                          ports: (ports.upperBound + 1)...reserved.ports.upperBound)
        }
        let mapping = PortMapping(
            subscriber: request.subscriber, transport: request.transport, externalAddress: reserved.lease.address,
            externalPorts: ports, internalAddress: request.internalAddress, internalPort: request.internalPort,
            cpeAddress: request.cpeAddress, nonce: request.nonce, filters: request.filters,
            created: nowMilliseconds, expires: nowMilliseconds + request.lifetimeMilliseconds)
        let key = key(address: reserved.lease.address, psid: reserved.lease.psid)
        shards.shard(for: key).mutex.withLock { $0.insert(mapping, key: key) }
        events?.record(MappingEvent(.created, mapping))
        return mapping
    }

    /// Replaces the stored mapping with the same identity (subscriber, protocol, external address
    /// and first port) by `mapping` (new expiry, CPE address, filters); nil when there is none.
    @discardableResult
    public func renew(_ mapping: PortMapping) -> PortMapping? {
        let key = key(for: mapping)
        let renewed = shards.shard(for: key).mutex.withLock { $0.replace(mapping, key: key) }
        guard renewed else { return nil }
        events?.record(MappingEvent(.renewed, mapping))
        return mapping
    }

    /// Deletes the mapping with `mapping`'s identity and gives its ports back; false when there is none.
    @discardableResult
    public func delete(_ mapping: PortMapping) -> Bool {
        let key = key(for: mapping)
        guard let removed = shards.shard(for: key).mutex.withLock({ $0.remove(mapping, key: key) }) else { return false }
        allocator.releaseMappingPorts(for: removed.subscriber, protocol: removed.transport, address: removed.externalAddress,
                                      ports: removed.externalPorts)
        events?.record(MappingEvent(.deleted, removed))
        return true
    }

    /// Housekeeping: removes the mappings whose lifetime has run out (RFC 6887 section 15: the
    /// mapping lapses at its lifetime), gives their ports back and records each; returns them.
    @discardableResult
    public func expire(nowMilliseconds: Int64) -> [PortMapping] {
        var expired: [PortMapping] = []
        for shard in shards.shards {
            let due = shard.mutex.withLock { $0.removeExpired(nowMilliseconds: nowMilliseconds) }
            for mapping in due {
                allocator.releaseMappingPorts(for: mapping.subscriber, protocol: mapping.transport,
                                              address: mapping.externalAddress, ports: mapping.externalPorts)
                events?.record(MappingEvent(.expired, mapping))
            }
            expired += due
        }
        return expired
    }

    /// What `restore` made of the stored mappings.
    public struct Restoration: Sendable {
        /// Mappings in force again, their ports reserved.
        public var restored = 0
        /// Mappings that could not come back (lapsed, no lease on their address any more, ports
        /// taken), each with the reason, for the caller to drop from its store.
        public var dropped: [(mapping: PortMapping, reason: String)] = []
    }

    /// At start-up, after the allocator restored its leases and before any request or inbound
    /// flow: re-reserves each stored mapping's ports in its subscriber's lease. Records no events
    /// (the store has them).
    public func restore(_ mappings: [PortMapping], nowMilliseconds: Int64) -> Restoration {
        var result = Restoration()
        for mapping in mappings.sorted(by: { $0.created < $1.created }) {
            guard mapping.expires > nowMilliseconds else {
                result.dropped.append((mapping, "lapsed while the concentrator was down"))
                continue
            }
            guard self.mappings(of: mapping.subscriber).count < maximumMappingsPerSubscriber else {
                result.dropped.append((mapping, "over --pcp-max-mappings"))
                continue
            }
            do {
                try allocator.reserveExactMappingPorts(for: mapping.subscriber, protocol: mapping.transport,
                                                       address: mapping.externalAddress, ports: mapping.externalPorts)
            } catch {
                result.dropped.append((mapping, error.description))
                continue
            }
            let key = key(for: mapping)
            shards.shard(for: key).mutex.withLock { $0.insert(mapping, key: key) }
            result.restored += 1
        }
        return result
    }

    /// Every mapping, ordered by external address, protocol and first port, for the CLI.
    public func snapshot() -> [PortMapping] {
        var all: [PortMapping] = []
        for shard in shards.shards {
            shard.mutex.withLock { state in
                for bucket in state.buckets.values { all += bucket }
            }
        }
        return all.sorted {
            ($0.externalAddress, $0.transport.rawValue, $0.externalPorts.lowerBound)
                < ($1.externalAddress, $1.transport.rawValue, $1.externalPorts.lowerBound)
        }
    }

    /// Mappings in force (summed shard by shard).
    public var count: Int {
        shards.shards.reduce(0) { total, shard in total + shard.mutex.withLock { $0.count } }
    }

    /// The bucket key of a mapping: its address and the PSID of its ports.
    func key(for mapping: PortMapping) -> MappingLeaseKey {
        key(address: mapping.externalAddress, psid: allocator.geometry.psid(ofPort: mapping.externalPorts.lowerBound) ?? 0)
    }
}

/// A lease's (pool address, PSID): the shard and bucket of its mappings.
struct MappingLeaseKey: Hashable, Sendable {
    var address: IPv4Address
    var psid: UInt16
}
