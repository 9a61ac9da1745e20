public import WireFormat

// Parsing of requests (server side) and responses (client side). Every read is preceded by a
// length check against the buffer, so no input can trap; the fuzz target relies on this.

extension PCPRequest {
    /// Parses a request as a server receives it, applying the RFC 6887 section 8.3 checks in
    /// order (size, R bit, version, length, opcode), then the opcode data, then each option in
    /// wire order (RFC 6887 section 7.3), then the cross-option rules. The thrown error names the
    /// rule and the result code to answer with, or that the request is dropped silently.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(PCPRequestError) -> PCPRequest {
        let count = bytes.count
        // RFC 6887 section 8.3: fewer than 2 bytes cannot even be told apart from a response.
        guard count >= 2 else { throw PCPRequestError(.tooShortToAnswer(length: count)) }
        let version = bytes.wireUInt8(at: 0)
        let rAndOpcode = bytes.wireUInt8(at: 1)
        // Answering a response could start a loop between two servers.
        guard rAndOpcode & PCP.responseBit == 0 else { throw PCPRequestError(.responseBitSet, at: 1) }
        guard version == PCP.version else { throw PCPRequestError(.unsupportedVersion(version)) }
        guard count >= PCP.headerSize else { throw PCPRequestError(.shorterThanHeader(length: count)) }
        guard count <= PCP.maximumMessageSize else { throw PCPRequestError(.longerThanMaximum(length: count)) }
        guard count % 4 == 0 else { throw PCPRequestError(.lengthNotMultipleOfFour(length: count)) }
        guard let opcode = PCPOpcode(rawValue: rAndOpcode) else {
            throw PCPRequestError(.unsupportedOpcode(rAndOpcode), at: 1)
        }
        let requestedLifetime = bytes.wireUInt32(at: 4)
        let clientAddress = bytes.wireIPv6Address(at: 8)

        var offset = PCP.headerSize
        let payload: PCPOpcodePayload
        switch opcode {
        case .announce:
            payload = .announce
        case .map:
            guard count - offset >= PCP.mapDataSize else {
                throw PCPRequestError(.truncatedOpcodeData(opcode: .map, available: count - offset), at: offset)
            }
            // RFC 6887 section 11.1: with Protocol 0 the Internal Port "MUST be ignored on
            // reception", so it is kept as sent and left to the server's policy, not refused.
            payload = .map(readMapData(bytes, at: offset))
            offset += PCP.mapDataSize
        }

        var options: [PCPOption] = []
        var seen = SeenOptions()
        var preferFailureOffset = 0
        while offset < count {
            let header: RawOptionHeader
            do { header = try readOptionHeader(bytes, at: offset) } catch { throw error.requestError }
            let dataOffset = offset + PCP.optionHeaderSize
            if let known = PCPOptionCode(rawValue: header.code) {
                guard header.length == known.dataLength else {
                    throw PCPRequestError(.optionLengthInvalid(option: known, length: header.length), at: offset + 2)
                }
                // Every option defined so far is valid for MAP only (PEER is not supported here).
                guard opcode == .map else {
                    throw PCPRequestError(.optionNotValidForOpcode(option: known, opcode: opcode), at: offset)
                }
                if known.isSingleton {
                    guard !seen.contains(known) else { throw PCPRequestError(.duplicateOption(known), at: offset) }
                    seen.insert(known)
                }
                let option = decodeKnownOption(known, bytes, dataOffset: dataOffset)
                switch option {
                case .filter(let filter) where !filter.hasValidPrefixLength:
                    throw PCPRequestError(.filterPrefixLengthInvalid(
                        prefixLength: filter.prefixLength,
                        remotePeerIsIPv4: filter.remotePeerAddress.ipv4Mapped != nil), at: dataOffset + 1)
                // RFC 7753 section 4.2 applies these checks to non-zero Requested Lifetimes only.
                case .portSet(let set) where set.size == 0 && requestedLifetime != 0:
                    throw PCPRequestError(.portSetSizeZero, at: dataOffset)
                case .preferFailure:
                    preferFailureOffset = offset
                default:
                    break
                }
                if requestedLifetime != 0 && seen.contains(.portSet) && seen.contains(.preferFailure) {
                    throw PCPRequestError(.portSetWithPreferFailure, at: offset)
                }
                options.append(option)
            } else if PCPOptionCode.isMandatory(header.code) {
                throw PCPRequestError(.unsupportedMandatoryOption(code: header.code), at: offset)
            } else {
                // RFC 6887 section 7.3: a server ignores an unsupported optional-to-process option;
                // it is kept as `.unknown` so that logs and the decoder can still show it.
                options.append(.unknown(code: header.code, dataLength: header.length))
            }
            offset = dataOffset + PCPOption.paddedLength(Int(header.length))
        }

