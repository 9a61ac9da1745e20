import ArgumentParser
import BindingState
import PlainMode
import StreamPlane
import Syscalls
import WireFormat

/// The CPE's inbound flags (draft 4.4.2): MPTCP listeners the concentrator opens inbound
/// connections to, who may open them, and which LAN host each external port goes to.
struct CPEInboundOptions: ParsableArguments {
    @Option(name: .customLong("inbound-listen"),
            help: ArgumentHelp("An MPTCP listener for inbound connections, ADDRESS:PORT on a WAN address (repeatable; off unless given). The concentrator connects to the CPE's address at --cpe-inbound-port (default 7600) when an Internet host reaches a mapped pool port, with the Internet host and the mapped port in a PM block sent as SYN data (TCP Fast Open without cookie: needs net.ipv4.tcp_fastopen bit 0x2, set by cpe-net.sh --inbound-port). Listen on every WAN address (or 0.0.0.0:PORT): the concentrator's extra subflows join the address cpe-net.sh --inbound-port announces.", valueName: "addr:port"))
    var listen: [String] = []

    @Option(name: .customLong("inbound-allow"),
            help: ArgumentHelp("A source prefix inbound connections may come from (repeatable). Default: the addresses of --concentrator and --concentrator6 only. Any other source is reset and counted (inbound_refused_source).", valueName: "prefix"))
    var allow: [String] = []

    @Option(name: .customLong("forward"),
            help: ArgumentHelp("A static forward, EXTPORT/PROTO=HOST:PORT or FIRST-LAST/PROTO=HOST:PORT (repeatable), e.g. 8080/tcp=192.0.2.2:80: an inbound connection (tcp) or UDP flow (udp) to external port EXTPORT goes to HOST:PORT (a range to HOST:PORT+i), which sees the Internet host's own address and port. The external port must be one the concentrator maps to this CPE. UDP forwards need cpe-net.sh --inbound-port (its socket rule takes the LAN host's replies). Needs --inbound-listen.", valueName: "forward"))
    var forwards: [String] = []

    @Option(name: .customLong("pcp-server"),
            help: ArgumentHelp("The concentrator's PCP server, ADDRESS[:PORT] (default: the --concentrator address, port 5351). Each --forward is asked for there as a PCP MAP (RFC 6887, RFC 7753 PORT_SET for a range) and renewed while the CPE runs; the port the concentrator grants, not necessarily EXTPORT, is the one forwarded.", valueName: "addr[:port]"))
    var pcpServer: String?

    @Option(name: .customLong("pcp-listen"),
            help: ArgumentHelp("Answer PCP from the LAN on ADDRESS[:PORT] (repeatable, default port 5351; off unless given): a LAN host's MAP is asked for at the concentrator as the CPE's own (RFC 7648 proxy) and the granted ports are forwarded to that host. Needs --inbound-listen.", valueName: "addr[:port]"))
    var pcpListen: [String] = []

    @Option(name: .customLong("pcp-lifetime"), help: ArgumentHelp("Lifetime asked for each --forward's mapping, seconds (renewed at half of it).", valueName: "seconds"))
    var pcpLifetime: UInt32 = 7200

    @Option(name: .customLong("pcp-max-lan-mappings"), help: ArgumentHelp("LAN mappings the CPE proxies at most (each counts against the subscriber's --pcp-max-mappings at the concentrator).", valueName: "count"))
    var pcpMaximumLANMappings = 64

    @Option(name: .customLong("inbound-udp-mark"),
            help: ArgumentHelp("Firewall mark (SO_MARK) of the UDP sockets that deliver inbound UDP flows to LAN hosts; must match cpe-net.sh --inbound-udp-mark, whose socket rule delivers the LAN host's replies to the socket carrying it (outbound flows' sockets carry none: their LAN datagrams stay with the queues). A bit the routing mark (cpe-net.sh --mark) does not use.", valueName: "mark"))
    var inboundUDPMark = "0x4000"

    @Flag(name: .customLong("no-pcp"),
          help: "Use each --forward as given, without asking the concentrator: EXTPORT must be mapped to this CPE some other way.")
    var noPCP = false

    /// Whether the forwards go through the concentrator's PCP server.
    var usesPCP: Bool { !noPCP && (!forwards.isEmpty || !pcpListen.isEmpty) }

    func validate() throws {
        if noPCP && !pcpListen.isEmpty { throw ValidationError("--pcp-listen proxies to the concentrator's PCP server: not with --no-pcp") }
        guard (120...86_400).contains(pcpLifetime) else { throw ValidationError("--pcp-lifetime must be 120...86400 seconds") }
        guard (1...4096).contains(pcpMaximumLANMappings) else { throw ValidationError("--pcp-max-lan-mappings must be 1...4096") }
        _ = try parsePCPAddresses(pcpListen, flag: "--pcp-listen")
        _ = try parsePCPAddresses(pcpServer.map { [$0] } ?? [], flag: "--pcp-server")
        if listen.isEmpty && !(allow.isEmpty && forwards.isEmpty && pcpListen.isEmpty) {
            throw ValidationError("--forward, --pcp-listen and --inbound-allow need --inbound-listen (where the concentrator connects to)")
        }
        _ = try parseSocketAddresses(listen, flag: "--inbound-listen")
        _ = try allowedPrefixes(concentrators: [])
        _ = try forwardTable()
        _ = try parsedInboundUDPMark()
    }

    func parsedInboundUDPMark() throws -> UInt32 {
        let value = inboundUDPMark.hasPrefix("0x") ? UInt32(inboundUDPMark.dropFirst(2), radix: 16) : UInt32(inboundUDPMark)
        guard let value, value != 0 else { throw ValidationError("--inbound-udp-mark \(inboundUDPMark): expected a non-zero number such as 0x4000") }
        return value
    }

    func allowedPrefixes(concentrators: [SocketAddress]) throws -> [IPPrefix] {
        if allow.isEmpty {
            return concentrators.compactMap { try? IPPrefix(network: $0.address, length: $0.address.isIPv4 ? 32 : 128) }
        }
        return try allow.map { text in
            do { return try IPPrefix(text) } catch { throw ValidationError("--inbound-allow \(text): \(error)") }
        }
    }

    /// The forwards as given, checked (and checked not to overlap).
    func parsedForwards() throws -> [PortForward] {
        let table = PortForwardTable()
        return try forwards.map { text in
            let forward: PortForward
            do { forward = try PortForward(parsing: text) } catch { throw ValidationError("--forward \(text): \(error)") }
            do { try table.add(forward) } catch { throw ValidationError("--forward \(text): \(error)") }
            return forward
        }
    }

    /// With --no-pcp the forwards as given; with PCP an empty table the grants fill.
    func forwardTable() throws -> PortForwardTable {
        let forwards = try parsedForwards()
        return usesPCP ? PortForwardTable() : try PortForwardTable(forwards)
    }

    /// The listeners and the inbound settings; nil settings without --inbound-listen.
    func settings(concentrators: [SocketAddress], subtype: UInt8) throws -> (listen: [SocketAddress], settings: CPEInboundSettings?) {
        guard !listen.isEmpty else { return ([], nil) }
        let settings = CPEInboundSettings(policy: .inbound(subtype: subtype, enabledProtocols: [IPProtocolNumber.tcp, IPProtocolNumber.udp]),
                                          allowedSources: try allowedPrefixes(concentrators: concentrators),
                                          forwards: try forwardTable(), udpSocketMark: try parsedInboundUDPMark())
        return (try parseSocketAddresses(listen, flag: "--inbound-listen"), settings)
    }
}
