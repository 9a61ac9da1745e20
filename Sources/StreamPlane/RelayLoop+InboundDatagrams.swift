import BindingState
import PlainMode
import Syscalls
import SystemPackage
import UDPRelay
import WireFormat

/// The concentrator's inbound UDP bindings (draft 5.1.1, 5.1.2): a queue worker saw a datagram no
/// binding takes, inserted a pending binding holding it and asked this loop (`InboundUDPHandOff`)
/// to open the MPTCP connection to the CPE. The PM block (source D=1 = the remote, destination =
/// the mapped pool endpoint or the LAN endpoint of an endpoint-independent mapping, protocol 17)
/// and the records staged so far leave as SYN data; from then on the binding is an ordinary
/// `.datagrams` one: the CPE's records become datagrams from the external endpoint to the remote.
extension RelayLoop {
    /// The hand-off's eventfd fired: opens every binding queued for this loop.
    func openInboundBindings(now: ContinuousClock.Instant) {
        guard case .concentrator(let settings) = role, let udp = settings.udp, let handOff = udp.inbound else { return }
        handOff.wake(forLoop: index).drain()  // before taking: a request queued after this wakes us again
        handOff.take(forLoop: index, into: &inboundRequests)
        for request in inboundRequests { openInboundBinding(request, settings: settings, udp: udp, now: now) }
    }

    private func openInboundBinding(_ request: UDPInboundRequest, settings: ConcentratorSettings, udp: ConcentratorUDPSettings,
                                    now: ContinuousClock.Instant) {
        let key = request.key
        guard prepareDatagramSender() == nil, var handle = inboundBindingHandle(request, settings: settings, udp: udp) else {
            return udp.channels.remove(key)
        }
        let cpe = SocketAddress(request.cpe, port: settings.cpeInboundPort)
        let socket: Socket
        do throws(Errno) {
            socket = try Socket.stream(family: cpe.family, protocolNumber: Socket.mptcp)
            do throws(Errno) {
                try socket.enableFastOpenClientWithoutCookie()
                try socket.setNoDelay()
            } catch {
                socket.close()
                throw error
            }
        } catch {
            if error == .tooManyOpenFiles || error == .tooManyOpenFilesInSystem { counters.add(.descriptorExhaustion) }
            counters.add(.inboundConnectFailed)
            logConnectionError("MPTCP socket for inbound UDP \(key.remote) -> \(key.external) failed: \(error)")
            udp.channels.remove(key)
            return releaseBinding(handle, hold: false, now: now)
        }
        // Before the subflows exist, so they inherit it (as the CPE does for its flows).
        socket.apply(udp.connectionTuning, counting: udpCounters)
        if let sessions = settings.sessions {
            let created = SessionEvent(.created, transport: .udp, subscriber: handle.subscriber,
                                       cpe: Endpoint(address: cpe.address, port: cpe.port), external: key.external, remote: key.remote)
            sessions.record(created)
            handle.session = created
        }
        let slot = allocateSlot(now: now)
        counters.add(.connectionsOpen)
        connections[slot].downstream = socket
        connections[slot].peer = cpe
        connections[slot].local = SocketAddress(key.external.address, port: key.external.port)
        connections[slot].binding = handle
        let largest = min(UDPDatagramHeaders.largestPayload(for: key.remote.address), UDPFraming.largestRecordPayload)
        let leg = DatagramLeg(key: key, maximumDatagramSize: largest)
        leg.connecting = true
        // From here `finish` takes the binding out of the table and releases the handle.
        connections[slot].datagrams = leg
        connections[slot].phase = .datagrams
        connections[slot].deadline = now + tuning.connectTimeout
        connections[slot].lastActivity = now
        udpCounters.add(.bindingsOpened)
        udpCounters.add(.bindingsOpen)
        do throws(Errno) {
            try epoll.add(socket.rawValue, events: [.readable, .writable, .readHangUp, .edgeTriggered],
                          token: Token.connection(slot: slot, generation: connections[slot].generation, upstream: false))
        } catch {
            return finish(slot, .localError(error), now: now)
        }
        let block = PlainModeBlock.inbound(remote: key.remote.address, remotePort: key.remote.port,
                                           external: request.destination.address, externalPort: request.destination.port,
                                           protocolNumber: IPProtocolNumber.udp, subtype: settings.policy.subtype)
        var synData = 0
        counters.add(.upstreamConnects)
        let attached = udp.channels.attach(key, socket: socket, leading: block.encoded()) { (opening) throws(Errno) -> Int in
            synData = try socket.connectSendingFastOpen(to: cpe, opening)
            return synData
        }
        switch attached {
        case .attached:
            if synData > 0 { counters.add(.synDataConnections) }
            udpCounters.add(.inboundBindingsOpened)
        case .gone:
            finish(slot, .refused, now: now)
        case .failed(let error):
            counters.add(.inboundConnectFailed)
            connectFailed(slot, error, now: now)
        }
    }

    /// The binding as the loop releases it: a PCP mapping's port stays the mapping's; a new remote
    /// of an endpoint-independent mapping holds that mapping (one user more) while it lives. nil
    /// (counted and logged) when that mapping ended meanwhile.
    private func inboundBindingHandle(_ request: UDPInboundRequest, settings: ConcentratorSettings,
                                      udp: ConcentratorUDPSettings) -> BindingHandle? {
        switch request.target {
        case .mapping(let subscriber):
            return BindingHandle(id: 0, subscriber: subscriber, transport: .udp)
        case .endpointMapping:
            let subscriber = settings.subscribers.subscriber(for: request.cpe).id
            let mapping = EndpointMappingKey(subscriber: subscriber, transport: .udp, internal: request.destination)
            guard let mappings = udp.mappings, mappings.join(mapping, external: request.key.external) else {
                udpCounters.add(.bindingOpenErrors)
                logConnectionError("inbound UDP \(request.key.remote) -> \(request.key.external): its mapping ended")
                return nil
            }
            return BindingHandle(id: 0, subscriber: subscriber, transport: .udp,
                                 pooledSource: SocketAddress(request.key.external.address, port: request.key.external.port),
                                 mapping: mapping)
        }
    }

    /// An event on an inbound binding still connecting: true when it may be handled as a binding's
    /// (the connection is up, or nothing was decided yet); false when it failed (finished).
    func inboundBindingConnected(_ slot: Int, ready: Epoll.Events, now: ContinuousClock.Instant) -> Bool {
        guard let leg = connections[slot].datagrams, case .concentrator(let settings) = role, let udp = settings.udp else {
            return false
        }
        if let error = connections[slot].downstream.pendingError() {
            counters.add(.inboundConnectFailed)
            connectFailed(slot, error, now: now)
            return false
        }
        guard ready.contains(.writable) else { return true }
        leg.connecting = false
        counters.add(.upstreamConnected)
        counters.add(.inboundConnected)
        if let error = udp.channels.connected(leg.key) {
            finish(slot, .downstreamFailed(error), now: now)
            return false
        }
        return true
    }
}
