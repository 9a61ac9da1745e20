import WireFormat

/// The CPEs of one allocator shard, with running totals so statistics need not walk them.
struct AllocatorShardState: Sendable {
    var cpes: [IPAddress: CPEPortState] = [:]
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

    /// The CPE's lease, marking it active now if it is idle.
    mutating func touch(_ cpe: IPAddress, now: ContinuousClock.Instant) -> PortSetLease? {
        guard let index = cpes.index(forKey: cpe) else { return nil }
        if cpes.values[index].idleSince != nil { cpes.values[index].idleSince = now }
        return cpes.values[index].lease
    }

    mutating func allocate(_ cpe: IPAddress, _ transport: TransportProtocol, now: ContinuousClock.Instant) -> Allocation {
        guard let index = cpes.index(forKey: cpe) else { return .noLease }
        let (port, reclaimed) = cpes.values[index].allocate(transport, now: now)
        held -= reclaimed
        guard let port else { return .exhausted(portCount: cpes.values[index].usablePortCount) }
        if transport == .tcp { tcpInUse += 1 } else { udpInUse += 1 }
        return .allocated(Endpoint(address: .v4(cpes.values[index].lease.address), port: port))
    }

    mutating func release(
        _ external: Endpoint, _ transport: TransportProtocol, cpe: IPAddress, holdUntil: ContinuousClock.Instant?
    ) -> Release {
        guard let index = cpes.index(forKey: cpe) else { return .notInUse }
        let lease = cpes.values[index].lease
        guard external.address == .v4(lease.address),
              let portIndex = CPEPortState.index(of: external.port, in: lease.portSet),
              cpes.values[index].withSpace(transport, { $0.release(portIndex, holdUntil: holdUntil) })
        else { return .notInUse }
        if transport == .tcp { tcpInUse -= 1 } else { udpInUse -= 1 }
        guard holdUntil != nil else { return .freed }
        held += 1
        return .held
    }

    /// Drops due holds, then the leases idle for `leaseHold`; returns the slots of dropped leases.
    mutating func expire(now: ContinuousClock.Instant, leaseHold: Duration) -> [Int] {
        var dropped: [IPAddress] = []
        var index = cpes.startIndex
        while index != cpes.endIndex {
            held -= cpes.values[index].tcp.dropHolds(now: now) + cpes.values[index].udp.dropHolds(now: now)
            if cpes.values[index].isIdle {
                // Release takes no time, so the idle clock starts at the first sweep that sees it idle.
                let since = cpes.values[index].idleSince ?? now
                cpes.values[index].idleSince = since
                if now - since >= leaseHold { dropped.append(cpes.keys[index]) }
            } else {
                cpes.values[index].idleSince = nil
            }
            index = cpes.index(after: index)
        }
        return dropped.compactMap { cpes.removeValue(forKey: $0)?.slot }
    }
}
