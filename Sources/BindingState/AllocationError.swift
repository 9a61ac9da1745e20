public import WireFormat

/// Why a lease or a port could not be handed out; each case is counted in the statistics.
public enum AllocationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Every (address, PSID) of the pool is leased to some CPE.
    case poolExhausted
    /// Every usable port of the CPE's port set is in use or held, for the protocol asked.
    case portSetExhausted(cpe: IPAddress, portCount: Int)

    /// What happened and what the operator can change.
    public var description: String {
        switch self {
        case .poolExhausted:
            "every port set of the pool is leased: add IPv4 addresses to the pool, raise the PSID length "
                + "(more, smaller port sets per address), or shorten the lease hold so idle CPEs give theirs back."
        case let .portSetExhausted(cpe, portCount):
            "CPE \(cpe) has all \(portCount) usable ports of its port set in use or held: lower the PSID length "
                + "to give each CPE more ports, or shorten the hold after a TCP reset."
        }
    }
}
