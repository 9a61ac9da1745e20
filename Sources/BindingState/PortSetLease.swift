public import PortSets
public import WireFormat

/// One subscriber's share of the pool: one external IPv4 address and one PSID port set on it.
public struct PortSetLease: Hashable, Sendable, CustomStringConvertible {
    /// The subscriber the lease belongs to (every link of its CPE).
    public let subscriber: SubscriberID
    /// The external address every flow of this CPE uses (paired pooling, RFC 4787 REQ-2).
    public let address: IPv4Address
    /// The geometry and PSID whose ports the CPE may use on `address`.
    public let portSet: PSIDPortSet

    /// Built by the allocator only, so a lease always names an allocatable PSID of the pool.
    init(subscriber: SubscriberID, address: IPv4Address, portSet: PSIDPortSet) {
        self.subscriber = subscriber
        self.address = address
        self.portSet = portSet
    }

    /// The PSID, right-aligned.
    public var psid: UInt16 { portSet.psid }

    /// "cust-42 -> 198.51.100.1 PSID 52".
    public var description: String { "\(subscriber) -> \(address) PSID \(psid)" }
}
