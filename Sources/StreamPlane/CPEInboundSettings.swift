public import BindingState
public import PlainMode
public import WireFormat

/// The CPE's inbound side (draft 4.4.2): who may open inbound MPTCP connections, what their PM
/// block must hold, and which LAN host each external port goes to.
public struct CPEInboundSettings: Sendable {
    /// `PlainModePolicy.inbound`: a source option (the Internet host) is required.
    public var policy: PlainModePolicy
    /// Sources allowed to connect: the concentrator's addresses, or `--inbound-allow`.
    public var allowedSources: [IPPrefix]
    public var forwards: PortForwardTable

    public init(policy: PlainModePolicy, allowedSources: [IPPrefix], forwards: PortForwardTable) {
        self.policy = policy
        self.allowedSources = allowedSources
        self.forwards = forwards
    }
}
