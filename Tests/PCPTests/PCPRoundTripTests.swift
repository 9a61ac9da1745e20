import PCP
import Testing
import WireFormat
import TestSupport

/// Serialize-then-parse is the identity for every valid message a seeded generator produces.
@Suite("round trips")
struct PCPRoundTripTests {
    @Test("random valid requests survive serialize then parse", arguments: [UInt64(1), 2, 3, 0xDEAD_BEEF])
    func requests(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        for _ in 0..<2000 {
            let request = random.validRequest()
            let bytes = try request.serialized()
            #expect(bytes.count == request.serializedSize)
            #expect(bytes.count % 4 == 0)
            let parsed = try PCPRequest.parse(bytes)
            #expect(parsed == request)
            #expect(try parsed.serialized() == bytes)
        }
    }

    @Test("random valid responses survive serialize then parse", arguments: [UInt64(1), 2, 3, 0xDEAD_BEEF])
    func responses(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        for _ in 0..<2000 {
            let response = random.validResponse()
            let bytes = try response.serialized()
            #expect(bytes.count == response.serializedSize)
            let parsed = try PCPResponse.parse(bytes)
            #expect(parsed == response)
            #expect(try parsed.serialized() == bytes)
        }
    }

    @Test("the generator covers every option kind, both opcodes and both families")
    func generatorCoverage() {
        var random = SplitMix64(seed: 1)
        var kinds = Set<String>()
        for _ in 0..<2000 {
            let request = random.validRequest()
            kinds.insert(request.opcode.name)
            kinds.insert(request.clientAddress.ipv4Mapped == nil ? "v6" : "v4")
            for option in request.options {
                kinds.insert(option.knownCode?.name ?? "unknown")
            }
        }
        #expect(kinds == ["ANNOUNCE", "MAP", "v4", "v6", "THIRD_PARTY", "PREFER_FAILURE", "FILTER", "PORT_SET", "unknown"])
    }

    @Test("unknown options keep code and length; their data comes back as zeros")
    func unknownOptionData() throws {
        var builder = Fixtures.mapRequest()
        builder.option(code: 200, data: [0xAA, 0xBB, 0xCC])
        let request = try PCPRequest.parse(builder.bytes)
        #expect(request.options == [.unknown(code: 200, dataLength: 3)])
        var expected = builder.bytes
        expected[expected.count - 4..<expected.count - 1] = [0, 0, 0]
        #expect(try request.serialized() == expected)
    }

    @Test("reserved bits and padding are ignored on receipt and zero when sent")
    func reservedIgnored() throws {
        var bytes = Fixtures.rfc7753Request
        bytes[2] = 0xFF; bytes[3] = 0xFF            // header reserved
        bytes[37] = 0xFF; bytes[38] = 0xFF; bytes[39] = 0xFF   // MAP reserved
        bytes[61] = 0xFF                             // option reserved
        bytes[68] = 0xFE                             // PORT_SET reserved bits, P = 0
        bytes[69] = 0xFF; bytes[70] = 0xFF; bytes[71] = 0xFF  // padding
        let request = try PCPRequest.parse(bytes)
        #expect(request == Fixtures.rfc7753RequestValue)
        #expect(try request.serialized() == Fixtures.rfc7753Request)
    }

    @Test("the parity bit is the low bit of the PORT_SET flags byte")
    func parityBit() throws {
        var bytes = Fixtures.rfc7753Request
        bytes[68] = 0x01
        #expect(try PCPRequest.parse(bytes).portSet?.preservesParity == true)
        var request = Fixtures.rfc7753RequestValue
        request.options = [.portSet(PCPPortSet(size: 100, firstInternalPort: 50000, preservesParity: true))]
        #expect(try request.serialized()[68] == 0x01)
    }

    @Test("too small a buffer and too large a message are refused")
    func serializationLimits() throws {
        var small = [UInt8](repeating: 0, count: 71)
        let error = small.withUnsafeMutableBytes { buffer -> PCPSerializationError? in
            do throws(PCPSerializationError) { _ = try Fixtures.rfc7753RequestValue.serialize(into: buffer); return nil } catch { return error }
        }
        #expect(error == .bufferTooSmall(needed: 72, available: 71))

        var big = Fixtures.rfc7753RequestValue
        big.options = [.unknown(code: 200, dataLength: 1100 - 60 - 4 + 1)]
        #expect(throws: PCPSerializationError.messageTooLarge(size: 1104)) { try big.serialized() }
        big.options = [.unknown(code: 200, dataLength: 1100 - 60 - 4)]
        #expect(try big.serialized().count == 1100)
        #expect(try PCPRequest.parse(big.serialized()) == big)
    }

    @Test("ANNOUNCE is a bare header in both directions")
    func announce() throws {
        var builder = WireBuilder()
        builder.requestHeader(opcode: 0, lifetime: 0)
        let request = try PCPRequest.parse(builder.bytes)
        #expect(request == PCPRequest(requestedLifetime: 0, clientAddress: Fixtures.client, payload: .announce))
        #expect(try request.serialized() == builder.bytes)

        let response = PCPResponse(resultCode: .success, lifetime: 0, epochTime: 10, payload: .announce)
        let bytes = try response.serialized()
        #expect(bytes == [2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10] + [UInt8](repeating: 0, count: 12))
        #expect(try PCPResponse.parse(bytes) == response)
    }
}
