// libFuzzer target for the PCP codecs (RFC 6887 with RFC 7753 PORT_SET): every input is parsed
// as a request (server side) and as a response (client side).
//
// Invariants (each a `require`, so a violation is a crash libFuzzer saves):
//  - no input is both a request and a response; error offsets lie inside the message;
//  - serialize(parse(x)) has x's length, equals x with its reserved fields, padding and unknown
//    option data zeroed, and parses back to the same value; serialize(into:) and serialized()
//    agree, and a buffer one byte short is refused;
//  - an error response built from a request (PCPErrorResponse) has the documented layout, and for
//    a request that parsed it parses as a response with the request's opcode data and options;
//  - checkSource(clientAddress) fails only on a THIRD_PARTY naming that address, at its offset.
//
// Fuzz run:     Tests/Fuzz/run-fuzzers.sh [RUNS] pcp   (builds with --sanitize=fuzzer,
//               --sanitize=address, -DFUZZING and, for release, an explicit -sanitize-coverage)
// Replay build: swift run --scratch-path .build-fuzz fuzz-pcp Tests/Fuzz/corpus/pcp

import FuzzSupport
import TestSupport
import PCP
import WireFormat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let request = checkRequest(input)
    let response = checkResponse(input)
    require(!(request && response), "input parsed both as a request and as a response")
    return 0
}

// MARK: - Helpers

func hex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
    return String(decoding: out, as: UTF8.self)
}

/// The input as the serializer should write it back: reserved fields, padding, and the data of
/// options kept as `.unknown` set to zero.
func canonical(_ input: UnsafeRawBufferPointer, payload: PCPOpcodePayload, options: [PCPOption], isResponse: Bool) -> [UInt8] {
    var out = [UInt8](input)
    func zero(_ range: Range<Int>) { for i in range { out[i] = 0 } }
    if isResponse {
        zero(2..<3)
        zero(12..<PCP.headerSize)
    } else {
        zero(2..<4)
    }
    var offset = PCP.headerSize
    if case .map = payload {
        zero(offset + 13..<offset + 16)
        offset += PCP.mapDataSize
    }
    for option in options {
        let data = offset + PCP.optionHeaderSize
        let end = offset + option.encodedSize
        require(end <= out.count, "option \(option) ends at \(end), past the message (\(out.count))")
        zero(offset + 1..<offset + 2)
        switch option {
        case .thirdParty:
            zero(data + 16..<end)
        case .preferFailure:
            zero(data..<end)
        case .filter:
            zero(data..<data + 1)
            zero(data + 20..<end)
        case .portSet:
            out[data + 4] &= 1
            zero(data + 5..<end)
        case .unknown:
            zero(data..<end)
        }
        offset = end
    }
    require(offset == out.count, "options end at \(offset), message is \(out.count) bytes")
    return out
}

func checkNonce(_ payload: PCPOpcodePayload) {
    guard let data = payload.mapData else { return }
    let bytes = data.nonce.bytes
    require(bytes.count == 12 && PCPMappingNonce(bytes: bytes) == data.nonce, "nonce bytes round trip")
    require(data.nonce.description.utf8.count == 24)
}

// MARK: - Requests

