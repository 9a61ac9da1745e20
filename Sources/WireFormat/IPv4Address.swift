/// An IPv4 address held as its 32-bit value in host order (192.0.2.1 is 0xC000_0201).
@frozen
public struct IPv4Address: Hashable, Comparable, Sendable {
    public var value: UInt32

    @inlinable
    public init(_ value: UInt32) { self.value = value }

    @inlinable
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    public static let any = IPv4Address(0)
    public static let broadcast = IPv4Address(0xFFFF_FFFF)

    @inlinable
    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }

    /// The four octets in wire order.
    @inlinable
    public var octets: (UInt8, UInt8, UInt8, UInt8) {
        (UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
         UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value))
    }

    /// 0.0.0.0/8 (RFC 6890 "this network").
    @inlinable public var isUnspecified: Bool { value >> 24 == 0 }
    /// 127.0.0.0/8.
    @inlinable public var isLoopback: Bool { value >> 24 == 127 }
    /// 224.0.0.0/4.
    @inlinable public var isMulticast: Bool { value >> 28 == 0xE }
    /// 255.255.255.255 (limited broadcast).
    @inlinable public var isBroadcast: Bool { value == 0xFFFF_FFFF }
}
