/// The decoded fixed fields of a TCP header (RFC 9293); options are walked with `TCPOptions`.
@frozen
public struct TCPHeader: Equatable, Sendable {
    public static let minimumLength = 20

    @inlinable
    public init(sourcePort: UInt16, destinationPort: UInt16, sequenceNumber: UInt32, acknowledgmentNumber: UInt32, headerLength: Int, flags: Flags, window: UInt16, checksum: UInt16, urgentPointer: UInt16) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.headerLength = headerLength
        self.flags = flags
        self.window = window
        self.checksum = checksum
        self.urgentPointer = urgentPointer
    }

    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequenceNumber: UInt32
    public var acknowledgmentNumber: UInt32
    public var headerLength: Int
    public var flags: Flags
    public var window: UInt16
    public var checksum: UInt16
    public var urgentPointer: UInt16

    /// The control bits (and the two ECN bits), low 8 bits of byte 13.
    @frozen
    public struct Flags: OptionSet, Equatable, Sendable {
        public var rawValue: UInt8
        @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let fin = Flags(rawValue: 0x01)
        public static let syn = Flags(rawValue: 0x02)
        public static let rst = Flags(rawValue: 0x04)
        public static let psh = Flags(rawValue: 0x08)
        public static let ack = Flags(rawValue: 0x10)
        public static let urg = Flags(rawValue: 0x20)
        public static let ece = Flags(rawValue: 0x40)
        public static let cwr = Flags(rawValue: 0x80)
    }

    /// An initial SYN: SYN set, ACK not (the only segment that may carry a PM block).
    @inlinable public var isInitialSYN: Bool { flags.contains(.syn) && !flags.contains(.ack) }

    /// Decodes the TCP header at the start of `bytes` (the transport segment).
    @inlinable @inline(__always)
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(PacketError) -> TCPHeader {
        guard bytes.count >= minimumLength else {
            throw .truncated(layer: .tcp, needed: minimumLength, available: bytes.count)
        }
        let headerLength = Int(bytes[12] >> 4) * 4
        guard headerLength >= minimumLength else { throw .badHeaderLength(layer: .tcp, length: headerLength) }
        guard headerLength <= bytes.count else {
            throw .truncated(layer: .tcp, needed: headerLength, available: bytes.count)
        }
        return TCPHeader(
            sourcePort: bytes.wireUInt16(at: 0),
            destinationPort: bytes.wireUInt16(at: 2),
            sequenceNumber: bytes.wireUInt32(at: 4),
            acknowledgmentNumber: bytes.wireUInt32(at: 8),
            headerLength: headerLength,
            flags: Flags(rawValue: bytes[13]),
            window: bytes.wireUInt16(at: 14),
            checksum: bytes.wireUInt16(at: 16),
            urgentPointer: bytes.wireUInt16(at: 18)
        )
    }
}

/// One TCP option found by the walk: its kind and where its data lies in the segment.
@frozen
public struct TCPOption: Equatable, Sendable {
    public var kind: UInt8
    /// Offset of the option's data (after kind and length) from the start of the TCP header.
    public var dataOffset: Int
    public var dataLength: Int

    @inlinable
    public init(kind: UInt8, dataOffset: Int, dataLength: Int) {
        self.kind = kind
        self.dataOffset = dataOffset
        self.dataLength = dataLength
    }

    public static let endOfList: UInt8 = 0
    public static let noOperation: UInt8 = 1
    public static let maximumSegmentSize: UInt8 = 2
    public static let windowScale: UInt8 = 3
    public static let sackPermitted: UInt8 = 4
    public static let timestamp: UInt8 = 8
    public static let multipathTCP: UInt8 = 30
    /// TCP Fast Open (RFC 7413): a cookie, or an empty request for one.
    public static let fastOpen: UInt8 = 34
}

/// Walks the options of a TCP header without allocating: NOPs are skipped, EOL ends the walk,
/// and a length below 2 or past the header end stops it with an error (RFC 9293 section 3.1).
@frozen
public struct TCPOptions {
    @usableFromInline let segment: UnsafeRawBufferPointer
    @usableFromInline let headerLength: Int

    /// `segment` starts at the TCP header; `headerLength` comes from `TCPHeader.parse`.
    @inlinable
    public init(segment: UnsafeRawBufferPointer, headerLength: Int) {
        precondition(headerLength <= segment.count)
        self.segment = segment
        self.headerLength = headerLength
    }

    /// Calls `body` for each option in order; returns after EOL or the header's end.
    @inlinable
    public func forEach(_ body: (TCPOption) throws(PacketError) -> Void) throws(PacketError) {
        var offset = TCPHeader.minimumLength
        while offset < headerLength {
            let kind = segment[offset]
            if kind == TCPOption.endOfList { return }
            if kind == TCPOption.noOperation { offset += 1; continue }
            guard offset + 2 <= headerLength else { throw .badTCPOption(offset: offset) }
            let length = Int(segment[offset + 1])
            guard length >= 2, offset + length <= headerLength else { throw .badTCPOption(offset: offset) }
            try body(TCPOption(kind: kind, dataOffset: offset + 2, dataLength: length - 2))
            offset += length
        }
    }

    /// The first option of `kind`, if any.
    @inlinable
    public func first(kind: UInt8) throws(PacketError) -> TCPOption? {
        var found: TCPOption?
        try forEach { (option) throws(PacketError) in
            if found == nil && option.kind == kind { found = option }
        }
        return found
    }

    /// The MPTCP subtype (upper nibble of the first data byte) of the first option of kind 30:
    /// 0 MP_CAPABLE, 1 MP_JOIN (RFC 8684 section 3).
    @inlinable
    public func multipathSubtype() throws(PacketError) -> UInt8? {
        guard let option = try first(kind: TCPOption.multipathTCP), option.dataLength >= 1 else { return nil }
        return segment[option.dataOffset] >> 4
    }
}
