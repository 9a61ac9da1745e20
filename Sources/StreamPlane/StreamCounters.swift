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
    /// CPE: LAN bytes sent in the PM block's segment; connections whose block rode in the SYN.
    case firstBytesWithBlock, synDataConnections
    /// Connections that waited for their client's first bytes (`--first-bytes-wait`); of those,
    /// ones whose wait ran out (server-first protocols, slow clients).
    case firstBytesWaits, firstBytesWaitsExpired
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
