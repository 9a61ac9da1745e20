public import PortSets
import Synchronization
public import WireFormat

/// Leases each subscriber one PSID port set on one pool address ("paired" pooling: every flow of
/// a subscriber, over any of its links, leaves from the same external IPv4 address, RFC 4787
/// REQ-2 / RFC 6888 REQ-2) and hands out ports of that set per protocol, skipping system ports,
/// reserved ports, ports in use and ports held after a release (RFC 7857 section 2.1).
///
/// Per-subscriber state is sharded by a hash of the subscriber id, one `Mutex` per shard. The
/// free (address, PSID) pool has its own `Mutex`, touched only when a subscriber takes or gives
/// back a lease, never while a shard lock is held. Lease changes (allocation, renewal, release)
/// go to `events`, the durable store, outside every lock.
public final class PortSetAllocator: Sendable {
    /// The pool prefixes, in the order given.
    public let pool: [IPPrefix]
    /// How ports split into PSIDs.
    public let geometry: PSIDGeometry
    /// Ports never handed out, besides the system ports 0-1023.
    public let reservedPorts: [ClosedRange<UInt16>]
    /// How long a subscriber with no port in use or held keeps its lease.
    public let leaseHold: Duration
    /// The number of shards of per-subscriber state.
    public let shardCount: Int
    /// Addresses in the pool.
    public let addressCount: Int
    /// PSIDs per address that can be leased: not excluded by the geometry, with at least one usable port.
    public let allocatablePSIDs: [UInt16]
    /// Leases the pool can hold at once: `addressCount` x `allocatablePSIDs.count`.
    public let portSetCapacity: Int

    /// Where lease changes are recorded; nil keeps leases in memory only.
    public let events: (any LeaseEventSink)?

    /// First address index of each pool prefix, for slot -> address.
    let prefixStarts: [Int]
    /// PSID -> its ordinal in `allocatablePSIDs`, -1 when not allocatable; for (address, PSID) -> slot.
    let psidOrdinals: [Int]
    /// One bit per port, 0...65535: system and reserved ports.
    let blockedPorts: [UInt64]
    let shards: Shards<AllocatorShardState>
    let freePortSets: Mutex<FreePortSets>
    let poolExhaustions = Atomic<UInt64>(0)
    let tcpPortSetExhaustions = Atomic<UInt64>(0)
    let udpPortSetExhaustions = Atomic<UInt64>(0)

    /// Validates the pool (non-empty, IPv4, disjoint), the shard count, and that at least
    /// `requiredPortSets` leases fit; `reservedPorts` may overlap each other and the system ports.
    public init(
        pool: [IPPrefix], geometry: PSIDGeometry, reservedPorts: [ClosedRange<UInt16>] = [],
        leaseHold: Duration = .seconds(300), shardCount: Int = 16, requiredPortSets: Int = 1,
        events: (any LeaseEventSink)? = nil
    ) throws(PortSetAllocatorError) {
        guard Shards<AllocatorShardState>.isValid(count: shardCount) else { throw .invalidShardCount(shardCount) }
        guard !pool.isEmpty else { throw .emptyPool }
        var starts: [Int] = []
        var addresses = 0
        for (i, prefix) in pool.enumerated() {
            guard let count = prefix.addressCount else { throw .ipv6PrefixInPool(prefix) }
            for earlier in pool[..<i] where earlier.overlaps(prefix) { throw .overlappingPrefixes(earlier, prefix) }
            starts.append(addresses)
            addresses += Int(count)
        }

        var blocked = [UInt64](repeating: 0, count: 65536 / 64)
        for port in 0..<PSIDGeometry.systemPortLimit { blocked[port >> 6] |= 1 << UInt64(port & 63) }
        for range in reservedPorts {
            for port in range { blocked[Int(port) >> 6] |= 1 << UInt64(port & 63) }
        }
        // A PSID whose every port is blocked would be a lease that can never carry a flow.
        var blockedPerPSID = [Int](repeating: 0, count: geometry.psidCount)
        for port in 0...Int(UInt16.max) where blocked[port >> 6] & (1 << UInt64(port & 63)) != 0 {
            if let psid = geometry.psid(ofPort: UInt16(port)) { blockedPerPSID[Int(psid)] += 1 }
        }
        let psids = (0..<geometry.psidCount).lazy.map { UInt16(truncatingIfNeeded: $0) }.filter {
            !geometry.isExcluded(psid: $0) && blockedPerPSID[Int($0)] < geometry.portsPerPSID
        }
        let capacity = addresses * psids.count
        guard capacity >= requiredPortSets else {
            throw .poolTooSmall(
                capacity: capacity, required: requiredPortSets, addresses: addresses, portSetsPerAddress: psids.count)
        }

        self.pool = pool
        self.geometry = geometry
        self.reservedPorts = reservedPorts
        self.leaseHold = leaseHold
        self.shardCount = shardCount
        self.addressCount = addresses
        self.allocatablePSIDs = Array(psids)
        self.portSetCapacity = capacity
        self.prefixStarts = starts
        self.events = events
        var ordinals = [Int](repeating: -1, count: geometry.psidCount)
        for (ordinal, psid) in psids.enumerated() { ordinals[Int(psid)] = ordinal }
        self.psidOrdinals = ordinals
        self.blockedPorts = blocked
        self.shards = Shards(count: shardCount) { AllocatorShardState() }
        self.freePortSets = Mutex(FreePortSets(capacity: capacity))
    }

