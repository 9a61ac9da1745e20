import Logging
import PlainMode
import Syscalls
import SystemPackage
import UDPRelay
import WireFormat

/// One relay event loop: an OS thread, an epoll instance and a slab of connections. Every
/// loop waits on the shared listeners (EPOLLEXCLUSIVE wakes one); a connection stays on the
/// loop that accepted it, so no lock is taken on the data path.
final class RelayLoop: @unchecked Sendable {  // all mutable state is touched by the loop's own thread only
    let index: Int
    let role: RelayRole
    let tuning: RelayTuning
    let counters = StreamCounters()
    let udpCounters = UDPCounters()
    /// Raw sockets and a read buffer for UDP bindings, made when the loop gets its first one.
    var datagramSender: DatagramSender?
    var recordBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    /// CPE: datagrams to LAN hosts of inbound UDP flows, made with the first one.
    var lanSender: SegmentingDatagramSender?
    /// Concentrator: the inbound UDP bindings the queue workers asked this loop to open (reused).
    var inboundRequests: [UDPInboundRequest] = []
    let listeners: [Socket]
    /// Listeners from this index on are inbound ones (`--inbound-listen`).
    let firstInboundListener: Int
    let stopping: StopFlag
    let epoll: Epoll
    let wake: EventFD
    private let events: EpollEventBuffer
    var logger: Logger
    private var logBudget = 20
    private var logSuppressed = 0

    var connections = ContiguousArray<RelayConnection>()
    /// Empty pipes between uses: a connection holds a pipe only while bytes are in flight, so an
    /// idle connection costs two descriptors, not six, and most relays need no pipe2() call.
    private var sparePipes: [(pipe: Pipe, capacity: Int)] = []
    static let sparePipeLimit = 256
    /// Freed on EMFILE to accept and abort one connection (see `shedConnection`).
    private var reserve: ReserveDescriptor
    /// Set while the listeners are out of this loop's epoll after shedding failed (the process
    /// is still out of descriptors): a level-triggered listener would otherwise wake it forever.
    private var listenersPausedUntil: ContinuousClock.Instant?
    private var freeSlots: [Int32] = []
    /// Connections whose pump stopped at its round limit with work left.
    var again: [Int32] = []
    /// Connections in `.awaitingFirstBytes`, oldest first (one wait for all, so deadlines ascend).
    var firstBytesWaiters: [FirstBytesWaiter] = []
    private var nextSweep: ContinuousClock.Instant
    private var nextLogRefill: ContinuousClock.Instant

    init(index: Int, role: RelayRole, tuning: RelayTuning, listeners: [Socket], firstInboundListener: Int, stopping: StopFlag,
         logger: Logger) throws(Errno) {
        self.index = index
        self.role = role
        self.tuning = tuning
        self.listeners = listeners
        self.firstInboundListener = firstInboundListener
        self.stopping = stopping
        self.logger = logger
        epoll = try Epoll()
        wake = try EventFD()
        events = EpollEventBuffer(capacity: tuning.eventsPerWait)
        reserve = try ReserveDescriptor()
        let now = ContinuousClock.now
        nextSweep = now
        nextLogRefill = now
        for (listenerIndex, listener) in listeners.enumerated() {
            try epoll.add(listener.rawValue, events: [.readable, .exclusive], token: Token.listener(listenerIndex))
        }
        try epoll.add(wake.rawValue, events: [.readable], token: Token.wake)
        if case .concentrator(let settings) = role, let handOff = settings.udp?.inbound, index < handOff.loopCount {
            try epoll.add(handOff.wake(forLoop: index).rawValue, events: [.readable], token: Token.inboundUDP)
        }
    }

    // MARK: tokens

