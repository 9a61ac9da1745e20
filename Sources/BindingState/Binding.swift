/// One relayed flow: a CPE's MPTCP connection (or UDP association) and its upstream side.
/// The key fields are constants, so `BindingTable.update` cannot move a binding between keys.
public struct Binding: Hashable, Sendable, Identifiable, CustomStringConvertible {
    /// Assigned by `BindingTable.insert`, increasing, never reused; 0 before insertion.
    public internal(set) var id: UInt64
    /// TCP or UDP.
    public let `protocol`: TransportProtocol
    /// The CPE's address/port on its initial MPTCP subflow.
    public let cpe: Endpoint
    /// The concentrator's listening address/port the CPE connected to.
    public let service: Endpoint
    /// The source used upstream: a pool address and a port of the CPE's port set.
    public let external: Endpoint
    /// The PM destination; the packet plane filters Internet traffic against it.
    public let remote: Endpoint
    /// When the binding was made.
    public let created: ContinuousClock.Instant
    /// Where the binding is in its life.
    public var state: BindingState
    /// The last time data moved (callers update it through `BindingTable.update`).
    public var lastActivity: ContinuousClock.Instant

    /// A binding to insert; `lastActivity` starts at `created`.
    public init(
        protocol transport: TransportProtocol, cpe: Endpoint, service: Endpoint, external: Endpoint,
        remote: Endpoint, created: ContinuousClock.Instant, state: BindingState = .connecting
    ) {
        id = 0
        self.protocol = transport
        self.cpe = cpe
        self.service = service
        self.external = external
        self.remote = remote
        self.created = created
        self.state = state
        lastActivity = created
    }

    /// The CPE-side key.
    public var flowKey: FlowKey { FlowKey(protocol: self.protocol, cpe: cpe, service: service) }

    var externalKey: ExternalKey { ExternalKey(transport: self.protocol, external: external, remote: remote) }

    /// "#7 tcp [2001:db8::1]:40000 -> 192.0.2.1:443 via 198.51.100.1:2000 to 203.0.113.5:80 established".
    public var description: String {
        "#\(id) \(self.protocol) \(cpe) -> \(service) via \(external) to \(remote) \(state)"
    }
}
