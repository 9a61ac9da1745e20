public import WireFormat

/// Turns a framed byte stream, read in arbitrary pieces, back into whole datagrams.
///
/// Records wholly inside a read are handed out in place (no copy). Only a record split across
/// reads is gathered, in a buffer owned by the decoder that grows to the largest split record
/// seen (never past `maximumDatagramSize`) and is reused, so the steady state allocates nothing.
/// A record over the maximum is an error, not a skip: the stream cannot be trusted after it.
public struct UDPFrameDecoder: ~Copyable {
    public let maximumDatagramSize: Int
    @usableFromInline var storage: UnsafeMutableRawBufferPointer = .init(start: nil, count: 0)
    /// First byte of a length prefix split across reads.
    @usableFromInline var prefixHigh: UInt8 = 0
    @usableFromInline var state: State = .awaitingPrefix
    @usableFromInline var failure: UDPFramingError?

    @usableFromInline
    enum State {
        case awaitingPrefix
        case awaitingPrefixLowByte
        /// Gathering a split record of `length` bytes, `filled` so far.
        case gathering(length: Int, filled: Int)
    }

    public init(maximumDatagramSize: Int = UDPFraming.largestIPv4Datagram) {
        precondition((0...UDPFraming.largestRecordPayload).contains(maximumDatagramSize))
        self.maximumDatagramSize = maximumDatagramSize
    }

    deinit {
        storage.deallocate()
    }

    /// Bytes held for a record not yet complete (0 at a record boundary).
    public var bufferedByteCount: Int {
        switch state {
        case .awaitingPrefix: 0
        case .awaitingPrefixLowByte: 1
        case .gathering(_, let filled): UDPFraming.lengthPrefixSize + filled
        }
    }

    /// Feeds one read; calls `deliver` with each datagram completed by it, in order. The
    /// buffer passed to `deliver` is valid only during the call.
    @inlinable
    public mutating func decode(
        _ bytes: UnsafeRawBufferPointer, deliver: (UnsafeRawBufferPointer) -> Void
    ) throws(UDPFramingError) {
        if let failure { throw failure }
        var offset = 0
        let count = bytes.count
        while offset < count {
            switch state {
            case .awaitingPrefix:
                guard offset + 2 <= count else {
                    prefixHigh = bytes[offset]
                    state = .awaitingPrefixLowByte
                    return
                }
                let length = Int(bytes.wireUInt16(at: offset))
                try checkLength(length)
                offset += 2
                if offset + length <= count {
                    // Fast path: the whole record is in this read.
                    deliver(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]))
                    offset += length
                } else {
                    offset += startGathering(length: length, from: UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                }
            case .awaitingPrefixLowByte:
                let length = Int(prefixHigh) << 8 | Int(bytes[offset])
                try checkLength(length)
                offset += 1
                state = .awaitingPrefix
                if offset + length <= count {
                    deliver(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]))
                    offset += length
                } else {
                    offset += startGathering(length: length, from: UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                }
            case let .gathering(length, filled):
                let take = min(length - filled, count - offset)
                UnsafeMutableRawBufferPointer(rebasing: storage[filled..<filled + take])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + take]))
                offset += take
                if filled + take == length {
                    state = .awaitingPrefix
                    deliver(UnsafeRawBufferPointer(rebasing: storage[0..<length]))
                } else {
                    state = .gathering(length: length, filled: filled + take)
                }
            }
        }
    }

    /// Array convenience for tools and tests; the data path passes its read buffer.
    public mutating func decode(_ bytes: [UInt8], deliver: (UnsafeRawBufferPointer) -> Void) throws(UDPFramingError) {
        // withUnsafeBytes cannot forward a typed error, so carry it out as a Result.
        let result: Result<Void, UDPFramingError> = bytes.withUnsafeBytes { buffer in
            do throws(UDPFramingError) { return .success(try decode(buffer, deliver: deliver)) } catch { return .failure(error) }
        }
        try result.get()
    }

    @usableFromInline
    mutating func checkLength(_ length: Int) throws(UDPFramingError) {
        guard length <= maximumDatagramSize else {
            let error = UDPFramingError.recordTooLarge(length: length, maximum: maximumDatagramSize)
            failure = error
            throw error
        }
    }

    /// Copies the available start of a split record; returns the bytes taken.
    @usableFromInline
    mutating func startGathering(length: Int, from available: UnsafeRawBufferPointer) -> Int {
        if storage.count < length {
            // Grow by powers of two, capped at the maximum, so a few split records settle it.
            var capacity = max(storage.count, 512)
            while capacity < length { capacity *= 2 }
            capacity = min(capacity, max(maximumDatagramSize, 1))
            storage.deallocate()
            storage = .allocate(byteCount: capacity, alignment: 8)
        }
        let take = available.count
        if take > 0 { UnsafeMutableRawBufferPointer(rebasing: storage[0..<take]).copyMemory(from: available) }
        state = .gathering(length: length, filled: take)
        return take
    }
}