    /// The 64-bit epoll token: listeners and the wake-up fd in the top bits, else a
    /// connection's generation (high 32 bits), slot and side.
    enum Token {
        static let listenerFlag: UInt64 = 1 << 63
        static let wake: UInt64 = 1 << 62
        /// The inbound UDP hand-off's eventfd of this loop.
        static let inboundUDP: UInt64 = 1 << 61
        static func listener(_ index: Int) -> UInt64 { listenerFlag | UInt64(index) }
        static func connection(slot: Int, generation: UInt32, upstream: Bool) -> UInt64 {
            UInt64(generation) << 32 | UInt64(slot) << 1 | (upstream ? 1 : 0)
        }
    }

    // MARK: the loop

    func run() {
        while !stopping.isSet {
            let timeout = firstBytesWaitTimeout(!again.isEmpty ? 0 : listenersPausedUntil == nil ? 250 : 50)
            let count: Int
            do { count = try epoll.wait(into: events, timeoutMilliseconds: timeout) } catch {
                logger.critical("epoll_wait failed: \(error)")
                break
            }
            let now = ContinuousClock.now
            for i in 0..<count {
                let (token, ready) = events[i]
                if token & Token.listenerFlag != 0 {
                    let listener = Int(token & 0xFFFF)
                    acceptConnections(from: listeners[listener], inbound: listener >= firstInboundListener, now: now)
                } else if token == Token.wake {
                    wake.drain()
                } else if token == Token.inboundUDP {
                    openInboundBindings(now: now)
                } else {
                    dispatch(token: token, ready: ready, now: now)
                }
            }
            if !again.isEmpty {
                let slots = again
                again.removeAll(keepingCapacity: true)
                for slot in slots {
                    switch connections[Int(slot)].phase {
                    case .relaying: pump(Int(slot), now: now)
                    case .datagrams: readRecords(Int(slot), now: now)
                    case .lanDatagrams: relayLANDatagrams(Int(slot), now: now)
                    default: continue
                    }
                }
            }
            if !firstBytesWaiters.isEmpty { endFirstBytesWaits(now: now) }
            if let until = listenersPausedUntil, now >= until { resumeListeners() }
            if now >= nextSweep {
                sweep(now: now)
                nextSweep = now + .milliseconds(250)
            }
        }
        for slot in connections.indices where connections[slot].phase != .free {
            finish(slot, .shutdown, now: .now)
        }
        recordBuffer.deallocate()
        for spare in sparePipes { spare.pipe.close() }
        sparePipes.removeAll()
        epoll.close()
        wake.close()
    }

    private func dispatch(token: UInt64, ready: Epoll.Events, now: ContinuousClock.Instant) {
        let slot = Int(token & 0xFFFF_FFFF) >> 1
        let isUpstream = token & 1 == 1
        guard slot < connections.count, connections[slot].generation == UInt32(token >> 32) else { return }
        switch connections[slot].phase {
        case .free:
            return
        case .readingBlock:
            if !isUpstream { readBlock(slot, now: now) }
        case .awaitingFirstBytes:
            // Bytes, an end or an error: open the MPTCP leg now (it reads or reports them).
            if !ready.isDisjoint(with: [.readable, .readHangUp, .hangUp, .error]) { openLegAfterFirstBytes(slot, now: now) }
        case .connecting:
            if isUpstream {
                finishConnect(slot, now: now)
            } else if ready.contains(.error) || ready.contains(.hangUp) {
                finish(slot, .downstreamFailed(connections[slot].downstream.pendingError() ?? .connectionReset), now: now)
            }
        case .relaying:
            if ready.contains(.error) {
                let socket = isUpstream ? connections[slot].upstream : connections[slot].downstream
                if let error = socket.pendingError() {
                    finish(slot, isUpstream ? .upstreamFailed(error) : .downstreamFailed(error), now: now)
                    return
                }
            }
            pump(slot, now: now)
        case .datagrams:
            if isUpstream { return }
            if connections[slot].datagrams?.connecting == true {
                guard inboundBindingConnected(slot, ready: ready, now: now) else { return }
            }
            if ready.contains(.writable), let error = flushRecords(slot) {
                return finish(slot, .downstreamFailed(error), now: now)
            }
            if ready.contains(.readable) || ready.contains(.readHangUp) || ready.contains(.hangUp) || ready.contains(.error) {
                readRecords(slot, now: now)
            }
        case .lanDatagrams:
            relayLANDatagrams(slot, now: now, writable: !isUpstream && ready.contains(.writable))
        }
    }