        // RFC 6887 section 13.2: PREFER_FAILURE needs something it could fail to provide.
        if seen.contains(.preferFailure), let data = payload.mapData,
           data.externalPort == 0 && data.hasUnspecifiedExternalAddress {
            throw PCPRequestError(.preferFailureWithoutSuggestion, at: preferFailureOffset)
        }
        return PCPRequest(requestedLifetime: requestedLifetime, clientAddress: clientAddress,
                          payload: payload, options: options)
    }

    /// Parses a request held in an array; see `parse(_:)` on a raw buffer.
    public static func parse(_ bytes: [UInt8]) throws(PCPRequestError) -> PCPRequest {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(PCPRequestError) -> PCPRequest in try parse(buffer) }
        }
        return try result.get()
    }

    /// Checks the request against the source address of the datagram that carried it (IPv4 as
    /// IPv4-mapped): ADDRESS_MISMATCH when the PCP Client's IP Address differs (RFC 6887
    /// section 8.3), MALFORMED_REQUEST when THIRD_PARTY names the source itself (section 13.1).
    public func checkSource(_ source: IPv6Address) throws(PCPRequestError) {
        guard clientAddress == source else {
            throw PCPRequestError(.clientAddressMismatch(claimed: clientAddress, source: source), at: 8)
        }
        var offset = PCP.headerSize + opcode.dataSize
        for option in options {
            if case .thirdParty(let address) = option, address == source {
                throw PCPRequestError(.thirdPartyIsSource(address), at: offset + PCP.optionHeaderSize)
            }
            offset += option.encodedSize
        }
    }
}

extension PCPResponse {
    /// Parses a response as a client receives it. Structural checks only (sizes, R bit, version,
    /// opcode, result code, option lengths): a client accepts what a server chose to send, and
    /// keeps unknown options, mandatory or not, as `.unknown`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(PCPResponseError) -> PCPResponse {
        let count = bytes.count
        // Version first, so that a NAT-PMP reply (version 0, 8-16 bytes) is named as such.
        if count >= 1 {
            let version = bytes.wireUInt8(at: 0)
            guard version == PCP.version else { throw PCPResponseError(.unsupportedVersion(version)) }
        }
        if count >= 2 {
            guard bytes.wireUInt8(at: 1) & PCP.responseBit != 0 else { throw PCPResponseError(.notAResponse, at: 1) }
        }
        guard count >= PCP.headerSize else { throw PCPResponseError(.shorterThanHeader(length: count)) }
        guard count <= PCP.maximumMessageSize else { throw PCPResponseError(.longerThanMaximum(length: count)) }
        guard count % 4 == 0 else { throw PCPResponseError(.lengthNotMultipleOfFour(length: count)) }
        let rawOpcode = bytes.wireUInt8(at: 1) & ~PCP.responseBit
        guard let opcode = PCPOpcode(rawValue: rawOpcode) else {
            throw PCPResponseError(.unsupportedOpcode(rawOpcode), at: 1)
        }
        let rawResult = bytes.wireUInt8(at: 3)
        guard let resultCode = PCPResultCode(rawValue: rawResult) else {
            throw PCPResponseError(.unknownResultCode(rawResult), at: 3)
        }
        let lifetime = bytes.wireUInt32(at: 4)
        let epochTime = bytes.wireUInt32(at: 8)

        var offset = PCP.headerSize
        let payload: PCPOpcodePayload
        switch opcode {
        case .announce:
            payload = .announce
        case .map:
            guard count - offset >= PCP.mapDataSize else {
                throw PCPResponseError(.truncatedOpcodeData(opcode: .map, available: count - offset), at: offset)
            }
            payload = .map(readMapData(bytes, at: offset))
            offset += PCP.mapDataSize
        }

        var options: [PCPOption] = []
        while offset < count {
            let header: RawOptionHeader
            do { header = try readOptionHeader(bytes, at: offset) } catch {
                throw PCPResponseError(error.responseReason, at: error.offset)
            }
            let dataOffset = offset + PCP.optionHeaderSize
            if let known = PCPOptionCode(rawValue: header.code) {
                guard header.length == known.dataLength else {
                    throw PCPResponseError(.optionLengthInvalid(option: known, length: header.length), at: offset + 2)
                }
                options.append(decodeKnownOption(known, bytes, dataOffset: dataOffset))
            } else {
                options.append(.unknown(code: header.code, dataLength: header.length))
            }
            offset = dataOffset + PCPOption.paddedLength(Int(header.length))
        }
        return PCPResponse(resultCode: resultCode, lifetime: lifetime, epochTime: epochTime,
                           payload: payload, options: options)
    }

    /// Parses a response held in an array; see `parse(_:)` on a raw buffer.
    public static func parse(_ bytes: [UInt8]) throws(PCPResponseError) -> PCPResponse {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(PCPResponseError) -> PCPResponse in try parse(buffer) }
        }
        return try result.get()
    }
}

