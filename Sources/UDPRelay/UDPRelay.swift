/// UDPRelay: UDP carried over MPTCP (draft section 5.1), the pieces both roles share. A datagram
/// becomes a record (len16 || payload) written whole to its MPTCP connection (`RecordWriter`);
/// a record coming back becomes a datagram built in place and sent through a raw socket
/// (`DatagramSender`), or at the CPE through a UDP socket bound to the flow's remote, with UDP
/// GSO (`SegmentingDatagramSender`). The concentrator's UDP bindings live in `UDPChannelTable`,
/// shared by the relay loops that own the connections and the queue workers that carry Internet
/// datagrams.
public import Counters
public import Syscalls
import SystemPackage

/// Every UDP event either role counts (`ctl stats` keys); one instance per writer thread.
public enum UDPCounter: Int, CounterName {
    // Records read from MPTCP connections, sent as datagrams.
    case recordsReceived, datagramsSent, datagramSendBlocked, datagramTooBig, datagramSendErrors, framingErrors
    // Datagrams taken from the queue, written as records.
    case datagramsQueued, recordsWritten, recordsBacklogged, recordsDroppedBacklogFull, recordWriteErrors
    // Queued datagrams not carried.
    case noBinding, filteredRemote, notBondable, oversizedUnbonded, malformed, passedThrough
    /// `--udp-filtering endpoint` admitted a remote no binding names, and no inbound connection
    /// could carry it with its own source (no inbound path, or its hand-off refused): dropped
    /// rather than delivered as if it came from another remote.
    case newRemoteNoInbound
    // Bindings (concentrator) and flows (CPE).
    case bindingsOpened, bindingsClosed, bindingsOpen, bindingIdleTimeouts, bindingOpenErrors, noConcentratorForFamily
    /// --udp-congestion-control could not be set on a connection (it keeps the kernel's default).
    case congestionControlErrors
    /// --udp-send-buffer or --udp-receive-buffer could not be set (that buffer stays autotuned).
    case socketBufferErrors
    // CPE: datagrams to the LAN through a UDP socket per flow (`SegmentingDatagramSender`).
    /// Sends the kernel cut into datagrams (UDP GSO), and those it refused (resent one by one).
    case segmentedSends, segmentationRefused
    /// A flow's UDP socket could not be opened (its datagrams go through the raw socket).
    case deliverySocketErrors
    // Concentrator: endpoint-independent mappings (RFC 4787 REQ-1) of LAN endpoints named by a PM source.
    /// A binding that took the external endpoint of an existing mapping instead of a port of its own.
    case mappingsReused
    /// A LAN endpoint's flow to a remote its mapping already serves through another connection (the
    /// CPE restarted while the old one idles out): it got a port of its own instead.
    case mappingConflictFallbacks
    /// Mappings in force (a level).
    case mappingsOpen
    // Inbound UDP (draft 5.1.1, 5.1.2): a datagram no binding takes, to a PCP-mapped pool port or
    // (`--udp-filtering endpoint`) from a new remote of a mapping, opens a connection to the CPE.
    /// Queue workers: datagrams that started an inbound binding; those that could not (the relay
    /// loops' request queue full), dropped.
    case inboundOpens, inboundOpenRefused
    /// Relay loops: inbound bindings whose connection to the CPE was opened.
    case inboundBindingsOpened

