import PCP
import Testing
import WireFormat

/// Error responses copy the request (RFC 6887 sections 7.2, 7.3 and 8.3).
@Suite("error responses")
struct PCPErrorResponseTests {
    @Test("an unparsable request is copied, with the client address tail in the reserved field")
    func malformedOptionAnswer() throws {
        var builder = Fixtures.mapRequest()
        builder.portSet(size: 0)
        let request = builder.bytes
        let error = try #require(requestError(request))
        let answer = try #require(PCPErrorResponse.bytes(for: error, request: request, epochTime: 3600))
        #expect(answer.count == request.count)
        #expect(answer[0] == 2)
        #expect(answer[1] == 0x81)
        #expect(answer[2] == 0)
        #expect(answer[3] == PCPResultCode.malformedOption.rawValue)
        #expect(Array(answer[4..<8]) == [0, 0, 0x07, 0x08])   // 1800 s: long-lifetime error
        #expect(Array(answer[8..<12]) == [0, 0, 0x0E, 0x10])  // epoch 3600
        #expect(Array(answer[12..<24]) == Array(request[12..<24]))
        #expect(Array(answer[24...]) == Array(request[24...]))

        let parsed = try PCPResponse.parse(answer)
        #expect(parsed.resultCode == .malformedOption)
        #expect(parsed.lifetime == 1800)
        #expect(parsed.payload.mapData?.nonce == Fixtures.nonce)
        #expect(parsed.portSet?.size == 0)
    }

    @Test("a refused request that parsed has a zero reserved field and the given lifetime")
    func parsedRequestAnswer() throws {
        let answer = PCPErrorResponse.bytes(request: Fixtures.rfc7753Request, resultCode: .noResources,
                                            requestWasParsed: true, epochTime: 5, lifetime: 60)
        #expect(answer.count == 72)
        #expect(Array(answer[12..<24]) == [UInt8](repeating: 0, count: 12))
        let parsed = try PCPResponse.parse(answer)
        #expect(parsed.resultCode == .noResources)
        #expect(parsed.lifetime == 60)
        #expect(parsed.epochTime == 5)
        #expect(parsed.payload == Fixtures.rfc7753RequestValue.payload)
        #expect(parsed.options == Fixtures.rfc7753RequestValue.options)
    }

    @Test("the default lifetime follows RFC 6887 section 7.4: 30 s short, 30 min long")
    func lifetimes() {
        #expect(PCPResultCode.noResources.recommendedErrorLifetime == 30)
        #expect(PCPResultCode.networkFailure.recommendedErrorLifetime == 30)
        #expect(PCPResultCode.userExceededQuota.recommendedErrorLifetime == 30)
        #expect(PCPResultCode.malformedRequest.recommendedErrorLifetime == 1800)
        #expect(PCPResultCode.unsupportedVersion.recommendedErrorLifetime == 1800)
        #expect(PCPResultCode.success.recommendedErrorLifetime == 0)
        let answer = PCPErrorResponse.bytes(request: Fixtures.rfc7753Request, resultCode: .networkFailure,
                                            requestWasParsed: true, epochTime: 0)
        #expect(Array(answer[4..<8]) == [0, 0, 0, 30])
    }

    @Test("UNSUPP_VERSION is answered with version 2 and the request's opcode")
    func unsupportedVersionAnswer() throws {
        var request = Fixtures.rfc7753Request
        request[0] = 1
        let error = try #require(requestError(request))
        let answer = try #require(PCPErrorResponse.bytes(for: error, request: request, epochTime: 9))
        #expect(answer[0] == 2)
        #expect(answer[1] == 0x81)
        #expect(answer[3] == 1)
    }