    // MARK: accept

    private func acceptConnections(from listener: Socket, inbound: Bool, now: ContinuousClock.Instant) {
        for _ in 0..<64 {
            let accepted: (socket: Socket, peer: SocketAddress?)?
            do { accepted = try listener.accept() } catch {
                counters.add(.acceptErrors)
                guard error == .tooManyOpenFiles || error == .tooManyOpenFilesInSystem else {
                    logConnectionError("accept failed: \(error)")
                    return
                }
                counters.add(.descriptorExhaustion)
                guard shedConnection(from: listener) else {
                    logConnectionError("accept failed: \(error); not accepting for 100 ms")
                    pauseListeners(now: now)
                    return
                }
                continue
            }
            guard let (socket, peer) = accepted else { return }
            guard let peer, let local = try? socket.localAddress() else {
                socket.close()
                counters.add(.acceptErrors)
                continue
            }
            if let refusal = admissionRefusal(socket, peer: peer, inbound: inbound) {
                counters.add(refusal)
                socket.abort()  // an RST, at once: never a silent drop a client would read as a black hole
                continue
            }
            // No Nagle wait in the relay (see Socket.setNoDelay); a refusal only costs latency.
            try? socket.setNoDelay()
            let slot = allocateSlot(now: now)
            connections[slot].downstream = socket
            connections[slot].peer = peer
            connections[slot].local = local
            connections[slot].inbound = inbound
            counters.add(.accepted)
            if inbound { counters.add(.inboundAccepted) }
            counters.add(.connectionsOpen)
            do {
                try epoll.add(socket.rawValue, events: [.readable, .writable, .readHangUp, .edgeTriggered],
                              token: Token.connection(slot: slot, generation: connections[slot].generation, upstream: false))
            } catch {
                finish(slot, .localError(error), now: now)
                continue
            }
            switch (role, inbound) {
            case (.concentrator(let settings), false):
                startReadingBlock(slot, policy: settings.policy, now: now)
            case (.concentrator(let settings), true):
                if !awaitFirstBytes(slot, now: now) { startInboundConnection(slot, settings: settings, now: now) }
            case (.cpe(let settings), false):
                if !settings.blockInSYN || !awaitFirstBytes(slot, now: now) { startCPEConnection(slot, settings: settings, now: now) }
            case (.cpe(let settings), true):
                // Inbound listeners exist only with inbound settings (StreamPlaneService).
                guard let policy = settings.inbound?.policy else { finish(slot, .refused, now: now); continue }
                startReadingBlock(slot, policy: policy, now: now)
            }
        }
    }

    /// The accepted side is MPTCP and opens with a PM block: wait for it (bounded by `--pm-timeout`).
    private func startReadingBlock(_ slot: Int, policy: PlainModePolicy, now: ContinuousClock.Instant) {
        connections[slot].phase = .readingBlock
        connections[slot].parser = PlainModeBlockParser(policy: policy)
        connections[slot].blockBytesSeen = 0
        connections[slot].deadline = now + tuning.blockTimeout
        readBlock(slot, now: now)  // the SYN data is usually there already
    }

    /// Whether the accepted (downstream) leg is the MPTCP one: the concentrator's outbound
    /// connections and the CPE's inbound ones. Otherwise plainmode opens the MPTCP leg upstream
    /// and sends the PM block on it.
    func multipathIsDownstream(_ slot: Int) -> Bool {
        if case .concentrator = role { return !connections[slot].inbound }
        return connections[slot].inbound
    }

