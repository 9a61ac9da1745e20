/// Whose mapping it is (RFC 4787 section 4.1, "endpoint-independent mapping"): one internal
/// endpoint of one subscriber, for one protocol. The concentrator learns the internal endpoint from
/// the PM source option the CPE sends; it is only ever a key, never a packet's source.
public struct EndpointMappingKey: Hashable, Sendable, CustomStringConvertible {
    public var subscriber: SubscriberID
    public var transport: TransportProtocol
    /// The LAN host's address and port, as the CPE named it.
    public var `internal`: Endpoint

    public init(subscriber: SubscriberID, transport: TransportProtocol, internal: Endpoint) {
        self.subscriber = subscriber
        self.transport = transport
        self.internal = `internal`
    }

    /// "udp 192.168.1.2:5000 of subscriber-1".
    public var description: String { "\(transport) \(`internal`) of \(subscriber)" }
}

/// The external endpoint an internal endpoint leaves from, and how many bindings use it now.
public struct EndpointMapping: Hashable, Sendable {
    /// A pool address and a port of the subscriber's port set.
    public var external: Endpoint
    /// Bindings (one per remote) holding the mapping; it ends with the last one.
    public var users: Int

    public init(external: Endpoint, users: Int) {
        self.external = external
        self.users = users
    }
}
