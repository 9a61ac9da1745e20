public import WireFormat

/// One Plain Mode option (draft section 4.1):
/// `Kind=30 | Length | SubType(4) D(1) Flags(3) | Protocol | Address (4 or 16) | Port (0 or 2)`.
@frozen
public struct PlainModeOption: Hashable, Sendable {
    /// D = 1: the address (and port) is the source; D = 0: the destination.
    public enum Direction: String, Hashable, Sendable { case source, destination }

    public var direction: Direction
    /// IANA protocol number of the relayed traffic (6 TCP, 17 UDP).
    public var protocolNumber: UInt8
    public var address: IPAddress
    public var port: UInt16?
    public var subtype: UInt8
    /// The three flag bits as received (the draft says send 0, ignore on receipt).
    public var flags: UInt8

    @inlinable
    public init(
        direction: Direction, protocolNumber: UInt8, address: IPAddress, port: UInt16? = nil,
        subtype: UInt8 = PlainMode.defaultSubtype, flags: UInt8 = 0
    ) {
        self.direction = direction
        self.protocolNumber = protocolNumber
        self.address = address
        self.port = port
        self.subtype = subtype
        self.flags = flags
    }

    /// Bytes on the wire: 8/10 for IPv4, 20/22 for IPv6 (the family is implied by the length).
    @inlinable
    public var encodedLength: Int {
        (address.isIPv4 ? 8 : 20) + (port == nil ? 0 : 2)
    }

    /// Writes the option at the start of `buffer`; returns the bytes written.
    @inlinable
    @discardableResult
    public func encode(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let length = encodedLength
        precondition(buffer.count >= length, "PM option needs \(length) bytes")
        buffer[0] = PlainMode.optionKind
        buffer[1] = UInt8(length)
        buffer[2] = (subtype & 0x0F) << 4 | (direction == .source ? 0x08 : 0) | (flags & 0x07)
        buffer[3] = protocolNumber
        var offset = 4
        switch address {
        case .v4(let a):
            buffer.storeWireIPv4Address(a, at: offset)
            offset += 4
        case .v6(let a):
            buffer.storeWireIPv6Address(a, at: offset)
            offset += 16
        }
        if let port {
            buffer.storeWireUInt16(port, at: offset)
            offset += 2
        }
        return offset
    }

    /// The option's bytes, for tools and tests.
    public func encoded() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: encodedLength) { buffer, count in
            count = encode(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// Validates a Length byte; the family and port presence follow from it.
    @inlinable @inline(__always)
    static func layout(ofLength length: UInt8) -> (isIPv4: Bool, hasPort: Bool)? {
        switch length {
        case 8: (true, false)
        case 10: (true, true)
        case 20: (false, false)
        case 22: (false, true)
        default: nil
        }
    }

    /// Decodes one whole option at the start of `bytes` (kind byte first). Checks the layout
    /// and subtype only; `PlainModePolicy` judges the content.
    @inlinable
    public static func decode(_ bytes: UnsafeRawBufferPointer, subtype expected: UInt8 = PlainMode.defaultSubtype)
        throws(PlainModeError) -> PlainModeOption
    {
        guard bytes.count >= 2 else { throw .truncated }
        guard bytes[0] == PlainMode.optionKind else { throw .unexpectedOptionKind(bytes[0]) }
        guard let layout = layout(ofLength: bytes[1]) else { throw .badLength(bytes[1]) }
        guard bytes.count >= Int(bytes[1]) else { throw .truncated }
        return try decode(bytes, at: 0, length: Int(bytes[1]), isIPv4: layout.isIPv4, hasPort: layout.hasPort, subtype: expected)
    }

    /// Decodes an option whose kind, Length (`length`, giving `isIPv4` and `hasPort`) and extent
    /// inside `bytes` the caller has already checked: the parser's fast path.
    @inlinable @inline(__always)
    static func decode(
        _ bytes: UnsafeRawBufferPointer, at offset: Int, length: Int, isIPv4: Bool, hasPort: Bool, subtype expected: UInt8
    ) throws(PlainModeError) -> PlainModeOption {
        let subtypeAndFlags = bytes[offset &+ 2]
        guard subtypeAndFlags >> 4 == expected else { throw .unknownSubtype(subtypeAndFlags >> 4) }
        return PlainModeOption(
            direction: subtypeAndFlags & 0x08 != 0 ? .source : .destination,
            protocolNumber: bytes[offset &+ 3],
            address: isIPv4 ? .v4(bytes.wireIPv4Address(at: offset &+ 4)) : .v6(bytes.wireIPv6Address(at: offset &+ 4)),
            port: hasPort ? bytes.wireUInt16(at: offset &+ length &- 2) : nil,
            subtype: subtypeAndFlags >> 4,
            flags: subtypeAndFlags & 0x07
        )
    }
}