    public var name: String {
        switch self {
        case .recordsReceived: "udp_records_received"
        case .datagramsSent: "udp_datagrams_sent"
        case .datagramSendBlocked: "udp_datagram_send_blocked"
        case .datagramTooBig: "udp_datagram_too_big"
        case .datagramSendErrors: "udp_datagram_send_errors"
        case .framingErrors: "udp_framing_errors"
        case .datagramsQueued: "udp_datagrams_queued"
        case .recordsWritten: "udp_records_written"
        case .recordsBacklogged: "udp_records_backlogged"
        case .recordsDroppedBacklogFull: "udp_records_dropped_backlog_full"
        case .recordWriteErrors: "udp_record_write_errors"
        case .noBinding: "udp_dropped_no_binding"
        case .filteredRemote: "udp_dropped_filtered_remote"
        case .notBondable: "udp_not_bonded_filter"
        case .oversizedUnbonded: "udp_oversized_not_bonded"
        case .malformed: "udp_malformed"
        case .passedThrough: "udp_passed_through"
        case .newRemoteNoInbound: "udp_dropped_new_remote_no_inbound"
        case .bindingsOpened: "udp_bindings_opened"
        case .bindingsClosed: "udp_bindings_closed"
        case .bindingsOpen: "udp_bindings_open"
        case .bindingIdleTimeouts: "udp_binding_idle_timeouts"
        case .bindingOpenErrors: "udp_binding_open_errors"
        case .noConcentratorForFamily: "udp_no_concentrator_for_family"
        case .congestionControlErrors: "udp_congestion_control_errors"
        case .socketBufferErrors: "udp_socket_buffer_errors"
        case .segmentedSends: "udp_segmented_sends"
        case .segmentationRefused: "udp_segmentation_refused"
        case .deliverySocketErrors: "udp_delivery_socket_errors"
        case .mappingsReused: "udp_mappings_reused"
        case .mappingConflictFallbacks: "udp_mapping_conflict_fallbacks"
        case .mappingsOpen: "udp_mappings_open"
        case .inboundOpens: "udp_inbound_opens"
        case .inboundOpenRefused: "udp_inbound_open_refused"
        case .inboundBindingsOpened: "udp_inbound_bindings_opened"
        }
    }

    public var help: String {
        switch self {
        case .recordsReceived: "Records read from an MPTCP connection, each to be sent as a datagram (to the Internet or to a LAN host)."
        case .datagramsSent: "Datagrams sent from received records (raw socket, or at the CPE a flow's UDP socket)."
        case .datagramSendBlocked: "Datagrams dropped because the sending socket's buffer was full."
        case .datagramTooBig: "Datagrams dropped as too big to send (larger than the largest UDP payload, or EMSGSIZE)."
        case .datagramSendErrors: "Datagrams dropped because the kernel refused to send them (or no raw socket of that family exists)."
        case .framingErrors: "MPTCP connections whose records were out of step (bad record framing); the connection was reset."
        case .datagramsQueued: "Datagrams taken to be carried as records over an MPTCP connection (from a netfilter queue or a CPE inbound flow)."
        case .recordsWritten: "Datagrams written as records into their MPTCP connection without waiting."
        case .recordsBacklogged: "Datagrams kept in their connection's backlog (socket full or still connecting) to be written later."
        case .recordsDroppedBacklogFull: "Datagrams dropped because their connection's backlog (--udp-backlog) was full."
        case .recordWriteErrors: "Record writes that failed with a socket error on the MPTCP connection; the datagrams were lost."
        case .noBinding: "Concentrator: Internet datagrams to a pool address that no binding or PCP mapping takes; dropped."
        case .filteredRemote: "Concentrator: Internet datagrams from a remote that neither the binding's filtering nor a PCP mapping admits; dropped."
        case .notBondable: "CPE: LAN datagrams outside --udp-destination or --udp-port; passed on the ordinary route, not bonded."
        case .oversizedUnbonded: "CPE: LAN datagrams too large for a record under --udp-path-mtu, or fragmented; passed on the ordinary route."
        case .malformed: "Queued packets that could not be parsed or had a bad checksum; dropped when bound for the pool or corrupt, else passed."
        case .passedThrough: "Concentrator: Internet datagrams outside the pool that no binding takes (e.g. a customer's IPv6 address); passed on."
        case .newRemoteNoInbound: "Concentrator: datagrams from a new remote that --udp-filtering endpoint admits but no inbound connection could carry; dropped."
        case .bindingsOpened: "UDP bindings (concentrator) or flows (CPE) opened, each with an MPTCP connection of its own."
        case .bindingsClosed: "UDP bindings (concentrator) or flows (CPE) closed, for any reason."
        case .bindingsOpen: "UDP bindings (concentrator) or flows (CPE) open now."
        case .bindingIdleTimeouts: "UDP bindings or flows closed after --udp-idle-timeout without a datagram either way."
        case .bindingOpenErrors: "UDP bindings or flows that could not be opened or connected (socket, connect, binding taken); their datagrams are not carried."
        case .noConcentratorForFamily: "CPE: bondable LAN datagrams with no concentrator address to carry them; passed on the ordinary route."
        case .congestionControlErrors: "Connections carrying UDP on which --udp-congestion-control could not be set; they keep the kernel's default."
        case .socketBufferErrors: "Times --udp-send-buffer or --udp-receive-buffer could not be set on a connection; that buffer stays autotuned."
        case .segmentedSends: "CPE: messages of several datagrams to a LAN host that the kernel cut up (UDP GSO)."
        case .segmentationRefused: "CPE: UDP GSO messages the kernel refused; their datagrams were sent again one by one."
        case .deliverySocketErrors: "CPE: UDP sockets towards a LAN host that could not be opened; outbound flows use the raw socket, inbound ones are reset."
        case .mappingsReused: "Concentrator: UDP bindings that took the external endpoint of an existing endpoint-independent mapping."
        case .mappingConflictFallbacks: "Concentrator: UDP bindings given a port of their own because their mapping already serves that remote elsewhere."
        case .mappingsOpen: "Concentrator: endpoint-independent UDP mappings in force now."
        case .inboundOpens: "Concentrator: Internet datagrams no binding takes that started an inbound binding to the CPE."
        case .inboundOpenRefused: "Concentrator: datagrams that should have started an inbound binding but could not be handed to a relay loop; dropped."
        case .inboundBindingsOpened: "Concentrator: inbound UDP bindings whose MPTCP connection to the CPE was opened."
        }
    }

