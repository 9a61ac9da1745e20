public import PortSets
import Synchronization
public import WireFormat

/// Leases each CPE one PSID port set on one pool address ("paired" pooling: every flow of a CPE
/// leaves from the same external IPv4 address, RFC 4787 REQ-2 / RFC 6888 REQ-2) and hands out
/// ports of that set per protocol, skipping system ports, reserved ports, ports in use and ports
/// held after a release (RFC 7857 section 2.1).
///
/// Per-CPE state is sharded by a hash of the CPE address, one `Mutex` per shard. The free
/// (address, PSID) pool has its own `Mutex`, touched only when a CPE first appears or its lease
/// expires, never while a shard lock is held.
public final class PortSetAllocator: Sendable {
    /// The pool prefixes, in the order given.
    public let pool: [IPPrefix]
    /// How ports split into PSIDs.
    public let geometry: PSIDGeometry
    /// Ports never handed out, besides the system ports 0-1023.
    public let reservedPorts: [ClosedRange<UInt16>]
    /// How long a CPE with no port in use or held keeps its lease.
    public let leaseHold: Duration
    /// The number of shards of per-CPE state.
    public let shardCount: Int
    /// Addresses in the pool.
    public let addressCount: Int
    /// PSIDs per address that can be leased: not excluded by the geometry, with at least one usable port.
    public let allocatablePSIDs: [UInt16]
    /// Leases the pool can hold at once: `addressCount` x `allocatablePSIDs.count`.
    public let portSetCapacity: Int

    /// First address index of each pool prefix, for slot -> address.
    let prefixStarts: [Int]
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
        leaseHold: Duration = .seconds(300), shardCount: Int = 16, requiredPortSets: Int = 1
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
    func makeLease(cpe: IPAddress, slot: Int) -> PortSetLease {
        let addressIndex = slot % addressCount
        let prefixIndex = prefixStarts.lastIndex { $0 <= addressIndex } ?? 0
        // The slot is below capacity, so both lookups are in range.
        guard let address = pool[prefixIndex].ipv4Address(at: addressIndex - prefixStarts[prefixIndex]),
              let portSet = try? PSIDPortSet(geometry: geometry, psid: Int(allocatablePSIDs[slot / addressCount]))
        else { preconditionFailure("pool slot \(slot) outside capacity \(portSetCapacity)") }
        return PortSetLease(cpe: cpe, address: address, portSet: portSet)
    }

    /// The CPE's lease if it has one; creates nothing.
    public func currentLease(for cpe: IPAddress) -> PortSetLease? {
        shards.shard(for: cpe).mutex.withLock { $0.cpes[cpe]?.lease }
    }

    /// The CPE's lease, taking a free (address, PSID) of the pool when it has none yet.
    /// Calling it counts as activity: an idle lease's hold starts again from `now`.
    public func lease(for cpe: IPAddress, now: ContinuousClock.Instant) throws(AllocationError) -> PortSetLease {
        let shard = shards.shard(for: cpe)
        if let lease = shard.mutex.withLock({ $0.touch(cpe, now: now) }) { return lease }
        guard let slot = freePortSets.withLock({ $0.take() }) else {
            poolExhaustions.add(1, ordering: .relaxed)
            throw .poolExhausted
        }
        // Built outside the lock: it walks every port of the set once.
        let fresh = CPEPortState(lease: makeLease(cpe: cpe, slot: slot), slot: slot, isBlocked: isBlocked, now: now)
        let (lease, unused) = shard.mutex.withLock { state -> (PortSetLease, Int?) in
            if let existing = state.cpes[cpe] { return (existing.lease, slot) }
            state.cpes[cpe] = fresh
            return (fresh.lease, nil)
        }
        // Another caller leased this CPE in the meantime: the slot goes back.
        if let unused { freePortSets.withLock { $0.giveBack(unused) } }
        return lease
    }
}
