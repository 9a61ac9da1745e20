public import WireFormat

/// A new mapping as the PCP server asks for it: who, for which internal host and ports, and
/// what it wants of the external ports.
public struct MappingRequest: Hashable, Sendable {
    public var subscriber: SubscriberID
    public var transport: TransportProtocol
    public var internalAddress: IPAddress
    /// The first internal port; the mapping covers as many internal ports as it gets external ones.
    public var internalPort: UInt16
    public var ports: MappingPortRequest
    public var cpeAddress: IPAddress
    public var nonce: MappingNonce
    public var filters: [MappingFilter]
    /// The assigned lifetime, already clamped by the server.
    public var lifetimeMilliseconds: Int64

    public init(subscriber: SubscriberID, transport: TransportProtocol, internalAddress: IPAddress, internalPort: UInt16,
                ports: MappingPortRequest, cpeAddress: IPAddress, nonce: MappingNonce, filters: [MappingFilter] = [],
                lifetimeMilliseconds: Int64) {
        self.subscriber = subscriber
        self.transport = transport
        self.internalAddress = internalAddress
        self.internalPort = internalPort
        self.ports = ports
        self.cpeAddress = cpeAddress
        self.nonce = nonce
        self.filters = filters
        self.lifetimeMilliseconds = lifetimeMilliseconds
    }
}
