public import WireFormat

/// The option codes this module understands (RFC 6887 section 7.3, RFC 7753 section 4).
public enum PCPOptionCode: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// THIRD_PARTY: the mapping is for another host (RFC 6887 section 13.1).
    case thirdParty = 1
    /// PREFER_FAILURE: fail rather than map another external port (RFC 6887 section 13.2).
    case preferFailure = 2
    /// FILTER: only this remote peer may use the mapping (RFC 6887 section 13.3).
    case filter = 3
    /// PORT_SET: map a set of ports (RFC 7753 section 4).
    case portSet = 130

    /// The name the RFCs give this option, e.g. "PORT_SET".
    public var name: String {
        switch self {
        case .thirdParty: "THIRD_PARTY"
        case .preferFailure: "PREFER_FAILURE"
        case .filter: "FILTER"
        case .portSet: "PORT_SET"
        }
    }

    /// The RFC name followed by the number, e.g. "PORT_SET (130)".
    public var description: String { "\(name) (\(rawValue))" }

    /// The one Option Length the definition allows (RFC 6887 sections 13.1-13.3, RFC 7753 section 4).
    public var dataLength: UInt16 {
        switch self {
        case .thirdParty: 16
        case .preferFailure: 0
        case .filter: 20
        case .portSet: 5
        }
    }

    /// Whether the definition allows at most one occurrence per message (FILTER may repeat).
    public var isSingleton: Bool { self != .filter }

    /// Whether `code` is in the mandatory-to-process range 0-127 (RFC 6887 section 7.3: the
    /// most significant bit of the code is 0 for mandatory, 1 for optional).
    public static func isMandatory(_ code: UInt8) -> Bool { code & 0x80 == 0 }
}

/// The data of a FILTER option (RFC 6887 section 13.3).
public struct PCPFilter: Hashable, Sendable {
    /// How many leading bits of `remotePeerAddress` the filter matches; 0 means "no filter"
    /// and removes previous filters. 96-128 for IPv4-mapped peers, 0-128 for IPv6.
    public var prefixLength: UInt8
    /// The remote peer's port; 0 means all ports.
    public var remotePeerPort: UInt16
    /// The remote peer's address (IPv4 as IPv4-mapped IPv6).
    public var remotePeerAddress: IPv6Address

    /// A filter for `remotePeerAddress`/`prefixLength`, port `remotePeerPort` (0 = any).
    public init(prefixLength: UInt8, remotePeerPort: UInt16, remotePeerAddress: IPv6Address) {
        self.prefixLength = prefixLength
        self.remotePeerPort = remotePeerPort
        self.remotePeerAddress = remotePeerAddress
    }

    /// Whether the prefix length fits the address family (RFC 6887 section 13.3): at most 128,
    /// and 0 or at least 96 when the peer is IPv4-mapped (the first 96 bits are the mapping prefix).
    public var hasValidPrefixLength: Bool {
        if prefixLength > 128 { return false }
        if remotePeerAddress.ipv4Mapped != nil { return prefixLength == 0 || prefixLength >= 96 }
        return true
    }
}

/// The data of a PORT_SET option (RFC 7753 section 4).
public struct PCPPortSet: Hashable, Sendable {
    /// Port Set Size: ports requested, or ports mapped in a response. MUST NOT be zero.
    public var size: UInt16
    /// First Internal Port: equal to the MAP Internal Port in a request; the first internal port
    /// of the mapped set in a response.
    public var firstInternalPort: UInt16
    /// P: the client asks that external ports keep the parity of internal ports.
    public var preservesParity: Bool

    /// A port set of `size` ports from `firstInternalPort`, with the parity bit `preservesParity`.
    public init(size: UInt16, firstInternalPort: UInt16, preservesParity: Bool = false) {
        self.size = size
        self.firstInternalPort = firstInternalPort
        self.preservesParity = preservesParity
    }
}

/// One option of a PCP message (RFC 6887 section 7.3).
public enum PCPOption: Hashable, Sendable {
    /// THIRD_PARTY: the Internal IP Address the mapping is for (RFC 6887 section 13.1).
    case thirdParty(IPv6Address)
    /// PREFER_FAILURE, no data (RFC 6887 section 13.2).
    case preferFailure
    /// FILTER (RFC 6887 section 13.3).
    case filter(PCPFilter)
    /// PORT_SET (RFC 7753 section 4).
    case portSet(PCPPortSet)
    /// An option this module does not understand; its data is skipped, not kept, and is
    /// serialized back as `dataLength` zero bytes.
    case unknown(code: UInt8, dataLength: UInt16)

    /// The option code on the wire.
    public var code: UInt8 {
        switch self {
        case .thirdParty: PCPOptionCode.thirdParty.rawValue
        case .preferFailure: PCPOptionCode.preferFailure.rawValue
        case .filter: PCPOptionCode.filter.rawValue
        case .portSet: PCPOptionCode.portSet.rawValue
        case .unknown(let code, _): code
        }
    }

    /// The known code, or nil for `.unknown`.
    public var knownCode: PCPOptionCode? {
        switch self {
        case .thirdParty: .thirdParty
        case .preferFailure: .preferFailure
        case .filter: .filter
        case .portSet: .portSet
        case .unknown: nil
        }
    }

    /// The Option Length field: the data length without padding.
    public var dataLength: UInt16 {
        if case .unknown(_, let length) = self { return length }
        return knownCode?.dataLength ?? 0
    }

    /// Bytes the option takes on the wire: header, data and padding to a multiple of 4.
    public var encodedSize: Int { PCP.optionHeaderSize + Self.paddedLength(Int(dataLength)) }

    /// `length` rounded up to a multiple of 4 (RFC 6887 section 7.3 padding).
    @inline(__always)
    static func paddedLength(_ length: Int) -> Int { (length + 3) & ~3 }
}
