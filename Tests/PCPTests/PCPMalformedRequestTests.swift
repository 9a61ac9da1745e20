import PCP
import Testing
import WireFormat

/// One test per RFC rule: the exact reason, the exact result code, and the drop cases.
@Suite("malformed requests")
struct PCPMalformedRequestTests {
    /// Parses `bytes`, requires an error, and checks its reason and result code.
    private func expectFailure(_ bytes: [UInt8], _ reason: PCPRequestError.Reason, _ code: PCPResultCode?,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        let error = requestError(bytes)
        #expect(error?.reason == reason, sourceLocation: sourceLocation)
        #expect(error?.resultCode == code, sourceLocation: sourceLocation)
        #expect(error?.isSilentDrop == (code == nil), sourceLocation: sourceLocation)
    }

    // MARK: RFC 6887 section 8.3: the common header

    @Test("fewer than 2 bytes is dropped silently (RFC 6887 section 8.3)")
    func tooShortToAnswer() {
        expectFailure([], .tooShortToAnswer(length: 0), nil)
        expectFailure([2], .tooShortToAnswer(length: 1), nil)
    }

    @Test("the R bit set is dropped silently, whatever follows (RFC 6887 section 8.3)")
    func responseBit() {
        expectFailure(Fixtures.rfc7753Response, .responseBitSet, nil)
        expectFailure([2, 0x81], .responseBitSet, nil)
        expectFailure([9, 0xFF, 1], .responseBitSet, nil)
    }

    @Test("a version other than 2 gets UNSUPP_VERSION, before any length check (RFC 6887 sections 8.3, 9)")
    func unsupportedVersion() {
        var bytes = Fixtures.rfc7753Request
        bytes[0] = 1
        expectFailure(bytes, .unsupportedVersion(1), .unsupportedVersion)
        expectFailure([0, 0], .unsupportedVersion(0), .unsupportedVersion)  // NAT-PMP
        expectFailure([3, 1, 0, 0, 0], .unsupportedVersion(3), .unsupportedVersion)
    }

    @Test("shorter than 24 bytes gets MALFORMED_REQUEST (RFC 6887 section 8.3)")
    func shorterThanHeader() {
        expectFailure(Array(Fixtures.rfc7753Request[..<20]), .shorterThanHeader(length: 20), .malformedRequest)
        expectFailure([2, 1], .shorterThanHeader(length: 2), .malformedRequest)
    }

    @Test("longer than 1100 bytes gets MALFORMED_REQUEST (RFC 6887 sections 7, 8.3)")
    func longerThanMaximum() {
        var builder = Fixtures.mapRequest()
        builder.option(code: 200, data: [UInt8](repeating: 0, count: 1100 - 60 - 4 + 4))
        #expect(builder.bytes.count == 1104)
        expectFailure(builder.bytes, .longerThanMaximum(length: 1104), .malformedRequest)
        builder.bytes.removeLast(4)
        builder.bytes[62...63] = [0x04, 0x0C]  // Option Length 1036: now exactly 1100 bytes
        #expect(requestError(builder.bytes) == nil)
    }

    @Test("a length that is not a multiple of 4 gets MALFORMED_REQUEST (RFC 6887 section 8.3)")
    func notMultipleOfFour() {
        expectFailure(Fixtures.rfc7753Request + [0], .lengthNotMultipleOfFour(length: 73), .malformedRequest)
        expectFailure(Array(Fixtures.rfc7753Request[..<62]), .lengthNotMultipleOfFour(length: 62), .malformedRequest)
    }

    @Test("an unsupported opcode gets UNSUPP_OPCODE (RFC 6887 section 8.3)")
    func unsupportedOpcode() {
        for opcode: UInt8 in [2, 3, 4, 64, 127] {
            var bytes = Fixtures.rfc7753Request
            bytes[1] = opcode
            expectFailure(bytes, .unsupportedOpcode(opcode), .unsupportedOpcode)
        }
    }

    // MARK: RFC 6887 section 11: MAP data

