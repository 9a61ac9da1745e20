/// An IPv4 or IPv6 prefix: a network address whose bits after `length` are zero.
///
/// Written as "198.51.100.0/28" or "2001:db8::/32"; a bare address is a host prefix (/32, /128).
/// The host-bits rule is strict so that a typo in a pool or filter is reported, never widened.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    /// The first address of the prefix (host bits zero).
    public let network: IPAddress
    /// The number of leading bits that matter: 0...32 for IPv4, 0...128 for IPv6.
    public let length: Int

    /// Parses "address/length" or a bare address (a host prefix).
    public init(_ text: String) throws(IPPrefixError) {
        let utf8 = text.utf8
        let slash = utf8.firstIndex(of: UInt8(ascii: "/"))
        let addressText = slash.map { text[..<$0] } ?? text[...]
        guard let address = IPAddress(addressText) else { throw .notAnAddress(String(addressText)) }
        let maximum = address.bitWidth
        guard let slash else {
            self.network = address
            self.length = maximum
            return
        }
        let lengthText = text[utf8.index(after: slash)...]
        guard let length = Self.parseLength(lengthText), length <= maximum else {
            throw .badLength(String(lengthText), maximum: maximum)
        }
        let network = address.masked(toLength: length)
        guard network == address else {
            throw .hostBitsSet(text, prefix: IPPrefix(uncheckedNetwork: network, length: length))
        }
        self.network = network
        self.length = length
    }

    /// Builds a prefix from parts, with the same checks as the text form.
    public init(network: IPAddress, length: Int) throws(IPPrefixError) {
        guard (0...network.bitWidth).contains(length) else {
            throw .badLength(String(length), maximum: network.bitWidth)
        }
        let masked = network.masked(toLength: length)
        guard masked == network else {
            throw .hostBitsSet("\(network)/\(length)", prefix: IPPrefix(uncheckedNetwork: masked, length: length))
        }
        self.network = network
        self.length = length
    }

    init(uncheckedNetwork network: IPAddress, length: Int) {
        self.network = network
        self.length = length
    }

    /// Decimal 0...999 with no sign and no leading zeros (as for dotted-quad octets).
    private static func parseLength(_ text: Substring) -> Int? {
        let digits = text.utf8
        guard (1...3).contains(digits.count) else { return nil }
        if digits.count > 1 && digits.first == UInt8(ascii: "0") { return nil }
        var value = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// Whether the prefix is IPv4.
    public var isIPv4: Bool { network.isIPv4 }

    /// Whether `address` lies inside the prefix; always false across families.
    public func contains(_ address: IPAddress) -> Bool {
        network.hasSamePrefix(as: address, length: length)
    }

    /// Whether the two prefixes share at least one address (one then contains the other).
    public func overlaps(_ other: IPPrefix) -> Bool {
        network.hasSamePrefix(as: other.network, length: min(length, other.length))
    }

    /// 2^(32 - length) for IPv4; nil for IPv6, whose counts do not fit the pools this serves.
    public var addressCount: UInt64? {
        guard isIPv4 else { return nil }
        return 1 << UInt64(32 - length)
    }

    /// The `index`-th address of an IPv4 prefix (0 is `network`), or nil when out of range or IPv6.
    public func ipv4Address(at index: Int) -> IPv4Address? {
        guard case .v4(let base) = network, let count = addressCount,
              index >= 0, UInt64(index) < count else { return nil }
        return IPv4Address(base.value + UInt32(truncatingIfNeeded: index))
    }

    /// "198.51.100.0/28", "2001:db8::/32".
    public var description: String { "\(network)/\(length)" }
}
