import BindingState
import Logging
import NetfilterQueue
import PlainMode
import Syscalls
import SystemPackage
import UDPRelay
import WireFormat

/// One bonded UDP flow at the CPE: a LAN host's datagrams to one remote, carried as records on
/// one MPTCP connection. A class because the record decoder cannot be copied.
final class CPEFlow {
    let key: CPEFlowKey
    let generation: UInt32
    var writer: RecordWriter
    /// Bound to the remote endpoint; the flow's datagrams to the LAN go through it (nil: the
    /// raw socket).
    let deliverySocket: Socket?
    var decoder: UDPFrameDecoder
    var lastActivity: ContinuousClock.Instant
    var connectDeadline: ContinuousClock.Instant?

    init(key: CPEFlowKey, generation: UInt32, writer: RecordWriter, deliverySocket: Socket?, now: ContinuousClock.Instant,
         connectTimeout: Duration) {
        self.key = key
        self.deliverySocket = deliverySocket
        self.generation = generation
        self.writer = writer
        decoder = UDPFrameDecoder(maximumDatagramSize: UDPDatagramHeaders.largestPayload(for: key.lan.address))
        lastActivity = now
        connectDeadline = now + connectTimeout
    }
}

struct CPEFlowKey: Hashable {
    var lan: Endpoint
    var remote: Endpoint
}

/// One queue, its thread's epoll and the flows it owns. Every mutable field is touched only by
/// the worker's own thread (`close` runs after the thread is joined).
final class CPEDatagramWorker: @unchecked Sendable {
    let queue: NetfilterQueue
    let settings: CPEUDPSettings
    let counters = UDPCounters()
    private let logger: Logger
    private let epoll: Epoll
    private let events = EpollEventBuffer(capacity: 256)
    private let sender: DatagramSender
    private let segmentingSender: SegmentingDatagramSender
    private let buffer: UnsafeMutableRawBufferPointer
    private var flows: [CPEFlowKey: Int32] = [:]
    private var slots = ContiguousArray<CPEFlow?>()
    private var freeSlots: [Int32] = []
    private var nextGeneration: UInt32 = 0
    /// Flows whose read stopped at its round limit with bytes left.
    private var again: [Int32] = []
    private static let queueToken: UInt64 = 1 << 63

    init(queue: NetfilterQueue, settings: CPEUDPSettings, logger: Logger) throws(Errno) {
        self.queue = queue
        self.settings = settings
        self.logger = logger
        epoll = try Epoll()
        do {
            sender = try DatagramSender(counters: counters)
            segmentingSender = SegmentingDatagramSender(counters: counters)
            try epoll.add(queue.fileDescriptor, events: [.readable], token: Self.queueToken)
        } catch {
            epoll.close()
            throw error
        }
        buffer = .allocate(byteCount: 65536, alignment: 16)
    }

    func run(stopping: StopFlag) {
        var nextSweep = ContinuousClock.now + .seconds(1)
        while !stopping.isSet {
            let count: Int
            do { count = try epoll.wait(into: events, timeoutMilliseconds: again.isEmpty ? 250 : 0) } catch {
                logger.critical("epoll_wait failed in the UDP worker: \(error)")
                return
            }
            let now = ContinuousClock.now
            for index in 0..<count {
                let (token, ready) = events[index]
                if token == Self.queueToken {
                    queue.processBurst(timeoutMilliseconds: 0) { packet in handleLANPacket(packet, now: now) }
                } else {
                    handleFlowEvent(token: token, ready: ready, now: now)
                }
            }
            if !again.isEmpty {
                let pending = again
                again.removeAll(keepingCapacity: true)
                for slot in pending where slots[Int(slot)] != nil { readRecords(Int(slot), now: now) }
            }
            if now >= nextSweep {
                sweep(now: now)
                nextSweep = now + .seconds(1)
            }
        }
    }

