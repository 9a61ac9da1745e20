/// The decoded fields of an IPv4 header (RFC 791).
@frozen
public struct IPv4Header: Equatable, Sendable {
    public static let minimumLength = 20

    @inlinable
    public init(headerLength: Int, typeOfService: UInt8, totalLength: Int, identification: UInt16, flagsAndFragmentOffset: UInt16, timeToLive: UInt8, protocolNumber: UInt8, headerChecksum: UInt16, source: IPv4Address, destination: IPv4Address) {
        self.headerLength = headerLength
        self.typeOfService = typeOfService
        self.totalLength = totalLength
        self.identification = identification
        self.flagsAndFragmentOffset = flagsAndFragmentOffset
        self.timeToLive = timeToLive
        self.protocolNumber = protocolNumber
        self.headerChecksum = headerChecksum
        self.source = source
        self.destination = destination
    }

    public var headerLength: Int
    public var typeOfService: UInt8
    public var totalLength: Int
    public var identification: UInt16
    /// Flags (3 bits) and fragment offset (13 bits, in 8-byte units) as on the wire.
    public var flagsAndFragmentOffset: UInt16
    public var timeToLive: UInt8
    public var protocolNumber: UInt8
    public var headerChecksum: UInt16
    public var source: IPv4Address
    public var destination: IPv4Address

    /// Offset of the fragment's data in the original datagram; non-zero means no transport header.
    @inlinable public var fragmentOffset: Int { Int(flagsAndFragmentOffset & 0x1FFF) * 8 }
    @inlinable public var moreFragments: Bool { flagsAndFragmentOffset & 0x2000 != 0 }
    @inlinable public var isFragment: Bool { flagsAndFragmentOffset & 0x3FFF != 0 }

    /// Decodes the header at the start of `bytes`; `totalLength` must fit in the buffer.
    @inlinable @inline(__always)
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(PacketError) -> IPv4Header {
        guard bytes.count >= minimumLength else {
            throw .truncated(layer: .ipv4, needed: minimumLength, available: bytes.count)
        }
        let versionAndLength = bytes[0]
        guard versionAndLength >> 4 == 4 else { throw .badVersion(versionAndLength >> 4) }
        let headerLength = Int(versionAndLength & 0x0F) * 4
        guard headerLength >= minimumLength else { throw .badHeaderLength(layer: .ipv4, length: headerLength) }
        let totalLength = Int(bytes.wireUInt16(at: 2))
        // GSO/GRO-merged packets queued with NFQA_CFG_F_GSO may carry 0 here; the buffer is authoritative then.
        let effectiveLength = totalLength == 0 ? bytes.count : totalLength
        guard effectiveLength >= headerLength, effectiveLength <= bytes.count else {
            throw .badTotalLength(layer: .ipv4, length: totalLength)
        }
        return IPv4Header(
            headerLength: headerLength,
            typeOfService: bytes[1],
            totalLength: effectiveLength,
            identification: bytes.wireUInt16(at: 4),
            flagsAndFragmentOffset: bytes.wireUInt16(at: 6),
            timeToLive: bytes[8],
            protocolNumber: bytes[9],
            headerChecksum: bytes.wireUInt16(at: 10),
            source: bytes.wireIPv4Address(at: 12),
            destination: bytes.wireIPv4Address(at: 16)
        )
    }

    /// Whether the header checksum over the first `headerLength` bytes is correct.
    @inlinable
    public static func hasValidChecksum(_ bytes: UnsafeRawBufferPointer, headerLength: Int) -> Bool {
        InternetChecksum.checksum(of: UnsafeRawBufferPointer(rebasing: bytes[0..<headerLength])) == 0
    }

    /// Writes a 20-byte header without options, checksum included; returns 20.
    @inlinable
    @discardableResult
    public static func write(
        into bytes: UnsafeMutableRawBufferPointer,
        source: IPv4Address, destination: IPv4Address, protocolNumber: UInt8,
        payloadLength: Int, identification: UInt16 = 0, timeToLive: UInt8 = 64, dontFragment: Bool = true
    ) -> Int {
        precondition(bytes.count >= minimumLength && payloadLength + minimumLength <= 0xFFFF)
        bytes.storeWireUInt16(0x4500, at: 0)
        bytes.storeWireUInt16(UInt16(minimumLength + payloadLength), at: 2)
        bytes.storeWireUInt16(identification, at: 4)
        bytes.storeWireUInt16(dontFragment ? 0x4000 : 0, at: 6)
        bytes[8] = timeToLive
        bytes[9] = protocolNumber
        bytes.storeWireUInt16(0, at: 10)
        bytes.storeWireIPv4Address(source, at: 12)
        bytes.storeWireIPv4Address(destination, at: 16)
        let checksum = InternetChecksum.checksum(of: UnsafeRawBufferPointer(rebasing: bytes[0..<minimumLength]))
        bytes.storeWireUInt16(checksum, at: 10)
        return minimumLength
    }
}
