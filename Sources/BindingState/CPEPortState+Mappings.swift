/// Mapping ports inside one lease. Port indices run block by block (index bits above m pick the
/// contiguous block, A - 1; the low m bits the port in it), so consecutive indices inside one
/// block are consecutive ports, and a run never crosses a block boundary (RFC 7597 section 5.1).
extension CPEPortState {
    /// Whether index `index` is free for `transport`: not system, reserved, in use, held or mapped.
    @inline(__always)
    func isFree(_ index: Int, in space: PortSpace) -> Bool {
        !space.busy.contains(index) && !blocked.contains(index)
    }

    /// Picks and marks busy the ports of a new mapping; nil when nothing fits (or, with
    /// `requiresSuggestedPort`, when the suggestion does not).
    mutating func reserveMappingPorts(
        _ transport: TransportProtocol, _ request: MappingPortRequest, random: inout some RandomNumberGenerator
    ) -> Result<ClosedRange<UInt16>, MappingReservationError> {
        let portSet = lease.portSet
        let space = transport == .tcp ? tcp : udp
        let blockSize = portSet.geometry.portsPerRange
        let want = request.count

        // The suggestion is honoured when the whole run from it is free inside its block (RFC 6887 s11.3).
        if let suggested = request.suggestedPort, let start = Self.index(of: suggested, in: portSet),
           request.parity.map({ suggested & 1 == $0 }) ?? true {
            let blockEnd = start | (blockSize - 1)
            var length = 0
            while length < want && start + length <= blockEnd && isFree(start + length, in: space) { length += 1 }
            if length == want { return .success(mark(transport, start: start, count: want)) }
        }
        if request.requiresSuggestedPort {
            return .failure(.suggestedPortUnavailable(port: request.suggestedPort ?? 0))
        }

        // The longest grant of at most `want` ports over the free runs of every block; among
        // equally long grants, one run chosen uniformly (reservoir sampling, no list kept).
        var best = 0
        var chosen = (start: 0, length: 0)
        var ties: UInt64 = 0
        let blockCount = portSet.geometry.rangesPerPSID
        for block in 0..<blockCount {
            let first = block * blockSize, end = first + blockSize
            var index = first
            while index < end {
                guard isFree(index, in: space) else { index += 1; continue }
                var runEnd = index + 1
                while runEnd < end && isFree(runEnd, in: space) { runEnd += 1 }
                var start = index
                // Parity: the first external port has the first internal port's low bit (RFC 7753 s4.2).
                if let parity = request.parity, Self.port(at: start, of: portSet) & 1 != parity { start += 1 }
                let length = min(want, runEnd - start)
                if length > 0 {
                    if length > best {
                        best = length
                        ties = 1
                        chosen = (start, runEnd - start)
                    } else if length == best {
                        ties += 1
                        if UInt64.random(in: 0..<ties, using: &random) == 0 { chosen = (start, runEnd - start) }
                    }
                }
                index = runEnd
            }
        }
        guard best > 0 else { return .failure(.portSetFull(subscriber: lease.subscriber, transport: transport)) }
        // A random place inside the chosen run; with parity, an even offset keeps the start's parity.
        let room = chosen.length - best
        let step = request.parity == nil ? 1 : 2
        let offset = room >= step ? Int.random(in: 0...(room / step), using: &random) * step : 0
        return .success(mark(transport, start: chosen.start + offset, count: best))
    }

    /// Marks `ports` busy again after a restart; false, changing nothing, unless all are free in one block.
    mutating func reserveExactMappingPorts(_ transport: TransportProtocol, _ ports: ClosedRange<UInt16>) -> Bool {
        let portSet = lease.portSet
        guard let start = Self.index(of: ports.lowerBound, in: portSet) else { return false }
        let count = ports.count
        let blockEnd = start | (portSet.geometry.portsPerRange - 1)
        guard start + count - 1 <= blockEnd else { return false }
        let space = transport == .tcp ? tcp : udp
        for index in start..<(start + count) where !isFree(index, in: space) { return false }
        _ = mark(transport, start: start, count: count)
        return true
    }

    /// Frees the ports of a mapping; false, changing nothing, when they are not inside the lease.
    mutating func releaseMappingPorts(_ transport: TransportProtocol, _ ports: ClosedRange<UInt16>) -> Bool {
        guard let start = Self.index(of: ports.lowerBound, in: lease.portSet),
              Self.index(of: ports.upperBound, in: lease.portSet) == start + ports.count - 1
        else { return false }
        withSpace(transport) { space in
            for index in start..<(start + ports.count) { space.busy.remove(index) }
        }
        mappedPorts -= ports.count
        return true
    }

    /// Marks `count` indices from `start` busy (all inside one block) and returns their ports.
    private mutating func mark(_ transport: TransportProtocol, start: Int, count: Int) -> ClosedRange<UInt16> {
        withSpace(transport) { space in
            for index in start..<(start + count) { space.busy.insert(index) }
        }
        mappedPorts += count
        idleSince = nil
        let first = Self.port(at: start, of: lease.portSet)
        return first...(first + UInt16(count - 1))
    }
}
