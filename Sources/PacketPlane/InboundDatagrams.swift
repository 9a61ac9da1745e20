public import BindingState
public import NetfilterQueue
public import UDPRelay
public import WireFormat

/// Internet datagrams to the concentrator's pool (queued by concentrator-net.sh --udp): each one
/// matching a UDP binding is framed into that binding's MPTCP connection and dropped from the
/// kernel path. One no binding takes opens an inbound binding through `opener` when a PCP
/// mapping covers its destination (or, under `--udp-filtering endpoint`, when it is a new remote
/// of an endpoint-independent mapping); else it is dropped and counted (draft 5.1.1).
/// Records are staged per binding for the burst and sent by `flush` when the burst ends.
public struct InboundDatagrams: Sendable {
    public let channels: UDPChannelTable
    /// The shared IPv4 pool: unbound datagrams to it are dropped. Others (a customer's own
    /// IPv6 address with no binding) continue on the ordinary path.
    public let pool: [IPPrefix]
    /// Takes a datagram no binding carries to the LAN host on an inbound connection of its own
    /// (`InboundUDPHandOff`); nil: such datagrams are dropped and counted.
    public let opener: (any UDPInboundOpener)?
    /// The PCP mappings (asked only for a datagram no binding takes, never per carried datagram).
    public let mappings: (any InboundMappingLookup)?

    public init(channels: UDPChannelTable, pool: [IPPrefix], opener: (any UDPInboundOpener)? = nil,
                mappings: (any InboundMappingLookup)? = nil) {
        self.channels = channels
        self.pool = pool
        self.opener = opener
        self.mappings = mappings
    }

    /// The verdict for one queued packet, counted in `counters`.
    public func handle(_ packet: ParsedPacket, bytes: UnsafeRawBufferPointer, verifyChecksum: Bool,
                       now: ContinuousClock.Instant, burst: inout UDPBurst, counters: UDPCounters) -> Verdict {
        guard case .udp(let udp) = packet.transport, !packet.isFragment, packet.packetLength <= bytes.count,
              !verifyChecksum || TransportChecksum.isValid(bytes, packet)
        else {
            counters.add(.malformed)
            return isPoolAddress(packet.destination) ? .drop : .accept
        }
        let start = packet.payloadOffset
        let payload = UnsafeRawBufferPointer(rebasing: bytes[start..<start + packet.payloadLength])
        let remote = Endpoint(address: packet.source, port: udp.sourcePort)
        let external = Endpoint(address: packet.destination, port: udp.destinationPort)
        let delivery = channels.deliver(payload, from: remote, to: external, now: now, burst: &burst)
        switch delivery {
        case .written:
            counters.add(.datagramsQueued)
            counters.add(.recordsWritten)
        case .backlogged:
            counters.add(.datagramsQueued)
            counters.add(.recordsBacklogged)
        case .droppedBacklogFull:
            counters.add(.recordsDroppedBacklogFull)
        case .filtered:
            // A PCP mapping admits any remote its FILTERs allow: another remote's binding is no filter.
            if openMapped(payload, from: remote, to: external, now: now, counters: counters) { break }
            counters.add(.filteredRemote)
        case .newRemote(let route):
            // Outside the table's lock: the opener takes locks of its own.
            if openMapped(payload, from: remote, to: external, now: now, counters: counters) { break }
            if let opener, let route {
                let request = UDPInboundRequest(key: UDPChannelKey(external: external, remote: remote), cpe: route.cpe,
                                                destination: route.internal, target: .endpointMapping)
                if opener.open(payload, request, now: now) {
                    counters.add(.inboundOpens)
                    break
                }
            }
            counters.add(.newRemoteNoInbound)
        case .failed:
            counters.add(.recordWriteErrors)
        case .noBinding:
            guard isPoolAddress(packet.destination) else {
                counters.add(.passedThrough)
                return .accept
            }
            if openMapped(payload, from: remote, to: external, now: now, counters: counters) { break }
            counters.add(.noBinding)
        }
        return .drop
    }

    /// A PCP mapping covers `external` for `remote`: the datagram opens an inbound binding (true,
    /// also when the hand-off refused it, counted: it is dropped either way). False: no mapping.
    private func openMapped(_ payload: UnsafeRawBufferPointer, from remote: Endpoint, to external: Endpoint,
                            now: ContinuousClock.Instant, counters: UDPCounters) -> Bool {
        guard let opener, let route = mappings?.inboundRoute(.udp, to: external, from: remote) else { return false }
        let request = UDPInboundRequest(key: UDPChannelKey(external: external, remote: remote), cpe: route.cpeAddress,
                                        destination: external, target: .mapping(route.subscriber))
        counters.add(opener.open(payload, request, now: now) ? .inboundOpens : .inboundOpenRefused)
        return true
    }

    /// Sends the records the burst staged, one send per binding.
    public func flush(_ burst: inout UDPBurst, counters: UDPCounters) {
        guard !burst.isEmpty else { return }
        let failures = channels.flush(&burst)
        if failures > 0 { counters.add(.recordWriteErrors, failures) }
    }

    /// Asked only off the carried path (a drop or a pass), never per framed datagram.
    private func isPoolAddress(_ address: IPAddress) -> Bool {
        pool.contains { $0.contains(address) }
    }
}
