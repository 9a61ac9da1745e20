import BindingState
import PlainMode
import Syscalls
import SystemPackage
import UDPRelay
import WireFormat

/// The concentrator's UDP bindings (draft section 5.1): an MPTCP connection whose PM block says
/// protocol 17 keeps its socket at this loop, which turns the records arriving on it into
/// datagrams from the binding's external endpoint. The queue workers frame the Internet's
/// datagrams into the same socket through `UDPChannelTable`.
extension RelayLoop {
    /// Chooses the external endpoint, registers the binding and reads the records already there
    /// (the first may have come in the SYN).
    func startDatagramBinding(_ slot: Int, block: PlainModeBlock, settings: ConcentratorSettings,
                              udp: ConcentratorUDPSettings, now: ContinuousClock.Instant) {
        guard let destination = block.destination, let port = destination.port else { return finish(slot, .refused, now: now) }
        if let error = prepareDatagramSender() { return finish(slot, .localError(error), now: now) }
        let remote = SocketAddress(destination.address, port: port)
        let cpe = connections[slot].peer.address
        let subscriber = settings.subscribers.subscriber(for: cpe)
        let pooled = remote.address.isIPv4 && !settings.preserveIPv4Source && settings.allocator != nil
        // Pooled with a PM source: every binding of that LAN endpoint shares one external endpoint.
        var mapping = pooled && udp.mappings != nil ? Self.endpointMappingKey(block: block, subscriber: subscriber.id) : nil
        let chosen = if let mapping, let mappings = udp.mappings {
            chooseMappedSource(mapping, in: mappings, cpe: cpe, now: now)
        } else {
            chooseSource(block: block, cpe: cpe, subscriber: subscriber, remote: remote, pooled: pooled,
                         transport: .udp, settings: settings, now: now)
        }
        guard var external = chosen else { return finish(slot, .refused, now: now) }
        // No port in a preserved PM source: the CPE's own source port stands in for the LAN host's.
        if external.port == 0 { external = SocketAddress(external.address, port: connections[slot].peer.port) }
        var key = UDPChannelKey(external: Endpoint(address: external.address, port: external.port),
                                remote: Endpoint(address: remote.address, port: remote.port))
        var inserted = udp.channels.insert(key, socket: connections[slot].downstream,
                                           route: mapping.map { UDPReturnRoute(cpe: cpe, internal: $0.internal) }, now: now)
        if !inserted, let shared = mapping {
            // The mapping serves this remote through another connection still (a CPE that restarted
            // while the old one idles out): this flow gets a port of its own rather than nothing.
            releaseMappedSource(external, key: shared, holdUntil: nil)
            mapping = nil
            guard let own = chooseSource(block: block, cpe: cpe, subscriber: subscriber, remote: remote, pooled: pooled,
                                         transport: .udp, settings: settings, now: now)
            else { return finish(slot, .refused, now: now) }
            udpCounters.add(.mappingConflictFallbacks)
            external = own
            key = UDPChannelKey(external: Endpoint(address: own.address, port: own.port), remote: key.remote)
            inserted = udp.channels.insert(key, socket: connections[slot].downstream, route: nil, now: now)
        }
        guard inserted else {
            if pooled { releasePooledSource(external, subscriber: subscriber.id, transport: .udp, holdUntil: nil) }
            counters.add(.bindingConflicts)
            udpCounters.add(.bindingOpenErrors)
            logConnectionError("UDP binding \(external) -> \(remote) exists already")
            return finish(slot, .refused, now: now)
        }
        connections[slot].binding = recordBinding(subscriber: subscriber.id, cpe: connections[slot].peer, service: connections[slot].local,
                                                  external: external, remote: remote, pooled: pooled, transport: .udp,
                                                  settings: settings, now: now)
        connections[slot].binding?.mapping = mapping
        markEstablished(connections[slot].binding)
        let largest = min(UDPDatagramHeaders.largestPayload(for: remote.address), UDPFraming.largestRecordPayload)
        connections[slot].datagrams = DatagramLeg(key: key, maximumDatagramSize: largest)
        connections[slot].phase = .datagrams
        connections[slot].downstream.apply(udp.connectionTuning, counting: udpCounters)
        connections[slot].lastActivity = now
        udpCounters.add(.bindingsOpened)
        udpCounters.add(.bindingsOpen)
        readRecords(slot, now: now)
    }

