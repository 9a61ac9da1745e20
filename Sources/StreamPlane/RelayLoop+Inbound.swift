import BindingState
import PlainMode
import Syscalls
import SystemPackage
import WireFormat

/// Inbound connections (draft 4.4.2): an Internet host connects to a mapped pool address and port.
/// The concentrator takes the connection from TPROXY and opens an MPTCP connection to the CPE
/// whose PM block names the Internet host (source, D=1) and the mapped endpoint (destination);
/// the CPE reads that block, finds the forward for the port and connects to the LAN host from
/// the Internet host's address (IP_TRANSPARENT). Then both splice as for outbound connections.
extension RelayLoop {
    /// Concentrator: the accepted socket's local address is the pool address and port the
    /// Internet host asked for. No mapping: reset (an RST at once, not a silent drop).
    func startInboundConnection(_ slot: Int, settings: ConcentratorSettings, now: ContinuousClock.Instant) {
        let external = connections[slot].local
        let remote = connections[slot].peer
        guard let route = settings.inboundMappings?.inboundRoute(
            .tcp, to: Endpoint(address: external.address, port: external.port),
            from: Endpoint(address: remote.address, port: remote.port))
        else {
            counters.add(.inboundRefusedUnmapped)
            return finish(slot, .refused, now: now)
        }
        // Logged as a session of the subscriber (--log-sessions): created now, deleted at the end.
        if let sessions = settings.sessions {
            let created = SessionEvent(.created, transport: .tcp, subscriber: route.subscriber,
                                       cpe: Endpoint(address: route.cpeAddress, port: settings.cpeInboundPort),
                                       external: route.external, remote: Endpoint(address: remote.address, port: remote.port))
            sessions.record(created)
            connections[slot].binding = BindingHandle(id: 0, subscriber: route.subscriber, session: created)
        }
        let block = PlainModeBlock.inbound(remote: remote.address, remotePort: remote.port, external: route.external.address,
                                           externalPort: route.external.port, protocolNumber: IPProtocolNumber.tcp,
                                           subtype: settings.policy.subtype)
        startMultipathLeg(slot, to: SocketAddress(route.cpeAddress, port: settings.cpeInboundPort), block: block,
                          synData: true, now: now)
    }

    /// CPE: the concentrator's block is whole; connect to the LAN host its destination port is
    /// forwarded to, from the Internet host's address and port, so the LAN host sees who connects
    /// (the LAN host's replies reach this socket through cpe-net.sh's socket rule).
    func connectLANHost(_ slot: Int, block: PlainModeBlock, settings: CPESettings, now: ContinuousClock.Instant) {
        // The inbound policy enables TCP and UDP and requires both options.
        if let inbound = settings.inbound, block.destination?.protocolNumber == IPProtocolNumber.udp {
            return startLANDatagrams(slot, block: block, inbound: inbound, now: now)
        }
        guard let forwards = settings.inbound?.forwards, let destination = block.destination, let port = destination.port,
              let source = block.source, destination.protocolNumber == IPProtocolNumber.tcp
        else {
            counters.add(.protocolNotRelayed)
            return finish(slot, .refused, now: now)
        }
        guard let lanHost = forwards.route(.tcp, externalPort: port) else {
            counters.add(.inboundRefusedNoForward)
            logConnectionError("inbound connection from \(source.address) to port \(port): no forward")
            return finish(slot, .refused, now: now)
        }
        guard lanHost.address.isIPv4 == source.address.isIPv4 else {
            counters.add(.inboundRefusedFamily)
            logConnectionError("inbound connection from \(source.address) to port \(port): LAN host \(lanHost) is of the other family")
            return finish(slot, .refused, now: now)
        }
        // A source option without a port (the draft makes it optional): any port of that address.
        let from = SocketAddress(source.address, port: source.port ?? 0)
        do throws(Errno) { connections[slot].upstream = try Socket.transparentStream(boundTo: from) } catch {
            if error == .tooManyOpenFiles || error == .tooManyOpenFilesInSystem { counters.add(.descriptorExhaustion) }
            counters.add(.inboundConnectFailed)
            logConnectionError("socket from \(from) to LAN host \(lanHost) failed: \(error)")
            return finish(slot, .localError(error), now: now)
        }
        startConnect(slot, to: SocketAddress(lanHost.address, port: lanHost.port), now: now)
    }
}
