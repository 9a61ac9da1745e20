public import WireFormat

/// One lease as the operator CLI shows it, copied out under the shard lock.
public struct PortSetLeaseSnapshot: Hashable, Sendable {
    /// The subscriber holding the lease.
    public var subscriber: SubscriberID
    /// The external IPv4 address of the lease.
    public var externalAddress: IPv4Address
    /// The leased PSID.
    public var psid: UInt16
    /// Ports of the set that may be handed out at all (not reserved, not system ports).
    public var usablePortCount: Int
    /// TCP ports currently allocated.
    public var tcpPortsInUse: Int
    /// UDP ports currently allocated.
    public var udpPortsInUse: Int
    /// Ports (both protocols) released but still held, for example after a TCP reset.
    public var portsHeld: Int

    /// Memberwise, for tests and renderers.
    public init(
        subscriber: SubscriberID, externalAddress: IPv4Address, psid: UInt16, usablePortCount: Int,
        tcpPortsInUse: Int, udpPortsInUse: Int, portsHeld: Int
    ) {
        self.subscriber = subscriber
        self.externalAddress = externalAddress
        self.psid = psid
        self.usablePortCount = usablePortCount
        self.tcpPortsInUse = tcpPortsInUse
        self.udpPortsInUse = udpPortsInUse
        self.portsHeld = portsHeld
    }

    /// Ports in use for one protocol.
    public func portsInUse(_ transport: TransportProtocol) -> Int {
        transport == .tcp ? tcpPortsInUse : udpPortsInUse
    }
}
