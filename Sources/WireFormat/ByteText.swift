/// Decimal text appended to a byte buffer, for writers that render into one reused buffer
/// instead of building Strings (the allocation log, the wall clock's text).
extension Array where Element == UInt8 {
    /// `value` in decimal, zero-padded in front to at least `width` characters ("-" included,
    /// as `String(value)` padded: -5 at width 3 is "0-5").
    @inlinable
    public mutating func append(decimal value: Int64, width: Int = 0) {
        var digits = 1
        var limit: UInt64 = 10
        while digits < 20 && value.magnitude >= limit {
            digits += 1
            limit = limit &* 10
        }
        let length = digits + (value < 0 ? 1 : 0)
        if width > length { append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - length)) }
        if value < 0 { append(UInt8(ascii: "-")) }
        var divisor: UInt64 = 1
        for _ in 1..<digits { divisor &*= 10 }
        var rest = value.magnitude
        while divisor > 0 {
            append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// "a.b.c.d", as `IPv4Address.description`.
    @inlinable
    public mutating func append(address: IPv4Address) {
        let octets = address.octets
        append(decimal: Int64(octets.0))
        append(UInt8(ascii: "."))
        append(decimal: Int64(octets.1))
        append(UInt8(ascii: "."))
        append(decimal: Int64(octets.2))
        append(UInt8(ascii: "."))
        append(decimal: Int64(octets.3))
    }

    /// As `IPAddress.description`; IPv6 through its RFC 5952 text (rare in logs, so not worth a second copy).
    @inlinable
    public mutating func append(address: IPAddress) {
        switch address {
        case .v4(let v4): append(address: v4)
        case .v6(let v6): append(contentsOf: v6.description.utf8)
        }
    }

    /// "198.51.100.0/28", as `IPPrefix.description`.
    @inlinable
    public mutating func append(prefix: IPPrefix) {
        append(address: prefix.network)
        append(UInt8(ascii: "/"))
        append(decimal: Int64(prefix.length))
    }
}
