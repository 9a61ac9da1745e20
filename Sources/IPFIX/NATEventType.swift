/// natEvent values (IE 230) from RFC 8158 section 4.3, as IANA's "NAT Event Type" registry keeps
/// them: 1 and 2 are Cisco's historic translation create / delete, so RFC 8158's events start at 3.
public enum NATEventType: UInt8, Hashable, Sendable, CaseIterable {
    case natAddressesExhausted = 3
    case nat44SessionCreate = 4
    case nat44SessionDelete = 5
    /// A mapping made (a PCP MAP): one record per mapped port.
    case nat44BIBCreate = 8
    /// A mapping deleted or lapsed.
    case nat44BIBDelete = 9
    case natPortsExhausted = 12
    case quotaExceeded = 13
    case portBlockAllocation = 16
    case portBlockDeallocation = 17
}

/// natQuotaExceededEvent values (IE 466, RFC 8158 section 4.4): which limit was hit.
public enum NATQuotaExceededEvent: UInt32, Hashable, Sendable {
    /// A subscriber used every port its set holds (RFC 8158 "Maximum entries per user").
    case maximumEntriesPerUser = 3
}
