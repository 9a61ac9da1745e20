import Testing
import PlainMode
import WireFormat
import TestSupport

@Suite struct PlainModeOptionTests {
    /// The byte-exact examples of FACTS.md section 1.
    @Test(arguments: [
        (PlainModeOption(direction: .destination, protocolNumber: 6, address: IPAddress("192.0.2.1")!, port: 443),
         "1E 0A E0 06 C0 00 02 01 01 BB"),
        (PlainModeOption(direction: .source, protocolNumber: 6, address: IPAddress("198.51.100.7")!),
         "1E 08 E8 06 C6 33 64 07"),
        (PlainModeOption(direction: .destination, protocolNumber: 17, address: IPAddress("2001:db8::1")!, port: 53),
         "1E 16 E0 11 20 01 0D B8 00 00 00 00 00 00 00 00 00 00 00 01 00 35"),
    ])
    func factsExamples(option: PlainModeOption, wire: String) throws {
        #expect(option.encoded() == hexBytes(wire))
        let decoded = try hexBytes(wire).withUnsafeBytes { buffer in try PlainModeOption.decode(buffer) }
        #expect(decoded == option)
    }

    /// The whole SYN payload of a UDP flow: PM + EOL + len 5 + "hello" (30 bytes).
    @Test func factsUDPSynPayload() throws {
        let block = PlainModeBlock(destination: PlainModeOption(
            direction: .destination, protocolNumber: 17, address: IPAddress("2001:db8::1")!, port: 53))
        var payload = block.encoded()
        payload += try UDPFraming.framed(Array("hello".utf8))
        #expect(payload == hexBytes("1E 16 E0 11 20 01 0D B8 00 00 00 00 00 00 00 00 00 00 00 01 00 35 00 00 05 68 65 6C 6C 6F"))
        #expect(payload.count == 30)
        let (parsed, length) = try PlainModeBlock.parse(payload)
        #expect(parsed == block)
        #expect(length == 23)
        var decoder = UDPFrameDecoder()
        var datagrams: [[UInt8]] = []
        try payload.withUnsafeBytes { buffer in
            try decoder.decode(UnsafeRawBufferPointer(rebasing: buffer[length...])) { datagrams.append(Array($0)) }
        }
        #expect(datagrams == [Array("hello".utf8)])
    }

    @Test func roundTripProperty() throws {
        var rng = SplitMix64(seed: 41)
        for _ in 0..<5000 {
            let option = PlainModeOption(
                direction: Bool.random(using: &rng) ? .source : .destination,
                protocolNumber: UInt8.random(in: 0...255, using: &rng),
                address: randomAddress(v4: Bool.random(using: &rng), using: &rng),
                port: Bool.random(using: &rng) ? UInt16.random(in: 0...65535, using: &rng) : nil,
                subtype: UInt8.random(in: 0...15, using: &rng),
                flags: UInt8.random(in: 0...7, using: &rng))
            let wire = option.encoded()
            #expect(wire.count == option.encodedLength)
            let decoded = try wire.withUnsafeBytes { buffer in
                try PlainModeOption.decode(buffer, subtype: option.subtype)
            }
            #expect(decoded == option)
        }
    }

    @Test func flagsAreIgnoredButKept() throws {
        let wire = hexBytes("1E 08 EF 06 C6 33 64 07") // D=1 and all three flag bits set
        let option = try wire.withUnsafeBytes { buffer in try PlainModeOption.decode(buffer) }
        #expect(option.direction == .source)
        #expect(option.flags == 7)
    }

    @Test func configurableSubtype() throws {
        let option = PlainModeOption(direction: .destination, protocolNumber: 6, address: IPAddress("192.0.2.1")!, port: 80, subtype: 0x9)
        let wire = option.encoded()
        #expect(wire[2] == 0x90)
        let policy = PlainModePolicy(subtype: 0x9)
        #expect(try PlainModeBlock.parse(wire + [0], policy: policy).block.destination == option)
        #expect(throws: PlainModeError.unknownSubtype(0x9)) { try PlainModeBlock.parse(wire + [0]) }
    }
}
