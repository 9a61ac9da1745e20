/// Why a mapping could not be made; each case is a distinct PCP outcome, counted by the server.
public enum MappingTableError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The subscriber already has `limit` mappings (`--pcp-max-mappings`).
    case quotaExceeded(subscriber: SubscriberID, limit: Int)
    /// The subscriber's port set (or the pool) could not give the ports.
    case reservation(MappingReservationError)

    public var description: String {
        switch self {
        case let .quotaExceeded(subscriber, limit): "subscriber \(subscriber) already has its \(limit) mappings"
        case .reservation(let error): error.description
        }
    }
}
