#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PlainModeTools
import PortSets
import Testing

/// The JSON shape scripts read, decoded back so the tests check values rather than whitespace.
private struct DecodedPSIDReport: Decodable {
    struct Geometry: Decodable { let offset: Int; let psidLength: Int; let contiguousBits: Int }
    struct Range: Decodable, Equatable { let first: Int; let last: Int }
    let geometry: Geometry
    let psid: Int
    let psidHex: String
    let portCount: Int
    let rangeCount: Int
    let portsPerRange: Int
    let ranges: [Range]
    let holdsSystemPorts: Bool
    let portParamsOption: String
}

private struct DecodedPortLookup: Decodable {
    struct Range: Decodable, Equatable { let first: Int; let last: Int }
    let port: Int
    let status: String
    let psid: Int?
    let psidHex: String?
    let range: Range
}

private struct DecodedSummary: Decodable {
    struct Range: Decodable, Equatable { let first: Int; let last: Int }
    let psidCount: Int
    let portsPerPSID: Int
    let rangesPerPSID: Int
    let portsPerRange: Int
    let excludedPortCount: Int
    let excludedPorts: Range?
    let excludedPSIDCount: Int
    let allocatablePSIDCount: Int
}

private func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
    try JSONDecoder().decode(type, from: Data(json.utf8))
}

/// Top-level keys in the order they appear, to check the encoder sorted them.
private func topLevelKeys(_ json: String) -> [String] {
    json.split(separator: "\n")
        .filter { $0.hasPrefix("  \"") }
        .compactMap { $0.dropFirst(3).split(separator: "\"").first.map(String.init) }
}

@Suite("plainmode portset: --psid")
struct PSIDReportTests {
    @Test("RFC 7597 Appendix A (a=6, k=8, PSID 0x34): 63 ranges of 4 from 1232-1235 to 64720-64723")
    func appendixAText() throws {
        let request = try PortSetRequest(offset: 6, psidLength: 8, question: .psid(0x34))
        let lines = request.text().split(separator: "\n").map(String.init)
        #expect(lines[0] == "PSID 0x34 (52), offset a=6, PSID length k=8 (m=2)")
        #expect(lines[1] == "Ports: 252 in 63 ranges of 4")
        #expect(lines[2] == "Ranges:")
        #expect(lines[3] == "  1232-1235")
        #expect(lines[4] == "  2256-2259")
        #expect(lines[65] == "  64720-64723")
        #expect(lines[66] == "OPTION_V4_PORTPARAMS (DHCPv4 option 159): 9F 04 06 08 34 00")
        #expect(lines.count == 67)
        #expect(!request.text().contains("Warning"))
    }

