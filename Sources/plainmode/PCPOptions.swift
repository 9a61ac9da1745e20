import ArgumentParser
import PCP
import Syscalls
import WireFormat

/// The concentrator's PCP server flags (RFC 6887 MAP with RFC 7753 PORT_SET): off unless
/// --pcp-listen names an address.
struct PCPOptions: ParsableArguments {
    @Option(name: .customLong("pcp-listen"),
            help: ArgumentHelp("Answer PCP (RFC 6887 MAP, ANNOUNCE; RFC 7753 PORT_SET) on this customer-facing address, ADDRESS or ADDRESS:PORT (default port 5351; repeatable; IPv6 as [ADDRESS]:PORT). Only sources inside --allow are answered; a mapping's ports come from its subscriber's own port set. Off unless given. Give the addresses the CPEs reach; a wildcard is refused, as answers must leave from the address asked.", valueName: "address"))
    var listen: [String] = []

    @Option(name: .customLong("pcp-min-lifetime"), help: "Seconds: shorter requested mapping lifetimes are raised to this (RFC 6887 section 15 suggests 120).")
    var minimumLifetime: UInt32 = 120

    @Option(name: .customLong("pcp-max-lifetime"), help: "Seconds: longer requested mapping lifetimes are lowered to this (RFC 6887 section 15: 24 hours when unbounded).")
    var maximumLifetime: UInt32 = 86400

    @Option(name: .customLong("pcp-max-mappings"), help: "Mappings one subscriber may hold at once (a PORT_SET mapping counts once); beyond, USER_EX_QUOTA.")
    var maximumMappings = 16

    @Option(name: .customLong("pcp-rate-limit"), help: "PCP requests per second one subscriber may send (bursts of twice that); beyond, requests are dropped unanswered and counted (pcp_rate_limited).")
    var requestsPerSecond: Double = 10

    func validate() throws {
        _ = try addresses()
        guard minimumLifetime >= 1, minimumLifetime <= maximumLifetime else {
            throw ValidationError("--pcp-min-lifetime must be at least 1 and at most --pcp-max-lifetime")
        }
        guard maximumMappings >= 1 else { throw ValidationError("--pcp-max-mappings must be at least 1") }
        guard requestsPerSecond > 0 else { throw ValidationError("--pcp-rate-limit must be positive") }
    }

    /// The --pcp-listen addresses, port 5351 where none is given.
    func addresses() throws -> [SocketAddress] {
        try parsePCPAddresses(listen, flag: "--pcp-listen")
    }
}

/// PCP addresses as the flags of both roles take them: ADDRESS, ADDRESS:PORT or [IPv6]:PORT, the
/// PCP server port (5351) where none is given.
func parsePCPAddresses(_ texts: [String], flag: String) throws -> [SocketAddress] {
    try texts.map { text in
        let parsed: SocketAddress
        if let address = SocketAddress(parsing: text) {
            parsed = address
        } else {
            let bare = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
            guard let address = IPAddress(bare) else {
                throw ValidationError("\(flag) \(text): expected ADDRESS or ADDRESS:PORT, e.g. 198.51.100.1, 198.51.100.1:5351 or [2001:db8::1]:5351")
            }
            parsed = SocketAddress(address, port: PCP.serverPort)
        }
        // A wildcard socket answers from whichever address routing picks, and PCP clients drop
        // answers from any address but the one they asked (a connected client never sees them).
        guard parsed.address.forbiddenKind != .unspecified else {
            throw ValidationError("\(flag) \(text): a wildcard address; name the address itself (PCP answers must come from the address the request was sent to)")
        }
        return parsed
    }
}