    /// Whether `port` is a system or reserved port.
    @inline(__always)
    func isBlocked(_ port: UInt16) -> Bool {
        blockedPorts[Int(port) >> 6] & (1 << UInt64(port & 63)) != 0
    }

    /// The (address, PSID) of a pool slot.
    func makeLease(subscriber: SubscriberID, slot: Int) -> PortSetLease {
        let addressIndex = slot % addressCount
        let prefixIndex = prefixStarts.lastIndex { $0 <= addressIndex } ?? 0
        // The slot is below capacity, so both lookups are in range.
        guard let address = pool[prefixIndex].ipv4Address(at: addressIndex - prefixStarts[prefixIndex]),
              let portSet = try? PSIDPortSet(geometry: geometry, psid: Int(allocatablePSIDs[slot / addressCount]))
        else { preconditionFailure("pool slot \(slot) outside capacity \(portSetCapacity)") }
        return PortSetLease(subscriber: subscriber, address: address, portSet: portSet)
    }

    /// The pool slot of (address, PSID), or nil when the pool has no such port set.
    func slot(address: IPv4Address, psid: UInt16) -> Int? {
        guard Int(psid) < psidOrdinals.count, psidOrdinals[Int(psid)] >= 0,
              let prefixIndex = pool.firstIndex(where: { $0.contains(.v4(address)) }),
              case .v4(let network) = pool[prefixIndex].network
        else { return nil }
        let addressIndex = prefixStarts[prefixIndex] + Int(address.value - network.value)
        return psidOrdinals[Int(psid)] * addressCount + addressIndex
    }

    /// The subscriber's lease if it has one; creates nothing.
    public func currentLease(for subscriber: SubscriberID) -> PortSetLease? {
        shards.shard(for: subscriber).mutex.withLock { $0.subscribers[subscriber]?.lease }
    }

    /// The (address, PSID) the subscriber held last, while no one else has held it since.
    public func previousLease(for subscriber: SubscriberID) -> (address: IPv4Address, psid: UInt16)? {
        guard let slot = freePortSets.withLock({ $0.previousSlot(of: subscriber) }) else { return nil }
        let lease = makeLease(subscriber: subscriber, slot: slot)
        return (lease.address, lease.psid)
    }

    /// The subscriber's lease, chosen in the order of RFC 7618 section 8: its current lease, its
    /// previous one if still free, else a free (address, PSID) of the pool. Calling it counts as
    /// activity: an idle lease's hold starts again from `now`.
    public func lease(for subscriber: SubscriberID, now: ContinuousClock.Instant) throws(AllocationError) -> PortSetLease {
        let shard = shards.shard(for: subscriber)
        if let lease = shard.mutex.withLock({ $0.touch(subscriber, now: now) }) { return lease }
        guard let slot = freePortSets.withLock({ $0.take(for: subscriber) }) else {
            poolExhaustions.add(1, ordering: .relaxed)
            events?.exhausted(ExhaustionEvent(.pool, subscriber: subscriber))
            throw .poolExhausted
        }
        // Built outside the lock: it walks every port of the set once.
        let fresh = CPEPortState(lease: makeLease(subscriber: subscriber, slot: slot), slot: slot, isBlocked: isBlocked, now: now)
        let (lease, unused) = shard.mutex.withLock { state -> (PortSetLease, Int?) in
            if let existing = state.subscribers[subscriber] { return (existing.lease, slot) }
            state.subscribers[subscriber] = fresh
            return (fresh.lease, nil)
        }
        // Another caller leased this subscriber in the meantime: the slot goes back.
        if let unused {
            freePortSets.withLock { $0.giveBack(unused, releasedBy: nil) }
        } else {
            events?.record(LeaseEvent(.allocated, subscriber: subscriber, address: lease.address, psid: lease.psid))
        }
        return lease
    }
}
