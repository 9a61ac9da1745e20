/// A contiguous run of ports, the port set of the PCP PORT_SET option (RFC 7753 section 4):
/// Port Set Size ports starting at a first port, with the P (parity preservation) flag.
///
/// 0...65535 (65536 ports) is representable here although PORT_SET's 16-bit size field stops at
/// 65535; the PCP codec checks that bound when it encodes.
public struct PortRange: RandomAccessCollection, Hashable, Sendable {
    /// The lowest port in the range.
    public let firstPort: UInt16
    /// The highest port in the range.
    public let lastPort: UInt16
    /// The P bit: when set, a mapped range must start on a port of the same parity (RFC 4787 4.2.2).
    public let preservesParity: Bool

    /// Validates `count` >= 1 (RFC 7753: size MUST NOT be zero) and that the range ends by 65535.
    public init(firstPort: UInt16, count: Int, preservesParity: Bool = false) throws(PortSetError) {
        guard count > 0 else { throw .emptyPortRange(firstPort: firstPort) }
        guard count <= 65536 - Int(firstPort) else { throw .portRangeWraps(firstPort: firstPort, count: count) }
        self.firstPort = firstPort
        self.lastPort = UInt16(truncatingIfNeeded: Int(firstPort) + count - 1)
        self.preservesParity = preservesParity
    }

    /// Validates `firstPort <= lastPort`.
    public init(firstPort: UInt16, lastPort: UInt16, preservesParity: Bool = false) throws(PortSetError) {
        guard firstPort <= lastPort else { throw .portRangeReversed(firstPort: firstPort, lastPort: lastPort) }
        self.firstPort = firstPort
        self.lastPort = lastPort
        self.preservesParity = preservesParity
    }

    /// Always 0: positions are offsets from `firstPort`.
    @inlinable public var startIndex: Int { 0 }
    /// The number of ports (1 ... 65536).
    @inlinable public var endIndex: Int { Int(lastPort) - Int(firstPort) + 1 }

    /// The port `position` places after `firstPort`.
    @inlinable
    public subscript(position: Int) -> UInt16 {
        precondition(position >= startIndex && position < endIndex, "port range index out of bounds")
        return UInt16(truncatingIfNeeded: Int(firstPort) + position)
    }

    /// The range as a standard closed range.
    @inlinable public var closedRange: ClosedRange<UInt16> { firstPort...lastPort }

    /// Whether `port` is in the range, in constant time (Sequence.contains would walk it).
    @inlinable
    public func contains(_ port: UInt16) -> Bool { firstPort <= port && port <= lastPort }

    /// Whether the range shares at least one port with `other`.
    @inlinable
    public func overlaps(_ other: PortRange) -> Bool {
        firstPort <= other.lastPort && other.firstPort <= lastPort
    }

    /// Whether a mapped range starting at `mappedFirstPort` honours the P bit: always when P is clear,
    /// otherwise only when both first ports have the same parity (RFC 7753 section 4.2).
    @inlinable
    public func honoursParity(mappedFirstPort: UInt16) -> Bool {
        !preservesParity || (firstPort ^ mappedFirstPort) & 1 == 0
    }

    /// Where `port` lands in a same-sized range starting at `mappedFirstPort`, or nil when `port` is
    /// outside this range or the mapped range would run past 65535.
    @inlinable
    public func mapped(_ port: UInt16, toRangeStartingAt mappedFirstPort: UInt16) -> UInt16? {
        guard contains(port) else { return nil }
        let target = Int(mappedFirstPort) + Int(port - firstPort)
        return target <= 65535 ? UInt16(target) : nil
    }
}

extension PortRange: CustomStringConvertible {
    /// "first-last" (or just the port for a single port), with " (parity)" when P is set.
    public var description: String {
        let span = firstPort == lastPort ? "\(firstPort)" : "\(firstPort)-\(lastPort)"
        return preservesParity ? span + " (parity)" : span
    }
}
