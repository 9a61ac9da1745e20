import Foundation
import PCP
import PlainModeTools
import Testing
import WireFormat

/// The PCP half of `plainmode decode`: text and JSON for requests, responses and malformed input.
@Suite("PCP report")
struct PCPReportTests {
    /// FACTS.md section 5: the RFC 7753 section 5.1 request and response.
    static let request = hex("""
        02 01 00 00 00 00 1C 20 00 00 00 00 00 00 00 00 00 00 FF FF C0 00 02 64
        01 02 03 04 05 06 07 08 09 0A 0B 0C 11 00 00 00 C3 50 00 00 00 00 00 00
        00 00 00 00 00 00 FF FF 00 00 00 00 82 00 00 05 00 64 C3 50 00 00 00 00
        """)
    static let response = hex("""
        02 81 00 00 00 00 1C 20 00 00 0E 10 00 00 00 00 00 00 00 00 00 00 00 00
        01 02 03 04 05 06 07 08 09 0A 0B 0C 11 00 00 00 C3 50 90 C0 00 00 00 00
        00 00 00 00 00 00 FF FF C0 00 02 03 82 00 00 05 00 20 C3 50 00 00 00 00
        """)

    static func hex(_ text: String) -> [UInt8] {
        let digits = Array(text.filter { !$0.isWhitespace })
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16) ?? 0 }
    }

    @Test("a request renders with RFC 6887 field names and IPv4 addresses")
    func requestText() {
        #expect(PCPReport.text(Self.request) == """
            PCP request, 72 bytes
              Version: 2
              Opcode: MAP (1)
              Requested Lifetime: 7200 s
              PCP Client's IP Address: 192.0.2.100
              Mapping Nonce: 0102030405060708090a0b0c
              Protocol: 17 (UDP)
              Internal Port: 50000
              Suggested External Port: 0
              Suggested External IP Address: 0.0.0.0
              Options: 1
                PORT_SET (130), Option Length 5: Port Set Size 100, First Internal Port 50000, P 0
            """)
    }

    @Test("a response is chosen by the R bit and shows the result code name")
    func responseText() {
        #expect(PCPReport.text(Self.response) == """
            PCP response, 72 bytes
              Version: 2
              Opcode: MAP (1)
              Result Code: SUCCESS (0)
              Lifetime: 7200 s
              Epoch Time: 3600 s
              Mapping Nonce: 0102030405060708090a0b0c
              Protocol: 17 (UDP)
              Internal Port: 50000
              Assigned External Port: 37056
              Assigned External IP Address: 192.0.2.3
              Options: 1
                PORT_SET (130), Option Length 5: Port Set Size 32, First Internal Port 50000, P 0
            """)
    }

    @Test("the JSON has sorted keys and the same fields")
    func responseJSON() throws {
        let json = PCPReport.json(Self.response)
        #expect(json.contains("\"assignedExternalIPAddress\" : \"192.0.2.3\""))
        #expect(json.contains("\"name\" : \"SUCCESS\""))
        #expect(!json.contains("problem"))
        let keys = json.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map { $0.split(separator: "\"")[1] }
        #expect(keys == ["epochTime", "kind", "length", "lifetime", "map", "opcode", "options", "resultCode", "version"])
        let decoded = try JSONDecoder().decode(PCPReportDocument.self, from: Data(json.utf8))
        #expect(decoded == PCPReport.decode(Self.response))
        #expect(decoded.map?.assignedExternalPort == 37056)
        #expect(decoded.options?.first?.portSetSize == 32)
        #expect(decoded.isValid)
    }

    @Test("other options, IPv6 addresses and unknown optional options are listed")
    func otherOptions() throws {
        let v6 = IPv6Address(groups: (0x2001, 0xDB8, 0, 0, 0, 0, 0, 1))
        let request = PCPRequest(
            requestedLifetime: 60, clientAddress: v6,
            payload: .map(PCPMapData(nonce: PCPMappingNonce(high: 0, low: 1), protocolNumber: 6, internalPort: 22,
                                     externalPort: 2222, externalAddress: .any)),
            options: [.thirdParty(IPv6Address(ipv4Mapped: IPv4Address(10, 0, 0, 7))), .preferFailure,
                      .filter(PCPFilter(prefixLength: 64, remotePeerPort: 0, remotePeerAddress: v6)),
                      .unknown(code: 200, dataLength: 2)])
        let text = PCPReport.text(try request.serialized())
        #expect(text.contains("PCP Client's IP Address: 2001:db8::1"))
        #expect(text.contains("Suggested External IP Address: ::"))
        #expect(text.contains("Protocol: 6 (TCP)"))
        #expect(text.contains("Options: 4"))
        #expect(text.contains("THIRD_PARTY (1), Option Length 16: Internal IP Address 10.0.0.7"))
        #expect(text.contains("PREFER_FAILURE (2), Option Length 0\n"))
        #expect(text.contains("FILTER (3), Option Length 20: Prefix Length 64, Remote Peer Port 0, Remote Peer IP Address 2001:db8::1"))
        #expect(text.contains("unknown option 200 (optional, ignored), Option Length 2"))
        let document = PCPReport.decode(try request.serialized())
        #expect(document.options?.last?.ignored == true)
    }

    @Test("a malformed request names the problem, the rule and the result code a server sends")
    func malformedRequest() throws {
        var bytes = Self.request
        bytes[64...65] = [0, 0]  // Port Set Size 0
        #expect(PCPReport.text(bytes) == """
            PCP request, 72 bytes: MALFORMED
              Version: 2
              Opcode: MAP (1)
              Problem: PORT_SET Port Set Size is 0, at offset 64 (RFC 7753 section 4.2)
              Server answer: MALFORMED_OPTION (6)
            """)
        let document = PCPReport.decode(bytes)
        #expect(!document.isValid)
        #expect(document.problem?.serverAnswer == .init(6, "MALFORMED_OPTION"))
        let json = PCPReport.json(bytes)
        #expect(json.contains("\"reason\" : \"PORT_SET Port Set Size is 0\""))
        #expect(json.contains("\"rule\" : \"RFC 7753 section 4.2\""))
    }

    @Test("an unsupported opcode and version are named with their result codes")
    func unsupported() {
        var peer = Self.request
        peer[1] = 2
        let peerText = PCPReport.text(peer)
        #expect(peerText.contains("Opcode: PEER (2)"))
        #expect(peerText.contains("Problem: opcode 2 (PEER) is not supported, at offset 1 (RFC 6887 section 8.3)"))
        #expect(peerText.contains("Server answer: UNSUPP_OPCODE (4)"))

        var version1 = Self.request
        version1[0] = 1
        #expect(PCPReport.text(version1).contains("Server answer: UNSUPP_VERSION (1)"))
    }

    @Test("input a server drops says so, and bad responses name the problem")
    func dropsAndBadResponses() {
        #expect(PCPReport.text([2]) == """
            PCP request, 1 bytes: MALFORMED
              Version: 2
              Problem: message of 1 bytes is too short to answer, at offset 0 (RFC 6887 section 8.3)
              Server action: drops it silently, no answer
            """)
        let truncated = Array(Self.response[..<40])
        let text = PCPReport.text(truncated)
        #expect(text.hasPrefix("PCP response, 40 bytes: MALFORMED"))
        #expect(text.contains("Problem: MAP data needs 36 bytes but only 16 remain, at offset 24"))
        #expect(!text.contains("Server answer"))
        #expect(PCPReport.decode(truncated).problem?.silentlyDropped == nil)
    }

    @Test("any bytes render without trapping")
    func anyBytes() {
        var state: UInt64 = 99
        for _ in 0..<2000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let count = Int(state >> 54) % 100
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: (state >> UInt64($0 % 56)) &+ UInt64($0)) }
            #expect(!PCPReport.text(bytes).isEmpty)
            #expect(PCPReport.json(bytes).hasPrefix("{"))
        }
    }
}
