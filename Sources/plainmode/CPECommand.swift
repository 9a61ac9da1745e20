import ArgumentParser
import PacketPlane
import Counters
import UDPRelay
import BindingState
import ControlSocket
import Logging
import PCP
import PCPClient
import PlainMode
import StreamPlane
import Syscalls

/// `plainmode cpe`: the customer side, so the system works end to end without other software.
struct CPECommand: ParsableCommand {
    static let defaultControlSocket = "/run/plainmode/cpe.sock"

    static let configuration = CommandConfiguration(
        commandName: "cpe",
        abstract: "Run the CPE role: TPROXY'd LAN TCP and queued LAN UDP, one MPTCP connection per flow with a PM block.",
        discussion: """
            LAN TCP reaches the --listen port through TPROXY (Deploy/cpe-net.sh); each connection \
            becomes an MPTCP connection to the concentrator that carries the original destination \
            in a PM block sent, with the LAN host's first bytes, as TCP Fast Open data without \
            cookie (--no-syn-data: right after the handshake). The kernel spreads it over \
            every MPTCP endpoint (one per WAN link: ip mptcp endpoint add ADDR dev IF subflow). \
            LAN UDP reaches the packet plane through NFQUEUE (cpe-net.sh --udp): each flow's first \
            datagram opens an MPTCP connection that starts with the PM block, EOL and the first \
            length-framed record (in the SYN; --no-udp-syn-data: after the handshake); replies come \
            back as datagrams from the original remote.
            Inbound (--inbound-listen, off by default): the concentrator opens an MPTCP \
            connection to the CPE when an Internet host reaches a pool port mapped to it; the CPE \
            reads the Internet host and the port from the PM block and connects to the LAN host \
            the port is forwarded to (--forward) from the Internet host's own address. Inbound \
            UDP the same way (protocol 17, records): a UDP socket bound to the Internet host's \
            address and port, connected to the LAN host (a udp forward, or the LAN endpoint of a \
            live UDP flow when the concentrator filters endpoint-independently); cpe-net.sh \
            --inbound-port delivers the LAN host's replies to it (--inbound-udp-mark).
            Exit status: 0 stopped by SIGINT/SIGTERM, 78 refused to start, 64 bad usage.
            """
    )

    @Option(help: "The concentrator's IPv4 MPTCP address, ADDRESS:PORT.")
    var concentrator: String?

    @Option(help: "The concentrator's IPv6 MPTCP address, [ADDRESS]:PORT (IPv6 LAN flows use it when given).")
    var concentrator6: String?

    @Option(name: .customLong("listen"), help: "Transparent (TPROXY target) listening address (repeatable).")
    var listenAddresses: [String] = ["0.0.0.0:7000", "[::]:7000"]

    @Option(help: "Put the LAN host's address and port in a PM source option: auto (TCP: IPv6 only; UDP: every flow, so a concentrator sharing IPv4 addresses gives each LAN socket one external address and port whatever the remote, RFC 4787 endpoint-independent mapping; it keys the mapping only, never the source), always, never (UDP over IPv4 then gets one external port per remote).")
    var sourceOption: String = "auto"

    @Flag(inversion: .prefixedNo,
          help: "Send the PM block, and the LAN host's first bytes when they are already there, as TCP Fast Open SYN data (the draft's way): the concentrator connects upstream while the handshake is still in flight. --no-syn-data sends them in the first segment after the handshake, one access round trip later. A concentrator on Linux 6.18 needs its SYN gate's window rewrite for SYN data (on by default in plainmode concentrator; see README).")
    var synData = true

    @Option(help: "PM option subtype (draft default 14, 0xE).")
    var subtype: UInt8 = PlainMode.defaultSubtype

    @Option(help: "Path of the control socket that `plainmode ctl` talks to.")
    var controlSocket = CPECommand.defaultControlSocket

    @OptionGroup(title: "UDP") var udp: CPEUDPOptions

