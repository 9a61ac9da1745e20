/// Counters of a `PortSetAllocator` for metrics: gauges summed shard by shard (so not one
/// atomic instant) and monotonic exhaustion counts.
public struct PortSetAllocatorStatistics: Hashable, Sendable {
    /// Port sets the pool can lease (`PortSetAllocator.portSetCapacity`).
    public var portSetCapacity: Int
    /// CPEs holding a lease.
    public var leases: Int
    /// TCP ports allocated across all leases.
    public var tcpPortsInUse: Int
    /// UDP ports allocated across all leases.
    public var udpPortsInUse: Int
    /// Ports released but still held (both protocols).
    public var portsHeld: Int
    /// Leases refused because the pool was exhausted.
    public var poolExhaustions: UInt64
    /// TCP port allocations refused because the CPE's set was exhausted.
    public var tcpPortSetExhaustions: UInt64
    /// UDP port allocations refused because the CPE's set was exhausted.
    public var udpPortSetExhaustions: UInt64

    /// Memberwise, for tests and renderers.
    public init(
        portSetCapacity: Int, leases: Int, tcpPortsInUse: Int, udpPortsInUse: Int, portsHeld: Int,
        poolExhaustions: UInt64, tcpPortSetExhaustions: UInt64, udpPortSetExhaustions: UInt64
    ) {
        self.portSetCapacity = portSetCapacity
        self.leases = leases
        self.tcpPortsInUse = tcpPortsInUse
        self.udpPortsInUse = udpPortsInUse
        self.portsHeld = portsHeld
        self.poolExhaustions = poolExhaustions
        self.tcpPortSetExhaustions = tcpPortSetExhaustions
        self.udpPortSetExhaustions = udpPortSetExhaustions
    }
}
