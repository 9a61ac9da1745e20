public import BindingState

/// Where a request came from and when: what the daemon knows besides the bytes.
public struct PCPRequestContext: Sendable {
    /// The datagram's source address and port: the PCP client, and the CPE address inbound
    /// connections go to (the latest request's source wins).
    public var source: Endpoint
    /// The subscriber the source belongs to (its links and delegated prefixes): requests are
    /// matched to mappings by subscriber, so a renewal over another link finds the same mapping.
    public var subscriber: Subscriber
    /// Wall-clock UTC milliseconds.
    public var nowMilliseconds: Int64

    public init(source: Endpoint, subscriber: Subscriber, nowMilliseconds: Int64) {
        self.source = source
        self.subscriber = subscriber
        self.nowMilliseconds = nowMilliseconds
    }
}