    @Test("a=0, k=8, PSID 0x34 as exact text: one block 13312-13567")
    func offsetZeroExactText() throws {
        let request = try PortSetRequest(offset: 0, psidLength: 8, question: .psid(0x34))
        #expect(request.text() == """
            PSID 0x34 (52), offset a=0, PSID length k=8 (m=8)
            Ports: 256 in 1 range of 256
            Ranges:
              13312-13567
            OPTION_V4_PORTPARAMS (DHCPv4 option 159): 9F 04 00 08 34 00
            """)
    }

    @Test("a=0, k=8, PSID 0x03 (768-1023) carries the do-not-allocate warning")
    func systemPortWarning() throws {
        let text = try PortSetRequest(offset: 0, psidLength: 8, question: .psid(3)).text()
        #expect(text.contains("  768-1023"))
        #expect(text.contains("Warning: this PSID holds system ports (0-1023); do not allocate it"))
    }

    @Test("JSON for a=6, k=6, PSID 0x34: 63 ranges, 1008 ports, option 9F 04 06 06 D0 00, sorted keys")
    func psidJSON() throws {
        let json = try PortSetRequest(offset: 6, psidLength: 6, question: .psid(0x34)).json()
        let report = try decode(DecodedPSIDReport.self, json)
        #expect(report.geometry.offset == 6 && report.geometry.psidLength == 6 && report.geometry.contiguousBits == 4)
        #expect(report.psid == 52 && report.psidHex == "0x34")
        #expect(report.portCount == 1008 && report.rangeCount == 63 && report.portsPerRange == 16)
        #expect(report.ranges.count == 63)
        #expect(report.ranges.first == .init(first: 1856, last: 1871))
        #expect(report.ranges.dropFirst().first == .init(first: 2880, last: 2895))
        #expect(report.ranges.last == .init(first: 65344, last: 65359))
        #expect(!report.holdsSystemPorts)
        #expect(report.portParamsOption == "9F 04 06 06 D0 00")
        let keys = topLevelKeys(json)
        #expect(keys.count == 9)
        #expect(keys == keys.sorted())
    }
}

@Suite("plainmode portset: --port")
struct PortLookupReportTests {
    @Test("port 1234 (a=6, k=8) is PSID 0x34, range 1232-1235")
    func allocatablePort() throws {
        let request = try PortSetRequest(offset: 6, psidLength: 8, question: .port(1234))
        #expect(request.text() == "Port 1234 belongs to PSID 0x34 (52) with offset a=6, PSID length k=8, in range 1232-1235.")
        let lookup = try decode(DecodedPortLookup.self, request.json())
        #expect(lookup.port == 1234 && lookup.status == "allocatable")
        #expect(lookup.psid == 52 && lookup.psidHex == "0x34")
        #expect(lookup.range == .init(first: 1232, last: 1235))
    }

    @Test("port 80 with a=6 belongs to no PSID; JSON says excludedByOffset and has no psid key")
    func excludedByOffset() throws {
        let request = try PortSetRequest(offset: 6, psidLength: 6, question: .port(80))
        #expect(request.text() == "Port 80 is excluded: with offset a=6, PSID length k=6, ports 0-1023 belong to no PSID.")
        let json = request.json()
        let lookup = try decode(DecodedPortLookup.self, json)
        #expect(lookup.status == "excludedByOffset")
        #expect(lookup.psid == nil && lookup.psidHex == nil)
        #expect(lookup.range == .init(first: 0, last: 1023))
        #expect(!json.contains("\"psid\""))
    }

    @Test("port 80 with a=0, k=8 is PSID 0, which holds system ports")
    func systemPortPSID() throws {
        let request = try PortSetRequest(offset: 0, psidLength: 8, question: .port(80))
        let text = request.text()
        #expect(text.hasPrefix("Port 80 belongs to PSID 0x00 (0) with offset a=0, PSID length k=8, in range 0-255."))
        #expect(text.contains("Warning: that PSID holds system ports"))
        #expect(try decode(DecodedPortLookup.self, request.json()).status == "systemPorts")
    }

    @Test("every port's reported range holds the port and belongs to the reported PSID, a=5, k=7")
    func rangeAgreesWithGeometry() throws {
        let geometry = try PSIDGeometry(offset: 5, psidLength: 7)
        for port in stride(from: 0, through: 65535, by: 97) {
            let report = PortLookupReport(port: UInt16(port), geometry: geometry)
            #expect(report.range.first <= port && port <= report.range.last)
            if let psid = report.psid {
                let ranges = try geometry.ranges(of: UInt16(psid)).map(PortRangeJSON.init)
                #expect(ranges.contains(report.range), "port \(port)")
            } else {
                #expect(port < 2048)
            }
        }
    }
}

@Suite("plainmode portset: --summary")
struct GeometrySummaryReportTests {
    @Test("a=6, k=6: 64 PSIDs of 1008 ports, 0-1023 excluded, all 64 allocatable")
    func defaultOffsetSummary() throws {
        let request = try PortSetRequest(offset: 6, psidLength: 6, question: .summary)
        #expect(request.text() == """
            Geometry: offset a=6, PSID length k=6, contiguous bits m=4
            PSIDs: 64 (sharing ratio 1:64)
            Ports per PSID: 1008 (63 ranges of 16)
            Excluded ports: 1024 (0-1023 belong to no PSID)
            PSIDs holding system ports (0-1023), not allocatable: 0
            Allocatable PSIDs: 64
            """)
        let summary = try decode(DecodedSummary.self, request.json())
        #expect(summary.psidCount == 64 && summary.portsPerPSID == 1008)
        #expect(summary.rangesPerPSID == 63 && summary.portsPerRange == 16)
        #expect(summary.excludedPortCount == 1024 && summary.excludedPorts == .init(first: 0, last: 1023))
        #expect(summary.excludedPSIDCount == 0 && summary.allocatablePSIDCount == 64)
    }

    @Test("a=0, k=8: no excluded ports, PSIDs 0-3 hold system ports, 252 allocatable")
    func offsetZeroSummary() throws {
        let request = try PortSetRequest(offset: 0, psidLength: 8, question: .summary)
        let text = request.text()
        #expect(text.contains("Excluded ports: 0 (offset 0: every port belongs to a PSID)"))
        #expect(text.contains("PSIDs holding system ports (0-1023), not allocatable: 4"))
        #expect(text.contains("Allocatable PSIDs: 252"))
        let json = request.json()
        let summary = try decode(DecodedSummary.self, json)
        #expect(summary.excludedPorts == nil && summary.excludedPortCount == 0)
        #expect(summary.excludedPSIDCount == 4 && summary.allocatablePSIDCount == 252)
        #expect(topLevelKeys(json) == topLevelKeys(json).sorted())
    }
}

@Suite("plainmode portset: input checks")
struct PortSetRequestInputTests {
    @Test("numbers are decimal or 0x-hex; anything else is rejected")
    func parseNumber() {
        #expect(PortSetReport.parseNumber("52") == 52)
        #expect(PortSetReport.parseNumber("0x34") == 52)
        #expect(PortSetReport.parseNumber("0X34") == 52)
        #expect(PortSetReport.parseNumber("0xffff") == 65535)
        #expect(PortSetReport.parseNumber("0") == 0)
        for bad in ["", "0x", "-1", "+5", "0x-1", "12ab", "0xzz", " 5", "5 ", "1_000", "99999999999999999999"] {
            #expect(PortSetReport.parseNumber(bad) == nil, "\(bad)")
        }
    }

    @Test("a bad offset names --offset and the allowed range")
    func badOffset() {
        #expect(throws: PortSetRequestError.self) { try PortSetRequest(offset: 16, psidLength: 0, question: .summary) }
        do {
            _ = try PortSetRequest(offset: 16, psidLength: 0, question: .summary)
        } catch {
            #expect(error.description.hasPrefix("--offset/--psid-length: PSID offset 16 is out of range"))
            #expect(error.description.contains("between 0 and 15"))
        }
    }

    @Test("a + k > 16 names both flags and the fix")
    func tooWide() {
        do {
            _ = try PortSetRequest(offset: 6, psidLength: 11, question: .summary)
            Issue.record("a=6, k=11 was accepted")
        } catch {
            #expect(error.description.contains("--offset/--psid-length"))
            #expect(error.description.contains("add up to at most 16"))
        }
    }

    @Test("a PSID beyond 2^k - 1 names --psid and the allowed range")
    func badPSID() {
        do {
            _ = try PortSetRequest(offset: 6, psidLength: 6, question: .psid(64))
            Issue.record("PSID 64 with k=6 was accepted")
        } catch {
            #expect(error.description.hasPrefix("--psid: "))
            #expect(error.description.contains("between 0 and 63"))
        }
    }

    @Test("a port above 65535 names --port and the allowed range")
    func badPort() {
        do {
            _ = try PortSetRequest(offset: 6, psidLength: 6, question: .port(65536))
            Issue.record("port 65536 was accepted")
        } catch {
            #expect(error.description == "--port: 65536 is not a port: use a port between 0 and 65535.")
        }
    }

    @Test("hex helpers pad bytes and upper-case digits")
    func hexHelpers() {
        #expect(PlainModeTools.hex([0x9F, 0x04, 0x00, 0x0A]) == "9F 04 00 0A")
        #expect(PortSetReport.hex(0xD0) == "0x00D0")
        #expect(PortSetReport.hex(3, bits: 8) == "0x03")
        #expect(PortSetReport.hex(0x34, bits: 6) == "0x34")
        #expect(PortSetReport.hex(0, bits: 0) == "0x0")
        #expect(PortSetReport.hex(1, bits: 1) == "0x1")
    }
}
