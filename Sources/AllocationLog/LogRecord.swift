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

extension LogRecord {
    /// What the outputs call the record: "lease_allocated", "session_created", ... (letters and
    /// underscores only, so no output needs to escape it).
    var eventName: StaticString {
        switch event {
        case .lease(let event):
            switch event.kind {
            case .allocated: "lease_allocated"
            case .renewed: "lease_renewed"
            case .released: "lease_released"
            }
        case .held: "lease_held"
        case .exhausted(let event):
            switch event.kind {
            case .pool: "pool_exhausted"
            case .portSet: "port_set_exhausted"
            }
        case .session(let event):
            switch event.kind {
            case .created: "session_created"
            case .deleted: "session_deleted"
            }
        case .mapping(let event):
            switch event.kind {
            case .created: "mapping_created"
            case .renewed: "mapping_renewed"
            case .deleted: "mapping_deleted"
            case .expired: "mapping_expired"
            }
        }
    }
}
