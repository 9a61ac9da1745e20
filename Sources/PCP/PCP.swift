/// PCP owns the Port Control Protocol wire format (RFC 6887) with the PORT_SET option (RFC 7753):
/// the 24-byte request and response headers, the ANNOUNCE and MAP opcodes, the THIRD_PARTY,
/// PREFER_FAILURE, FILTER and PORT_SET options, and the result code a server must answer with
/// when a request is malformed (RFC 6887 sections 7, 8.3, 11 and 13; RFC 7753 section 4).
///
/// Parsers read raw buffers in place, check every length before every read and never trap;
/// serializers write into caller-owned buffers. Mapping state, epochs and lifetimes policy
/// belong to the server, not here. Pure Swift: no Foundation, no syscalls.
public enum PCP {
    /// The UDP port a PCP server listens on (RFC 6887 section 19.1).
    public static let serverPort: UInt16 = 5351

    /// The UDP port a PCP server sends ANNOUNCE multicasts to, on clients (RFC 6887 section 19.1).
    public static let clientPort: UInt16 = 5350

    /// The protocol version this module speaks (RFC 6887 section 7).
    public static let version: UInt8 = 2

    /// The largest PCP message, in bytes (RFC 6887 section 7: "maximum UDP payload length of 1100").
    public static let maximumMessageSize = 1100

    /// The common request and response header, in bytes (RFC 6887 sections 7.1 and 7.2).
    public static let headerSize = 24

    /// The MAP opcode data, in bytes (RFC 6887 section 11.1).
    public static let mapDataSize = 36

    /// The option header (code, reserved, length), in bytes (RFC 6887 section 7.3).
    public static let optionHeaderSize = 4

    /// The bit in byte 1 that marks a response (RFC 6887 section 7.1).
    public static let responseBit: UInt8 = 0x80
}
