import ArgumentParser
import PlainModeTools

/// `plainmode portset`: plan PSID port-set pools (RFC 7597 section 5.1, RFC 7618 option 159).
struct PortsetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portset",
        abstract: "Plan PSID port-set pools: the ports of a PSID, the PSID of a port, or a pool summary.",
        discussion: """
            A port splits into A (offset a bits) | PSID (k bits) | j (m = 16-a-k bits), as in \
            RFC 7597 section 5.1. Each PSID is one subscriber's share of a shared IPv4 address; \
            DHCPv4 hands it out in OPTION_V4_PORTPARAMS (option 159, RFC 7618).

            Examples:
              plainmode portset --psid-length 8 --psid 0x34   (RFC 7597 Appendix A)
              plainmode portset --psid-length 6 --port 1856
              plainmode portset --offset 0 --psid-length 8 --summary --json
            """
    )

    // Numbers take the next word unconditionally, so "-1" reaches parseOperatorNumber and gets a
    // message naming the fix instead of ArgumentParser's "Missing value".
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "PSID offset a (0-15, default 6 as in RFC 7597): high port bits above the PSID. With a > 0, ports 0 to 2^(16-a)-1 belong to no PSID; 6 keeps 0-1023 out.",
            valueName: "a"
        ),
        transform: { try parseOperatorNumber($0, flag: "--offset", example: "6 or 0x6") }
    )
    var offset: Int = 6

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "PSID length k (0-16, with a + k <= 16): 2^k subscribers share one address. 0 means no sharing.",
            valueName: "k"
        ),
        transform: { try parseOperatorNumber($0, flag: "--psid-length", example: "8 or 0x8") }
    )
    var psidLength: Int

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Show the port ranges, port count and option 159 bytes of this PSID (0 to 2^k-1; decimal or 0x-hex).",
            valueName: "psid"
        ),
        transform: { try parseOperatorNumber($0, flag: "--psid", example: "52 or 0x34") }
    )
    var psid: Int?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Show which PSID this port (0-65535; decimal or 0x-hex) belongs to, or that no PSID holds it.",
            valueName: "port"
        ),
        transform: { try parseOperatorNumber($0, flag: "--port", example: "1232 or 0x4D0") }
    )
    var port: Int?

    @Flag(help: "Summarise the pool: PSIDs, ports per PSID, excluded ports and allocatable PSIDs.")
    var summary = false

    @Flag(help: "Print JSON with sorted keys instead of text, for scripts.")
    var json = false

    mutating func validate() throws {
        _ = try request()
    }

    func run() throws {
        let request = try request()
        print(json ? request.json() : request.text())
    }

    /// The checked request; every rejection becomes a ValidationError naming the flag to fix.
    private func request() throws(ValidationError) -> PortSetRequest {
        let question: PortSetQuestion
        switch (psid, port, summary) {
        case (let psid?, nil, false): question = .psid(psid)
        case (nil, let port?, false): question = .port(port)
        case (nil, nil, true): question = .summary
        default:
            throw ValidationError("Pass exactly one of --psid <psid>, --port <port> or --summary.")
        }
        do {
            return try PortSetRequest(offset: offset, psidLength: psidLength, question: question)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Parses decimal or 0x-hex, or names the accepted forms; ArgumentParser prefixes the flag and value.
private func parseOperatorNumber(_ text: String, flag: String, example: String) throws -> Int {
    guard let value = PortSetReport.parseNumber(text) else {
        throw ValidationError("\(flag) takes a non-negative decimal or 0x-hex number, such as \(example).")
    }
    return value
}
