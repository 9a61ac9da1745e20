/// Every way a port-set parameter, port range or OPTION_V4_PORTPARAMS can be rejected.
public enum PortSetError: Error, Hashable, Sendable {
    /// The PSID offset `a` is above 15 (RFC 7618 section 9 allows 0...15).
    case offsetOutOfRange(offset: Int)
    /// The PSID length `k` is negative or above 16.
    case psidLengthOutOfRange(psidLength: Int)
    /// `a + k` exceeds the 16 bits of a port number.
    case geometryTooWide(offset: Int, psidLength: Int)
    /// The PSID does not fit in `k` bits.
    case psidOutOfRange(psid: Int, psidLength: Int)
    /// The option's code byte is not OPTION_V4_PORTPARAMS (159).
    case unexpectedOptionCode(code: UInt8)
    /// The option's length byte is not 4.
    case badOptionLength(length: UInt8)
    /// The input ends before the option (or its body) does.
    case truncated(needed: Int, available: Int)
    /// The left-aligned PSID field has non-zero bits after its first `k` bits.
    case nonZeroPSIDPadding(field: UInt16, psidLength: Int)
    /// The output buffer is too small for the encoded option.
    case outputBufferTooSmall(needed: Int, available: Int)
    /// A contiguous port range with no ports (RFC 7753: Port Set Size MUST NOT be zero).
    case emptyPortRange(firstPort: UInt16)
    /// A contiguous port range that would run past port 65535.
    case portRangeWraps(firstPort: UInt16, count: Int)
    /// A contiguous port range whose last port is below its first.
    case portRangeReversed(firstPort: UInt16, lastPort: UInt16)
}

extension PortSetError: CustomStringConvertible {
    /// What was wrong and what to change.
    public var description: String {
        switch self {
        case .offsetOutOfRange(let offset):
            "PSID offset \(offset) is out of range: use an offset (a) between 0 and 15 (6 is the MAP default)."
        case .psidLengthOutOfRange(let psidLength):
            "PSID length \(psidLength) is out of range: use a PSID length (k) between 0 and 16."
        case .geometryTooWide(let offset, let psidLength):
            "offset \(offset) + PSID length \(psidLength) = \(offset + psidLength) exceeds the 16 bits of a port: "
                + "lower the offset or the PSID length so that they add up to at most 16."
        case .psidOutOfRange(let psid, let psidLength):
            "PSID \(psid) does not fit in \(psidLength) bits: use a PSID between 0 and \((1 << psidLength) - 1)"
                + (psidLength == 0 ? " (PSID length 0 means the whole address, so the PSID must be 0)." : ".")
        case .unexpectedOptionCode(let code):
            "option code \(code) is not OPTION_V4_PORTPARAMS: the option must start with code 159 (0x9F), "
                + "a one-byte DHCPv4 code (RFC 7618 section 9)."
        case .badOptionLength(let length):
            "OPTION_V4_PORTPARAMS length \(length) is wrong: the length byte must be 4 "
                + "(offset, PSID-len, 16-bit PSID)."
        case .truncated(let needed, let available):
            "input is truncated: OPTION_V4_PORTPARAMS needs \(needed) bytes but only \(available) are present; "
                + "pass the whole option."
        case .nonZeroPSIDPadding(let field, let psidLength):
            "PSID field 0x\(hex4(field)) has non-zero bits after its first \(psidLength) bits: the PSID is "
                + "left-aligned, so the low \(16 - psidLength) bits must be zero (encode it as PSID << (16 - k))."
        case .outputBufferTooSmall(let needed, let available):
            "output buffer holds \(available) bytes but the option needs \(needed): pass a larger buffer."
        case .emptyPortRange(let firstPort):
            "port range starting at \(firstPort) has no ports: a port set must hold at least one port "
                + "(RFC 7753: Port Set Size MUST NOT be zero)."
        case .portRangeWraps(let firstPort, let count):
            "\(count) ports starting at \(firstPort) run past port 65535: use a count of at most \(65536 - Int(firstPort)) "
                + "or a lower first port."
        case .portRangeReversed(let firstPort, let lastPort):
            "port range \(firstPort)-\(lastPort) ends before it starts: give the lower port first."
        }
    }
}

/// Four lower-case hex digits, zero-padded; String(radix:) would drop the leading zeros.
private func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 4 - digits.count) + digits
}
