import BindingState
import PlainMode
import Syscalls
import SystemPackage
import UDPRelay
import WireFormat

/// The CPE's inbound UDP flows (draft 5.1.2): the concentrator's connection opens with a PM block
/// of protocol 17 naming the remote (source) and the mapped pool endpoint or, under its
/// endpoint-independent filtering, the LAN endpoint (destination). The flow's UDP socket is bound
/// (IP_TRANSPARENT) to the remote's address and port and connected to the LAN host, so the host
/// sees the remote; records from the stream become datagrams through it, and the host's replies,
/// which cpe-net.sh's socket rule delivers to it (its SO_MARK tells it from an outbound flow's
/// socket), become records.
extension RelayLoop {
    /// The LAN host: the LAN endpoint itself when it has a live outbound flow (a new remote of its
    /// mapping), else the UDP forward of the destination port. Then the socket, and the relay.
    func startLANDatagrams(_ slot: Int, block: PlainModeBlock, inbound: CPEInboundSettings, now: ContinuousClock.Instant) {
        guard let destination = block.destination, let port = destination.port, let source = block.source,
              let sourcePort = source.port, sourcePort != 0
        else {
            counters.add(.blockMissingSource)
            return finish(slot, .refused, now: now)
        }
        let target = Endpoint(address: destination.address, port: port)
        let lanHost: Endpoint
        if inbound.liveUDPEndpoints?.contains(target) == true {
            lanHost = target
        } else if let forwarded = inbound.forwards.route(.udp, externalPort: port) {
            lanHost = forwarded
        } else {
            counters.add(.inboundRefusedNoForward)
            logConnectionError("inbound UDP from \(source.address) to \(target): no forward and no live flow of that LAN endpoint")
            return finish(slot, .refused, now: now)
        }
        guard lanHost.address.isIPv4 == source.address.isIPv4 else {
            counters.add(.inboundRefusedFamily)
            logConnectionError("inbound UDP from \(source.address) to port \(port): LAN host \(lanHost) is of the other family")
            return finish(slot, .refused, now: now)
        }
        if recordBuffer.count == 0 { recordBuffer = .allocate(byteCount: 65536, alignment: 16) }
        if lanSender == nil { lanSender = SegmentingDatagramSender(counters: udpCounters) }
        let remote = SocketAddress(source.address, port: sourcePort)
        do throws(Errno) {
            let socket = try Socket.transparentDatagram(boundTo: remote, sendBuffer: inbound.udpSendBuffer)
            connections[slot].upstream = socket  // closed by `finish` from here on
            try socket.setMark(inbound.udpSocketMark)
            _ = try socket.connect(to: SocketAddress(lanHost.address, port: lanHost.port))
            try epoll.add(socket.rawValue, events: [.readable, .edgeTriggered],
                          token: Token.connection(slot: slot, generation: connections[slot].generation, upstream: true))
        } catch {
            if error == .tooManyOpenFiles || error == .tooManyOpenFilesInSystem { counters.add(.descriptorExhaustion) }
            counters.add(.inboundConnectFailed)
            udpCounters.add(.deliverySocketErrors)
            logConnectionError("UDP socket from \(remote) to LAN host \(lanHost) failed: \(error)")
            return finish(slot, .localError(error), now: now)
        }
        connections[slot].lanDatagrams = LANDatagramLeg(
            lanHost: lanHost, maximumDatagramSize: UDPDatagramHeaders.largestPayload(for: lanHost.address),
            writer: RecordWriter(socket: connections[slot].downstream, backlogLimit: inbound.udpBacklog))
        connections[slot].phase = .lanDatagrams
        connections[slot].lastActivity = now
        counters.add(.upstreamConnected)
        counters.add(.inboundConnected)
        udpCounters.add(.bindingsOpened)
        udpCounters.add(.bindingsOpen)
        relayLANDatagrams(slot, now: now)  // the records that came with the SYN
    }

    /// Records from the stream to the LAN host (one `sendmmsg` per read, at most 16 reads) and the
    /// LAN host's datagrams into the stream (at most 64); what is left waits for the next round.
    func relayLANDatagrams(_ slot: Int, now: ContinuousClock.Instant, writable: Bool = false) {
        guard let leg = connections[slot].lanDatagrams, let sender = lanSender else { return }
        let lan = connections[slot].upstream
        if writable, case .failed(let error) = leg.writer.flush() { return finish(slot, .downstreamFailed(error), now: now) }
        var more = false
        let counters = udpCounters
        for round in 0..<16 {
            let read = readRecordBatch(slot, decoder: &leg.decoder, now: now, flush: sender.flush) { payload, bytes in
                counters.add(.recordsReceived)
                sender.send(payload, to: leg.lanHost, through: lan, decodedFrom: bytes)
            }
            if read == .finished { return }
            if read == .drained { break }
            if round == 15 { more = true }
        }
        for round in 0..<64 {
            let received: Int?
            do throws(Errno) { received = try lan.receive(into: recordBuffer) } catch {
                // An ICMP port unreachable from the LAN host (nothing listens yet) is no reason to end.
                if error == .connectionRefused { continue }
                return finish(slot, .upstreamFailed(error), now: now)
            }
            guard let received else { break }
            connections[slot].lastActivity = now
            counters.add(.datagramsQueued)
            switch leg.writer.write(UnsafeRawBufferPointer(rebasing: recordBuffer[0..<min(received, 0xFFFF)])) {
            case .written: counters.add(.recordsWritten)
            case .backlogged: counters.add(.recordsBacklogged)
            case .dropped: counters.add(.recordsDroppedBacklogFull)
            case .failed(let error):
                counters.add(.recordWriteErrors)
                return finish(slot, .downstreamFailed(error), now: now)
            }
            if round == 63 { more = true }
        }
        if more { again.append(Int32(slot)) }
    }
}

/// An inbound UDP flow's state at the CPE's loop: the LAN host, the decoder of the records coming
/// from the concentrator, and the writer of the records going back. A class: the decoder cannot be copied.
final class LANDatagramLeg {
    let lanHost: Endpoint
    var decoder: UDPFrameDecoder
    var writer: RecordWriter

    init(lanHost: Endpoint, maximumDatagramSize: Int, writer: RecordWriter) {
        self.lanHost = lanHost
        decoder = UDPFrameDecoder(maximumDatagramSize: maximumDatagramSize)
        self.writer = writer
    }
}