    @OptionGroup(title: "Inbound connections") var inbound: CPEInboundOptions

    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        guard concentrator != nil || concentrator6 != nil else {
            throw ValidationError("give --concentrator ADDRESS:PORT (and/or --concentrator6)")
        }
        guard CPESettings.SourceOption(rawValue: sourceOption) != nil else {
            throw ValidationError("--source-option must be auto, always or never")
        }
        guard (0...15).contains(subtype) else { throw ValidationError("--subtype must be 0...15") }
    }

    func run() throws { try refusingToStart(start) }

    private func start() throws {
        let v4 = try concentrator.map { try parseSocketAddresses([$0], flag: "--concentrator")[0] }
        let v6 = try concentrator6.map { try parseSocketAddresses([$0], flag: "--concentrator6")[0] }
        let listen = try parseSocketAddresses(listenAddresses, flag: "--listen")
        let (inboundListen, inboundSettings) = try inboundParts(concentrators: [v4, v6].compactMap { $0 })
        let lanEndpoints = inboundSettings?.liveUDPEndpoints
        try StartupChecks.requireNetAdmin(role: "CPE")
        try StartupChecks.requireFastOpen(bit: 0x1, role: "CPE")
        if !inboundListen.isEmpty { try StartupChecks.requireFastOpen(bit: 0x2, role: "CPE with --inbound-listen") }
        try StartupChecks.requireMPTCP()

        Signals.prepareDaemon()
        Privileges.raiseDescriptorLimit()
        let logger = daemon.makeLogger(label: "plainmode.cpe")
        let source = CPESettings.SourceOption(rawValue: sourceOption) ?? .auto
        var settings = CPESettings(concentratorIPv4: v4, concentratorIPv6: v6, sourceOption: source, subtype: subtype,
                                   blockInSYN: synData)
        settings.inbound = inboundSettings
        let datagrams = try udp.startService(concentratorIPv4: v4, concentratorIPv6: v6, sourceIPv4: source != .never,
                                             sourceIPv6: source != .never, subtype: subtype, lanEndpoints: lanEndpoints,
                                             logger: logger)
        defer { datagrams?.stop() }
        let pcp = try startPCP(concentrator: v4 ?? v6, forwards: inboundSettings?.forwards, logger: logger)
        defer { pcp?.stop() }
        if datagrams == nil && !inboundListen.isEmpty {
            // The queue workers lower the window of inbound SYNs (cpe-net.sh --inbound-port queues them).
            logger.warning("--no-udp: no queue worker lowers the window of inbound SYNs; on Linux 6.18 transfers towards the concentrator can stall (FACTS.md 7)")
        }
        try serve(.cpe(settings), listen: listen, inbound: inboundListen, daemon: daemon, tuning: daemon.tuning(), logger: logger,
                  controlSocket: controlSocket,
                  banner: "CPE listening on \(listen.map(\.description).joined(separator: ", ")); concentrator \(v4?.description ?? "-") \(v6?.description ?? "-")"
                      + Self.inboundBanner(inboundListen, inboundSettings),
                  metrics: { plane in
                      DaemonMetrics.snapshot(totals: Self.statTotals(plane, datagrams, pcp),
                                             netstat: KernelCounters.readGroups())
                  }) { plane, request in
            let parts = request.split(separator: " ")
            let json = parts.count > 1 && parts[1] == "json"
            switch parts.first {
            case "stats":
                return renderStats(Self.statTotals(plane, datagrams, pcp), json: json)
            case "bindings": return json ? "{\"bindings\":[],\"leases\":[]}\n" : "the CPE keeps no bindings\n"
            case "mappings": return Self.renderForwards(inboundSettings?.forwards.forwards ?? [], json: json)
            default: return "unknown request \(request.jsonQuoted); try stats, bindings or mappings\n"
            }
        }
    }

    /// The CPE's PCP side (`CPEPCPService`) when --forward or --pcp-listen need it: grants go into
    /// Every `ctl stats` line and metric: the relay loops' (their UDP counters are the inbound UDP
    /// flows', named inbound_udp_*), the queue workers' (bonded LAN UDP) and the PCP client's.
    private static func statTotals(_ plane: StreamPlaneService, _ datagrams: CPEDatagramService?, _ pcp: CPEPCPService?) -> [StatTotal] {
        let inboundUDP = plane.udpCounterTotals().map { total in
            var total = total
            total.name = "inbound_" + total.name
            return total
        }
        return plane.counterTotals() + inboundUDP + (datagrams?.counterTotals() ?? []) + (pcp?.counterTotals() ?? [])
    }

    /// The inbound listeners and settings; new remotes of the concentrator's endpoint-independent
    /// mappings reach the LAN endpoints of live UDP flows (kept by the queue workers).
    private func inboundParts(concentrators: [SocketAddress]) throws -> (listen: [SocketAddress], settings: CPEInboundSettings?) {
        var (listen, settings) = try inbound.settings(concentrators: concentrators, subtype: subtype)
        if udp.udp { settings?.liveUDPEndpoints = UDPLANEndpoints() }
        settings?.udpBacklog = udp.udpFlows.udpBacklog
        return (listen, settings)
    }

    /// `forwards`, the inbound connections' table.
    private func startPCP(concentrator: SocketAddress?, forwards: PortForwardTable?, logger: Logger) throws -> CPEPCPService? {
        guard inbound.usesPCP, let forwards else { return nil }
        let server: SocketAddress
        if let text = inbound.pcpServer {
            server = try parsePCPAddresses([text], flag: "--pcp-server")[0]
        } else {
            guard let concentrator else { throw StartupRefusal("--forward over PCP needs --pcp-server or --concentrator") }
            server = SocketAddress(concentrator.address, port: PCP.serverPort)
        }
        let lanListen = try parsePCPAddresses(inbound.pcpListen, flag: "--pcp-listen")
        let statics = try inbound.parsedForwards().map { forward in
            CPEMappings.StaticForward(protocolNumber: forward.transport.rawValue, suggestedExternalPort: forward.externalPorts.lowerBound,
                                      portCount: UInt16(forward.externalPorts.count), host: forward.internal.address, port: forward.internal.port)
        }
        let service: CPEPCPService
        do {
            service = try CPEPCPService(server: server, lanListen: lanListen, forwards: statics, forwardLifetime: inbound.pcpLifetime,
                                        maximumLANMappings: inbound.pcpMaximumLANMappings, apply: { output in
                Self.apply(output, to: forwards, logger: logger)
            }, logger: logger)
        } catch {
            throw StartupRefusal("PCP: \(error) (--pcp-server \(server), --pcp-listen \(lanListen.map(\.description).joined(separator: " ")))")
        }
        service.start()
        let lan = lanListen.isEmpty ? "" : "; answering the LAN on \(lanListen.map(\.description).joined(separator: ", "))"
        logger.notice("PCP: \(statics.count) forwards asked for at \(server)\(lan)")
        return service
    }

    /// A grant becomes a forward of the inbound table; one that ended leaves it.
    private static func apply(_ output: CPEMappings.Output, to table: PortForwardTable, logger: Logger) {
        switch output {
        case let .forward(protocolNumber, ports, host, firstPort):
            guard let transport = TransportProtocol(rawValue: protocolNumber) else { return }
            table.remove(transport, externalPorts: ports)
            do {
                try table.add(try PortForward(transport: transport, externalPorts: ports, internal: Endpoint(address: host, port: firstPort)))
                logger.notice("forwarding \(transport) \(ports.lowerBound)-\(ports.upperBound) to \(Endpoint(address: host, port: firstPort))")
            } catch {
                logger.warning("cannot forward \(transport) \(ports.lowerBound)-\(ports.upperBound): \(error)")
            }
        case let .unforward(protocolNumber, ports):
            guard let transport = TransportProtocol(rawValue: protocolNumber) else { return }
            table.remove(transport, externalPorts: ports)
            logger.notice("no longer forwarding \(transport) \(ports.lowerBound)-\(ports.upperBound)")
        default:
            break
        }
    }

    /// `ctl mappings` on the CPE: its forwards.
    private static func renderForwards(_ forwards: [PortForward], json: Bool) -> String {
        if json {
            let items = forwards.map { f in
                "{\"protocol\":\"\(f.transport)\",\"first_port\":\(f.externalPorts.lowerBound),\"last_port\":\(f.externalPorts.upperBound),"
                    + "\"internal\":\(f.internal.description.jsonQuoted)}"
            }
            return "{\"forwards\":[" + items.joined(separator: ",") + "]}\n"
        }
        return (["\(forwards.count) forwards"] + forwards.map(\.description)).joined(separator: "\n") + "\n"
    }

    /// "; inbound on ADDR:PORT from PREFIX..., forwards F..." or nothing without inbound listeners.
    private static func inboundBanner(_ listen: [SocketAddress], _ settings: CPEInboundSettings?) -> String {
        guard let settings else { return "" }
        let forwards = settings.forwards.forwards
        return "; inbound on \(listen.map(\.description).joined(separator: ", ")) from "
            + settings.allowedSources.map(\.description).joined(separator: " ") + "; forwards "
            + (forwards.isEmpty ? "none" : forwards.map(\.description).joined(separator: " "))
    }
}
