/// Where a binding is in its life; only `.closing` bindings are removed by `BindingTable.expired(now:)`.
public enum BindingState: Hashable, Sendable, CustomStringConvertible {
    /// The upstream connection (or first datagram) is on its way.
    case connecting
    /// Both sides are up and data flows.
    case established
    /// Shutting down; the binding (and its external port) stays until `until`.
    case closing(until: ContinuousClock.Instant)

    /// "connecting", "established" or "closing".
    public var description: String {
        switch self {
        case .connecting: "connecting"
        case .established: "established"
        case .closing: "closing"
        }
    }
}
