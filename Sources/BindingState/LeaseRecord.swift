public import WireFormat

/// A lease as the durable store keeps it (RFC 7618 section 8): key (address, PSID), owner, times.
/// Times are wall-clock UTC milliseconds since the Unix epoch, stamped by the store's caller.
public struct LeaseRecord: Hashable, Sendable {
    /// The subscriber the lease belongs (or last belonged) to.
    public var subscriber: SubscriberID
    /// The pool address.
    public var address: IPv4Address
    /// The PSID on that address.
    public var psid: UInt16
    /// When the lease was allocated.
    public var start: Int64
    /// When the lease was last renewed (allocated, or used again after being idle).
    public var lastUse: Int64
    /// When the lease was released; nil while the subscriber holds it.
    public var end: Int64?

    public init(subscriber: SubscriberID, address: IPv4Address, psid: UInt16, start: Int64, lastUse: Int64, end: Int64?) {
        self.subscriber = subscriber
        self.address = address
        self.psid = psid
        self.start = start
        self.lastUse = lastUse
        self.end = end
    }

    /// Whether the subscriber still holds it.
    public var isActive: Bool { end == nil }
}

/// A change of a lease that must be made durable (and, later, logged).
public struct LeaseEvent: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// A subscriber took the lease.
        case allocated
        /// The subscriber used the lease again after it had been idle.
        case renewed
        /// The lease went back to the pool.
        case released
    }

    public var kind: Kind
    public var subscriber: SubscriberID
    public var address: IPv4Address
    public var psid: UInt16

    public init(_ kind: Kind, subscriber: SubscriberID, address: IPv4Address, psid: UInt16) {
        self.kind = kind
        self.subscriber = subscriber
        self.address = address
        self.psid = psid
    }
}

/// Where the allocator sends lease events: called on allocation, renewal and release only (never
/// per packet or per port), outside every shard lock. Must not block.
public protocol LeaseEventSink: Sendable {
    func record(_ event: LeaseEvent)
    /// A refused allocation (default: ignored).
    func exhausted(_ event: ExhaustionEvent)
}

/// Several sinks as one: the durable store and the allocation log both hear every lease event.
public struct LeaseEventFanOut: LeaseEventSink {
    public let sinks: [any LeaseEventSink]

    public init(_ sinks: [any LeaseEventSink]) {
        self.sinks = sinks
    }

    public func record(_ event: LeaseEvent) {
        for sink in sinks { sink.record(event) }
    }

    public func exhausted(_ event: ExhaustionEvent) {
        for sink in sinks { sink.exhausted(event) }
    }
}

/// A refused allocation, for the allocation log (RFC 6888 REQ-12: exhaustion is logged too).
public struct ExhaustionEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// Every port set of the pool is leased: the subscriber got none.
        case pool
        /// Every usable port of the subscriber's set is in use or held, for this protocol.
        case portSet(TransportProtocol)
    }

    public var kind: Kind
    public var subscriber: SubscriberID
    /// The subscriber's lease, for a full port set.
    public var address: IPv4Address?
    public var psid: UInt16?

    public init(_ kind: Kind, subscriber: SubscriberID, address: IPv4Address? = nil, psid: UInt16? = nil) {
        self.kind = kind
        self.subscriber = subscriber
        self.address = address
        self.psid = psid
    }
}

extension LeaseEventSink {
    /// Exhaustion is logged, never stored: the durable store ignores it.
    public func exhausted(_ event: ExhaustionEvent) {}
}

/// The start and end of one relayed flow (a TCP connection or a UDP binding), for deployments
/// that log every session (`--log-sessions`).
public struct SessionEvent: Sendable {
    public enum Kind: String, Sendable {
        case created, deleted
    }

    public var kind: Kind
    public var transport: TransportProtocol
    public var subscriber: SubscriberID
    /// The CPE's end of the MPTCP connection.
    public var cpe: Endpoint
    /// The address and port the server sees.
    public var external: Endpoint
    /// The server.
    public var remote: Endpoint

    public init(_ kind: Kind, transport: TransportProtocol, subscriber: SubscriberID, cpe: Endpoint, external: Endpoint,
                remote: Endpoint) {
        self.kind = kind
        self.transport = transport
        self.subscriber = subscriber
        self.cpe = cpe
        self.external = external
        self.remote = remote
    }
}

/// Where the relay loops send session events; must not block.
public protocol SessionEventSink: Sendable {
    func record(_ event: SessionEvent)
}
