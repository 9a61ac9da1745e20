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
}
