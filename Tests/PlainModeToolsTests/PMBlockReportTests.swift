import Foundation
import Testing
import PlainMode
import PlainModeTools

@Suite struct PMBlockReportTests {
    @Test func hexInputAcceptsOperatorForms() {
        #expect(PlainModeTools.bytes(fromHex: "1E 0A e0:06,0xC0 0x00\n02-01") == [0x1E, 0x0A, 0xE0, 0x06, 0xC0, 0x00, 0x02, 0x01])
        #expect(PlainModeTools.bytes(fromHex: "1E0") == nil)
        #expect(PlainModeTools.bytes(fromHex: "1G") == nil)
        #expect(PlainModeTools.hex([0x1E, 0x0A, 0x00]) == "1E 0A 00")
    }

    @Test func udpSynPayloadShowsOptionAndDatagram() throws {
        let bytes = try #require(PlainModeTools.bytes(fromHex:
            "1E 16 E0 11 20 01 0D B8 00 00 00 00 00 00 00 00 00 00 00 01 00 35 00 00 05 68 65 6C 6C 6F"))
        let document = PMBlockReport.decode(bytes)
        #expect(document.problem == nil)
        #expect(document.blockLength == 23)
        let option = try #require(document.options?.first)
        #expect(option.direction == "destination" && option.address == "2001:db8::1" && option.port == 53)
        #expect(option.protocolName == "UDP" && option.subtype == "0xE")
        #expect(document.udpRecords?.map(\.length) == [5] && document.udpRecords?.first?.hex == "68 65 6C 6C 6F")
        #expect(document.text.contains("destination: 2001:db8::1 port 53, protocol UDP (17)"))
        #expect(document.text.contains("UDP datagram 1: 5 bytes: 68 65 6C 6C 6F"))
        let decoded = try JSONDecoder().decode(PMBlockReportDocument.self, from: Data(document.json().utf8))
        #expect(decoded == document)
    }

    @Test func tcpBlockShowsTrailingData() throws {
        let bytes = try #require(PlainModeTools.bytes(fromHex: "1E 08 E8 06 C6 33 64 07 1E 0A E0 06 C0 00 02 01 01 BB 00 47 45 54"))
        let document = PMBlockReport.decode(bytes)
        #expect(document.options?.map(\.direction) == ["source", "destination"])
        #expect(document.trailingBytes == 3 && document.trailingHex == "47 45 54")
        #expect(document.udpRecords == nil)
    }

    @Test func refusedBlockNamesTheReason() {
        let document = PMBlockReport.decode([0x1E, 0x0A, 0xE0, 0x06, 0x7F, 0, 0, 1, 0x01, 0xBB, 0])
        #expect(document.problem?.reason == "PM destination address is loopback")
        #expect(document.text.contains("refused: PM destination address is loopback"))
        #expect(PMBlockReport.decode([0x1E, 0x0A, 0xE0]).problem?.reason == "PM block ends before its EOL")
    }

    @Test func oversizedUDPRecordIsAProblem() {
        // A UDP block followed by a record announcing 65535 bytes: over the default IPv4 maximum.
        let block = PlainModeBlock(destination: PlainModeOption(direction: .destination, protocolNumber: 17,
                                                                address: .v4(.init(192, 0, 2, 1)), port: 53))
        let document = PMBlockReport.decode(block.encoded() + [0xFF, 0xFF, 1])
        #expect(document.problem?.error == "framing")
    }
}

/// The real binary, as operators run it: exit statuses and output.
@Suite struct CommandLineTests {
    static let binary: URL = {
        // The test bundle sits next to the products of the same build.
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return me.deletingLastPathComponent().appendingPathComponent("plainmode")
    }()

    static func run(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func decodePMBlockFromArgumentsAndStdin() throws {
        let args = try Self.run(["decode", "1E", "0A", "E0", "06", "C0", "00", "02", "01", "01", "BB", "00"])
        #expect(args.status == 0)
        #expect(args.output.contains("destination: 192.0.2.1 port 443, protocol TCP (6)"))
        let stdin = try Self.run(["decode", "--json"], input: "1E 0A E0 06 C0 00 02 01 01 BB 00\n")
        #expect(stdin.status == 0)
        #expect(stdin.output.contains("\"address\" : \"192.0.2.1\""))
    }

    @Test func decodeRefusalExitsOne() throws {
        let result = try Self.run(["decode", "1E0AE0067F00000101BB00"])
        #expect(result.status == 1)
        #expect(result.output.contains("loopback"))
    }

    @Test func decodePCPResponse() throws {
        let response = """
            02 81 00 00 00 00 1C 20 00 00 0E 10 00 00 00 00 00 00 00 00 00 00 00 00
            01 02 03 04 05 06 07 08 09 0A 0B 0C 11 00 00 00 C3 50 90 C0 00 00 00 00
            00 00 00 00 00 00 FF FF C0 00 02 03 82 00 00 05 00 20 C3 50 00 00 00 00
            """
        let result = try Self.run(["decode", response])
        #expect(result.status == 0)
        #expect(result.output.contains("192.0.2.3"))
        #expect(result.output.contains("37056"))
    }

    @Test func badHexIsAUsageError() throws {
        let result = try Self.run(["decode", "1E0"])
        #expect(result.status == 64)
        #expect(result.output.contains("not hex bytes"))
        #expect(try Self.run(["decode", "--subtype", "16", "00"]).status == 64)
    }

    @Test func portsetCalculator() throws {
        let psid = try Self.run(["portset", "--offset", "6", "--psid-length", "8", "--psid", "0x34"])
        #expect(psid.status == 0)
        #expect(psid.output.contains("1232-1235"))
        #expect(psid.output.contains("64720-64723"))
        #expect(psid.output.contains("252"))
        let port = try Self.run(["portset", "--offset", "6", "--psid-length", "8", "--port", "1233", "--json"])
        #expect(port.status == 0)
        #expect(port.output.contains("\"psid\" : 52"))
        let bad = try Self.run(["portset", "--offset", "10", "--psid-length", "8", "--summary"])
        #expect(bad.status == 64)
    }

    @Test func helpExplainsEveryFlag() throws {
        let result = try Self.run(["decode", "--help"])
        for flag in ["--format", "--json", "--subtype"] { #expect(result.output.contains(flag)) }
        #expect(try Self.run(["--help"]).output.contains("portset"))
    }
}