    /// The raw sockets and read buffer of the loop's UDP bindings, made with the first one; the
    /// error (counted and logged) when they cannot be opened.
    func prepareDatagramSender() -> Errno? {
        guard datagramSender == nil else { return nil }
        do throws(Errno) { datagramSender = try DatagramSender(counters: udpCounters) } catch {
            udpCounters.add(.bindingOpenErrors)
            logConnectionError("raw sockets for UDP failed: \(error)")
            return error
        }
        if recordBuffer.count == 0 { recordBuffer = .allocate(byteCount: 65536, alignment: 16) }
        return nil
    }

    /// Reads the stream and sends each whole record as a datagram (one `sendmmsg` per read), at
    /// most 16 reads per call (then the slot is read again after the next wait, so one busy
    /// binding cannot hold the loop). A short read drained the socket: the next edge wakes us.
    func readRecords(_ slot: Int, now: ContinuousClock.Instant) {
        guard let leg = connections[slot].datagrams, let sender = datagramSender else { return }
        let source = leg.key.external
        let destination = leg.key.remote
        let counters = udpCounters
        for _ in 0..<16 {
            let read = readRecordBatch(slot, decoder: &leg.decoder, now: now, flush: sender.flush) { payload, bytes in
                counters.add(.recordsReceived)
                sender.send(payload, from: source, to: destination, decodedFrom: bytes)
            }
            guard read == .filled else { return }
        }
        again.append(Int32(slot))
    }

    enum RecordBatch {
        /// A short read: the socket is drained, the next edge wakes us.
        case drained
        /// The read filled the buffer: more may wait.
        case filled
        /// The stream ended or failed, or its records are out of step: the connection is finished.
        case finished
    }

    /// One read of the downstream record stream (both roles' UDP legs): each whole record goes to
    /// `send` with the read's bytes (a record gathered across reads lies in the decoder's buffer),
    /// then `flush` sends them before the buffer is read into again.
    func readRecordBatch(_ slot: Int, decoder: inout UDPFrameDecoder, now: ContinuousClock.Instant, flush: () -> Void,
                         send: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) -> RecordBatch {
        let received: Int?
        do throws(Errno) { received = try connections[slot].downstream.receive(into: recordBuffer) } catch {
            finish(slot, .downstreamFailed(error), now: now)
            return .finished
        }
        guard let received else { return .drained }
        if received == 0 {
            finish(slot, .completed, now: now)
            return .finished
        }
        connections[slot].lastActivity = now
        let bytes = UnsafeRawBufferPointer(rebasing: recordBuffer[0..<received])
        do throws(UDPFramingError) {
            try decoder.decode(bytes) { payload in send(payload, bytes) }
            flush()
        } catch {
            flush()
            udpCounters.add(.framingErrors)
            logConnectionError("UDP records from \(connections[slot].peer) out of step: \(error)")
            finish(slot, .refused, now: now)
            return .finished
        }
        return received < recordBuffer.count ? .drained : .filled
    }

    /// The socket can take more: send the binding's backlog. The error when writing failed.
    func flushRecords(_ slot: Int) -> Errno? {
        guard let leg = connections[slot].datagrams, case .concentrator(let settings) = role, let udp = settings.udp else {
            return nil
        }
        return udp.channels.flush(leg.key)
    }

    func closeDatagramLeg(_ leg: DatagramLeg) {
        guard case .concentrator(let settings) = role, let udp = settings.udp else { return }
        udp.channels.remove(leg.key)
        udpCounters.add(.bindingsClosed)
        udpCounters.add(.bindingsOpen, -1)
    }

    /// No record either way for the UDP idle timeout (RFC 4787 REQ-5 asks at least 2 minutes).
    func datagramLegIsIdle(_ slot: Int, now: ContinuousClock.Instant) -> Bool {
        guard let leg = connections[slot].datagrams, case .concentrator(let settings) = role, let udp = settings.udp else {
            return false
        }
        let inbound = udp.channels.lastInbound(leg.key) ?? connections[slot].lastActivity
        return now - max(inbound, connections[slot].lastActivity) >= udp.idleTimeout
    }
}
