/// What a new inbound mapping asks of the subscriber's port set (RFC 6887 section 11.1 with
/// RFC 7753 section 4): how many contiguous external ports, which first port the client
/// suggested, and the parity the first external port must have.
public struct MappingPortRequest: Hashable, Sendable {
    /// Ports wanted, 1...65535; the grant may be smaller (RFC 7753 section 4.2), never larger.
    public var count: Int
    /// The Suggested External Port; nil when the client has no preference (0 on the wire).
    public var suggestedPort: UInt16?
    /// With PREFER_FAILURE (RFC 6887 section 13.2): the suggested port or nothing.
    public var requiresSuggestedPort: Bool
    /// The low bit the first external port must have (RFC 7753 P bit: the First Internal Port's
    /// parity, RFC 4787 section 4.2.2); nil when parity was not asked for.
    public var parity: UInt16?

    public init(count: Int, suggestedPort: UInt16? = nil, requiresSuggestedPort: Bool = false, parity: UInt16? = nil) {
        self.count = max(1, min(count, 65535))
        self.suggestedPort = suggestedPort
        self.requiresSuggestedPort = requiresSuggestedPort
        self.parity = parity.map { $0 & 1 }
    }
}

/// Why ports for a mapping could not be reserved; each case is counted by the PCP server.
public enum MappingReservationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The subscriber has no lease and every port set of the pool is leased.
    case poolExhausted
    /// No usable port of the subscriber's set is free for the protocol (in use, held, mapped).
    case portSetFull(subscriber: SubscriberID, transport: TransportProtocol)
    /// PREFER_FAILURE and the suggested port is outside the set, blocked, or not free.
    case suggestedPortUnavailable(port: UInt16)
    /// Restoring: the stored ports are not all free inside the subscriber's current lease.
    case portsUnavailable(ClosedRange<UInt16>)

    public var description: String {
        switch self {
        case .poolExhausted: "every port set of the pool is leased"
        case let .portSetFull(subscriber, transport): "no \(transport) port of \(subscriber)'s port set is free"
        case let .suggestedPortUnavailable(port): "the suggested external port \(port) is not free in the subscriber's port set"
        case let .portsUnavailable(ports): "ports \(ports.lowerBound)-\(ports.upperBound) are not free in the subscriber's lease"
        }
    }
}
