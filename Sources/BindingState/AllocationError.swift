/// Why a lease or a port could not be handed out; each case is counted in the statistics.
public enum AllocationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Every (address, PSID) of the pool is leased to some subscriber.
    case poolExhausted
    /// Every usable port of the subscriber's port set is in use or held, for the protocol asked.
    case portSetExhausted(subscriber: SubscriberID, portCount: Int)

    /// What happened and what the operator can change.
    public var description: String {
        switch self {
        case .poolExhausted:
            "every port set of the pool is leased: add IPv4 addresses to the pool, raise the PSID length "
                + "(more, smaller port sets per address), or shorten the lease hold so idle subscribers give theirs back."
        case let .portSetExhausted(subscriber, portCount):
            "subscriber \(subscriber) has all \(portCount) usable ports of its port set in use or held: lower the PSID length "
                + "to give each subscriber more ports, or shorten the hold after a TCP reset."
        }
    }
}
