import ArgumentParser
import PlainMode
import PlainModeTools

/// `plainmode decode`: hex from a capture or a log line, as readable text or JSON.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode a hex PM block (SYN data / stream start) or PCP message into readable text.",
        discussion: """
            Hex may contain spaces, colons, commas or 0x prefixes; pass it as arguments or on \
            standard input ("-" or nothing). The format is detected from the first byte \
            (0x1E or 0x00: PM block; 0x02: PCP version 2) unless --format says otherwise.
            Examples:
              plainmode decode 1E 0A E0 06 C0 00 02 01 01 BB 00
              plainmode decode --json < syn-payload.hex
            Exit status: 0 decoded, 1 the input is malformed or refused (the reason is printed), 64 bad usage.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case auto, pm, pcp
    }

    @Option(help: "What the bytes are: auto, pm (PM block with what follows) or pcp (RFC 6887 message).")
    var format: Format = .auto

    @Flag(help: "Print JSON (keys sorted) for scripts instead of text.")
    var json = false

    @Option(help: "PM option subtype the deployment uses (decimal or 0x-hex, 0-15).")
    var subtype: String = "0xE"

    @Argument(help: "Hex bytes; read from standard input when absent or \"-\".")
    var hex: [String] = []

    func run() throws {
        var text = hex.joined(separator: " ")
        if hex.isEmpty || hex == ["-"] {
            text = ""
            while let line = readLine() { text += line + " " }
        }
        guard let bytes = PlainModeTools.bytes(fromHex: text), !bytes.isEmpty else {
            throw ValidationError("input is not hex bytes (an even number of hex digits): \(text.prefix(60))")
        }
        guard let subtypeValue = PortSetReport.parseNumber(subtype), (0...15).contains(subtypeValue) else {
            throw ValidationError("--subtype must be 0-15 (e.g. 0xE), got \(subtype)")
        }
        let resolved = format == .auto ? (bytes[0] == 0x02 ? Format.pcp : Format.pm) : format
        switch resolved {
        case .pcp:
            let document = PCPReport.decode(bytes)
            print(json ? document.json() : document.text)
            if document.problem != nil { throw ExitCode.failure }
        default:
            let document = PMBlockReport.decode(bytes, policy: PlainModePolicy(subtype: UInt8(subtypeValue)))
            print(json ? document.json() : document.text)
            if document.problem != nil { throw ExitCode.failure }
        }
    }
}
