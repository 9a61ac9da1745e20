// Prefix comparisons on addresses, shared by IPPrefix and by callers that only hold a length
// (for example "is this PM source inside the CPE's /48").

extension IPAddress {
    /// 32 for IPv4, 128 for IPv6.
    public var bitWidth: Int { isIPv4 ? 32 : 128 }

    /// Whether both addresses are of one family and agree on their first `length` bits.
    /// A length below 0 compares no bits; one beyond the family's width compares all of them.
    public func hasSamePrefix(as other: IPAddress, length: Int) -> Bool {
        switch (self, other) {
        case let (.v4(a), .v4(b)):
            return (a.value ^ b.value) & IPv4Address.mask(length: length) == 0
        case let (.v6(a), .v6(b)):
            let (high, low) = IPv6Address.mask(length: length)
            return (a.high ^ b.high) & high == 0 && (a.low ^ b.low) & low == 0
        default:
            return false
        }
    }

    /// The address with every bit after the first `length` cleared.
    public func masked(toLength length: Int) -> IPAddress {
        switch self {
        case .v4(let a):
            return .v4(IPv4Address(a.value & IPv4Address.mask(length: length)))
        case .v6(let a):
            let (high, low) = IPv6Address.mask(length: length)
            return .v6(IPv6Address(high: a.high & high, low: a.low & low))
        }
    }
}

extension IPv4Address {
    /// The netmask of a /`length`, with `length` clamped to 0...32.
    static func mask(length: Int) -> UInt32 {
        // Smart shift: a shift by 32 yields 0, the /0 mask.
        UInt32.max << (32 - min(max(length, 0), 32))
    }
}

extension IPv6Address {
    /// The netmask of a /`length` as (high, low) halves, with `length` clamped to 0...128.
    static func mask(length: Int) -> (high: UInt64, low: UInt64) {
        let bits = min(max(length, 0), 128)
        // Smart shifts: a shift by 64 or more yields 0.
        return (UInt64.max << (64 - min(bits, 64)), UInt64.max << (128 - max(bits, 64)))
    }
}