func checkRequest(_ input: UnsafeRawBufferPointer) -> Bool {
    let request: PCPRequest
    do throws(PCPRequestError) {
        request = try PCPRequest.parse(input)
    } catch {
        checkRequestError(error, input)
        return false
    }
    let count = input.count
    require(count >= PCP.headerSize && count <= PCP.maximumMessageSize && count % 4 == 0)
    require(input[0] == PCP.version && input[1] & PCP.responseBit == 0)
    require(request.opcode.rawValue == input[1])
    require(request.opcode == .map || request.options.allSatisfy { $0.knownCode == nil },
            "known option accepted with \(request.opcode)")
    checkNonce(request.payload)

    // serialize(parse(x)) == x less the reserved bits, and parses back to the same request.
    require(request.serializedSize == count, "serializedSize \(request.serializedSize) != \(count)")
    let serialized: [UInt8]
    do throws(PCPSerializationError) { serialized = try request.serialized() } catch {
        fatalError("serialized() of a parsed request failed: \(error)")
    }
    let expected = canonical(input, payload: request.payload, options: request.options, isResponse: false)
    require(serialized == expected, "request re-serializes to \(hex(serialized)), expected \(hex(expected))")
    checkSerializeInto(serialized, request.serialize(into:))
    do throws(PCPRequestError) {
        let again = try PCPRequest.parse(serialized)
        require(again == request, "request round trip: \(request) -> \(again)")
    } catch {
        fatalError("re-serialized request does not parse: \(error)")
    }

    // The server's source check, with the claimed address as the source.
    do throws(PCPRequestError) {
        try request.checkSource(request.clientAddress)
        require(!request.options.contains(.thirdParty(request.clientAddress)), "checkSource missed a THIRD_PARTY equal to the source")
    } catch {
        guard case .thirdPartyIsSource(let address) = error.reason else {
            fatalError("checkSource(clientAddress) failed with \(error)")
        }
        require(address == request.clientAddress)
        require(error.offset >= PCP.headerSize && error.offset + 16 <= count, "THIRD_PARTY offset \(error.offset)")
        require(input.wireIPv6Address(at: error.offset) == address, "checkSource offset \(error.offset) does not hold the address")
        require(error.resultCode == .malformedRequest && !error.reason.isParseFailure)
    }
    do throws(PCPRequestError) {
        var other = request.clientAddress
        other.low ^= 1
        try request.checkSource(other)
        fatalError("checkSource accepted a different source address")
    } catch {
        guard case .clientAddressMismatch = error.reason else { fatalError("checkSource(other) failed with \(error)") }
        require(error.resultCode == .addressMismatch)
    }

    // An error response to a request that parsed is a response with the same data and options.
    let size = PCPErrorResponse.size(forRequestLength: count)
    require(size == count, "error response size \(size) for a \(count)-byte request")
    let answer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
    defer { answer.deallocate() }
    do throws(PCPSerializationError) {
        let written = try PCPErrorResponse.write(request: input, resultCode: .noResources, requestWasParsed: true,
                                                 epochTime: 3600, lifetime: nil, into: answer)
        require(written == size)
    } catch {
        fatalError("PCPErrorResponse.write failed: \(error)")
    }
    do throws(PCPResponseError) {
        let response = try PCPResponse.parse(UnsafeRawBufferPointer(answer))
        require(response.resultCode == .noResources && response.epochTime == 3600
                && response.lifetime == PCPResultCode.noResources.recommendedErrorLifetime)
        require(response.payload == request.payload, "error response payload differs")
        require(response.options == request.options, "error response options \(response.options) != \(request.options)")
    } catch {
        fatalError("error response to a parsed request does not parse: \(error)")
    }
    return true
}

func checkRequestError(_ error: PCPRequestError, _ input: UnsafeRawBufferPointer) {
    _ = error.description
    require(error.offset >= 0 && error.offset <= max(input.count, 0), "request error offset \(error.offset) outside \(input.count) bytes")
    require(error.reason.isParseFailure, "parse threw a post-parse reason: \(error)")
    guard let resultCode = error.resultCode else {
        require(error.isSilentDrop)
        return
    }
    require(!error.isSilentDrop)
    // The answer: a copy of the request, header rewritten, padded to 4, at most 1100 bytes.
    let size = PCPErrorResponse.size(forRequestLength: input.count)
    require(size >= PCP.headerSize && size <= PCP.maximumMessageSize && size % 4 == 0, "error response size \(size)")
    let answer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
    defer { answer.deallocate() }
    let written: Int?
    do throws(PCPSerializationError) {
        written = try PCPErrorResponse.write(for: error, request: input, epochTime: 7, lifetime: nil, into: answer)
    } catch {
        fatalError("PCPErrorResponse.write(for:) failed: \(error)")
    }
    require(written == size, "wrote \(String(describing: written)) of \(size)")
    require(answer[0] == PCP.version && answer[1] & PCP.responseBit != 0 && answer[2] == 0)
    require(answer[3] == resultCode.rawValue)
    require(answer.wireUInt32(at: 4) == resultCode.recommendedErrorLifetime && answer.wireUInt32(at: 8) == 7)
    if input.count > 1 { require(answer[1] & ~PCP.responseBit == input[1] & ~PCP.responseBit) }
    for i in 12..<size {
        let original: UInt8 = i < input.count ? input[i] : 0
        require(answer[i] == original, "error response byte \(i) is \(answer[i]), request has \(original)")
    }
    if size > 0 {
        let short = UnsafeMutableRawBufferPointer(rebasing: answer[0..<size - 1])
        do throws(PCPSerializationError) {
            _ = try PCPErrorResponse.write(for: error, request: input, epochTime: 7, lifetime: nil, into: short)
            fatalError("error response written into a buffer one byte short")
        } catch {
            require(error == .bufferTooSmall(needed: size, available: size - 1), "short buffer: \(error)")
        }
    }
    // When the answer parses as a response, it says what was written.
    do throws(PCPResponseError) {
        let response = try PCPResponse.parse(UnsafeRawBufferPointer(answer))
        require(response.resultCode == resultCode)
    } catch {
        _ = error.description
    }
}

