public import WireFormat

/// Why a subscribers file (or a list of subscribers) is refused. Line-level cases carry the
/// 1-based line number (for a list given in code, the 1-based position), and every description
/// starts with it, so the daemon can log the error as it is.
public enum SubscriberFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The line is longer than `maximum` bytes.
    case lineTooLong(line: Int, bytes: Int, maximum: Int)
    /// The id is not 1...64 letters, digits and `-_.:@`, or reads as an address.
    case badID(String, line: Int)
    /// A prefix (or bare address) does not parse.
    case badPrefix(String, IPPrefixError, line: Int)
    /// The line names a subscriber but no prefix its CPE connects from.
    case noLinkPrefix(SubscriberID, line: Int)
    /// `delegated` ends the line.
    case emptyDelegated(line: Int)
    /// The id was given already, on `firstLine`.
    case duplicateID(SubscriberID, line: Int, firstLine: Int)
    /// `prefix` on `line` shares addresses with `otherPrefix` on the earlier `otherLine` in a way that
    /// would give an address two owners: the same link prefix twice, or any overlap with a delegated prefix.
    case overlappingPrefixes(IPPrefix, line: Int, IPPrefix, otherLine: Int)
    /// The file names more than `maximum` subscribers; `line` is the first one too many.
    case tooManySubscribers(line: Int, maximum: Int)
    /// A default prefix length is outside 0...`maximum` (32 for IPv4, 128 for IPv6).
    case badDefaultPrefixLength(Int, maximum: Int)

    /// What was wrong, where, and what to write instead.
    public var description: String {
        switch self {
        case let .lineTooLong(line, bytes, maximum):
            "line \(line): \(bytes) bytes is more than the \(maximum) a line may hold: "
                + "list only the prefixes the CPE connects from and its delegated ones, as wide as they can be."
        case let .badID(text, line):
            "line \(line): id '\(text)' \(Self.idProblem(text)): an id is 1 to \(SubscriberID.maximumNameLength) "
                + "letters, digits, '-', '_', '.', ':' or '@', and is not an address (for example cust-0042)."
        case let .badPrefix(text, error, line):
            "line \(line): prefix '\(text)': \(error)"
        case let .noLinkPrefix(id, line):
            "line \(line): subscriber '\(id)' has no link prefix: after the id, write the prefixes or addresses "
                + "its CPE connects from (then 'delegated' and its delegated prefixes, if any)."
        case .emptyDelegated(let line):
            "line \(line): 'delegated' is followed by no prefix: list the delegated prefixes after it, or drop the word."
        case let .duplicateID(id, line, firstLine):
            "line \(line): subscriber '\(id)' is already on line \(firstLine): give each subscriber one line "
                + "with all its prefixes."
        case let .overlappingPrefixes(prefix, line, otherPrefix, otherLine):
            "line \(line): prefix \(prefix) overlaps \(otherPrefix) of line \(otherLine): an address belongs to one "
                + "subscriber only, so a link prefix may sit inside another's link prefix (the longest wins) but may "
                + "not repeat it, and a delegated prefix may share no address with another subscriber's prefixes."
        case let .tooManySubscribers(line, maximum):
            "line \(line): more than \(maximum) subscribers: merge subscribers whose CPEs share a prefix, "
                + "or leave them to default subscribers (one per source prefix)."
        case let .badDefaultPrefixLength(length, maximum):
            "default \(maximum == 32 ? "IPv4" : "IPv6") subscriber prefix length \(length) is not between 0 and \(maximum)."
        }
    }

    /// Which rule the id breaks, for its description.
    private static func idProblem(_ text: String) -> String {
        if text.utf8.count > SubscriberID.maximumNameLength { return "is longer than \(SubscriberID.maximumNameLength) bytes" }
        if IPAddress(text) != nil { return "reads as an address, which names default subscribers" }
        return "holds a character an id may not"
    }
}
