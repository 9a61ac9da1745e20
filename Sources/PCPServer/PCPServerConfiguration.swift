/// The server's policy knobs (`--pcp-*` flags) and its epoch.
public struct PCPServerConfiguration: Hashable, Sendable {
    /// Lifetimes below this are raised to it (RFC 6887 section 15: 120 s suggested).
    public var minimumLifetime: UInt32
    /// Lifetimes above this are lowered to it (RFC 6887 section 15: 24 hours suggested).
    public var maximumLifetime: UInt32
    /// When the server's state began, wall-clock UTC ms: Epoch Time counts seconds from here
    /// (RFC 6887 section 8.5). Kept across restarts only together with the mappings.
    public var epochStartMilliseconds: Int64
    /// FILTERs one mapping may hold; more is EXCESSIVE_REMOTE_PEERS (RFC 6887 section 13.3).
    public var maximumFiltersPerMapping: Int
    /// Requests per second each subscriber may send (token bucket refill); beyond, silent drops.
    public var requestsPerSecond: Double
    /// Requests a subscriber may send at once after being quiet (the bucket's depth).
    public var requestBurst: Double

    public init(minimumLifetime: UInt32 = 120, maximumLifetime: UInt32 = 86400, epochStartMilliseconds: Int64,
                maximumFiltersPerMapping: Int = 8, requestsPerSecond: Double = 10, requestBurst: Double = 20) {
        self.minimumLifetime = minimumLifetime
        self.maximumLifetime = max(minimumLifetime, maximumLifetime)
        self.epochStartMilliseconds = epochStartMilliseconds
        self.maximumFiltersPerMapping = maximumFiltersPerMapping
        self.requestsPerSecond = requestsPerSecond
        self.requestBurst = max(1, requestBurst)
    }

    /// The Lifetime granted for a non-zero Requested Lifetime (RFC 6887 section 15).
    public func assignedLifetime(_ requested: UInt32) -> UInt32 {
        min(max(requested, minimumLifetime), maximumLifetime)
    }

    /// Epoch Time at `nowMilliseconds`: whole seconds since the epoch start, mod 2^32 (RFC 6887 s8.5).
    public func epochTime(nowMilliseconds: Int64) -> UInt32 {
        UInt32(truncatingIfNeeded: max(0, nowMilliseconds - epochStartMilliseconds) / 1000)
    }
}
