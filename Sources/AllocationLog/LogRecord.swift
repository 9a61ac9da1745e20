public import BindingState
public import WireFormat

/// What the relay loops and the allocator hand the logger: the event and when it happened.
/// Formatting (the subscriber's prefixes, the port set's ranges) waits for the logging thread.
public struct LogRecord: Sendable {
    public enum Event: Sendable {
        case lease(LeaseEvent)
        /// A lease held at start-up or when an output comes back, announced again.
        case held(subscriber: SubscriberID, address: IPv4Address, psid: UInt16)
        case exhausted(ExhaustionEvent)
        case session(SessionEvent)
        /// A PCP mapping made, renewed, deleted or lapsed.
        case mapping(MappingEvent)
    }

    public var event: Event
    /// UTC milliseconds since the Unix epoch.
    public var time: Int64

    public init(_ event: Event, time: Int64) {
        self.event = event
        self.time = time
    }
}
