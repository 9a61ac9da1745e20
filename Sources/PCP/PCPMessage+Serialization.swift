import WireFormat

/// Why a PCP message could not be written.
public enum PCPSerializationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The destination buffer holds `available` bytes; the message needs `needed`.
    case bufferTooSmall(needed: Int, available: Int)
    /// The message would be `size` bytes, over the 1100-byte maximum (RFC 6887 section 7).
    case messageTooLarge(size: Int)

    /// The problem, in words.
    public var description: String {
        switch self {
        case .bufferTooSmall(let needed, let available):
            "buffer of \(available) bytes is too small for a \(needed)-byte PCP message"
        case .messageTooLarge(let size):
            "PCP message of \(size) bytes exceeds the \(PCP.maximumMessageSize)-byte maximum"
        }
    }
}

extension PCPRequest {
    /// Bytes `serialize(into:)` writes: header, opcode data and padded options.
    public var serializedSize: Int { PCP.headerSize + opcode.dataSize + optionsSize(options) }

    /// Writes the request into `buffer` without allocating and returns the bytes written.
    /// Reserved fields and padding are written as 0; `.unknown` options as zero-filled data.
    public func serialize(into buffer: UnsafeMutableRawBufferPointer) throws(PCPSerializationError) -> Int {
        let size = try checkedSize(serializedSize, buffer)
        buffer.storeWireUInt8(PCP.version, at: 0)
        buffer.storeWireUInt8(opcode.rawValue, at: 1)
        buffer.storeWireUInt16(0, at: 2)
        buffer.storeWireUInt32(requestedLifetime, at: 4)
        buffer.storeWireIPv6Address(clientAddress, at: 8)
        let offset = writePayload(payload, into: buffer, at: PCP.headerSize)
        _ = writeOptions(options, into: buffer, at: offset)
        return size
    }

    /// The request as a new array; see `serialize(into:)`.
    public func serialized() throws(PCPSerializationError) -> [UInt8] {
        try serializedArray(size: serializedSize) { buffer throws(PCPSerializationError) in try serialize(into: buffer) }
    }
}

extension PCPResponse {
    /// Bytes `serialize(into:)` writes: header, opcode data and padded options.
    public var serializedSize: Int { PCP.headerSize + opcode.dataSize + optionsSize(options) }

    /// Writes the response into `buffer` without allocating and returns the bytes written.
    /// The reserved fields are written as 0, as for a request that parsed (RFC 6887 section 7.2);
    /// answers to unparsable requests come from `PCPErrorResponse` instead.
    public func serialize(into buffer: UnsafeMutableRawBufferPointer) throws(PCPSerializationError) -> Int {
        let size = try checkedSize(serializedSize, buffer)
        buffer.storeWireUInt8(PCP.version, at: 0)
        buffer.storeWireUInt8(PCP.responseBit | opcode.rawValue, at: 1)
        buffer.storeWireUInt8(0, at: 2)
        buffer.storeWireUInt8(resultCode.rawValue, at: 3)
        buffer.storeWireUInt32(lifetime, at: 4)
        buffer.storeWireUInt32(epochTime, at: 8)
        zeroBytes(buffer, 12..<PCP.headerSize)
        let offset = writePayload(payload, into: buffer, at: PCP.headerSize)
        _ = writeOptions(options, into: buffer, at: offset)
        return size
    }

    /// The response as a new array; see `serialize(into:)`.
    public func serialized() throws(PCPSerializationError) -> [UInt8] {
        try serializedArray(size: serializedSize) { buffer throws(PCPSerializationError) in try serialize(into: buffer) }
    }
}

