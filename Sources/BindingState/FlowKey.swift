/// The CPE-side key of a binding: protocol, the CPE's address/port on its initial subflow, and
/// the concentrator address/port it connected to.
public struct FlowKey: Hashable, Sendable, CustomStringConvertible {
    /// TCP or UDP.
    public var `protocol`: TransportProtocol
    /// The CPE's end of the initial MPTCP subflow.
    public var cpe: Endpoint
    /// The concentrator's listening end.
    public var service: Endpoint

    /// Builds a key from its three parts.
    public init(protocol transport: TransportProtocol, cpe: Endpoint, service: Endpoint) {
        self.protocol = transport
        self.cpe = cpe
        self.service = service
    }

    /// "tcp [2001:db8::1]:40000 -> 192.0.2.1:443".
    public var description: String { "\(self.protocol) \(cpe) -> \(service)" }
}

/// The Internet-side key of a binding: protocol, external (pool address, port) and remote. The
/// remote is part of it because endpoint-independent mapping (RFC 4787 REQ-1) gives every UDP
/// binding of one LAN endpoint the same external endpoint, one binding per remote.
struct ExternalKey: Hashable, Sendable {
    var transport: TransportProtocol
    var external: Endpoint
    var remote: Endpoint
}
