public import WireFormat

extension PortSetAllocator {
    /// An external (pool address, port) of the CPE's port set free for `transport`, leasing a
    /// port set first if the CPE has none. The search starts after the last port handed out, so
    /// a port just freed is the last to be reused; system, reserved, in-use and held ports are
    /// skipped (a hold already due is reclaimed when nothing else is left).
    public func allocatePort(
        for cpe: IPAddress, protocol transport: TransportProtocol, now: ContinuousClock.Instant
    ) throws(AllocationError) -> Endpoint {
        let shard = shards.shard(for: cpe)
        while true {
            switch shard.mutex.withLock({ $0.allocate(cpe, transport, now: now) }) {
            case .allocated(let endpoint):
                return endpoint
            case .exhausted(let portCount):
                if transport == .tcp {
                    tcpPortSetExhaustions.add(1, ordering: .relaxed)
                } else {
                    udpPortSetExhaustions.add(1, ordering: .relaxed)
                }
                throw .portSetExhausted(cpe: cpe, portCount: portCount)
            case .noLease:
                // Loops again only if an expiry sweep drops the new lease before it is used.
                _ = try lease(for: cpe, now: now)
            }
        }
    }

    /// Frees a port allocated to `cpe`, or with `holdUntil` keeps it unusable until that instant
    /// (RFC 7857 section 2.1: 4 minutes after a TCP RST; the caller picks the instant).
    /// Returns false, changing nothing, when the port was not in use for that CPE and protocol.
    @discardableResult
    public func releasePort(
        _ external: Endpoint, protocol transport: TransportProtocol, cpe: IPAddress,
        holdUntil: ContinuousClock.Instant? = nil
    ) -> Bool {
        let outcome = shards.shard(for: cpe).mutex.withLock {
            $0.release(external, transport, cpe: cpe, holdUntil: holdUntil)
        }
        return outcome != .notInUse
    }
}
