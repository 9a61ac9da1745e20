public import WireFormat

/// An explicit inbound mapping (a PCP MAP, RFC 6887 section 11, or a CPE's static forward asked for
/// over PCP): contiguous external ports of one subscriber's lease, forwarded to one internal host.
/// External port `externalPorts.lowerBound + i` maps to internal port `internalPort + i`.
public struct PortMapping: Hashable, Sendable {
    /// The subscriber whose lease the ports come from; a renewal over another link is the same one.
    public var subscriber: SubscriberID
    /// TCP or UDP (the external port spaces are separate).
    public var transport: TransportProtocol
    /// The pool address of the subscriber's lease.
    public var externalAddress: IPv4Address
    /// The mapped ports, all inside the lease's PSID set and inside one contiguous block of it.
    public var externalPorts: ClosedRange<UInt16>
    /// The LAN host the mapping is for (the PCP client, or the THIRD_PARTY address).
    public var internalAddress: IPAddress
    /// The internal port of `externalPorts.lowerBound`.
    public var internalPort: UInt16
    /// Where the concentrator opens inbound MPTCP connections: the CPE address the last request came from.
    public var cpeAddress: IPAddress
    /// The client's Mapping Nonce: renewals and deletions must carry it (RFC 6887 section 11.3).
    public var nonce: MappingNonce
    /// Remote peers allowed to use the mapping (RFC 6887 section 13.3); empty admits every peer.
    public var filters: [MappingFilter]
    /// When the mapping was made, wall-clock UTC milliseconds.
    public var created: Int64
    /// When it lapses unless renewed, wall-clock UTC milliseconds (kept across restarts).
    public var expires: Int64

    public init(
        subscriber: SubscriberID, transport: TransportProtocol, externalAddress: IPv4Address,
        externalPorts: ClosedRange<UInt16>, internalAddress: IPAddress, internalPort: UInt16, cpeAddress: IPAddress,
        nonce: MappingNonce, filters: [MappingFilter] = [], created: Int64, expires: Int64
    ) {
        self.subscriber = subscriber
        self.transport = transport
        self.externalAddress = externalAddress
        self.externalPorts = externalPorts
        self.internalAddress = internalAddress
        self.internalPort = internalPort
        self.cpeAddress = cpeAddress
        self.nonce = nonce
        self.filters = filters
        self.created = created
        self.expires = expires
    }

    /// The internal endpoint an external port of the mapping forwards to; nil outside `externalPorts`.
    public func internalEndpoint(forExternalPort port: UInt16) -> Endpoint? {
        guard externalPorts.contains(port) else { return nil }
        return Endpoint(address: internalAddress, port: internalPort &+ (port &- externalPorts.lowerBound))
    }

    /// Whether `remote` may reach the mapping: no filter, or one filter admits it.
    public func admits(_ remote: Endpoint) -> Bool {
        filters.isEmpty || filters.contains { $0.admits(remote) }
    }
}

/// The 96-bit nonce a PCP client picked for a mapping, kept apart from the PCP codec's type so
/// the state does not depend on the wire format.
public struct MappingNonce: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt32

    public init(high: UInt64, low: UInt32) {
        self.high = high
        self.low = low
    }

    /// 24 hex digits, as the PCP codec prints a nonce.
    public var description: String {
        let high = String(high, radix: 16), low = String(low, radix: 16)
        return String(repeating: "0", count: 16 - high.count) + high + String(repeating: "0", count: 8 - low.count) + low
    }
}

/// One FILTER of a mapping (RFC 6887 section 13.3): remote peers inside `prefix`, on `port` (0: any).
public struct MappingFilter: Hashable, Sendable {
    public var prefix: IPPrefix
    public var port: UInt16

    public init(prefix: IPPrefix, port: UInt16) {
        self.prefix = prefix
        self.port = port
    }

    public func admits(_ remote: Endpoint) -> Bool {
        prefix.contains(remote.address) && (port == 0 || port == remote.port)
    }
}

/// Where an inbound flow to a mapped pool port goes.
public struct InboundRoute: Hashable, Sendable {
    public var subscriber: SubscriberID
    /// The CPE address the concentrator connects to.
    public var cpeAddress: IPAddress
    /// The mapped pool address and port the remote reached (the PM block's destination option).
    public var external: Endpoint
    /// The LAN host and port behind it (what the CPE connects to).
    public var `internal`: Endpoint

    public init(subscriber: SubscriberID, cpeAddress: IPAddress, external: Endpoint, internal: Endpoint) {
        self.subscriber = subscriber
        self.cpeAddress = cpeAddress
        self.external = external
        self.internal = `internal`
    }
}

/// The planes' view of the mappings: which route an inbound flow from `remote` to `external`
/// takes, or nil (no mapping, or its FILTER refuses the remote). Called per new inbound flow,
/// from any thread; must not block.
public protocol InboundMappingLookup: Sendable {
    func inboundRoute(_ transport: TransportProtocol, to external: Endpoint, from remote: Endpoint) -> InboundRoute?
}

/// A change of a mapping, for the durable store and the allocation log.
public struct MappingEvent: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// A new mapping.
        case created
        /// An existing mapping renewed (new lifetime, perhaps a new CPE address or filters).
        case renewed
        /// Deleted by its client (lifetime 0).
        case deleted
        /// Lapsed without renewal.
        case expired
    }

    public var kind: Kind
    public var mapping: PortMapping

    public init(_ kind: Kind, _ mapping: PortMapping) {
        self.kind = kind
        self.mapping = mapping
    }
}

/// Where mapping changes go: called on each change, outside every lock; must not block.
public protocol MappingEventSink: Sendable {
    func record(_ event: MappingEvent)
}

/// Several mapping sinks as one: the durable store and the allocation log both hear every change.
public struct MappingEventFanOut: MappingEventSink {
    public let sinks: [any MappingEventSink]

    public init(_ sinks: [any MappingEventSink]) {
        self.sinks = sinks
    }

    public func record(_ event: MappingEvent) {
        for sink in sinks { sink.record(event) }
    }
}