    @Test("UNSUPP_OPCODE keeps the unknown opcode and the whole payload")
    func unsupportedOpcodeAnswer() throws {
        var request = Fixtures.rfc7753Request
        request[1] = 2  // PEER
        let error = try #require(requestError(request))
        let answer = try #require(PCPErrorResponse.bytes(for: error, request: request, epochTime: 9))
        #expect(answer[1] == 0x82)
        #expect(answer[3] == PCPResultCode.unsupportedOpcode.rawValue)
        #expect(Array(answer[24...]) == Array(request[24...]))
        #expect(responseError(answer)?.reason == .unsupportedOpcode(2))
    }

    @Test("odd, short and oversized requests give a legal size: padded, at least 24, at most 1100")
    func sizes() throws {
        #expect(PCPErrorResponse.size(forRequestLength: 0) == 24)
        #expect(PCPErrorResponse.size(forRequestLength: 2) == 24)
        #expect(PCPErrorResponse.size(forRequestLength: 24) == 24)
        #expect(PCPErrorResponse.size(forRequestLength: 25) == 28)
        #expect(PCPErrorResponse.size(forRequestLength: 1100) == 1100)
        #expect(PCPErrorResponse.size(forRequestLength: 1101) == 1100)
        #expect(PCPErrorResponse.size(forRequestLength: 65_507) == 1100)
        #expect(PCPErrorResponse.size(forRequestLength: .max) == 1100)
        #expect(PCPErrorResponse.size(forRequestLength: -1) == 24)

        let odd = Fixtures.rfc7753Request + [0xAB]
        let oddError = try #require(requestError(odd))
        let oddAnswer = try #require(PCPErrorResponse.bytes(for: oddError, request: odd, epochTime: 0))
        #expect(oddAnswer.count == 76)
        #expect(Array(oddAnswer[72...]) == [0xAB, 0, 0, 0])

        let short: [UInt8] = [2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]
        let shortError = try #require(requestError(short))
        #expect(shortError.reason == .shorterThanHeader(length: 16))
        let shortAnswer = try #require(PCPErrorResponse.bytes(for: shortError, request: short, epochTime: 0))
        #expect(shortAnswer.count == 24)
        #expect(Array(shortAnswer[12..<24]) == [0, 0, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0])

        let huge = Fixtures.rfc7753Request + [UInt8](repeating: 0x5A, count: 2000)
        let hugeError = try #require(requestError(huge))
        let hugeAnswer = try #require(PCPErrorResponse.bytes(for: hugeError, request: huge, epochTime: 0))
        #expect(hugeAnswer.count == 1100)
        #expect(Array(hugeAnswer[24...]) == Array(huge[24..<1100]))
    }

    @Test("dropped requests get no answer")
    func dropsGetNoAnswer() throws {
        let error = try #require(requestError(Fixtures.rfc7753Response))
        #expect(PCPErrorResponse.bytes(for: error, request: Fixtures.rfc7753Response, epochTime: 0) == nil)
        var buffer = [UInt8](repeating: 0xEE, count: 100)
        let written = buffer.withUnsafeMutableBytes { destination in
            Fixtures.rfc7753Response.withUnsafeBytes { source in
                Result { () throws(PCPSerializationError) -> Int? in
                    try PCPErrorResponse.write(for: error, request: source, epochTime: 0, into: destination)
                }
            }
        }
        #expect(written == .success(nil))
        #expect(buffer.allSatisfy { $0 == 0xEE })
    }

    @Test("too small a buffer is refused")
    func bufferTooSmall() {
        var buffer = [UInt8](repeating: 0, count: 71)
        let error = buffer.withUnsafeMutableBytes { destination -> PCPSerializationError? in
            Fixtures.rfc7753Request.withUnsafeBytes { source -> PCPSerializationError? in
                do throws(PCPSerializationError) {
                    _ = try PCPErrorResponse.write(request: source, resultCode: .notAuthorized, requestWasParsed: true,
                                                   epochTime: 0, into: destination)
                    return nil
                } catch {
                    return error
                }
            }
        }
        #expect(error == .bufferTooSmall(needed: 72, available: 71))
    }
}
