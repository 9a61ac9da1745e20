/// The Internet checksum (RFC 1071): a 16-bit one's-complement sum.
///
/// `InternetChecksum` accumulates in the native-memory domain (64-bit loads with end-around
/// carry, the technique of RFC 1071 section 4.1), which is byte-order independent; numeric
/// fields given in wire order (pseudo-header values) are added through `add(wireWord:)`.
@frozen
public struct InternetChecksum: Sendable {
    @usableFromInline var sum: UInt64 = 0

    @inlinable
    public init() {}

    /// Adds `bytes` as if they started at an even offset of the checksummed data.
    @inlinable
    public mutating func add(bytes: UnsafeRawBufferPointer) {
        var offset = 0
        let count = bytes.count
        var acc = sum
        while offset + 8 <= count {
            let (s, o) = acc.addingReportingOverflow(bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            acc = s &+ (o ? 1 : 0)
            offset += 8
        }
        if offset + 4 <= count {
            let (s, o) = acc.addingReportingOverflow(UInt64(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            acc = s &+ (o ? 1 : 0)
            offset += 4
        }
        if offset + 2 <= count {
            let (s, o) = acc.addingReportingOverflow(UInt64(bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            acc = s &+ (o ? 1 : 0)
            offset += 2
        }
        if offset < count {
            // A trailing odd byte is padded with a zero byte after it (RFC 1071 section 4.1).
            let (s, o) = acc.addingReportingOverflow(UInt64(UInt16(littleEndian: UInt16(bytes[offset]))))
            acc = s &+ (o ? 1 : 0)
        }
        sum = acc
    }

    /// Adds one 16-bit field given as its numeric (wire-order) value.
    @inlinable
    public mutating func add(wireWord value: UInt16) {
        let (s, o) = sum.addingReportingOverflow(UInt64(value.bigEndian))
        sum = s &+ (o ? 1 : 0)
    }

    /// Adds one 32-bit field given as its numeric (wire-order) value.
    @inlinable
    public mutating func add(wireWord32 value: UInt32) {
        add(wireWord: UInt16(truncatingIfNeeded: value >> 16))
        add(wireWord: UInt16(truncatingIfNeeded: value))
    }

    @inlinable
    public mutating func add(_ address: IPv4Address) {
        add(wireWord32: address.value)
    }

    @inlinable
    public mutating func add(_ address: IPv6Address) {
        add(wireWord32: UInt32(truncatingIfNeeded: address.high >> 32))
        add(wireWord32: UInt32(truncatingIfNeeded: address.high))
        add(wireWord32: UInt32(truncatingIfNeeded: address.low >> 32))
        add(wireWord32: UInt32(truncatingIfNeeded: address.low))
    }

    /// The folded one's-complement sum (not complemented), as a wire-order value.
    @inlinable
    public var foldedSum: UInt16 {
        var s = sum
        s = (s & 0xFFFF_FFFF) + (s >> 32)
        s = (s & 0xFFFF_FFFF) + (s >> 32)
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        return UInt16(bigEndian: UInt16(truncatingIfNeeded: s))
    }

    /// The checksum field value: the complement of the folded sum.
    @inlinable
    public var checksum: UInt16 { ~foldedSum }

    /// One-call checksum of a buffer.
    @inlinable
    public static func checksum(of bytes: UnsafeRawBufferPointer) -> UInt16 {
        var c = InternetChecksum()
        c.add(bytes: bytes)
        return c.checksum
    }
}

/// One's-complement arithmetic on 16-bit wire values, used by incremental updates and transfers.
public enum OnesComplement {
    /// a + b with end-around carry.
    @inlinable @inline(__always)
    public static func add(_ a: UInt16, _ b: UInt16) -> UInt16 {
        let s = UInt32(a) + UInt32(b)
        return UInt16(truncatingIfNeeded: (s & 0xFFFF) + (s >> 16))
    }

    /// a - b, i.e. a + ~b.
    @inlinable @inline(__always)
    public static func subtract(_ a: UInt16, _ b: UInt16) -> UInt16 {
        add(a, ~b)
    }

    /// Sum of a 32-bit value's two halves.
    @inlinable @inline(__always)
    public static func sum(_ value: UInt32) -> UInt16 {
        add(UInt16(truncatingIfNeeded: value >> 16), UInt16(truncatingIfNeeded: value))
    }

    @inlinable @inline(__always)
    public static func sum(_ address: IPv6Address) -> UInt16 {
        add(add(sum(UInt32(truncatingIfNeeded: address.high >> 32)), sum(UInt32(truncatingIfNeeded: address.high))),
            add(sum(UInt32(truncatingIfNeeded: address.low >> 32)), sum(UInt32(truncatingIfNeeded: address.low))))
    }
}
