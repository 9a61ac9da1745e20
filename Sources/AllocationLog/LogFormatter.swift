public import BindingState
public import PortSets

/// What the log's text says about a record beyond the record itself: every lease entry carries
/// the subscriber, its CPE prefixes (every link) and the exact port set, so any (address, port,
/// time) traces back to a subscriber from the log alone (RFC 6888 REQ-12, without
/// per-connection logs). The logging thread renders with it through a `LogRenderer`.
public struct LogFormatter: Sendable {
    public let subscribers: SubscriberRegistry
    /// The pool's PSID geometry, for the port set of a PSID.
    public let geometry: PSIDGeometry?

    public init(subscribers: SubscriberRegistry, geometry: PSIDGeometry?) {
        self.subscribers = subscribers
        self.geometry = geometry
    }
}
