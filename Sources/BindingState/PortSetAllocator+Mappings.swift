public import WireFormat

extension PortSetAllocator {
    /// Reserves external ports for an inbound mapping inside the subscriber's own lease (leasing
    /// one first if it has none), under the subscriber's shard lock: the suggested port when the
    /// whole run from it is free, else the longest run of at most `request.count` free ports inside
    /// one contiguous block of the PSID set, at a random place (`random`, so tests can seed it).
    /// Ports in use, held, mapped, system or reserved are never taken. Reserved ports are busy
    /// in the outbound bitmaps, so `allocatePort` skips them unchanged, and keep the lease from
    /// going idle, so it is never handed to someone else while mapped.
    public func reserveMappingPorts(
        for subscriber: SubscriberID, protocol transport: TransportProtocol, _ request: MappingPortRequest,
        now: ContinuousClock.Instant, random: inout some RandomNumberGenerator
    ) throws(MappingReservationError) -> (lease: PortSetLease, ports: ClosedRange<UInt16>) {
        let shard = shards.shard(for: subscriber)
        while true {
            let outcome = shard.mutex.withLock { state -> Result<(PortSetLease, ClosedRange<UInt16>), MappingReservationError>? in
                guard let index = state.subscribers.index(forKey: subscriber) else { return nil }
                return state.subscribers.values[index].reserveMappingPorts(transport, request, random: &random)
                    .map { (state.subscribers.values[index].lease, $0) }
            }
            switch outcome {
            case .success(let (lease, ports))?:
                return (lease, ports)
            case .failure(let error)?:
                throw error
            case nil:
                // No lease yet: take one, then search again (an expiry sweep may drop it in between).
                do { _ = try lease(for: subscriber, now: now) } catch { throw .poolExhausted }
            }
        }
    }

    /// Reserves exactly `ports` again at start-up for a stored mapping; the subscriber must hold
    /// the lease on `address` already (restored by `restore(_:now:)`).
    public func reserveExactMappingPorts(
        for subscriber: SubscriberID, protocol transport: TransportProtocol, address: IPv4Address, ports: ClosedRange<UInt16>
    ) throws(MappingReservationError) {
        let reserved = shards.shard(for: subscriber).mutex.withLock { state -> Bool in
            guard let index = state.subscribers.index(forKey: subscriber),
                  state.subscribers.values[index].lease.address == address
            else { return false }
            return state.subscribers.values[index].reserveExactMappingPorts(transport, ports)
        }
        guard reserved else { throw .portsUnavailable(ports) }
    }

    /// Gives a mapping's ports back to the subscriber's set at once. No RFC 7857 hold: the ports
    /// stay inside the subscriber's own set (no other customer can get them while the lease is
    /// held), the client removed the mapping itself or let it lapse, and the outbound search
    /// starts after its last port, so a freed port is the last one reused. False when the
    /// subscriber holds no lease on `address` containing them.
    @discardableResult
    public func releaseMappingPorts(
        for subscriber: SubscriberID, protocol transport: TransportProtocol, address: IPv4Address, ports: ClosedRange<UInt16>
    ) -> Bool {
        shards.shard(for: subscriber).mutex.withLock { state in
            guard let index = state.subscribers.index(forKey: subscriber),
                  state.subscribers.values[index].lease.address == address
            else { return false }
            return state.subscribers.values[index].releaseMappingPorts(transport, ports)
        }
    }

    /// Ports reserved for mappings in the subscriber's lease (both protocols); 0 without a lease.
    public func mappedPortCount(for subscriber: SubscriberID) -> Int {
        shards.shard(for: subscriber).mutex.withLock { $0.subscribers[subscriber]?.mappedPorts ?? 0 }
    }
}
