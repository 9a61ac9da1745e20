/// Every way prefix text (or prefix parts) can be rejected.
public enum IPPrefixError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The part before the slash (or the whole text) is not an IPv4 or IPv6 address.
    case notAnAddress(String)
    /// The part after the slash is not a decimal length, or is longer than the family's `maximum` bits.
    case badLength(String, maximum: Int)
    /// The address has bits set after the length; `prefix` is what was probably meant.
    case hostBitsSet(String, prefix: IPPrefix)

    /// What was wrong and what to write instead.
    public var description: String {
        switch self {
        case .notAnAddress(let text):
            return "\"\(text)\" is not an IPv4 or IPv6 address: write a prefix such as 198.51.100.0/28 "
                + "or 2001:db8::/32, or a bare address for a single host."
        case let .badLength(text, maximum):
            let family = maximum == 32 ? "IPv4" : "IPv6"
            if let value = Int(text), value > maximum {
                return "/\(text) is longer than \(maximum) bits for \(family): use a length between 0 and \(maximum)."
            }
            return "/\(text) is not a prefix length: write a decimal length between 0 and \(maximum) "
                + "(no sign, no leading zeros) after the slash."
        case let .hostBitsSet(text, prefix):
            return "\(text) has host bits set; the prefix is \(prefix)"
        }
    }
}
