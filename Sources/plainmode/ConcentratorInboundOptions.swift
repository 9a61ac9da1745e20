import ArgumentParser
import Syscalls

/// The concentrator's inbound flags (draft 4.4.2): where TPROXY hands it the Internet's
/// connections to pool addresses, and where it reaches the CPEs.
struct ConcentratorInboundOptions: ParsableArguments {
    @Option(name: .customLong("inbound-listen"),
            help: ArgumentHelp("A transparent TCP listener, ADDRESS:PORT, that concentrator-net.sh --inbound sends the Internet's TCP connections to pool addresses to (TPROXY; repeatable; off unless given). Each is relayed to the CPE whose mapping holds the pool address and port, over an MPTCP connection that names the Internet host in its PM block; an unmapped one is reset and counted (inbound_refused_unmapped). Mappings come from the PCP server.", valueName: "addr:port"))
    var listen: [String] = []

    @Option(help: "The port of the CPEs' inbound MPTCP listeners (plainmode cpe --inbound-listen), for inbound TCP connections and for inbound UDP: an Internet datagram to a PCP-mapped UDP port (or, with --udp-filtering endpoint, from a new remote of a mapping) that no binding takes opens an MPTCP connection there, with the datagram as SYN data; UDP needs no --inbound-listen here, the packet plane takes it (concentrator-net.sh --udp).")
    var cpeInboundPort: UInt16 = 7600

    func validate() throws {
        _ = try addresses()
        guard cpeInboundPort != 0 else { throw ValidationError("--cpe-inbound-port must be 1...65535") }
    }

    func addresses() throws -> [SocketAddress] { try parseSocketAddresses(listen, flag: "--inbound-listen") }
}
