import PCP
import Testing
import WireFormat

/// RFC 7753 section 5.1 (FACTS.md section 5), byte for byte in both directions.
@Suite("RFC 7753 section 5.1 example")
struct PCPRFC7753ExampleTests {
    @Test("the request parses to the RFC's values")
    func requestParses() throws {
        let request = try PCPRequest.parse(Fixtures.rfc7753Request)
        #expect(request == Fixtures.rfc7753RequestValue)
        #expect(request.opcode == .map)
        #expect(request.requestedLifetime == 7200)
        #expect(request.clientAddress.ipv4Mapped == IPv4Address(192, 0, 2, 100))
        let data = try #require(request.payload.mapData)
        #expect(data.nonce.description == "0102030405060708090a0b0c")
        #expect(data.protocolNumber == 17)
        #expect(data.internalPort == 50000)
        #expect(data.externalPort == 0)
        #expect(data.hasUnspecifiedExternalAddress)
        #expect(request.portSet == PCPPortSet(size: 100, firstInternalPort: 50000, preservesParity: false))
    }

    @Test("the request values serialize to the RFC's bytes")
    func requestSerializes() throws {
        #expect(try Fixtures.rfc7753RequestValue.serialized() == Fixtures.rfc7753Request)
        #expect(Fixtures.rfc7753RequestValue.serializedSize == 72)
    }

    @Test("the response parses to the RFC's values")
    func responseParses() throws {
        let response = try PCPResponse.parse(Fixtures.rfc7753Response)
        #expect(response == Fixtures.rfc7753ResponseValue)
        #expect(response.resultCode == .success)
        #expect(response.lifetime == 7200)
        #expect(response.epochTime == 3600)
        let data = try #require(response.payload.mapData)
        #expect(data.externalPort == 37056)
        #expect(data.externalAddress.ipv4Mapped == IPv4Address(192, 0, 2, 3))
        #expect(response.portSet?.size == 32)
    }

    @Test("the response values serialize to the RFC's bytes")
    func responseSerializes() throws {
        #expect(try Fixtures.rfc7753ResponseValue.serialized() == Fixtures.rfc7753Response)
    }

    @Test("serialize(into:) writes the same bytes without allocating, and reports the size")
    func serializeIntoBuffer() throws {
        var buffer = [UInt8](repeating: 0xEE, count: 80)
        let written = buffer.withUnsafeMutableBytes { buffer in
            Result { () throws(PCPSerializationError) -> Int in try Fixtures.rfc7753RequestValue.serialize(into: buffer) }
        }
        #expect(written == .success(72))
        #expect(Array(buffer[..<72]) == Fixtures.rfc7753Request)
        #expect(buffer[72...].allSatisfy { $0 == 0xEE })
    }

    @Test("the response buffer starts dirty and ends exactly as the RFC's bytes")
    func responseIntoDirtyBuffer() throws {
        var buffer = [UInt8](repeating: 0xFF, count: 72)
        let written = buffer.withUnsafeMutableBytes { buffer in
            Result { () throws(PCPSerializationError) -> Int in try Fixtures.rfc7753ResponseValue.serialize(into: buffer) }
        }
        #expect(written == .success(72))
        #expect(buffer == Fixtures.rfc7753Response)
    }

    @Test("a request is not a response and a response is not a request")
    func directions() {
        #expect(responseError(Fixtures.rfc7753Request)?.reason == .notAResponse)
        #expect(requestError(Fixtures.rfc7753Response)?.reason == .responseBitSet)
    }
}
