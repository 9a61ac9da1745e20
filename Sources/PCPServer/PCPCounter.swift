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
