public import WireFormat

/// What a deployment accepts in a PM block: subtype, enabled protocols, required options, and
/// the byte cap. The defaults follow the draft: TCP and UDP enabled, a destination required.
@frozen
public struct PlainModePolicy: Hashable, Sendable {
    /// Longest legal block: a source and a destination IPv6 option with ports, plus EOL.
    public static let longestLegalBlock = 22 + 22 + 1

    public var subtype: UInt8
    public var enabledProtocols: ProtocolSet
    public var requiresDestination: Bool
    /// Source preservation (the IPv6 default of section 4.2) needs the source option.
    public var requiresSource: Bool
    /// Bytes the parser will wait for before giving up on a block that does not end.
    public var maximumBlockLength: Int

    @inlinable
    public init(
        subtype: UInt8 = PlainMode.defaultSubtype,
        enabledProtocols: ProtocolSet = [IPProtocolNumber.tcp, IPProtocolNumber.udp],
        requiresDestination: Bool = true,
        requiresSource: Bool = false,
        maximumBlockLength: Int = PlainModePolicy.longestLegalBlock
    ) {
        self.subtype = subtype
        self.enabledProtocols = enabledProtocols
        self.requiresDestination = requiresDestination
        self.requiresSource = requiresSource
        self.maximumBlockLength = maximumBlockLength
    }

    /// Checks one option as soon as it is decoded (address class, protocol).
    @inlinable @inline(__always)
    public func check(_ option: PlainModeOption) throws(PlainModeError) {
        if let kind = option.address.forbiddenKind { throw .forbiddenAddress(kind, option.direction) }
        guard enabledProtocols.contains(option.protocolNumber) else { throw .protocolNotEnabled(option.protocolNumber) }
    }

    /// Checks the whole block once its EOL is seen.
    @inlinable @inline(__always)
    public func check(source: PlainModeOption?, destination: PlainModeOption?) throws(PlainModeError) {
        if requiresDestination && destination == nil { throw .missingDestination }
        if requiresSource && source == nil { throw .missingSource }
        if let destination, Self.protocolUsesPorts(destination.protocolNumber) {
            guard let port = destination.port else { throw .missingDestinationPort }
            guard port != 0 else { throw .zeroDestinationPort }
        }
        if let source, let destination {
            guard source.address.isIPv4 == destination.address.isIPv4 else { throw .familyMismatch }
            guard source.protocolNumber == destination.protocolNumber else {
                throw .protocolMismatch(source: source.protocolNumber, destination: destination.protocolNumber)
            }
        }
    }

    /// Protocols whose destinations are meaningless without a port (draft 4.1: UDP, TCP, SCTP, DCCP, UDP-Lite).
    @inlinable
    public static func protocolUsesPorts(_ protocolNumber: UInt8) -> Bool {
        switch protocolNumber {
        case 6, 17, 33, 132, 136: true
        default: false
        }
    }
}

/// A set of IP protocol numbers as a 256-bit map: no allocation, cheap to copy.
@frozen
public struct ProtocolSet: Hashable, Sendable, ExpressibleByArrayLiteral {
    @usableFromInline var words: (UInt64, UInt64, UInt64, UInt64)

    @inlinable
    public init() { words = (0, 0, 0, 0) }

    @inlinable
    public init(arrayLiteral elements: UInt8...) {
        self.init()
        for element in elements { insert(element) }
    }

    @inlinable
    public mutating func insert(_ protocolNumber: UInt8) {
        let bit = UInt64(1) << UInt64(protocolNumber & 63)
        switch protocolNumber >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    @inlinable @inline(__always)
    public func contains(_ protocolNumber: UInt8) -> Bool {
        // Index the word directly: branch-free, one load and one shift.
        let word = withUnsafeBytes(of: words) { $0.load(fromByteOffset: Int(protocolNumber >> 6) &* 8, as: UInt64.self) }
        return word >> UInt64(protocolNumber & 63) & 1 != 0
    }

    @inlinable
    public static func == (lhs: ProtocolSet, rhs: ProtocolSet) -> Bool { lhs.words == rhs.words }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}
