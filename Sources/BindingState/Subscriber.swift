public import WireFormat

/// One subscriber: who a connection belongs to (by the prefix its CPE connects from) and which
/// addresses it may preserve as sources.
public struct Subscriber: Hashable, Sendable {
    /// The id of its line in the subscribers file, or its default prefix as text.
    public let id: SubscriberID
    /// The prefixes its CPE connects from, one or more per access link.
    public let links: [IPPrefix]
    /// Its delegated prefixes: sources a PM source option may ask to preserve.
    public let delegated: [IPPrefix]
    /// Whether it was made from a source in no line (its id is then its prefix) rather than read from the file.
    public let isDefault: Bool

    /// A named subscriber, as a line of the subscribers file gives it.
    public init(id: SubscriberID, links: [IPPrefix], delegated: [IPPrefix] = []) {
        self.init(id: id, links: links, delegated: delegated, isDefault: false)
    }

    /// The subscriber of a source that no line claims: its prefix is both its id and its only link.
    init(defaultPrefix: IPPrefix) {
        self.init(id: SubscriberID(defaultPrefix.description), links: [defaultPrefix], delegated: [], isDefault: true)
    }

    private init(id: SubscriberID, links: [IPPrefix], delegated: [IPPrefix], isDefault: Bool) {
        self.id = id
        self.links = links
        self.delegated = delegated
        self.isDefault = isDefault
    }

    /// Whether `address` lies in one of its link or delegated prefixes.
    func covers(_ address: IPAddress) -> Bool {
        links.contains { $0.contains(address) } || delegated.contains { $0.contains(address) }
    }
}

extension SubscriberID {
    /// The longest id a line may give.
    static let maximumNameLength = 64

    /// Whether the text may name a subscriber in the file: 1...64 of letters, digits and `-_.:@`,
    /// and not an address, so it can never be taken for a default id (those always hold a `/`).
    var isValidName: Bool {
        let bytes = text.utf8
        guard (1...Self.maximumNameLength).contains(bytes.count) else { return false }
        var mayBeAddress = true
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                 UInt8(ascii: "A")...UInt8(ascii: "F"), UInt8(ascii: "."), UInt8(ascii: ":"):
                continue
            case UInt8(ascii: "g")...UInt8(ascii: "z"), UInt8(ascii: "G")...UInt8(ascii: "Z"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "@"):
                mayBeAddress = false
            default:
                return false
            }
        }
        // Only hex digits, dots and colons: parse it (rarely, so most ids cost one pass).
        return !mayBeAddress || IPAddress(text) == nil
    }
}
