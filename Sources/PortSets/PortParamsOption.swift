/// OPTION_V4_PORTPARAMS (RFC 7618 section 9): the DHCPv4 option that hands a client its PSID.
///
///     code (8) = 159 | len (8) = 4 | offset (8) | PSID-len (8) | PSID (16, left-aligned)
///
/// Why six bytes, as FACTS.md section 6 writes them (`9F 04 06 06 D0 00`): RFC 7618 defines a
/// *DHCPv4* option (sections 1 and 9; section 11 registers tag 159 in the BOOTP/DHCP registry),
/// and DHCPv4 options have a one-byte code and a one-byte length (RFC 2132 section 2). DHCP 4o6
/// (RFC 7341) tunnels the whole DHCPv4 message inside DHCPv6, so the option keeps this form there;
/// there is no 16-bit code/length variant of option 159. The DHCPv6 sibling with the same 4-byte
/// body is OPTION_S46_PORTPARAMS (RFC 7598 section 4.5), which a DHCPv6 codec can build from
/// `encodeBody(into:)` and `decode(body:)`.
public struct PortParamsOption: Hashable, Sendable {
    /// The DHCPv4 option code, 159 (0x9F).
    public static let optionCode: UInt8 = 159
    /// The value of the length byte: offset, PSID-len and the 16-bit PSID.
    public static let bodyLength = 4
    /// Code, length and body.
    public static let encodedLength = 2 + bodyLength

    /// The geometry and PSID the option carries.
    public var portSet: PSIDPortSet

    /// Wraps an already validated port set.
    public init(_ portSet: PSIDPortSet) {
        self.portSet = portSet
    }

    /// The PSID field as sent: the k-bit PSID shifted to the top of 16 bits.
    @inlinable
    public var leftAlignedPSID: UInt16 {
        // A smart shift: k = 0 shifts by 16 and yields 0, the all-zero padding senders must use.
        portSet.psid << (16 - portSet.geometry.psidLength)
    }

    /// The six option bytes.
    public func encode() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.encodedLength) { buffer, initialized in
            // Cannot throw: the buffer is exactly encodedLength bytes.
            initialized = (try? encode(into: UnsafeMutableRawBufferPointer(buffer))) ?? 0
        }
    }

    /// Writes the six option bytes at the start of `buffer` and returns how many were written.
    public func encode(into buffer: UnsafeMutableRawBufferPointer) throws(PortSetError) -> Int {
        guard buffer.count >= Self.encodedLength else {
            throw .outputBufferTooSmall(needed: Self.encodedLength, available: buffer.count)
        }
        buffer[0] = Self.optionCode
        buffer[1] = UInt8(Self.bodyLength)
        _ = try encodeBody(into: UnsafeMutableRawBufferPointer(rebasing: buffer[2...]))
        return Self.encodedLength
    }

    /// Writes the four body bytes (no code or length) at the start of `buffer`; returns 4.
    public func encodeBody(into buffer: UnsafeMutableRawBufferPointer) throws(PortSetError) -> Int {
        guard buffer.count >= Self.bodyLength else {
            throw .outputBufferTooSmall(needed: Self.bodyLength, available: buffer.count)
        }
        let field = leftAlignedPSID
        buffer[0] = UInt8(portSet.geometry.offset)
        buffer[1] = UInt8(portSet.geometry.psidLength)
        buffer[2] = UInt8(truncatingIfNeeded: field >> 8)
        buffer[3] = UInt8(truncatingIfNeeded: field)
        return Self.bodyLength
    }

    /// Decodes the option at the start of `bytes` (code, length, body); bytes after its six are
    /// left alone, since they belong to the next option.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(PortSetError) -> PortParamsOption {
        guard bytes.count >= 2 else { throw .truncated(needed: encodedLength, available: bytes.count) }
        guard bytes[0] == optionCode else { throw .unexpectedOptionCode(code: bytes[0]) }
        guard Int(bytes[1]) == bodyLength else { throw .badOptionLength(length: bytes[1]) }
        guard bytes.count >= encodedLength else { throw .truncated(needed: encodedLength, available: bytes.count) }
        return try decode(body: UnsafeRawBufferPointer(rebasing: bytes[2..<encodedLength]))
    }

    /// Decodes the option from a byte array; see `decode(_:)` for the rules.
    public static func decode(_ bytes: [UInt8]) throws(PortSetError) -> PortParamsOption {
        // withUnsafeBytes rethrows untyped errors, so carry the typed one out through a Result.
        let result: Result<PortParamsOption, PortSetError> = bytes.withUnsafeBytes { raw in
            Result { () throws(PortSetError) -> PortParamsOption in try decode(raw) }
        }
        return try result.get()
    }

    /// Decodes the four body bytes, as a DHCP options walker that already took code and length
    /// hands them over. With PSID-len 0 the PSID field is ignored (RFC 7618 section 9); otherwise
    /// bits after the first k must be zero.
    public static func decode(body: UnsafeRawBufferPointer) throws(PortSetError) -> PortParamsOption {
        guard body.count >= bodyLength else { throw .truncated(needed: bodyLength, available: body.count) }
        let geometry = try PSIDGeometry(offset: Int(body[0]), psidLength: Int(body[1]))
        let field = UInt16(body[2]) << 8 | UInt16(body[3])
        let k = geometry.psidLength
        guard k > 0 else { return PortParamsOption(try PSIDPortSet(geometry: geometry, psid: 0)) }
        let padding = UInt32(field) & ((UInt32(1) << (16 - k)) - 1)
        guard padding == 0 else { throw .nonZeroPSIDPadding(field: field, psidLength: k) }
        return PortParamsOption(try PSIDPortSet(geometry: geometry, psid: Int(field) >> (16 - k)))
    }
}
