public import Counters

/// Every event the stream plane counts. One instance per relay loop (a single writer each);
/// the control socket sums them. Names are the `ctl stats` keys.
public enum StreamCounter: Int, CounterName {
    case accepted, acceptErrors
    /// Refused at accept(): a source outside `--allow` (the gate, when bound, drops them earlier);
    /// a connection whose SYN had no MP_CAPABLE (plain TCP cannot carry PM, draft 4.2).
    case acceptRefusedSource, acceptRefusedNotMultipath
    /// A connection that negotiated MPTCP and fell back to TCP later; it is served.
    case multipathFallback
    /// PM destinations refused, one counter per `DestinationFilter.Refusal`.
    case destinationOwnAddress, destinationListener, destinationPool, destinationDenied
    case blockComplete, blockTimeouts, blockEndedEarly
    case blockBadLength, blockUnknownSubtype, blockUnexpectedKind, blockDuplicateSource, blockDuplicateDestination
    case blockForbiddenAddress, blockMissingDestination, blockMissingSource, blockMissingDestinationPort
    case blockZeroDestinationPort, blockProtocolNotEnabled, blockProtocolMismatch, blockFamilyMismatch, blockTooLong
    case protocolNotRelayed, sourceNotAllowed, noConcentratorForFamily
    case portSetExhausted, poolExhausted, bindingConflicts
    case upstreamConnects, upstreamConnected, upstreamRefused, upstreamUnreachable, upstreamTimeouts, upstreamErrors
    case closedNormally, resetByUpstream, resetByDownstream, idleTimeouts
    case abortsSentDownstream, abortsSentUpstream
    case descriptorExhaustion, connectionsShed
    case bytesToUpstream, bytesToDownstream
    /// Accepted-side bytes sent in the PM block's segment (CPE outbound, concentrator inbound);
    /// connections whose block rode in the SYN.
    case firstBytesWithBlock, synDataConnections
    /// Connections that waited for their client's first bytes (`--first-bytes-wait`); of those,
    /// ones whose wait ran out (server-first protocols, slow clients).
    case firstBytesWaits, firstBytesWaitsExpired
    /// MPTCP legs that fell back to plain TCP during their handshake (SYN data not acknowledged:
    /// a lost SYN) and were opened again; of those, ones that fell back twice (the client is reset).
    case multipathLegRetries, multipathLegFallbacks
    /// Stalled MPTCP sends nudged by re-setting TCP_NODELAY (`RelayLoop.kickStalledMultipathSend`).
    case multipathPushKicks
    /// Inbound connections (draft 4.4.2): accepted on an inbound listener (an Internet host's
    /// connection to a pool address at the concentrator; the concentrator's MPTCP connection at the CPE),
    /// past the admission checks (`inbound_refused_source`, `inbound_refused_not_mptcp`).
    case inboundAccepted
    /// Concentrator: no mapping (or its FILTER refuses the remote); reset.
    case inboundRefusedUnmapped
    /// CPE: a source that is not its concentrator (`--inbound-allow`); one without MP_CAPABLE.
    case inboundRefusedSource, inboundRefusedNotMultipath
    /// CPE: no forward for the PM destination's port; a LAN host of another family than the remote.
    case inboundRefusedNoForward, inboundRefusedFamily
    /// The leg plainmode opens for an inbound connection (to the CPE, to the LAN host): connected, failed.
    case inboundConnected, inboundConnectFailed
    case connectionsOpen