/// Error responses built from the raw request bytes, for requests that failed to parse or that
/// the server refuses (RFC 6887 sections 7.2, 7.3 and 8.3). The response is a complete copy of
/// the request with the header rewritten: version 2, R set, the request's opcode, the result code,
/// the error Lifetime and the Epoch Time. For a request that did not parse, the 96-bit reserved
/// field carries the last 96 bits of the request's PCP Client's IP Address, so that the client
/// can match the answer; otherwise it is 0.
public enum PCPErrorResponse {
    /// Size of the error response to a request of `requestLength` bytes: the copy padded to a
    /// multiple of 4, at least the 24-byte header and at most 1100 bytes.
    public static func size(forRequestLength requestLength: Int) -> Int {
        max(PCP.headerSize, PCPOption.paddedLength(min(max(0, requestLength), PCP.maximumMessageSize)))
    }

    /// Writes the error response for `request` into `buffer` and returns the bytes written.
    /// `lifetime` defaults to the result code's RFC 6887 section 7.4 recommendation.
    public static func write(
        request: UnsafeRawBufferPointer, resultCode: PCPResultCode, requestWasParsed: Bool,
        epochTime: UInt32, lifetime: UInt32? = nil, into buffer: UnsafeMutableRawBufferPointer
    ) throws(PCPSerializationError) -> Int {
        let size = size(forRequestLength: request.count)
        guard buffer.count >= size else { throw .bufferTooSmall(needed: size, available: buffer.count) }
        let opcode = request.count > 1 ? request.wireUInt8(at: 1) & ~PCP.responseBit : 0
        buffer.storeWireUInt8(PCP.version, at: 0)
        buffer.storeWireUInt8(PCP.responseBit | opcode, at: 1)
        buffer.storeWireUInt8(0, at: 2)
        buffer.storeWireUInt8(resultCode.rawValue, at: 3)
        buffer.storeWireUInt32(lifetime ?? resultCode.recommendedErrorLifetime, at: 4)
        buffer.storeWireUInt32(epochTime, at: 8)
        if requestWasParsed {
            zeroBytes(buffer, 12..<PCP.headerSize)
        } else {
            copyBytes(from: request, into: buffer, 12..<PCP.headerSize)
        }
        copyBytes(from: request, into: buffer, PCP.headerSize..<size)
        return size
    }

    /// Writes the answer to a request that failed with `error`, or returns nil without writing
    /// when the request must be dropped silently.
    public static func write(
        for error: PCPRequestError, request: UnsafeRawBufferPointer, epochTime: UInt32,
        lifetime: UInt32? = nil, into buffer: UnsafeMutableRawBufferPointer
    ) throws(PCPSerializationError) -> Int? {
        guard let resultCode = error.resultCode else { return nil }
        return try write(request: request, resultCode: resultCode, requestWasParsed: !error.reason.isParseFailure,
                         epochTime: epochTime, lifetime: lifetime, into: buffer)
    }

    /// The error response for `request` as a new array; see `write(request:resultCode:...)`.
    public static func bytes(
        request: [UInt8], resultCode: PCPResultCode, requestWasParsed: Bool, epochTime: UInt32,
        lifetime: UInt32? = nil
    ) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size(forRequestLength: request.count))
        request.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { destination in
                // Cannot fail: `out` has exactly the size the writer needs.
                _ = try? write(request: source, resultCode: resultCode, requestWasParsed: requestWasParsed,
                               epochTime: epochTime, lifetime: lifetime, into: destination)
            }
        }
        return out
    }

    /// The answer to a request that failed with `error` as a new array, or nil when the request
    /// must be dropped silently.
    public static func bytes(
        for error: PCPRequestError, request: [UInt8], epochTime: UInt32, lifetime: UInt32? = nil
    ) -> [UInt8]? {
        guard let resultCode = error.resultCode else { return nil }
        return bytes(request: request, resultCode: resultCode, requestWasParsed: !error.reason.isParseFailure,
                     epochTime: epochTime, lifetime: lifetime)
    }
}

// MARK: - Shared writers

/// Bytes the options take on the wire, padding included.
private func optionsSize(_ options: [PCPOption]) -> Int {
    options.reduce(0) { $0 + $1.encodedSize }
}