    /// After the thread has stopped: aborts the flows, closes the queue.
    func close() {
        for slot in slots.indices where slots[slot] != nil { closeFlow(slot, abort: true) }
        epoll.close()
        queue.close()
        buffer.deallocate()
    }

    // MARK: LAN -> concentrator

    private func handleLANPacket(_ packet: borrowing QueuedPacket, now: ContinuousClock.Instant) -> Verdict {
        let bytes = packet.bytes
        guard let parsed = try? ParsedPacket.parse(bytes), parsed.packetLength <= bytes.count else {
            counters.add(.malformed)
            return .accept
        }
        if case .tcp = parsed.transport { return lowerFastOpenWindow(packet, parsed) }
        guard !packet.isGSO else {  // bound without GSO: the kernel segments first
            counters.add(.malformed)
            return .accept
        }
        guard case .udp(let udp) = parsed.transport, !parsed.isFragment else {
            // A fragmented datagram is a large one: not bonded (draft 5.3, fragmentation disabled).
            counters.add(parsed.isFragment ? .oversizedUnbonded : .malformed)
            return .accept
        }
        guard !packet.checksumNeedsVerifying || TransportChecksum.isValid(bytes, parsed) else {
            counters.add(.malformed)
            return .drop  // the receiver would drop it too; bonding it would hide the corruption
        }
        guard settings.bonds(parsed.destination, port: udp.destinationPort) else {
            counters.add(.notBondable)
            return .accept
        }
        guard let concentrator = concentrator(for: parsed.destination) else {
            counters.add(.noConcentratorForFamily)
            return .accept
        }
        let start = parsed.payloadOffset
        let payload = UnsafeRawBufferPointer(rebasing: bytes[start..<start + parsed.payloadLength])
        guard payload.count <= settings.largestBondedPayload(to: concentrator) else {
            counters.add(.oversizedUnbonded)
            return .accept
        }
        counters.add(.datagramsQueued)
        let key = CPEFlowKey(lan: Endpoint(address: parsed.source, port: udp.sourcePort),
                             remote: Endpoint(address: parsed.destination, port: udp.destinationPort))
        guard let slot = flows[key] else {
            return openFlow(key, firstPayload: payload, concentrator: concentrator, now: now) ? .drop : .accept
        }
        let flow = slots[Int(slot)]!
        flow.lastActivity = now
        switch flow.writer.write(payload) {
        case .written: counters.add(.recordsWritten)
        case .backlogged: counters.add(.recordsBacklogged)
        case .dropped: counters.add(.recordsDroppedBacklogFull)
        case .failed(let error):
            counters.add(.recordWriteErrors)
            logger.debug("UDP flow \(key.lan) -> \(key.remote): write failed: \(error)")
            closeFlow(Int(slot), abort: true)
        }
        return .drop
    }

    /// A SYN to an inbound listener (queued by cpe-net.sh --inbound-port): the concentrator's PM
    /// block comes as SYN data, so Linux 6.18 would take the SYN's window field, wrongly scaled,
    /// as the send limit towards the concentrator and overrun it (FACTS.md 7); lowered as the
    /// concentrator's SYN gate does (`nfq_rewritten`). Anything else of TCP passes unchanged.
    private func lowerFastOpenWindow(_ packet: borrowing QueuedPacket, _ parsed: ParsedPacket) -> Verdict {
        guard let window = SynGate.fastOpenWindow(parsed, bytes: packet.bytes) else { return .accept }
        var rewritten = parsed
        packet.withMutableBytes { rewritten.rewriteTCPWindow(to: window, in: $0, checksumIsPartial: packet.checksumNotReady) }
        return .acceptRewritten
    }

    private func concentrator(for destination: IPAddress) -> SocketAddress? {
        let sameFamily = destination.isIPv4 ? settings.concentratorIPv4 : settings.concentratorIPv6
        return sameFamily ?? settings.concentratorIPv4 ?? settings.concentratorIPv6
    }