    public var name: String {
        switch self {
        case .accepted: "accepted"
        case .acceptErrors: "accept_errors"
        case .acceptRefusedSource: "accept_refused_source"
        case .acceptRefusedNotMultipath: "accept_refused_not_mptcp"
        case .multipathFallback: "mptcp_fallback"
        case .destinationOwnAddress: "dest_refused_own_address"
        case .destinationListener: "dest_refused_listener"
        case .destinationPool: "dest_refused_pool"
        case .destinationDenied: "dest_refused_denied"
        case .blockComplete: "pm_block_complete"
        case .blockTimeouts: "pm_block_timeouts"
        case .blockEndedEarly: "pm_block_ended_early"
        case .blockBadLength: "pm_reject_bad_length"
        case .blockUnknownSubtype: "pm_reject_unknown_subtype"
        case .blockUnexpectedKind: "pm_reject_unexpected_kind"
        case .blockDuplicateSource: "pm_reject_duplicate_source"
        case .blockDuplicateDestination: "pm_reject_duplicate_destination"
        case .blockForbiddenAddress: "pm_reject_forbidden_address"
        case .blockMissingDestination: "pm_reject_missing_destination"
        case .blockMissingSource: "pm_reject_missing_source"
        case .blockMissingDestinationPort: "pm_reject_missing_destination_port"
        case .blockZeroDestinationPort: "pm_reject_zero_destination_port"
        case .blockProtocolNotEnabled: "pm_reject_protocol_not_enabled"
        case .blockProtocolMismatch: "pm_reject_protocol_mismatch"
        case .blockFamilyMismatch: "pm_reject_family_mismatch"
        case .blockTooLong: "pm_reject_too_long"
        case .protocolNotRelayed: "protocol_not_relayed"
        case .sourceNotAllowed: "source_not_allowed"
        case .noConcentratorForFamily: "no_concentrator_for_family"
        case .portSetExhausted: "port_set_exhausted"
        case .poolExhausted: "pool_exhausted"
        case .bindingConflicts: "binding_conflicts"
        case .upstreamConnects: "upstream_connects"
        case .upstreamConnected: "upstream_connected"
        case .upstreamRefused: "upstream_refused"
        case .upstreamUnreachable: "upstream_unreachable"
        case .upstreamTimeouts: "upstream_timeouts"
        case .upstreamErrors: "upstream_errors"
        case .closedNormally: "closed_normally"
        case .resetByUpstream: "reset_by_upstream"
        case .resetByDownstream: "reset_by_downstream"
        case .idleTimeouts: "idle_timeouts"
        case .abortsSentDownstream: "aborts_sent_downstream"
        case .abortsSentUpstream: "aborts_sent_upstream"
        case .descriptorExhaustion: "descriptor_exhaustion"
        case .connectionsShed: "connections_shed"
        case .bytesToUpstream: "bytes_to_upstream"
        case .bytesToDownstream: "bytes_to_downstream"
        case .firstBytesWithBlock: "first_bytes_with_block"
        case .synDataConnections: "syn_data_connections"
        case .firstBytesWaits: "first_bytes_waits"
        case .firstBytesWaitsExpired: "first_bytes_waits_expired"
        case .multipathLegRetries: "mptcp_leg_retries"
        case .multipathLegFallbacks: "mptcp_leg_fallbacks"
        case .multipathPushKicks: "mptcp_push_kicks"
        case .inboundAccepted: "inbound_accepted"
        case .inboundRefusedUnmapped: "inbound_refused_unmapped"
        case .inboundRefusedSource: "inbound_refused_source"
        case .inboundRefusedNotMultipath: "inbound_refused_not_mptcp"
        case .inboundRefusedNoForward: "inbound_refused_no_forward"
        case .inboundRefusedFamily: "inbound_refused_family"
        case .inboundConnected: "inbound_connected"
        case .inboundConnectFailed: "inbound_connect_failed"
        case .connectionsOpen: "connections_open"
        }
    }