    /// Why a connection accepted on an MPTCP listener is not served: a source that may not connect
    /// (the concentrator's `--allow`, checked here too because the gate is bypassed while its
    /// queues are unbound; the CPE's concentrator or `--inbound-allow`), or a SYN without
    /// MP_CAPABLE (the listener then hands out a plain TCP socket; PM needs MPTCP, draft 4.2).
    /// Transparent listeners take whoever TPROXY hands them.
    private func admissionRefusal(_ socket: Socket, peer: SocketAddress, inbound: Bool) -> StreamCounter? {
        switch (role, inbound) {
        case (.concentrator(let settings), false):
            if let allowed = settings.allowedSources, !allowed.contains(where: { $0.contains(peer.address) }) {
                return .acceptRefusedSource
            }
            guard (try? socket.protocolNumber()) == Socket.mptcp else { return .acceptRefusedNotMultipath }
        case (.cpe(let settings), true):
            guard let allowed = settings.inbound?.allowedSources, allowed.contains(where: { $0.contains(peer.address) }) else {
                return .inboundRefusedSource
            }
            guard (try? socket.protocolNumber()) == Socket.mptcp else { return .inboundRefusedNotMultipath }
        case (.concentrator, true), (.cpe, false):
            break
        }
        return nil
    }

    /// Out of descriptors: frees the reserve, accepts one pending connection and aborts it, so the
    /// client gets an RST (MP_FASTCLOSE) now and the level-triggered listener stops firing.
    private func shedConnection(from listener: Socket) -> Bool {
        reserve.release()
        defer { try? reserve.restore() }
        guard let accepted = try? listener.accept() else { return false }
        accepted.socket.abort()
        counters.add(.connectionsShed)
        return true
    }

    private func pauseListeners(now: ContinuousClock.Instant) {
        guard listenersPausedUntil == nil else { return }
        for listener in listeners { try? epoll.remove(listener.rawValue) }
        listenersPausedUntil = now + .milliseconds(100)
    }

    private func resumeListeners() {
        listenersPausedUntil = nil
        try? reserve.restore()
        for (listenerIndex, listener) in listeners.enumerated() {
            try? epoll.add(listener.rawValue, events: [.readable, .exclusive], token: Token.listener(listenerIndex))
        }
    }

    func allocateSlot(now: ContinuousClock.Instant) -> Int {
        if let slot = freeSlots.popLast() {
            connections[Int(slot)].lastActivity = now
            return Int(slot)
        }
        connections.append(RelayConnection(now: now))
        return connections.count - 1
    }

    // MARK: relaying

    /// Starts the relay once both legs are up; pipes are attached by `pump` when bytes move.
    func startRelaying(_ slot: Int, now: ContinuousClock.Instant) {
        connections[slot].phase = .relaying
        connections[slot].lastActivity = now
        pump(slot, now: now)
    }

    /// Gives `channel` a pipe: a spare one, else a new one sized by `--pipe-size`.
    private func attachPipe(_ channel: inout SpliceChannel) throws(Errno) {
        guard channel.pipe == nil else { return }
        if let spare = sparePipes.popLast() {
            channel.pipe = spare.pipe
            channel.capacity = spare.capacity
            return
        }
        let pipe = try Pipe()
        channel.capacity = tuning.pipeSize > 0 ? Int((try? pipe.resize(to: tuning.pipeSize)) ?? 65536) : 65536
        channel.pipe = pipe
    }

    /// Takes an empty pipe back from `channel` for the next connection that needs one.
    private func detachPipeIfEmpty(_ channel: inout SpliceChannel) {
        guard let pipe = channel.pipe, channel.buffered == 0 else { return }
        channel.pipe = nil
        if sparePipes.count < Self.sparePipeLimit {
            sparePipes.append((pipe, channel.capacity))
        } else {
            pipe.close()
        }
    }

