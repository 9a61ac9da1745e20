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
            help: ArgumentHelp("A static forward, EXTPORT/PROTO=HOST:PORT or FIRST-LAST/PROTO=HOST:PORT (repeatable), e.g. 8080/tcp=192.0.2.2:80: an inbound connection to external port EXTPORT goes to HOST:PORT (a range to HOST:PORT+i), which sees the Internet host's own address and port. The external port must be one the concentrator maps to this CPE. TCP only for now. Needs --inbound-listen.", valueName: "forward"))
    var forwards: [String] = []

    func validate() throws {
        if listen.isEmpty && !(allow.isEmpty && forwards.isEmpty) {
            throw ValidationError("--forward and --inbound-allow need --inbound-listen (where the concentrator connects to)")
        }
        _ = try parseSocketAddresses(listen, flag: "--inbound-listen")
        _ = try allowedPrefixes(concentrators: [])
        _ = try forwardTable()
    }

    func allowedPrefixes(concentrators: [SocketAddress]) throws -> [IPPrefix] {
        if allow.isEmpty {
            return concentrators.compactMap { try? IPPrefix(network: $0.address, length: $0.address.isIPv4 ? 32 : 128) }
        }
        return try allow.map { text in
            do { return try IPPrefix(text) } catch { throw ValidationError("--inbound-allow \(text): \(error)") }
        }
    }

    func forwardTable() throws -> PortForwardTable {
        let table = PortForwardTable()
        for text in forwards {
            let forward: PortForward
            do { forward = try PortForward(parsing: text) } catch { throw ValidationError("--forward \(text): \(error)") }
            guard forward.transport == .tcp else {
                throw ValidationError("--forward \(text): inbound UDP is not relayed yet; forward TCP ports only")
            }
            do { try table.add(forward) } catch { throw ValidationError("--forward \(text): \(error)") }
        }
        return table
    }

    /// The listeners and the inbound settings; nil settings without --inbound-listen.
    func settings(concentrators: [SocketAddress], subtype: UInt8) throws -> (listen: [SocketAddress], settings: CPEInboundSettings?) {
        guard !listen.isEmpty else { return ([], nil) }
        let settings = CPEInboundSettings(policy: .inbound(subtype: subtype),
                                          allowedSources: try allowedPrefixes(concentrators: concentrators),
                                          forwards: try forwardTable())
        return (try parseSocketAddresses(listen, flag: "--inbound-listen"), settings)
    }
}
