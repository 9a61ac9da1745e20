/// A PCP result code (RFC 6887 section 7.4). Only SUCCESS is a success.
public enum PCPResultCode: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// 0 SUCCESS.
    case success = 0
    /// 1 UNSUPP_VERSION: the request's version is not spoken by this server.
    case unsupportedVersion = 1
    /// 2 NOT_AUTHORIZED: the operation is disabled for this client.
    case notAuthorized = 2
    /// 3 MALFORMED_REQUEST: the request could not be parsed.
    case malformedRequest = 3
    /// 4 UNSUPP_OPCODE: the opcode is not supported.
    case unsupportedOpcode = 4
    /// 5 UNSUPP_OPTION: a mandatory-to-process option is not supported.
    case unsupportedOption = 5
    /// 6 MALFORMED_OPTION: an option is malformed (too many occurrences, invalid length, ...).
    case malformedOption = 6
    /// 7 NETWORK_FAILURE: the server or its device has a network failure.
    case networkFailure = 7
    /// 8 NO_RESOURCES: well-formed, but the server lacks resources right now.
    case noResources = 8
    /// 9 UNSUPP_PROTOCOL: the transport protocol is not supported.
    case unsupportedProtocol = 9
    /// 10 USER_EX_QUOTA: the mapping would exceed this subscriber's port quota.
    case userExceededQuota = 10
    /// 11 CANNOT_PROVIDE_EXTERNAL: the suggested external port or address cannot be provided.
    case cannotProvideExternal = 11
    /// 12 ADDRESS_MISMATCH: the packet's source differs from the PCP Client's IP Address field.
    case addressMismatch = 12
    /// 13 EXCESSIVE_REMOTE_PEERS: the server cannot create the requested FILTERs.
    case excessiveRemotePeers = 13

    /// The name RFC 6887 gives this code, e.g. "MALFORMED_OPTION".
    public var name: String {
        switch self {
        case .success: "SUCCESS"
        case .unsupportedVersion: "UNSUPP_VERSION"
        case .notAuthorized: "NOT_AUTHORIZED"
        case .malformedRequest: "MALFORMED_REQUEST"
        case .unsupportedOpcode: "UNSUPP_OPCODE"
        case .unsupportedOption: "UNSUPP_OPTION"
        case .malformedOption: "MALFORMED_OPTION"
        case .networkFailure: "NETWORK_FAILURE"
        case .noResources: "NO_RESOURCES"
        case .unsupportedProtocol: "UNSUPP_PROTOCOL"
        case .userExceededQuota: "USER_EX_QUOTA"
        case .cannotProvideExternal: "CANNOT_PROVIDE_EXTERNAL"
        case .addressMismatch: "ADDRESS_MISMATCH"
        case .excessiveRemotePeers: "EXCESSIVE_REMOTE_PEERS"
        }
    }

    /// The RFC name followed by the number, e.g. "MALFORMED_OPTION (6)".
    public var description: String { "\(name) (\(rawValue))" }

    /// Whether RFC 6887 section 7.4 classes this as a short-lifetime error (the condition may
    /// clear soon). CANNOT_PROVIDE_EXTERNAL "depends on the reason"; it is counted as short here
    /// because a taken external port can be freed at any time.
    public var isShortLifetimeError: Bool {
        switch self {
        case .networkFailure, .noResources, .userExceededQuota, .cannotProvideExternal: true
        default: false
        }
    }

    /// The Lifetime an error response should carry: RFC 6887 section 7.4 RECOMMENDS 30 s for
    /// short-lifetime errors and 30 min for long-lifetime ones. 0 for SUCCESS (not an error).
    public var recommendedErrorLifetime: UInt32 {
        if self == .success { return 0 }
        return isShortLifetimeError ? 30 : 1800
    }
}