    public var kind: TotalKind { self == .bindingsOpen || self == .mappingsOpen ? .level : .events }
}

public typealias UDPCounters = AtomicCounters<UDPCounter>

/// How both roles tune the MPTCP connections that carry UDP: --udp-congestion-control,
/// --udp-send-buffer and --udp-receive-buffer.
public struct UDPConnectionTuning: Sendable, Equatable {
    /// Measured on the namespace testbed (Bench/README.md, "Packet plane"): with the kernel's
    /// autotuning a connection carrying 1 Gbit/s of datagrams keeps buffers sized to the path's
    /// tiny round trip, so a receiver a few milliseconds late closes the window and records are
    /// dropped; these fixed sizes carried 1200-byte datagrams at 90 000/s without a drop.
    public static let defaultSendBuffer: Int32 = 4 << 20
    public static let defaultReceiveBuffer: Int32 = 8 << 20

    /// TCP congestion control of every subflow; nil: the kernel's default.
    public var congestionControl: String?
    /// SO_SNDBUFFORCE / SO_RCVBUFFORCE bytes (the kernel doubles them); 0: the kernel's autotuning.
    public var sendBuffer: Int32
    public var receiveBuffer: Int32

    public init(congestionControl: String? = nil, sendBuffer: Int32 = defaultSendBuffer,
                receiveBuffer: Int32 = defaultReceiveBuffer) {
        self.congestionControl = congestionControl
        self.sendBuffer = sendBuffer
        self.receiveBuffer = receiveBuffer
    }
}

extension Socket {
    /// Applies `tuning` to a connection that carries UDP, before its subflows exist where it can
    /// (the CPE) so they inherit it; a refusal keeps the kernel's default and is counted.
    public func apply(_ tuning: UDPConnectionTuning, counting counters: UDPCounters) {
        if tuning.sendBuffer > 0 {
            do throws(Errno) { try setSendBufferForced(tuning.sendBuffer) } catch { counters.add(.socketBufferErrors) }
        }
        if tuning.receiveBuffer > 0 {
            do throws(Errno) { try setReceiveBufferForced(tuning.receiveBuffer) } catch { counters.add(.socketBufferErrors) }
        }
        guard let name = tuning.congestionControl else { return }
        do throws(Errno) { try setCongestionControl(name) } catch { counters.add(.congestionControlErrors) }
    }
}