    /// Opens the flow's MPTCP connection: PM block + EOL + the first record, as SYN data.
    private func openFlow(_ key: CPEFlowKey, firstPayload: UnsafeRawBufferPointer, concentrator: SocketAddress,
                          now: ContinuousClock.Instant) -> Bool {
        let includeSource = key.remote.address.isIPv4 ? settings.includeSourceIPv4 : settings.includeSourceIPv6
        let block = PlainModeBlock(
            source: includeSource
                ? PlainModeOption(direction: .source, protocolNumber: IPProtocolNumber.udp, address: key.lan.address,
                                  port: key.lan.port, subtype: settings.subtype)
                : nil,
            destination: PlainModeOption(direction: .destination, protocolNumber: IPProtocolNumber.udp,
                                         address: key.remote.address, port: key.remote.port, subtype: settings.subtype)
        )
        var opening = block.encoded()
        opening.append(UInt8(truncatingIfNeeded: firstPayload.count >> 8))
        opening.append(UInt8(truncatingIfNeeded: firstPayload.count))
        opening.append(contentsOf: firstPayload)
        let deliverySocket = settings.segmentation ? openDeliverySocket(key) : nil
        let socket: Socket
        do throws(Errno) {
            socket = try Socket.stream(family: concentrator.family, protocolNumber: Socket.mptcp)
            do throws(Errno) {
                try socket.enableFastOpenClientWithoutCookie()
                socket.apply(settings.connectionTuning, counting: counters)
                var writer = RecordWriter(socket: socket, backlogLimit: settings.backlogLimit, isConnecting: true)
                let sent = settings.synData ? try socket.connectSendingFastOpen(to: concentrator, opening) : 0
                if !settings.synData { _ = try socket.connect(to: concentrator) }
                writer.owe(opening[sent...])
                let slot = allocateSlot()
                let flow = CPEFlow(key: key, generation: nextGeneration, writer: writer, deliverySocket: deliverySocket,
                                   now: now, connectTimeout: settings.connectTimeout)
                nextGeneration &+= 1
                do throws(Errno) {
                    try epoll.add(socket.rawValue, events: [.readable, .writable, .readHangUp, .edgeTriggered],
                                  token: UInt64(flow.generation) << 32 | UInt64(slot))
                } catch {
                    freeSlots.append(Int32(slot))
                    throw error
                }
                slots[slot] = flow
                flows[key] = Int32(slot)
            } catch {
                socket.abort()
                throw error
            }
        } catch {
            deliverySocket?.close()
            counters.add(.bindingOpenErrors)
            logger.info("UDP flow \(key.lan) -> \(key.remote): MPTCP connection to \(concentrator) failed: \(error)")
            return false
        }
        settings.lanEndpoints?.add(key.lan)
        counters.add(.bindingsOpened)
        counters.add(.bindingsOpen)
        counters.add(.recordsWritten)
        return true
    }

    /// The flow's socket towards the LAN host, bound to the remote endpoint; nil (counted) when
    /// it cannot be opened, e.g. a CPE service holds that port without SO_REUSEADDR.
    private func openDeliverySocket(_ key: CPEFlowKey) -> Socket? {
        // Bound to port 0 the kernel would pick a port: datagrams from port 0 go the raw way.
        guard key.remote.port != 0 else { return nil }
        do throws(Errno) {
            return try Socket.transparentDatagram(boundTo: SocketAddress(key.remote.address, port: key.remote.port),
                                                  sendBuffer: Self.deliverySendBuffer)
        } catch {
            counters.add(.deliverySocketErrors)
            logger.info("UDP flow \(key.lan) -> \(key.remote): no UDP socket from the remote (\(error)); using the raw socket")
            return nil
        }
    }

    /// Room for a few reads' worth of datagrams towards a LAN host that reads slowly.
    private static let deliverySendBuffer: Int32 = 1 << 20

    private func allocateSlot() -> Int {
        if let slot = freeSlots.popLast() { return Int(slot) }
        slots.append(nil)
        return slots.count - 1
    }