/// `size` if it is a legal message size that fits in `buffer`.
private func checkedSize(_ size: Int, _ buffer: UnsafeMutableRawBufferPointer) throws(PCPSerializationError) -> Int {
    guard size <= PCP.maximumMessageSize else { throw .messageTooLarge(size: size) }
    guard buffer.count >= size else { throw .bufferTooSmall(needed: size, available: buffer.count) }
    return size
}

/// A zeroed array of `size` bytes filled by `write`.
private func serializedArray(
    size: Int, _ write: (UnsafeMutableRawBufferPointer) throws(PCPSerializationError) -> Int
) throws(PCPSerializationError) -> [UInt8] {
    guard size <= PCP.maximumMessageSize else { throw .messageTooLarge(size: size) }
    var out = [UInt8](repeating: 0, count: size)
    let result = out.withUnsafeMutableBytes { buffer in
        Result { () throws(PCPSerializationError) -> Int in try write(buffer) }
    }
    _ = try result.get()
    return out
}

/// Writes the opcode data at `offset` and returns the offset after it.
private func writePayload(_ payload: PCPOpcodePayload, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
    switch payload {
    case .announce:
        return offset
    case .map(let data):
        buffer.storeWireUInt64(data.nonce.high, at: offset)
        buffer.storeWireUInt32(data.nonce.low, at: offset + 8)
        buffer.storeWireUInt32(UInt32(data.protocolNumber) << 24, at: offset + 12)
        buffer.storeWireUInt16(data.internalPort, at: offset + 16)
        buffer.storeWireUInt16(data.externalPort, at: offset + 18)
        buffer.storeWireIPv6Address(data.externalAddress, at: offset + 20)
        return offset + PCP.mapDataSize
    }
}

/// Writes the options at `offset`, each padded with zeros to a multiple of 4, and returns the
/// offset after them.
private func writeOptions(_ options: [PCPOption], into buffer: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
    var offset = start
    for option in options {
        let end = offset + option.encodedSize
        buffer.storeWireUInt8(option.code, at: offset)
        buffer.storeWireUInt8(0, at: offset + 1)
        buffer.storeWireUInt16(option.dataLength, at: offset + 2)
        let data = offset + PCP.optionHeaderSize
        // Zero data and padding first: unknown options and reserved bits are all zeros.
        zeroBytes(buffer, data..<end)
        switch option {
        case .thirdParty(let address):
            buffer.storeWireIPv6Address(address, at: data)
        case .preferFailure, .unknown:
            break
        case .filter(let filter):
            buffer.storeWireUInt8(filter.prefixLength, at: data + 1)
            buffer.storeWireUInt16(filter.remotePeerPort, at: data + 2)
            buffer.storeWireIPv6Address(filter.remotePeerAddress, at: data + 4)
        case .portSet(let set):
            buffer.storeWireUInt16(set.size, at: data)
            buffer.storeWireUInt16(set.firstInternalPort, at: data + 2)
            buffer.storeWireUInt8(set.preservesParity ? 1 : 0, at: data + 4)
        }
        offset = end
    }
    return offset
}

/// Writes zeros over `range` of `buffer`.
private func zeroBytes(_ buffer: UnsafeMutableRawBufferPointer, _ range: Range<Int>) {
    for index in range { buffer.storeWireUInt8(0, at: index) }
}

/// Copies `range` from `source` into the same range of `destination`, zero-filling the part of
/// the range that `source` does not have.
private func copyBytes(from source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, _ range: Range<Int>) {
    let available = min(max(range.lowerBound, source.count), range.upperBound)
    if available > range.lowerBound {
        UnsafeMutableRawBufferPointer(rebasing: destination[range.lowerBound..<available])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[range.lowerBound..<available]))
    }
    zeroBytes(destination, available..<range.upperBound)
}
