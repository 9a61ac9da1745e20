/// An IPv6 address held as two 64-bit halves in host order (trivially copyable, no ARC).
@frozen
public struct IPv6Address: Hashable, Comparable, Sendable {
    public var high: UInt64
    public var low: UInt64

    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The eight 16-bit groups in textual order: `IPv6Address(groups: (0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))`.
    @inlinable
    public init(groups g: (UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16)) {
        high = UInt64(g.0) << 48 | UInt64(g.1) << 32 | UInt64(g.2) << 16 | UInt64(g.3)
        low = UInt64(g.4) << 48 | UInt64(g.5) << 32 | UInt64(g.6) << 16 | UInt64(g.7)
    }

    /// The IPv4-mapped form ::ffff:a.b.c.d (RFC 4291 section 2.5.5.2), as PCP carries IPv4.
    @inlinable
    public init(ipv4Mapped address: IPv4Address) {
        high = 0
        low = 0x0000_FFFF_0000_0000 | UInt64(address.value)
    }

    public static let any = IPv6Address(high: 0, low: 0)

    @inlinable
    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    /// Group `index` (0...7) in textual order.
    @inlinable
    public func group(_ index: Int) -> UInt16 {
        let half = index < 4 ? high : low
        return UInt16(truncatingIfNeeded: half >> (48 - 16 * UInt64(index & 3)))
    }

    /// The embedded IPv4 address when this is ::ffff:a.b.c.d, else nil.
    @inlinable
    public var ipv4Mapped: IPv4Address? {
        guard high == 0, low >> 32 == 0x0000_FFFF else { return nil }
        return IPv4Address(UInt32(truncatingIfNeeded: low))
    }

    @inlinable public var isUnspecified: Bool { high == 0 && low == 0 }
    @inlinable public var isLoopback: Bool { high == 0 && low == 1 }
    /// ff00::/8.
    @inlinable public var isMulticast: Bool { high >> 56 == 0xFF }
}

extension UnsafeRawBufferPointer {
    @inlinable @inline(__always)
    public func wireIPv4Address(at offset: Int) -> IPv4Address {
        IPv4Address(wireUInt32(at: offset))
    }

    @inlinable @inline(__always)
    public func wireIPv6Address(at offset: Int) -> IPv6Address {
        IPv6Address(high: wireUInt64(at: offset), low: wireUInt64(at: offset + 8))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inlinable @inline(__always)
    public func storeWireIPv4Address(_ address: IPv4Address, at offset: Int) {
        storeWireUInt32(address.value, at: offset)
    }

    @inlinable @inline(__always)
    public func storeWireIPv6Address(_ address: IPv6Address, at offset: Int) {
        storeWireUInt64(address.high, at: offset)
        storeWireUInt64(address.low, at: offset + 8)
    }
}