    /// Moves bytes both ways; turns a failure of either side into the matching close.
    func pump(_ slot: Int, now: ContinuousClock.Instant) {
        let down = connections[slot].downstream
        let up = connections[slot].upstream
        do throws(Errno) {
            try attachPipe(&connections[slot].toUpstream)
            try attachPipe(&connections[slot].toDownstream)
        } catch {
            if error == .tooManyOpenFiles || error == .tooManyOpenFilesInSystem { counters.add(.descriptorExhaustion) }
            return finish(slot, .localError(error), now: now)
        }
        defer {
            if connections[slot].phase == .relaying {
                detachPipeIfEmpty(&connections[slot].toUpstream)
                detachPipeIfEmpty(&connections[slot].toDownstream)
            }
        }
        var more = false
        switch connections[slot].toUpstream.pump(from: down, to: up) {
        case .progressed(let n, let m):
            counters.add(.bytesToUpstream, n)
            connections[slot].lastActivity = now
            more = m
        case .blocked: break
        case .sourceFailed(let error): return finish(slot, .downstreamFailed(error), now: now)
        case .destinationFailed(let error): return finish(slot, .upstreamFailed(error), now: now)
        }
        switch connections[slot].toDownstream.pump(from: up, to: down) {
        case .progressed(let n, let m):
            counters.add(.bytesToDownstream, n)
            connections[slot].lastActivity = now
            more = more || m
        case .blocked: break
        case .sourceFailed(let error): return finish(slot, .upstreamFailed(error), now: now)
        case .destinationFailed(let error): return finish(slot, .downstreamFailed(error), now: now)
        }
        if connections[slot].toUpstream.isFinished && connections[slot].toDownstream.isFinished {
            finish(slot, .completed, now: now)
        } else if more {
            again.append(Int32(slot))
        }
    }

    // MARK: closing

    enum Ending {
        case completed
        /// The upstream leg failed (server RST, failed connect): abort the downstream leg.
        case upstreamFailed(Errno)
        /// The downstream leg failed (MP_FASTCLOSE or RST from the CPE or LAN host): abort upstream.
        case downstreamFailed(Errno)
        /// Refused before any upstream exists (bad PM block, no port, timeout): abort downstream.
        case refused
        case idle
        case localError(Errno)
        case shutdown
    }

    func finish(_ slot: Int, _ ending: Ending, now: ContinuousClock.Instant) {
        let connection = connections[slot]
        let hasUpstream = connection.upstream.rawValue >= 0
        var hold = false
        // Accepted as MPTCP (admissionRefusal), or connected as MPTCP for an inbound connection,
        // so TCP_IS_MPTCP = 0 now means it fell back since.
        if multipathIsDownstream(slot) {
            if connection.downstream.rawValue >= 0, !connection.downstream.isMultipath() { counters.add(.multipathFallback) }
        } else if connection.inbound, connection.phase == .relaying, !connection.upstream.isMultipath() {
            counters.add(.multipathFallback)
        }
        // Out of the shared table before the socket closes: no queue worker may write to it after.
        if let leg = connection.datagrams { closeDatagramLeg(leg) }
        if connection.lanDatagrams != nil {
            udpCounters.add(.bindingsClosed)
            udpCounters.add(.bindingsOpen, -1)
        }
        switch ending {
        case .completed:
            counters.add(.closedNormally)
            connection.downstream.close()
            if hasUpstream { connection.upstream.close() }
        case .upstreamFailed(let error):
            counters.add(.resetByUpstream)
            counters.add(.abortsSentDownstream)
            logConnectionError("upstream of \(connection.peer) failed: \(error); aborting downstream")
            connection.downstream.abort()
            if hasUpstream { connection.upstream.close() }
            hold = connection.phase == .relaying
        case .downstreamFailed:
            counters.add(.resetByDownstream)
            connection.downstream.close()
            if hasUpstream {
                counters.add(.abortsSentUpstream)
                connection.upstream.abort()
            }
            hold = connection.phase == .relaying
        case .refused, .localError:
            counters.add(.abortsSentDownstream)
            connection.downstream.abort()
            if hasUpstream { connection.upstream.abort() }
        case .idle, .shutdown:
            counters.add(.abortsSentDownstream)
            connection.downstream.abort()
            if hasUpstream {
                counters.add(.abortsSentUpstream)
                connection.upstream.abort()
            }
        }
        connection.toUpstream.pipe?.close()
        connection.toDownstream.pipe?.close()
        if let binding = connection.binding {
            releaseBinding(binding, hold: hold && binding.transport == .tcp, now: now)
        }
        counters.add(.connectionsOpen, -1)
        connections[slot] = RelayConnection(now: now)
        connections[slot].generation = connection.generation &+ 1
        freeSlots.append(Int32(slot))
    }