/// serialize(into:) writes the same bytes as serialized() into an exact buffer, and refuses a
/// buffer one byte short.
func checkSerializeInto(_ serialized: [UInt8], _ serialize: (UnsafeMutableRawBufferPointer) throws(PCPSerializationError) -> Int) {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: serialized.count, alignment: 8)
    defer { buffer.deallocate() }
    buffer.initializeMemory(as: UInt8.self, repeating: 0xA5)
    do throws(PCPSerializationError) {
        let written = try serialize(buffer)
        require(written == serialized.count)
    } catch {
        fatalError("serialize(into:) failed: \(error)")
    }
    require(serialized.withUnsafeBytes { same($0, UnsafeRawBufferPointer(buffer)) }, "serialize(into:) != serialized()")
    do throws(PCPSerializationError) {
        _ = try serialize(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<serialized.count - 1]))
        fatalError("serialized into a buffer one byte short")
    } catch {
        require(error == .bufferTooSmall(needed: serialized.count, available: serialized.count - 1), "short buffer: \(error)")
    }
}

// MARK: - Responses

func checkResponse(_ input: UnsafeRawBufferPointer) -> Bool {
    let response: PCPResponse
    do throws(PCPResponseError) {
        response = try PCPResponse.parse(input)
    } catch {
        _ = error.description
        require(error.offset >= 0 && error.offset <= input.count, "response error offset \(error.offset) outside \(input.count) bytes")
        return false
    }
    let count = input.count
    require(count >= PCP.headerSize && count <= PCP.maximumMessageSize && count % 4 == 0)
    require(input[0] == PCP.version && input[1] & PCP.responseBit != 0)
    require(response.opcode.rawValue == input[1] & ~PCP.responseBit && response.resultCode.rawValue == input[3])
    checkNonce(response.payload)

    require(response.serializedSize == count, "serializedSize \(response.serializedSize) != \(count)")
    let serialized: [UInt8]
    do throws(PCPSerializationError) { serialized = try response.serialized() } catch {
        fatalError("serialized() of a parsed response failed: \(error)")
    }
    let expected = canonical(input, payload: response.payload, options: response.options, isResponse: true)
    require(serialized == expected, "response re-serializes to \(hex(serialized)), expected \(hex(expected))")
    checkSerializeInto(serialized, response.serialize(into:))
    do throws(PCPResponseError) {
        let again = try PCPResponse.parse(serialized)
        require(again == response, "response round trip: \(response) -> \(again)")
    } catch {
        fatalError("re-serialized response does not parse: \(error)")
    }
    return true
}

// MARK: - Replay main for normal builds

#if !FUZZING
/// In a normal build this target replays corpus files: `fuzz-pcp Tests/Fuzz/corpus/pcp`.
@main
enum FuzzPCPReplay {
    static func main() { replayCorpus(name: "fuzz-pcp", entry: fuzz) }
}
#endif
