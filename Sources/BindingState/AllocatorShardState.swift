import WireFormat

/// The subscribers of one allocator shard, with running totals so statistics need not walk them.
struct AllocatorShardState: Sendable {
    var subscribers: [SubscriberID: CPEPortState] = [:]
    var tcpInUse = 0
    var udpInUse = 0
    var held = 0

    /// What `allocate` found.
    enum Allocation: Sendable {
        case allocated(Endpoint)
        case exhausted(portCount: Int)
        case noLease
    }

    /// What `release` did.
    enum Release: Sendable {
        case freed, held, notInUse
    }

    /// The subscriber's lease, its idle hold started again from `now` if it is idle.
    mutating func touch(_ subscriber: SubscriberID, now: ContinuousClock.Instant) -> PortSetLease? {
        guard let index = subscribers.index(forKey: subscriber) else { return nil }
        if subscribers.values[index].idleSince != nil { subscribers.values[index].idleSince = now }
        return subscribers.values[index].lease
    }

    mutating func allocate(_ subscriber: SubscriberID, _ transport: TransportProtocol, now: ContinuousClock.Instant) -> Allocation {
        guard let index = subscribers.index(forKey: subscriber) else { return .noLease }
        let (port, reclaimed) = subscribers.values[index].allocate(transport, now: now)
        held -= reclaimed
        guard let port else { return .exhausted(portCount: subscribers.values[index].usablePortCount) }
        if transport == .tcp { tcpInUse += 1 } else { udpInUse += 1 }
        return .allocated(Endpoint(address: .v4(subscribers.values[index].lease.address), port: port))
    }

    mutating func release(
        _ external: Endpoint, _ transport: TransportProtocol, subscriber: SubscriberID, holdUntil: ContinuousClock.Instant?
    ) -> Release {
        guard let index = subscribers.index(forKey: subscriber) else { return .notInUse }
        let lease = subscribers.values[index].lease
        guard external.address == .v4(lease.address),
              let portIndex = CPEPortState.index(of: external.port, in: lease.portSet),
              subscribers.values[index].withSpace(transport, { $0.release(portIndex, holdUntil: holdUntil) })
        else { return .notInUse }
        if transport == .tcp { tcpInUse -= 1 } else { udpInUse -= 1 }
        guard holdUntil != nil else { return .freed }
        held += 1
        return .held
    }

    /// What one sweep of a shard found: leases that went back to the pool, and idle leases that
    /// are in use again (renewed).
    struct Expiry {
        var released: [(lease: PortSetLease, slot: Int)] = []
        var renewed: [PortSetLease] = []
    }

    /// Drops due holds, then the leases idle for `leaseHold`.
    mutating func expire(now: ContinuousClock.Instant, leaseHold: Duration) -> Expiry {
        var expiry = Expiry()
        var dropped: [SubscriberID] = []
        var index = subscribers.startIndex
        while index != subscribers.endIndex {
            held -= subscribers.values[index].tcp.dropHolds(now: now) + subscribers.values[index].udp.dropHolds(now: now)
            if subscribers.values[index].isIdle {
                // Release takes no time, so the idle clock starts at the first sweep that sees it idle.
                let since = subscribers.values[index].idleSince ?? now
                subscribers.values[index].idleSince = since
                subscribers.values[index].wasIdle = true
                if now - since >= leaseHold { dropped.append(subscribers.keys[index]) }
            } else {
                if subscribers.values[index].wasIdle { expiry.renewed.append(subscribers.values[index].lease) }
                subscribers.values[index].idleSince = nil
                subscribers.values[index].wasIdle = false
            }
            index = subscribers.index(after: index)
        }
        for subscriber in dropped {
            if let state = subscribers.removeValue(forKey: subscriber) { expiry.released.append((state.lease, state.slot)) }
        }
        return expiry
    }
}