    // MARK: timers

    private func sweep(now: ContinuousClock.Instant) {
        if now >= nextLogRefill {
            if logSuppressed > 0 {
                logger.warning("\(logSuppressed) connection errors not logged (rate limit)")
                logSuppressed = 0
            }
            logBudget = 20
            nextLogRefill = now + .seconds(1)
        }
        for slot in connections.indices {
            switch connections[slot].phase {
            case .free:
                continue
            case .readingBlock where now >= connections[slot].deadline:
                counters.add(.blockTimeouts)
                finish(slot, .refused, now: now)
            case .connecting where now >= connections[slot].deadline:
                counters.add(.upstreamTimeouts)
                finish(slot, .refused, now: now)
            case .relaying where now - connections[slot].lastActivity >= tuning.idleTimeout:
                counters.add(.idleTimeouts)
                finish(slot, .idle, now: now)
            case .relaying where now - connections[slot].lastActivity >= .milliseconds(500)
                && connections[slot].nudgedAtActivity != connections[slot].lastActivity:
                kickStalledMultipathSend(slot)
            case .datagrams where connections[slot].datagrams?.connecting == true && now >= connections[slot].deadline:
                counters.add(.inboundConnectFailed)
                counters.add(.upstreamTimeouts)
                finish(slot, .refused, now: now)
            case .lanDatagrams where now - connections[slot].lastActivity >= tuning.idleTimeout:
                counters.add(.idleTimeouts)
                finish(slot, .idle, now: now)
            case .datagrams where datagramLegIsIdle(slot, now: now):
                udpCounters.add(.bindingIdleTimeouts)
                finish(slot, .idle, now: now)
            default:
                continue
            }
        }
        if index == 0 { expireState(now: now) }
    }

    /// Linux 6.18 can leave bytes written to a passive Fast Open MPTCP socket before its first
    /// subflow was established unsent for good (measured: 1 download in 8 on the delayed testbed,
    /// `ss -M` showing the data queued and the subflow idle): nothing pushes them again while the
    /// relay waits for a writable edge that never comes. Setting TCP_NODELAY on an MPTCP socket
    /// makes the kernel push pending data, so a connection whose bytes wait for the MPTCP leg
    /// with no progress for 500 ms gets that nudge (`mptcp_push_kicks`), once per stall: a leg
    /// that is merely blocked (a closed window, a dead link) costs one system call, not one a sweep.
    private func kickStalledMultipathSend(_ slot: Int) {
        connections[slot].nudgedAtActivity = connections[slot].lastActivity
        let waiting: Bool
        let multipath: Socket
        if multipathIsDownstream(slot) {
            waiting = connections[slot].toDownstream.buffered > 0
            multipath = connections[slot].downstream
        } else {
            waiting = connections[slot].toUpstream.buffered > 0 || connections[slot].toUpstream.hasPending
            multipath = connections[slot].upstream
        }
        guard waiting, (try? multipath.setNoDelay()) != nil else { return }
        counters.add(.multipathPushKicks)
    }

    /// Per-connection errors: at most 20 lines a second per loop, the rest counted.
    func logConnectionError(_ message: @autoclosure () -> Logger.Message) {
        guard logBudget > 0 else {
            logSuppressed += 1
            return
        }
        logBudget -= 1
        logger.info(message())
    }
}
