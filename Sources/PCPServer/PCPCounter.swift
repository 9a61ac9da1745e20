public import Counters
public import PCP

/// The PCP server's `ctl stats` and metrics counters (`pcp_*`): one per outcome.
public enum PCPCounter: Int, CounterName, CaseIterable {
    /// Datagrams handed to the handler (from allowed sources).
    case requests
    /// Datagrams from sources outside --allow: dropped unanswered.
    case droppedNotAllowed
    /// Requests over the subscriber's rate: dropped unanswered.
    case rateLimited
    /// Requests the codec could not parse (answered or dropped as RFC 6887 s8.3 says).
    case unparsable
    /// Requests dropped unanswered by the RFC (shorter than 2 bytes, R bit set).
    case droppedSilently
    /// ANNOUNCE requests answered.
    case announceRequests
    /// MAP requests handled (any result).
    case mapRequests
    case mappingsCreated
    case mappingsRenewed
    case mappingsDeleted
    case mappingsExpired
    /// Unsolicited ANNOUNCE messages sent at start-up (RFC 6887 s14.1.3).
    case announcementsSent
    /// Responses the socket refused (ENOBUFS, unreachable, ...).
    case sendErrors
    /// Responses sent, by result code (RFC 6887 s7.4).
    case resultSuccess, resultUnsupportedVersion, resultNotAuthorized, resultMalformedRequest, resultUnsupportedOpcode
    case resultUnsupportedOption, resultMalformedOption, resultNetworkFailure, resultNoResources, resultUnsupportedProtocol
    case resultUserExceededQuota, resultCannotProvideExternal, resultAddressMismatch, resultExcessiveRemotePeers

    public var name: String {
        switch self {
        case .requests: "pcp_requests"
        case .droppedNotAllowed: "pcp_dropped_not_allowed"
        case .rateLimited: "pcp_rate_limited"
        case .unparsable: "pcp_unparsable"
        case .droppedSilently: "pcp_dropped_silently"
        case .announceRequests: "pcp_announce_requests"
        case .mapRequests: "pcp_map_requests"
        case .mappingsCreated: "pcp_mappings_created"
        case .mappingsRenewed: "pcp_mappings_renewed"
        case .mappingsDeleted: "pcp_mappings_deleted"
        case .mappingsExpired: "pcp_mappings_expired"
        case .announcementsSent: "pcp_announcements_sent"
        case .sendErrors: "pcp_send_errors"
        default: "pcp_result_" + (Self.resultCode(of: self)?.name.lowercased() ?? "unknown")
        }
    }

    public var help: String {
        switch self {
        case .requests: "PCP server: request datagrams from allowed sources handed to the request handler."
        case .droppedNotAllowed: "PCP server: datagrams from a source outside --allow; dropped unanswered."
        case .rateLimited: "PCP server: requests over the subscriber's --pcp-rate-limit; dropped unanswered."
        case .unparsable: "PCP server: requests that could not be parsed; answered with an error result or dropped as RFC 6887 section 8.3 says."
        case .droppedSilently: "PCP server: unparsable requests the RFC says to drop unanswered (shorter than 2 bytes, R bit set)."
        case .announceRequests: "PCP server: ANNOUNCE requests answered."
        case .mapRequests: "PCP server: MAP requests handled, whatever their result."
        case .mappingsCreated: "PCP server: mappings created by MAP requests."
        case .mappingsRenewed: "PCP server: mappings renewed by a MAP request with their nonce."
        case .mappingsDeleted: "PCP server: mappings deleted by a MAP request with lifetime 0."
        case .mappingsExpired: "PCP server: mappings removed because their lifetime ran out without a renewal."
        case .announcementsSent: "PCP server: unsolicited ANNOUNCE messages multicast after a start with a new epoch (RFC 6887 section 14.1.3)."
        case .sendErrors: "PCP server: responses and announcements the socket refused to send."
        case .resultSuccess: "PCP server: responses sent with result SUCCESS (0)."
        case .resultUnsupportedVersion: "PCP server: responses sent with UNSUPP_VERSION (1): a request of another PCP version."
        case .resultNotAuthorized: "PCP server: responses sent with NOT_AUTHORIZED (2): another nonce's mapping, every port or protocol, a third party not the subscriber's."
        case .resultMalformedRequest: "PCP server: responses sent with MALFORMED_REQUEST (3): a request of bad length or form."
        case .resultUnsupportedOpcode: "PCP server: responses sent with UNSUPP_OPCODE (4): an opcode this server does not handle."
        case .resultUnsupportedOption: "PCP server: responses sent with UNSUPP_OPTION (5): a mandatory option this server does not support."
        case .resultMalformedOption: "PCP server: responses sent with MALFORMED_OPTION (6): an option of bad length, repeated, or not valid in the request."
        case .resultNetworkFailure: "PCP server: responses sent with NETWORK_FAILURE (7); this server does not send it today."
        case .resultNoResources: "PCP server: responses sent with NO_RESOURCES (8): no pool address or port free for the mapping."
        case .resultUnsupportedProtocol: "PCP server: responses sent with UNSUPP_PROTOCOL (9): a protocol other than TCP and UDP."
        case .resultUserExceededQuota: "PCP server: responses sent with USER_EX_QUOTA (10): the subscriber's --pcp-max-mappings reached or its port set full."
        case .resultCannotProvideExternal: "PCP server: responses sent with CANNOT_PROVIDE_EXTERNAL (11): PREFER_FAILURE and the suggested address or port not free."
        case .resultAddressMismatch: "PCP server: responses sent with ADDRESS_MISMATCH (12): the client address field differs from the datagram's source."
        case .resultExcessiveRemotePeers: "PCP server: responses sent with EXCESSIVE_REMOTE_PEERS (13): more FILTER options than a mapping may keep."
        }
    }

    /// The counter of responses carrying `code`.
    public static func result(_ code: PCPResultCode) -> PCPCounter {
        PCPCounter(rawValue: PCPCounter.resultSuccess.rawValue + Int(code.rawValue)) ?? .resultSuccess
    }

    /// The result code a `result*` counter counts; nil for the others.
    static func resultCode(of counter: PCPCounter) -> PCPResultCode? {
        guard counter.rawValue >= PCPCounter.resultSuccess.rawValue else { return nil }
        return PCPResultCode(rawValue: UInt8(counter.rawValue - PCPCounter.resultSuccess.rawValue))
    }
}