    @Test("truncated MAP data gets MALFORMED_REQUEST (RFC 6887 sections 7.1, 11.1)")
    func truncatedMapData() {
        expectFailure(Array(Fixtures.rfc7753Request[..<56]), .truncatedOpcodeData(opcode: .map, available: 32), .malformedRequest)
        expectFailure(Array(Fixtures.rfc7753Request[..<24]), .truncatedOpcodeData(opcode: .map, available: 0), .malformedRequest)
    }

    @Test("MAP with Protocol 0 keeps a non-zero Internal Port: it is ignored on reception (RFC 6887 section 11.1)")
    func internalPortWithProtocolZeroIsAccepted() throws {
        // RFC 7753 section 5.2's own example sends Protocol 0 with Internal Port 1.
        #expect(requestError(Fixtures.mapRequest(protocolNumber: 0, internalPort: 1).bytes) == nil)
        let request = try PCPRequest.parse(Fixtures.mapRequest(protocolNumber: 0, internalPort: 1).bytes)
        #expect(request.payload.mapData?.internalPort == 1)
    }

    // MARK: RFC 6887 section 7.3: options

    @Test("an option running past the end gets MALFORMED_OPTION (RFC 6887 section 7.3)")
    func optionOverruns() {
        var builder = Fixtures.mapRequest()
        builder.option(code: 130, length: 20, data: [0, 100, 0xC3, 0x50, 0])
        expectFailure(builder.bytes, .optionOverrunsMessage(code: 130, length: 20), .malformedOption)
        // The padding counts: length 5 needs 8 bytes of data room, 4 are there.
        var padded = Fixtures.mapRequest()
        padded.option(code: 200, length: 5, data: [1, 2, 3, 4])
        expectFailure(padded.bytes, .optionOverrunsMessage(code: 200, length: 5), .malformedOption)
        #expect(requestError(padded.bytes)?.offset == 60)
    }

    @Test("an Option Length wrong for its code gets MALFORMED_OPTION (RFC 6887 section 7.3, 13; RFC 7753 section 4)")
    func optionLengthInvalid() {
        let cases: [(UInt8, PCPOptionCode, Int)] = [(1, .thirdParty, 12), (2, .preferFailure, 4), (3, .filter, 16), (130, .portSet, 4), (130, .portSet, 8)]
        for (code, option, length) in cases {
            var builder = Fixtures.mapRequest(externalPort: 1)
            builder.option(code: code, data: [UInt8](repeating: 0, count: length))
            expectFailure(builder.bytes, .optionLengthInvalid(option: option, length: UInt16(length)), .malformedOption)
        }
    }

    @Test("an unsupported mandatory option gets UNSUPP_OPTION; an optional one is ignored (RFC 6887 section 7.3)")
    func unsupportedOptions() throws {
        for code: UInt8 in [0, 4, 99, 127] {
            var builder = Fixtures.mapRequest()
            builder.option(code: code, data: [1, 2, 3, 4])
            expectFailure(builder.bytes, .unsupportedMandatoryOption(code: code), .unsupportedOption)
        }
        for code: UInt8 in [128, 129, 131, 255] {
            var builder = Fixtures.mapRequest()
            builder.option(code: code, data: [1, 2, 3, 4, 5])
            #expect(try PCPRequest.parse(builder.bytes).options == [.unknown(code: code, dataLength: 5)])
        }
    }

    @Test("an option not valid for the opcode gets MALFORMED_OPTION (RFC 6887 section 7.3)")
    func optionNotValidForOpcode() {
        var thirdParty = WireBuilder()
        thirdParty.requestHeader(opcode: 0)
        thirdParty.thirdParty(IPv6Address(ipv4Mapped: IPv4Address(10, 0, 0, 1)))
        expectFailure(thirdParty.bytes, .optionNotValidForOpcode(option: .thirdParty, opcode: .announce), .malformedOption)

        var portSet = WireBuilder()
        portSet.requestHeader(opcode: 0)
        portSet.portSet(size: 10)
        expectFailure(portSet.bytes, .optionNotValidForOpcode(option: .portSet, opcode: .announce), .malformedOption)

        var unknown = WireBuilder()
        unknown.requestHeader(opcode: 0)
        unknown.option(code: 200)
        #expect(requestError(unknown.bytes) == nil)
    }

