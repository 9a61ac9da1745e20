public import BindingState
public import PlainMode
public import UDPRelay
public import WireFormat

/// The CPE's inbound side (draft 4.4.2): who may open inbound MPTCP connections, what their PM
/// block must hold, and which LAN host each external port goes to.
public struct CPEInboundSettings: Sendable {
    /// `PlainModePolicy.inbound`: a source option (the Internet host) is required.
    public var policy: PlainModePolicy
    /// Sources allowed to connect: the concentrator's addresses, or `--inbound-allow`.
    public var allowedSources: [IPPrefix]
    public var forwards: PortForwardTable
    /// LAN endpoints with a live outbound UDP flow (the queue workers keep it): an inbound UDP
    /// block whose destination is one of them carries a new remote of that endpoint's mapping
    /// (the concentrator's `--udp-filtering endpoint`); nil: only forwards are served.
    public var liveUDPEndpoints: UDPLANEndpoints?
    /// SO_MARK of the UDP sockets towards LAN hosts (`--inbound-udp-mark`): cpe-net.sh's socket
    /// rule delivers the LAN host's replies to a transparent socket with this mark, and leaves
    /// those of outbound flows' sockets (unmarked) to the queues.
    public var udpSocketMark: UInt32
    /// Datagrams the UDP socket towards a LAN host may hold before the kernel drops them.
    public var udpSendBuffer: Int32 = 1 << 20
    /// Bytes of records an inbound UDP flow may hold while its connection is full (`--udp-backlog`).
    public var udpBacklog = 32768

    public init(policy: PlainModePolicy, allowedSources: [IPPrefix], forwards: PortForwardTable,
                liveUDPEndpoints: UDPLANEndpoints? = nil, udpSocketMark: UInt32 = CPEInboundSettings.defaultUDPSocketMark) {
        self.liveUDPEndpoints = liveUDPEndpoints
        self.udpSocketMark = udpSocketMark
        self.policy = policy
        self.allowedSources = allowedSources
        self.forwards = forwards
    }

    /// cpe-net.sh --inbound-udp-mark's default: a bit the routing mark (--mark 1) does not use.
    public static let defaultUDPSocketMark: UInt32 = 0x4000
}
