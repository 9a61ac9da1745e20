/// StreamPlane: the TCP relay of both roles. Relay loops (one OS thread and one epoll each) accept
/// MPTCP (concentrator) or TPROXY'd TCP (CPE) connections, read or write the PM block, open the
/// other leg, and move bytes with splice() through a pipe per direction; FIN becomes a half-close
/// and an RST an abortive close (MP_FASTCLOSE on the MPTCP leg) of the other side.
public import PlainMode
public import BindingState
public import Syscalls
public import WireFormat
import Synchronization
public import UDPRelay

/// What a role decides when a connection arrives; the loop does the rest.
public enum RelayRole: Sendable {
    case concentrator(ConcentratorSettings)
    case cpe(CPESettings)
}

/// Concentrator side: PM policy, where upstream sources come from, shared state.
public struct ConcentratorSettings: Sendable {
    public var policy: PlainModePolicy
    /// Port sets of the shared IPv4 pool; nil when there is no pool (every source preserved).
    public var allocator: PortSetAllocator?
    public var bindings: BindingTable
    /// Use the PM source (or the CPE's address) for IPv4 too, instead of the shared pool.
    public var preserveIPv4Source: Bool
    /// A preserved source must share this many leading bits with the CPE's own address.
    public var ipv4SourcePrefixLength: Int
    public var ipv6SourcePrefixLength: Int
    /// Source prefixes delegated to CPEs: a CPE inside `cpe` may use sources inside `sources`.
    public var delegations: [(cpe: IPPrefix, sources: IPPrefix)]
    /// UDP bindings (PM protocol 17); nil refuses them (`protocol_not_relayed`).
    public var udp: ConcentratorUDPSettings?
    /// Who each CPE source belongs to: a port set is leased per subscriber, not per address.
    public var subscribers: SubscriberRegistry
    /// Source prefixes CPEs may connect from (`--allow`), checked at accept(); nil: any source.
    public var allowedSources: [IPPrefix]?
    /// PM destinations refused before any upstream connect.
    public var destinations: DestinationFilter
    /// Where each relayed flow's start and end is logged (`--log-sessions`); nil: not logged.
    public var sessions: (any SessionEventSink)?
    /// Where inbound flows to mapped pool ports go (PCP mappings); nil: every inbound connection
    /// is refused with a reset (`inbound_refused_unmapped`).
    public var inboundMappings: (any InboundMappingLookup)? = nil
    /// The port of the CPEs' inbound MPTCP listeners (`--cpe-inbound-port`).
    public var cpeInboundPort: UInt16 = 7600

    public init(policy: PlainModePolicy, allocator: PortSetAllocator?, bindings: BindingTable,
                preserveIPv4Source: Bool = false, ipv4SourcePrefixLength: Int = 32, ipv6SourcePrefixLength: Int = 48,
                delegations: [(cpe: IPPrefix, sources: IPPrefix)] = [], udp: ConcentratorUDPSettings? = nil,
                allowedSources: [IPPrefix]? = nil, destinations: DestinationFilter = DestinationFilter(),
                subscribers: SubscriberRegistry, sessions: (any SessionEventSink)? = nil,
                inboundMappings: (any InboundMappingLookup)? = nil) {
        self.subscribers = subscribers
        self.inboundMappings = inboundMappings
        self.sessions = sessions
        self.allowedSources = allowedSources
        self.destinations = destinations
        self.delegations = delegations
        self.udp = udp
        self.policy = policy
        self.allocator = allocator
        self.bindings = bindings
        self.preserveIPv4Source = preserveIPv4Source
        self.ipv4SourcePrefixLength = ipv4SourcePrefixLength
        self.ipv6SourcePrefixLength = ipv6SourcePrefixLength
    }
}

/// UDP at the concentrator: the binding table the queue workers write into, and its timer.
public struct ConcentratorUDPSettings: Sendable {
    public var channels: UDPChannelTable
    /// A binding with no datagram either way for this long is closed with MP_FASTCLOSE.
    public var idleTimeout: Duration
    /// Congestion control and socket buffers of the bindings' connections.
    public var connectionTuning: UDPConnectionTuning
    /// Endpoint-independent mappings of pooled bindings whose PM block names the LAN endpoint
    /// (RFC 4787 REQ-1); nil, or a block without a source port: a port per binding.
    public var mappings: EndpointMappingTable?
    /// Inbound bindings the queue workers ask the loops to open (a PCP-mapped port, a new remote
    /// under `--udp-filtering endpoint`); nil: none are opened.
    public var inbound: InboundUDPHandOff?

    public init(channels: UDPChannelTable, idleTimeout: Duration = .seconds(300),
                connectionTuning: UDPConnectionTuning = UDPConnectionTuning(), mappings: EndpointMappingTable? = nil,
                inbound: InboundUDPHandOff? = nil) {
        self.inbound = inbound
        self.channels = channels
        self.idleTimeout = idleTimeout
        self.connectionTuning = connectionTuning
        self.mappings = mappings
    }
}

/// CPE side: where the concentrator is and what the PM block carries.
public struct CPESettings: Sendable {
    public enum SourceOption: String, Sendable, CaseIterable {
        /// TCP: IPv6 flows carry the LAN host's address and port (source preservation), IPv4 flows
        /// do not. UDP (the CPE's packet plane): every flow does, IPv4 as the concentrator's mapping key.
        case auto, always, never
    }
    public var concentratorIPv4: SocketAddress?
    public var concentratorIPv6: SocketAddress?
    public var sourceOption: SourceOption
    public var subtype: UInt8
    /// Send the PM block (and the LAN host's first bytes, when already there) as TCP Fast Open
    /// SYN data, the draft's way, rather than as the first bytes after the handshake.
    public var blockInSYN: Bool
    /// Inbound connections from the concentrator (`--inbound-listen`); nil: none accepted.
    public var inbound: CPEInboundSettings? = nil

    public init(concentratorIPv4: SocketAddress?, concentratorIPv6: SocketAddress?,
                sourceOption: SourceOption = .auto, subtype: UInt8 = PlainMode.defaultSubtype, blockInSYN: Bool = true) {
        self.blockInSYN = blockInSYN
        self.concentratorIPv4 = concentratorIPv4
        self.concentratorIPv6 = concentratorIPv6
        self.sourceOption = sourceOption
        self.subtype = subtype
    }
}

/// Timers and sizes shared by every loop.
public struct RelayTuning: Sendable {
    /// A PM block not complete by then: the connection is closed and counted.
    public var blockTimeout: Duration = .seconds(5)
    public var connectTimeout: Duration = .seconds(10)
    /// How long an accepted client may take to send its first bytes before plainmode opens the
    /// MPTCP leg without them (`RelayLoop+FirstBytes`); zero: never wait.
    public var firstBytesWait: Duration = .milliseconds(5)
    /// RFC 5382 REQ-5: an established connection idle this long is dropped (at least 2 h 4 min).
    public var idleTimeout: Duration = .seconds(7440)
    /// RFC 7857 section 2.1: a port stays unusable this long after an RST.
    public var resetHold: Duration = .seconds(240)
    /// Bytes per splice pipe (0: the kernel's default, 64 KiB).
    public var pipeSize: Int32 = 0
    public var eventsPerWait = 256

    public init() {}
}