    @Test("THIRD_PARTY twice gets MALFORMED_OPTION (RFC 6887 sections 7.3, 13.1)")
    func duplicateThirdParty() {
        var builder = Fixtures.mapRequest()
        builder.thirdParty(IPv6Address(ipv4Mapped: IPv4Address(10, 0, 0, 1)))
        builder.thirdParty(IPv6Address(ipv4Mapped: IPv4Address(10, 0, 0, 2)))
        expectFailure(builder.bytes, .duplicateOption(.thirdParty), .malformedOption)
        #expect(requestError(builder.bytes)?.offset == 80)
    }

    @Test("PREFER_FAILURE twice gets MALFORMED_OPTION (RFC 6887 sections 7.3, 13.2)")
    func duplicatePreferFailure() {
        var builder = Fixtures.mapRequest(externalPort: 8080)
        builder.preferFailure()
        builder.preferFailure()
        expectFailure(builder.bytes, .duplicateOption(.preferFailure), .malformedOption)
    }

    @Test("several FILTERs are fine (RFC 6887 section 13.3)")
    func severalFilters() throws {
        var builder = Fixtures.mapRequest()
        builder.filter(prefixLength: 128, port: 80, peer: IPv6Address(ipv4Mapped: IPv4Address(198, 51, 100, 1)))
        builder.filter(prefixLength: 120, peer: IPv6Address(ipv4Mapped: IPv4Address(198, 51, 100, 0)))
        #expect(try PCPRequest.parse(builder.bytes).filters.count == 2)
    }

    @Test("a FILTER Prefix Length out of range gets MALFORMED_OPTION (RFC 6887 section 13.3)")
    func filterPrefixLength() {
        let v4 = IPv6Address(ipv4Mapped: IPv4Address(198, 51, 100, 1))
        let v6 = IPv6Address(groups: (0x2001, 0xDB8, 0, 0, 0, 0, 0, 1))
        for (prefix, peer, valid) in [(129, v6, false), (255, v6, false), (129, v4, false), (1, v4, false), (95, v4, false),
                                      (0, v4, true), (96, v4, true), (128, v4, true), (0, v6, true), (1, v6, true), (128, v6, true)] {
            var builder = Fixtures.mapRequest()
            builder.filter(prefixLength: UInt8(prefix), peer: peer)
            if valid {
                #expect(requestError(builder.bytes) == nil, "prefix \(prefix) for \(peer)")
            } else {
                expectFailure(builder.bytes, .filterPrefixLengthInvalid(prefixLength: UInt8(prefix), remotePeerIsIPv4: peer.ipv4Mapped != nil),
                              .malformedOption)
                #expect(requestError(builder.bytes)?.offset == 65)
            }
        }
    }

    // MARK: RFC 7753 section 4.2: PORT_SET

    @Test("PORT_SET twice gets MALFORMED_OPTION, whatever the lifetime (RFC 7753 section 4.2)")
    func duplicatePortSet() {
        for lifetime: UInt32 in [7200, 0] {
            var builder = Fixtures.mapRequest(lifetime: lifetime)
            builder.portSet(size: 10)
            builder.portSet(size: 20)
            expectFailure(builder.bytes, .duplicateOption(.portSet), .malformedOption)
        }
    }

    @Test("PORT_SET with size 0 gets MALFORMED_OPTION when the lifetime is not 0 (RFC 7753 section 4.2)")
    func portSetSizeZero() throws {
        var builder = Fixtures.mapRequest(lifetime: 7200)
        builder.portSet(size: 0)
        expectFailure(builder.bytes, .portSetSizeZero, .malformedOption)
        var delete = Fixtures.mapRequest(lifetime: 0)
        delete.portSet(size: 0)
        #expect(try PCPRequest.parse(delete.bytes).portSet?.size == 0)
    }

