public import WireFormat

extension PortSetAllocator {
    /// An external (pool address, port) of the subscriber's port set free for `transport`, leasing a
    /// port set first if it has none. The search starts after the last port handed out, so
    /// a port just freed is the last to be reused; system, reserved, in-use and held ports are
    /// skipped (a hold already due is reclaimed when nothing else is left).
    public func allocatePort(
        for subscriber: SubscriberID, protocol transport: TransportProtocol, now: ContinuousClock.Instant
    ) throws(AllocationError) -> Endpoint {
        let shard = shards.shard(for: subscriber)
        while true {
            switch shard.mutex.withLock({ $0.allocate(subscriber, transport, now: now) }) {
            case .allocated(let endpoint):
                return endpoint
            case .exhausted(let portCount):
                if transport == .tcp {
                    tcpPortSetExhaustions.add(1, ordering: .relaxed)
                } else {
                    udpPortSetExhaustions.add(1, ordering: .relaxed)
                }
                if let events {
                    let lease = currentLease(for: subscriber)
                    events.exhausted(ExhaustionEvent(.portSet(transport), subscriber: subscriber, address: lease?.address,
                                                     psid: lease?.psid))
                }
                throw .portSetExhausted(subscriber: subscriber, portCount: portCount)
            case .noLease:
                // Loops again only if an expiry sweep drops the new lease before it is used.
                _ = try lease(for: subscriber, now: now)
            }
        }
    }

    /// Frees a port allocated to `subscriber`, or with `holdUntil` keeps it unusable until that instant
    /// (RFC 7857 section 2.1: 4 minutes after a TCP RST; the caller picks the instant).
    /// Returns false, changing nothing, when the port was not in use for that subscriber and protocol.
    @discardableResult
    public func releasePort(
        _ external: Endpoint, protocol transport: TransportProtocol, subscriber: SubscriberID,
        holdUntil: ContinuousClock.Instant? = nil
    ) -> Bool {
        let outcome = shards.shard(for: subscriber).mutex.withLock {
            $0.release(external, transport, subscriber: subscriber, holdUntil: holdUntil)
        }
        return outcome != .notInUse
    }
}
