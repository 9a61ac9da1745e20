public import WireFormat

/// The UDP-over-MPTCP record format (draft section 5.1): each datagram travels on the byte
/// stream as a 16-bit big-endian length followed by the payload.
public enum UDPFraming {
    public static let lengthPrefixSize = 2
    /// The 16-bit length field's ceiling.
    public static let largestRecordPayload = 0xFFFF
    /// Largest payload of a UDP datagram over IPv4 (65535 - 20 - 8); the decoder's default cap.
    public static let largestIPv4Datagram = 65_507

    /// Writes `len16 || payload` at the start of `buffer`; returns the bytes written.
    @inlinable
    @discardableResult
    public static func frame(_ payload: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer)
        throws(UDPFramingError) -> Int
    {
        guard payload.count <= largestRecordPayload else {
            throw .recordTooLarge(length: payload.count, maximum: largestRecordPayload)
        }
        precondition(buffer.count >= payload.count + lengthPrefixSize, "frame buffer too small")
        buffer.storeWireUInt16(UInt16(payload.count), at: 0)
        UnsafeMutableRawBufferPointer(rebasing: buffer[lengthPrefixSize...]).copyMemory(from: payload)
        return payload.count + lengthPrefixSize
    }

    /// The record for `payload` as an array, for tools and tests.
    public static func framed(_ payload: [UInt8]) throws(UDPFramingError) -> [UInt8] {
        guard payload.count <= largestRecordPayload else {
            throw .recordTooLarge(length: payload.count, maximum: largestRecordPayload)
        }
        return [UInt8(truncatingIfNeeded: payload.count >> 8), UInt8(truncatingIfNeeded: payload.count)] + payload
    }
}

/// Why a framed stream cannot be decoded further; after one, the stream is out of step for good.
public enum UDPFramingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A record announces more bytes than the configured maximum datagram size.
    case recordTooLarge(length: Int, maximum: Int)

    public var description: String {
        switch self {
        case let .recordTooLarge(length, maximum):
            "UDP record of \(length) bytes exceeds the maximum datagram size \(maximum)"
        }
    }
}
