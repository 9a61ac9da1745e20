import PortSets
import Testing
import TestSupport

@Suite("OPTION_V4_PORTPARAMS codec")
struct PortParamsOptionTests {
    @Test("a=6, k=6, PSID 0x34 encodes to FACTS.md's 9F 04 06 06 D0 00")
    func factsExampleOffset6() throws {
        let option = PortParamsOption(try PSIDPortSet(offset: 6, psidLength: 6, psid: 0x34))
        let bytes = option.encode()
        #expect(bytes == [0x9F, 0x04, 0x06, 0x06, 0xD0, 0x00])
        // The pieces the brief asked about, one by one: code 159, length 4, then the 4-byte body.
        #expect(bytes[0] == 0x9F && PortParamsOption.optionCode == 159)
        #expect(bytes[1] == 4 && PortParamsOption.bodyLength == 4)
        #expect(Array(bytes[2...]) == [0x06, 0x06, 0xD0, 0x00])
        #expect(option.leftAlignedPSID == 0xD000)
        #expect(try PortParamsOption.decode(bytes) == option)
    }

    @Test("a=0, k=8, PSID 0x34 encodes to FACTS.md's 9F 04 00 08 34 00")
    func factsExampleOffset0() throws {
        let option = PortParamsOption(try PSIDPortSet(offset: 0, psidLength: 8, psid: 0x34))
        #expect(option.encode() == [0x9F, 0x04, 0x00, 0x08, 0x34, 0x00])
        let decoded = try PortParamsOption.decode([0x9F, 0x04, 0x00, 0x08, 0x34, 0x00])
        #expect(decoded.portSet.psid == 0x34)
        #expect(decoded.portSet.geometry == (try PSIDGeometry(offset: 0, psidLength: 8)))
    }

    @Test("a 16-bit code/length (DHCPv6-style) framing is not OPTION_V4_PORTPARAMS")
    func dhcpv6StyleFramingRejected() {
        #expect(throws: PortSetError.unexpectedOptionCode(code: 0x00)) {
            try PortParamsOption.decode([0x00, 0x9F, 0x00, 0x04, 0x06, 0x06, 0xD0, 0x00])
        }
    }

    @Test("bytes after the option belong to the next option and are ignored")
    func trailingBytesIgnored() throws {
        let decoded = try PortParamsOption.decode([0x9F, 0x04, 0x06, 0x08, 0x34, 0x00, 0xFF, 0x01])
        #expect(decoded.portSet.psid == 0x34)
        #expect(decoded.portSet.geometry == (try PSIDGeometry(offset: 6, psidLength: 8)))
    }

    @Test("k = 16 carries the PSID unshifted")
    func fullWidthPSID() throws {
        let option = PortParamsOption(try PSIDPortSet(offset: 0, psidLength: 16, psid: 0xBEEF))
        #expect(option.encode() == [0x9F, 0x04, 0x00, 0x10, 0xBE, 0xEF])
    }

    @Test("PSID-len 0 means the PSID field is ignored (RFC 7618 section 9): it decodes as PSID 0")
    func zeroLengthIgnoresField() throws {
        let decoded = try PortParamsOption.decode([0x9F, 0x04, 0x00, 0x00, 0x12, 0x34])
        #expect(decoded.portSet.psid == 0)
        #expect(decoded.portSet.geometry.psidLength == 0)
        // Re-encoding sends the zero padding the RFC asks senders for.
        #expect(decoded.encode() == [0x9F, 0x04, 0x00, 0x00, 0x00, 0x00])
    }

    @Test("encode(into:) writes six bytes at the start of a larger buffer and leaves the rest")
    func encodeIntoLargerBuffer() throws {
        let option = PortParamsOption(try PSIDPortSet(offset: 6, psidLength: 8, psid: 0x34))
        var storage = [UInt8](repeating: 0xAA, count: 9)
        let written = try storage.withUnsafeMutableBytes { buffer in try option.encode(into: buffer) }
        #expect(written == 6)
        #expect(storage == [0x9F, 0x04, 0x06, 0x08, 0x34, 0x00, 0xAA, 0xAA, 0xAA])
    }

    @Test("body encode and decode skip code and length")
    func bodyOnly() throws {
        let option = PortParamsOption(try PSIDPortSet(offset: 6, psidLength: 6, psid: 0x34))
        var body = [UInt8](repeating: 0, count: 4)
        let written = try body.withUnsafeMutableBytes { buffer in try option.encodeBody(into: buffer) }
        #expect(written == 4)
        #expect(body == [0x06, 0x06, 0xD0, 0x00])
        let decoded = try body.withUnsafeBytes { buffer in try PortParamsOption.decode(body: buffer) }
        #expect(decoded == option)
    }

    @Test("encode then decode is the identity over seeded random geometries and PSIDs",
          arguments: [UInt64(3), 0xBADC0DE])
    func roundTrip(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        for _ in 0..<3000 {
            let parameters = random.geometry()
            let psid = Int.random(in: 0..<(1 << parameters.psidLength), using: &random)
            let option = PortParamsOption(
                try PSIDPortSet(offset: parameters.offset, psidLength: parameters.psidLength, psid: psid))
            let bytes = option.encode()
            #expect(bytes.count == 6)
            #expect(try PortParamsOption.decode(bytes) == option, "\(parameters) psid \(psid)")
        }
    }

    @Test("any body that decodes re-encodes to the same bytes (k > 0), seeded random bodies")
    func decodeThenEncode() throws {
        var random = SplitMix64(seed: 0x159)
        var accepted = 0
        for _ in 0..<5000 {
            // Bias offset and length into the valid region so that both outcomes are exercised.
            let bytes: [UInt8] = [
                0x9F, 0x04,
                UInt8.random(in: 0...17, using: &random), UInt8.random(in: 1...17, using: &random),
                UInt8.random(in: 0...255, using: &random),
                random.next() % 4 == 0 ? UInt8.random(in: 0...255, using: &random) : 0,
            ]
            guard let option = try? PortParamsOption.decode(bytes) else { continue }
            accepted += 1
            #expect(option.encode() == bytes)
        }
        #expect(accepted > 500)
    }
}