    @Test("PORT_SET with PREFER_FAILURE gets MALFORMED_OPTION in either order (RFC 7753 section 4.2)")
    func portSetWithPreferFailure() throws {
        var first = Fixtures.mapRequest(externalPort: 9000)
        first.portSet(size: 10)
        first.preferFailure()
        expectFailure(first.bytes, .portSetWithPreferFailure, .malformedOption)
        var second = Fixtures.mapRequest(externalPort: 9000)
        second.preferFailure()
        second.portSet(size: 10)
        expectFailure(second.bytes, .portSetWithPreferFailure, .malformedOption)
        var delete = Fixtures.mapRequest(lifetime: 0, externalPort: 9000)
        delete.preferFailure()
        delete.portSet(size: 10)
        #expect(try PCPRequest.parse(delete.bytes).options.count == 2)
    }

    // MARK: RFC 6887 section 13.2: PREFER_FAILURE

    @Test("PREFER_FAILURE with nothing suggested gets MALFORMED_OPTION (RFC 6887 section 13.2)")
    func preferFailureWithoutSuggestion() {
        for address in [Fixtures.unspecifiedIPv4, IPv6Address.any] {
            var builder = Fixtures.mapRequest(externalPort: 0, externalAddress: address)
            builder.preferFailure()
            expectFailure(builder.bytes, .preferFailureWithoutSuggestion, .malformedOption)
            #expect(requestError(builder.bytes)?.offset == 60)
        }
        var port = Fixtures.mapRequest(externalPort: 8080)
        port.preferFailure()
        #expect(requestError(port.bytes) == nil)
        var address = Fixtures.mapRequest(externalAddress: IPv6Address(ipv4Mapped: IPv4Address(192, 0, 2, 3)))
        address.preferFailure()
        #expect(requestError(address.bytes) == nil)
    }

    // MARK: Ordering

    @Test("the first broken rule in wire order is the one reported")
    func firstErrorWins() {
        var builder = Fixtures.mapRequest()
        builder.option(code: 99, data: [])
        builder.portSet(size: 1)
        builder.portSet(size: 1)
        expectFailure(builder.bytes, .unsupportedMandatoryOption(code: 99), .unsupportedOption)

        var lengthFirst = Fixtures.mapRequest()
        lengthFirst.option(code: 1, data: [0, 0, 0, 0])
        lengthFirst.option(code: 130, length: 200, data: [])
        expectFailure(lengthFirst.bytes, .optionLengthInvalid(option: .thirdParty, length: 4), .malformedOption)
    }

    // MARK: Source address checks

    @Test("a client address other than the source gets ADDRESS_MISMATCH (RFC 6887 section 8.3)")
    func addressMismatch() throws {
        let request = try PCPRequest.parse(Fixtures.rfc7753Request)
        let other = IPv6Address(ipv4Mapped: IPv4Address(203, 0, 113, 9))
        #expect(throws: PCPRequestError(.clientAddressMismatch(claimed: Fixtures.client, source: other), at: 8)) {
            try request.checkSource(other)
        }
        #expect(throws: Never.self) { try request.checkSource(Fixtures.client) }
        #expect(PCPRequestError(.clientAddressMismatch(claimed: Fixtures.client, source: other)).resultCode == .addressMismatch)
    }

    @Test("THIRD_PARTY naming the source itself gets MALFORMED_REQUEST (RFC 6887 section 13.1)")
    func thirdPartyIsSource() throws {
        var builder = Fixtures.mapRequest()
        builder.thirdParty(Fixtures.client)
        let request = try PCPRequest.parse(builder.bytes)
        #expect(request.internalAddress == Fixtures.client)
        do {
            try request.checkSource(Fixtures.client)
            Issue.record("expected an error")
        } catch {
            #expect(error.reason == .thirdPartyIsSource(Fixtures.client))
            #expect(error.offset == 64)
            #expect(error.resultCode == .malformedRequest)
            #expect(!error.reason.isParseFailure)
        }
    }

    @Test("every reason names its RFC section and states its answer")
    func descriptions() {
        let error = PCPRequestError(.portSetSizeZero, at: 64)
        #expect(error.description == "PORT_SET Port Set Size is 0 at offset 64 (RFC 7753 section 4.2): answer MALFORMED_OPTION (6)")
        #expect(PCPRequestError(.responseBitSet, at: 1).description.hasSuffix("drop silently"))
    }
}
