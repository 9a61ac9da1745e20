/// How a 16-bit port splits into offset bits A, PSID bits and contiguous bits j (RFC 7597 section 5.1):
/// `A (a bits) | PSID (k bits) | j (m = 16 - a - k bits)`.
///
/// With a > 0, A runs 1 ... 2^a - 1, so ports 0 ... 2^(16-a) - 1 belong to no PSID; with a = 0 each
/// PSID is one contiguous block, and the blocks holding system ports (0-1023) must not be allocated
/// (RFC 7618 section 9), which `isExcluded(psid:)` reports.
public struct PSIDGeometry: Hashable, Sendable {
    /// The offset `a`: how many high bits of the port sit above the PSID.
    public let offset: Int
    /// The PSID length `k`: 2^k subscribers share one address.
    public let psidLength: Int

    /// Ports below this are system ports (RFC 6335); with a = 0, PSIDs holding any are excluded.
    public static let systemPortLimit = 1024

    /// Validates `a` in 0...15, `k` in 0...16 and `a + k <= 16`.
    public init(offset: Int, psidLength: Int) throws(PortSetError) {
        guard (0...15).contains(offset) else { throw .offsetOutOfRange(offset: offset) }
        guard (0...16).contains(psidLength) else { throw .psidLengthOutOfRange(psidLength: psidLength) }
        guard offset + psidLength <= 16 else { throw .geometryTooWide(offset: offset, psidLength: psidLength) }
        self.offset = offset
        self.psidLength = psidLength
    }

    /// `m` in RFC 7597: the low bits that vary inside one contiguous range.
    @inlinable public var contiguousBits: Int { 16 - offset - psidLength }

    /// How many PSIDs the geometry defines (2^k, the address-sharing ratio).
    @inlinable public var psidCount: Int { 1 << psidLength }

    /// Contiguous ranges per PSID: one per non-zero A, or a single block when a = 0.
    @inlinable public var rangesPerPSID: Int { offset == 0 ? 1 : (1 << offset) - 1 }

    /// Ports in each contiguous range (2^m).
    @inlinable public var portsPerRange: Int { 1 << contiguousBits }

    /// Ports each PSID holds: 2^(16-k) - 2^m when a > 0, 2^m when a = 0.
    @inlinable public var portsPerPSID: Int { rangesPerPSID * portsPerRange }

    /// Ports that no PSID holds: the A = 0 block 0 ... 2^(16-a) - 1 when a > 0, none when a = 0.
    @inlinable public var excludedPortCount: Int { offset == 0 ? 0 : 1 << (16 - offset) }

    /// The lowest port any PSID can hold (where A = 1, or 0 when a = 0).
    @inlinable public var firstUsablePort: Int { excludedPortCount }

    /// PSIDs that hold at least one system port and so must not be allocated (see `isExcluded`).
    /// Only with a = 0, where a PSID is one contiguous range (RFC 7597 section 5.1); with a > 0
    /// each PSID has one range per A value, and the allocator skips the few system ports in them
    /// rather than wasting whole PSIDs (with a >= 7 that would waste every PSID).
    public var excludedPSIDCount: Int {
        // PSID p's lowest port is p * 2^m, so the excluded PSIDs are a prefix.
        guard psidLength > 0, offset == 0 else { return 0 }
        let spill = Self.systemPortLimit - firstUsablePort
        return min(psidCount, (spill + portsPerRange - 1) / portsPerRange)
    }

    /// PSIDs an operator may hand out: all of them minus the excluded ones.
    public var allocatablePSIDCount: Int { psidCount - excludedPSIDCount }

    /// Whether `psid` must not be allocated: with a = 0 it holds a system port (0-1023), or it does not fit in k bits.
    /// With k = 0 the single PSID is the whole address, which RFC 7618 section 9 allows to allocate.
    public func isExcluded(psid: UInt16) -> Bool {
        Int(psid) >= psidCount || Int(psid) < excludedPSIDCount
    }