    // MARK: concentrator -> LAN

    private func handleFlowEvent(token: UInt64, ready: Epoll.Events, now: ContinuousClock.Instant) {
        let slot = Int(token & 0xFFFF_FFFF)
        guard slot < slots.count, let flow = slots[slot], flow.generation == UInt32(token >> 32) else { return }
        if ready.contains(.writable) || ready.contains(.error) {
            if flow.writer.isConnecting {
                if let error = flow.writer.socket.pendingError() {
                    counters.add(.bindingOpenErrors)
                    logger.info("UDP flow \(flow.key.lan) -> \(flow.key.remote): connect failed: \(error)")
                    return closeFlow(slot, abort: false)
                }
                if ready.contains(.writable) {
                    flow.writer.isConnecting = false
                    flow.connectDeadline = nil
                }
            }
            if case .failed = flow.writer.flush() {
                counters.add(.recordWriteErrors)
                return closeFlow(slot, abort: true)
            }
        }
        if ready.contains(.readable) || ready.contains(.readHangUp) || ready.contains(.hangUp) || ready.contains(.error) {
            readRecords(slot, now: now)
        }
    }

    /// Reads records and delivers each as a datagram from the remote to the LAN host (one
    /// `sendmmsg` per read); at most 16 reads per call, so one busy flow cannot hold the queue.
    /// A short read drained the socket: the next edge wakes us.
    private func readRecords(_ slot: Int, now: ContinuousClock.Instant) {
        guard let flow = slots[slot] else { return }
        let socket = flow.writer.socket
        let counters = self.counters
        let sender = self.sender
        let segmentingSender = self.segmentingSender
        for _ in 0..<16 {
            let received: Int?
            do throws(Errno) { received = try socket.receive(into: buffer) } catch {
                return closeFlow(slot, abort: true)
            }
            guard let received else { return }
            if received == 0 { return closeFlow(slot, abort: false) }
            flow.lastActivity = now
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<received])
            do throws(UDPFramingError) {
                if let deliverySocket = flow.deliverySocket {
                    try flow.decoder.decode(bytes) { payload in
                        counters.add(.recordsReceived)
                        segmentingSender.send(payload, to: flow.key.lan, through: deliverySocket, decodedFrom: bytes)
                    }
                } else {
                    try flow.decoder.decode(bytes) { payload in
                        counters.add(.recordsReceived)
                        sender.send(payload, from: flow.key.remote, to: flow.key.lan, decodedFrom: bytes)
                    }
                }
                sender.flush()
                segmentingSender.flush()
            } catch {
                sender.flush()
                segmentingSender.flush()
                counters.add(.framingErrors)
                logger.info("UDP flow \(flow.key.lan) -> \(flow.key.remote): records out of step: \(error)")
                return closeFlow(slot, abort: true)
            }
            if received < buffer.count { return }
        }
        again.append(Int32(slot))
    }

    // MARK: closing and timers

    private func closeFlow(_ slot: Int, abort: Bool) {
        guard let flow = slots[slot] else { return }
        flows[flow.key] = nil
        settings.lanEndpoints?.remove(flow.key.lan)
        if abort { flow.writer.socket.abort() } else { flow.writer.socket.close() }
        flow.deliverySocket?.close()
        slots[slot] = nil
        freeSlots.append(Int32(slot))
        counters.add(.bindingsClosed)
        counters.add(.bindingsOpen, -1)
    }

    private func sweep(now: ContinuousClock.Instant) {
        for slot in slots.indices {
            guard let flow = slots[slot] else { continue }
            if let deadline = flow.connectDeadline, now >= deadline {
                counters.add(.bindingOpenErrors)
                closeFlow(slot, abort: true)
            } else if now - flow.lastActivity >= settings.idleTimeout {
                counters.add(.bindingIdleTimeouts)
                closeFlow(slot, abort: true)  // MP_FASTCLOSE: the concentrator frees the binding at once
            }
        }
    }
}
