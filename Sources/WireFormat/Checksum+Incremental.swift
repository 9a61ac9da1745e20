// RFC 1624 incremental update: HC' = ~(~HC + ~m + m') (equation 3), which unlike equation 2
// never yields 0x0000 from a non-zero sum where 0xFFFF is meant.

extension InternetChecksum {
    /// The checksum after a 16-bit field changed from `old` to `new`.
    @inlinable @inline(__always)
    public static func adjusted(_ checksum: UInt16, replacing old: UInt16, with new: UInt16) -> UInt16 {
        ~OnesComplement.add(OnesComplement.add(~checksum, ~old), new)
    }

    /// The checksum after a 32-bit field (an IPv4 address, say) changed.
    @inlinable @inline(__always)
    public static func adjusted(_ checksum: UInt16, replacing old: UInt32, with new: UInt32) -> UInt16 {
        ~OnesComplement.add(OnesComplement.add(~checksum, ~OnesComplement.sum(old)), OnesComplement.sum(new))
    }

    @inlinable @inline(__always)
    public static func adjusted(_ checksum: UInt16, replacing old: IPv4Address, with new: IPv4Address) -> UInt16 {
        adjusted(checksum, replacing: old.value, with: new.value)
    }

    @inlinable @inline(__always)
    public static func adjusted(_ checksum: UInt16, replacing old: IPv6Address, with new: IPv6Address) -> UInt16 {
        ~OnesComplement.add(OnesComplement.add(~checksum, ~OnesComplement.sum(old)), OnesComplement.sum(new))
    }

    /// The same for a UDP checksum, where 0 means "none" over IPv4 (RFC 768) and is left alone,
    /// and a computed 0 is sent as 0xFFFF.
    @inlinable @inline(__always)
    public static func adjustedUDP(_ checksum: UInt16, replacing old: UInt16, with new: UInt16) -> UInt16 {
        guard checksum != 0 else { return 0 }
        let c = adjusted(checksum, replacing: old, with: new)
        return c == 0 ? 0xFFFF : c
    }

    @inlinable @inline(__always)
    public static func adjustedUDP(_ checksum: UInt16, replacing old: IPv4Address, with new: IPv4Address) -> UInt16 {
        guard checksum != 0 else { return 0 }
        let c = adjusted(checksum, replacing: old, with: new)
        return c == 0 ? 0xFFFF : c
    }
}