    /// The PSID that `port` belongs to, or nil for the ports below 2^(16-a) that no PSID holds.
    @inlinable
    public func psid(ofPort port: UInt16) -> UInt16? {
        let value = UInt32(port)
        // Smart shifts: a shift by 16 (a = 0 or k = 0) yields 0 instead of trapping.
        if offset > 0 && value >> (16 - offset) == 0 { return nil }
        let mask = (UInt32(1) << psidLength) &- 1
        return UInt16(truncatingIfNeeded: (value >> contiguousBits) & mask)
    }

    /// Whether `port` is one of `psid`'s ports.
    @inlinable
    public func contains(port: UInt16, psid: UInt16) -> Bool {
        self.psid(ofPort: port) == psid
    }

    /// The contiguous ranges of `psid`, in ascending order, computed on demand.
    public func ranges(of psid: UInt16) throws(PortSetError) -> PSIDPortRanges {
        try PSIDPortSet(geometry: self, psid: Int(psid)).ranges
    }
}

/// One PSID of one geometry: the port set one subscriber gets, as OPTION_V4_PORTPARAMS carries it.
public struct PSIDPortSet: Hashable, Sendable {
    /// The split of the port bits.
    public let geometry: PSIDGeometry
    /// The PSID, right-aligned (0 ... 2^k - 1).
    public let psid: UInt16

    /// Validates that `psid` fits in the geometry's k bits (so k = 0 requires PSID 0).
    public init(geometry: PSIDGeometry, psid: Int) throws(PortSetError) {
        guard psid >= 0, psid < geometry.psidCount else {
            throw .psidOutOfRange(psid: psid, psidLength: geometry.psidLength)
        }
        self.geometry = geometry
        self.psid = UInt16(truncatingIfNeeded: psid)
    }

    /// Validates the geometry and then the PSID.
    public init(offset: Int, psidLength: Int, psid: Int) throws(PortSetError) {
        try self.init(geometry: PSIDGeometry(offset: offset, psidLength: psidLength), psid: psid)
    }

    /// The contiguous ranges of this PSID, in ascending order, computed on demand.
    @inlinable public var ranges: PSIDPortRanges { PSIDPortRanges(geometry: geometry, psid: psid) }

    /// How many ports the set holds.
    @inlinable public var portCount: Int { geometry.portsPerPSID }

    /// Whether the set must not be allocated because it holds system ports.
    public var isExcluded: Bool { geometry.isExcluded(psid: psid) }

    /// Whether `port` is in the set.
    @inlinable
    public func contains(port: UInt16) -> Bool { geometry.contains(port: port, psid: psid) }
}

/// The contiguous ranges of one PSID as a random-access collection; each element is computed from
/// its index, so walking them allocates nothing.
public struct PSIDPortRanges: RandomAccessCollection, Hashable, Sendable {
    /// The split of the port bits.
    public let geometry: PSIDGeometry
    /// The PSID whose ranges these are (already validated against the geometry).
    public let psid: UInt16

    @usableFromInline
    init(geometry: PSIDGeometry, psid: UInt16) {
        self.geometry = geometry
        self.psid = psid
    }

    /// Always 0.
    @inlinable public var startIndex: Int { 0 }
    /// One past the last range: 2^a - 1, or 1 when a = 0.
    @inlinable public var endIndex: Int { geometry.rangesPerPSID }

    /// The range with A = position + 1 (or the single block when a = 0).
    @inlinable
    public subscript(position: Int) -> ClosedRange<UInt16> {
        precondition(position >= startIndex && position < endIndex, "PSID range index out of bounds")
        let highBits = geometry.offset == 0 ? 0 : UInt32(position + 1) << (16 - geometry.offset)
        let first = highBits | UInt32(psid) << geometry.contiguousBits
        let last = first + UInt32(geometry.portsPerRange) - 1
        return UInt16(truncatingIfNeeded: first)...UInt16(truncatingIfNeeded: last)
    }

    /// Total ports across all ranges.
    @inlinable public var portCount: Int { geometry.portsPerPSID }
}