    public var help: String {
        switch self {
        case .accepted: "Connections accepted on any listener (outbound and inbound) that passed the admission checks."
        case .acceptErrors: "Failed accept() calls and accepted sockets without a peer or local address (closed at once)."
        case .acceptRefusedSource: "Concentrator: connections from a source outside --allow, reset at accept() (the SYN gate drops them earlier when bound)."
        case .acceptRefusedNotMultipath: "Concentrator: connections whose SYN had no MP_CAPABLE (plain TCP cannot carry a PM block), reset at accept()."
        case .multipathFallback: "Connections whose MPTCP leg had fallen back to plain TCP when they ended (CPE outbound legs not checked); they were served."
        case .destinationOwnAddress: "Concentrator: connections reset because the PM destination is one of its own addresses."
        case .destinationListener: "Concentrator: connections reset because the PM destination is one of its own listeners."
        case .destinationPool: "Concentrator: connections reset because the PM destination lies in a pool prefix (the flow would loop through the relay)."
        case .destinationDenied: "Concentrator: connections reset because the PM destination lies in a --deny-destination or RFC 6890 never-destination range."
        case .blockComplete: "PM blocks read whole from the head of an MPTCP stream (concentrator outbound, CPE inbound)."
        case .blockTimeouts: "Connections reset because their PM block was not whole within --pm-timeout."
        case .blockEndedEarly: "Connections reset because the stream ended before its PM block did."
        case .blockBadLength: "Connections reset for a PM option whose Length is not 8, 10, 20 or 22."
        case .blockUnknownSubtype: "Connections reset for a PM option whose SubType is not the configured one."
        case .blockUnexpectedKind: "Connections reset for a byte that is neither a PM option (kind 30) nor EOL (0) where an option must start."
        case .blockDuplicateSource: "Connections reset for a PM block with more than one source option."
        case .blockDuplicateDestination: "Connections reset for a PM block with more than one destination option."
        case .blockForbiddenAddress: "Connections reset for a PM address that is multicast, broadcast, loopback or unspecified."
        case .blockMissingDestination: "Connections reset for a PM block without a usable destination option."
        case .blockMissingSource: "Connections reset for a PM block without the source option (or, inbound UDP, the source port) it needs."
        case .blockMissingDestinationPort: "Connections reset for a TCP or UDP PM destination without a port."
        case .blockZeroDestinationPort: "Connections reset for a PM destination port of 0."
        case .blockProtocolNotEnabled: "Connections reset for a PM option naming a protocol not enabled for plain mode."
        case .blockProtocolMismatch: "Connections reset because the PM source and destination options name different protocols."
        case .blockFamilyMismatch: "Connections reset because the PM source and destination addresses are of different families."
        case .blockTooLong: "Connections reset because their PM block did not end within the maximum block length."
        case .protocolNotRelayed: "Connections reset because their PM block asks for a relay this side does not do (not TCP, UDP without UDP support)."
        case .sourceNotAllowed: "Concentrator: connections reset because the preserved source lies outside the prefixes the subscriber may use."
        case .noConcentratorForFamily: "CPE: LAN connections reset because no concentrator address is configured to carry them."
        case .portSetExhausted: "Concentrator: connections and UDP bindings reset because the subscriber's port set had no free port."
        case .poolExhausted: "Concentrator: connections and UDP bindings reset because no pool address had a port set left to lease."
        case .bindingConflicts: "Concentrator: pooled ports found busy in the kernel (another is tried), flows already in the binding table, UDP bindings that exist."
        case .upstreamConnects: "Connects started on the leg plainmode opens (to the server, the concentrator, the CPE or a LAN host)."
        case .upstreamConnected: "Connects on the leg plainmode opens that succeeded."
        case .upstreamRefused: "Connects refused by the far end (ECONNREFUSED); the connection is reset."
        case .upstreamUnreachable: "Connects that failed with the network or host unreachable or down; the connection is reset."
        case .upstreamTimeouts: "Connects not completed within --connect-timeout, or timed out in the kernel; the connection is reset."
        case .upstreamErrors: "Connects that failed with any other error; the connection is reset."
        case .closedNormally: "Connections that ended cleanly: both directions finished (or a UDP binding's stream ended), no reset sent."
        case .resetByUpstream: "Connections ended by a reset or error on the leg plainmode opened; the accepted side was aborted."
        case .resetByDownstream: "Connections ended by a reset or error on the accepted side (RST or MP_FASTCLOSE); the other leg was aborted."
        case .idleTimeouts: "Connections (and CPE inbound UDP flows) aborted after --idle-timeout without traffic."
        case .abortsSentDownstream: "Aborts (RST or MP_FASTCLOSE) sent on the accepted side: refusals, timeouts, failures of the other leg, shutdown."
        case .abortsSentUpstream: "Aborts (RST or MP_FASTCLOSE) sent on the leg plainmode opened: the accepted side failed, idle timeout, shutdown."
        case .descriptorExhaustion: "Times the process was out of file descriptors (EMFILE or ENFILE) accepting or opening a socket or pipe."
        case .connectionsShed: "Pending connections accepted and aborted at once while out of descriptors, so the client sees a reset."
        case .bytesToUpstream: "Bytes relayed from the accepted side to the leg plainmode opened (bytes sent with the PM block not included)."
        case .bytesToDownstream: "Bytes relayed from the leg plainmode opened back to the accepted side."
        case .firstBytesWithBlock: "Bytes of the accepted side sent in one segment with the PM block (CPE outbound, concentrator inbound)."
        case .synDataConnections: "MPTCP connections opened with the PM block carried as TCP Fast Open SYN data."
        case .firstBytesWaits: "Connections that waited up to --first-bytes-wait for the client's first bytes before opening the MPTCP leg."
        case .firstBytesWaitsExpired: "First-bytes waits that ran out with nothing received (server-first protocols, slow clients); the leg opened anyway."
        case .multipathLegRetries: "MPTCP legs opened again because the kernel fell back to plain TCP in the handshake (SYN data not acknowledged, e.g. a lost SYN); the far end refuses plain TCP."
        case .multipathLegFallbacks: "MPTCP legs that fell back to plain TCP in their handshake on the second attempt too; the accepted side was reset."
        case .multipathPushKicks: "Stalled MPTCP sends nudged by setting TCP_NODELAY again after 500 ms without progress (a Linux 6.18 workaround)."
        case .inboundAccepted: "Inbound connections past the admission checks (an Internet host's at the concentrator, the concentrator's at the CPE)."
        case .inboundRefusedUnmapped: "Concentrator: inbound connections reset because no mapping covers the pool address and port, or its FILTER refuses the remote."
        case .inboundRefusedSource: "CPE: inbound connections reset because they came from a source outside --inbound-allow."
        case .inboundRefusedNotMultipath: "CPE: inbound connections reset because their SYN had no MP_CAPABLE."
        case .inboundRefusedNoForward: "CPE: inbound connections and UDP flows reset because no forward (or live UDP flow) matches the PM destination."
        case .inboundRefusedFamily: "CPE: inbound connections and UDP flows reset because the LAN host is of another address family than the remote."
        case .inboundConnected: "Inbound legs plainmode opened that connected (to the CPE at the concentrator, to the LAN host at the CPE)."
        case .inboundConnectFailed: "Inbound legs plainmode could not open or connect (to the CPE, to the LAN host); the inbound connection or binding ends."
        case .connectionsOpen: "Connections the relay loops hold now, the MPTCP connections of UDP bindings included."
        }
    }

    public var kind: TotalKind {
        switch self {
        case .bytesToUpstream, .bytesToDownstream, .firstBytesWithBlock: .bytes
        case .connectionsOpen: .level
        default: .events
        }
    }
}

/// One loop's counters, written by the loop's thread, read by the control thread.
public typealias StreamCounters = AtomicCounters<StreamCounter>
