import BindingState
public import NetfilterQueue
public import UDPRelay
public import WireFormat

/// Internet datagrams to the concentrator's pool (queued by concentrator-net.sh --udp): each one
/// matching a UDP binding is framed into that binding's MPTCP connection and dropped from the
/// kernel path; one to a pool address with no binding is dropped and counted (draft 5.1.1).
/// Records are staged per binding for the burst and sent by `flush` when the burst ends.
public struct InboundDatagrams: Sendable {
    public let channels: UDPChannelTable
    /// The shared IPv4 pool: unbound datagrams to it are dropped. Others (a customer's own
    /// IPv6 address with no binding) continue on the ordinary path.
    public let pool: [IPPrefix]
    /// Under `--udp-filtering endpoint`, takes a datagram from a remote no binding names to the
    /// LAN host on a connection of its own; nil (no inbound path yet): dropped and counted.
    public let opener: (any UDPInboundOpener)?

    public init(channels: UDPChannelTable, pool: [IPPrefix], opener: (any UDPInboundOpener)? = nil) {
        self.channels = channels
        self.pool = pool
        self.opener = opener
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
            counters.add(.filteredRemote)
        case .newRemote(let route):
            // Outside the table's lock: the opener may take locks of its own.
            if let opener, let route, opener.open(payload, from: remote, to: external, route: route, now: now) { break }
            counters.add(.newRemoteNoInbound)
        case .failed:
            counters.add(.recordWriteErrors)
        case .noBinding:
            guard isPoolAddress(packet.destination) else {
                counters.add(.passedThrough)
                return .accept
            }
            counters.add(.noBinding)
        }
        return .drop
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
