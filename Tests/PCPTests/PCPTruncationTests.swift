import PCP
import Testing
import WireFormat
import TestSupport

/// Cut and corrupted inputs: the parsers never trap, and every cut that is not a message
/// boundary is an error.
@Suite("truncation and corruption")
struct PCPTruncationTests {
    /// Offsets where a request may legally end: after the opcode data and after each option.
    private func boundaries(_ options: [PCPOption], opcode: PCPOpcode) -> [Int: Int] {
        var ends = [PCP.headerSize + opcode.dataSize: 0]
        var offset = PCP.headerSize + opcode.dataSize
        for (index, option) in options.enumerated() {
            offset += option.encodedSize
            ends[offset] = index + 1
        }
        return ends
    }

    @Test("every prefix of the RFC 7753 request fails, except whole-message boundaries")
    func rfcRequestPrefixes() throws {
        let bytes = Fixtures.rfc7753Request
        for length in 0..<bytes.count {
            let prefix = Array(bytes[..<length])
            if length == 60 {
                var expected = Fixtures.rfc7753RequestValue
                expected.options = []
                #expect(try PCPRequest.parse(prefix) == expected)
            } else {
                #expect(requestError(prefix) != nil, "prefix of \(length) bytes parsed")
            }
        }
    }

    @Test("every prefix of the RFC 7753 response fails, except whole-message boundaries")
    func rfcResponsePrefixes() throws {
        let bytes = Fixtures.rfc7753Response
        for length in 0..<bytes.count {
            let prefix = Array(bytes[..<length])
            if length == 60 {
                #expect(try PCPResponse.parse(prefix).options.isEmpty)
            } else {
                #expect(responseError(prefix) != nil, "prefix of \(length) bytes parsed")
            }
        }
    }

    @Test("every prefix of random valid requests fails or is a shorter valid request")
    func randomRequestPrefixes() throws {
        var random = SplitMix64(seed: 42)
        for _ in 0..<200 {
            let request = random.validRequest()
            let bytes = try request.serialized()
            let ends = boundaries(request.options, opcode: request.opcode)
            for length in 0..<bytes.count {
                let prefix = Array(bytes[..<length])
                if let kept = ends[length] {
                    // A cut at an option boundary is a request with fewer options, unless dropping
                    // options breaks a cross-option rule; either way it must not trap.
                    if let parsed = try? PCPRequest.parse(prefix) {
                        #expect(parsed.options == Array(request.options.prefix(kept)))
                    }
                } else {
                    let error = try #require(requestError(prefix), "prefix of \(length) bytes parsed")
                    #expect(error.offset >= 0 && error.offset <= length)
                }
            }
        }
    }

    @Test("every prefix of random valid responses fails or is a shorter valid response")
    func randomResponsePrefixes() throws {
        var random = SplitMix64(seed: 43)
        for _ in 0..<200 {
            let response = random.validResponse()
            let bytes = try response.serialized()
            let ends = boundaries(response.options, opcode: response.opcode)
            for length in 0..<bytes.count {
                let prefix = Array(bytes[..<length])
                if let kept = ends[length] {
                    #expect(try PCPResponse.parse(prefix).options == Array(response.options.prefix(kept)))
                } else {
                    let error = try #require(responseError(prefix), "prefix of \(length) bytes parsed")
                    #expect(error.offset >= 0 && error.offset <= length)
                }
            }
        }
    }

    @Test("random and corrupted bytes never trap, and what parses is stable")
    func corruptedBytes() throws {
        var random = SplitMix64(seed: 7)
        var parsedRequests = 0
        var parsedResponses = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = try random.validRequest().serialized()
                if round % 4 == 0 { bytes = try random.validResponse().serialized() }
                for _ in 0..<random.int(1...4) where !bytes.isEmpty {
                    bytes[random.int(0...bytes.count - 1)] = random.u8()
                }
            } else {
                bytes = (0..<random.int(0...120)).map { _ in random.u8() }
                if bytes.count >= 2 { bytes[0] = 2; bytes[1] &= random.bool() ? 0x7F : 0xFF }
            }
            if let request = try? PCPRequest.parse(bytes) {
                parsedRequests += 1
                #expect(try PCPRequest.parse(request.serialized()) == request)
            } else if let error = requestError(bytes) {
                #expect(error.offset >= 0 && error.offset <= bytes.count)
                if let answer = PCPErrorResponse.bytes(for: error, request: bytes, epochTime: 1) {
                    #expect(answer.count % 4 == 0 && answer.count >= 24 && answer.count <= 1100)
                }
            }
            if let response = try? PCPResponse.parse(bytes) {
                parsedResponses += 1
                #expect(try PCPResponse.parse(response.serialized()) == response)
            }
        }
        // The corpus must exercise the success paths too, not only the rejections.
        #expect(parsedRequests > 1000)
        #expect(parsedResponses > 1000)
    }
}
