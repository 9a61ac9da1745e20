/// The decoded UDP header (RFC 768).
@frozen
public struct UDPHeader: Equatable, Sendable {
    public static let length = 8

    @inlinable
    public init(sourcePort: UInt16, destinationPort: UInt16, totalLength: Int, checksum: UInt16) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.totalLength = totalLength
        self.checksum = checksum
    }

    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// Header plus payload, as the length field says (validated against the buffer).
    public var totalLength: Int
    public var checksum: UInt16

    /// Decodes the header at the start of `bytes` (the datagram).
    @inlinable @inline(__always)
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(PacketError) -> UDPHeader {
        guard bytes.count >= length else { throw .truncated(layer: .udp, needed: length, available: bytes.count) }
        var totalLength = Int(bytes.wireUInt16(at: 4))
        // 0 is legal for IPv6 jumbograms and GSO super-packets: the buffer is authoritative then.
        if totalLength == 0 { totalLength = bytes.count }
        guard totalLength >= length, totalLength <= bytes.count else {
            throw .badTotalLength(layer: .udp, length: totalLength)
        }
        return UDPHeader(
            sourcePort: bytes.wireUInt16(at: 0),
            destinationPort: bytes.wireUInt16(at: 2),
            totalLength: totalLength,
            checksum: bytes.wireUInt16(at: 6)
        )
    }

    /// Writes the header with a zero checksum (fill it with `TransportChecksum`); returns 8.
    @inlinable
    @discardableResult
    public static func write(
        into bytes: UnsafeMutableRawBufferPointer, sourcePort: UInt16, destinationPort: UInt16, payloadLength: Int
    ) -> Int {
        precondition(bytes.count >= length && payloadLength + length <= 0xFFFF)
        bytes.storeWireUInt16(sourcePort, at: 0)
        bytes.storeWireUInt16(destinationPort, at: 2)
        bytes.storeWireUInt16(UInt16(length + payloadLength), at: 4)
        bytes.storeWireUInt16(0, at: 6)
        return length
    }
}