// MARK: - Shared readers

/// The singleton options seen so far in one message, as a bit set.
private struct SeenOptions {
    private var bits: UInt8 = 0

    private static func bit(_ code: PCPOptionCode) -> UInt8 {
        switch code {
        case .thirdParty: 1
        case .preferFailure: 2
        case .filter: 4
        case .portSet: 8
        }
    }

    func contains(_ code: PCPOptionCode) -> Bool { bits & Self.bit(code) != 0 }
    mutating func insert(_ code: PCPOptionCode) { bits |= Self.bit(code) }
}

/// An option header whose padded data was checked to fit in the message.
private struct RawOptionHeader {
    var code: UInt8
    var length: UInt16
}

/// An option header that does not fit, as found by `readOptionHeader`.
private struct OptionHeaderFailure: Error {
    var offset: Int
    var headerTruncatedAvailable: Int?
    var code: UInt8 = 0
    var length: UInt16 = 0

    var requestError: PCPRequestError {
        if let available = headerTruncatedAvailable {
            return PCPRequestError(.optionHeaderTruncated(available: available), at: offset)
        }
        return PCPRequestError(.optionOverrunsMessage(code: code, length: length), at: offset)
    }

    var responseReason: PCPResponseError.Reason {
        if let available = headerTruncatedAvailable { return .optionHeaderTruncated(available: available) }
        return .optionOverrunsMessage(code: code, length: length)
    }
}

/// Reads the option header at `offset` and checks that its padded data fits before the end.
private func readOptionHeader(
    _ bytes: UnsafeRawBufferPointer, at offset: Int
) throws(OptionHeaderFailure) -> RawOptionHeader {
    let remaining = bytes.count - offset
    guard remaining >= PCP.optionHeaderSize else {
        throw OptionHeaderFailure(offset: offset, headerTruncatedAvailable: remaining)
    }
    let code = bytes.wireUInt8(at: offset)
    let length = bytes.wireUInt16(at: offset + 2)
    // RFC 6887 section 7.3: the padding is part of the option's effective length in the packet.
    guard PCPOption.paddedLength(Int(length)) <= remaining - PCP.optionHeaderSize else {
        throw OptionHeaderFailure(offset: offset, headerTruncatedAvailable: nil, code: code, length: length)
    }
    return RawOptionHeader(code: code, length: length)
}

/// Reads the 36 bytes of MAP data at `offset`; the caller checked that they are there.
private func readMapData(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> PCPMapData {
    PCPMapData(
        nonce: PCPMappingNonce(high: bytes.wireUInt64(at: offset), low: bytes.wireUInt32(at: offset + 8)),
        protocolNumber: bytes.wireUInt8(at: offset + 12),
        internalPort: bytes.wireUInt16(at: offset + 16),
        externalPort: bytes.wireUInt16(at: offset + 18),
        externalAddress: bytes.wireIPv6Address(at: offset + 20))
}

/// Decodes a known option whose Option Length the caller checked against its definition.
private func decodeKnownOption(_ code: PCPOptionCode, _ bytes: UnsafeRawBufferPointer, dataOffset: Int) -> PCPOption {
    switch code {
    case .thirdParty:
        return .thirdParty(bytes.wireIPv6Address(at: dataOffset))
    case .preferFailure:
        return .preferFailure
    case .filter:
        return .filter(PCPFilter(
            prefixLength: bytes.wireUInt8(at: dataOffset + 1),
            remotePeerPort: bytes.wireUInt16(at: dataOffset + 2),
            remotePeerAddress: bytes.wireIPv6Address(at: dataOffset + 4)))
    case .portSet:
        // The 7 reserved bits next to P are ignored on receipt (RFC 7753 section 4).
        return .portSet(PCPPortSet(
            size: bytes.wireUInt16(at: dataOffset),
            firstInternalPort: bytes.wireUInt16(at: dataOffset + 2),
            preservesParity: bytes.wireUInt8(at: dataOffset + 4) & 1 != 0))
    }
}
