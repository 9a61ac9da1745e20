public import WireFormat

/// Who each source belongs to: the named subscribers of the subscribers file, found by the longest
/// of their link prefixes that holds the source, and for every other source a default subscriber
/// per source prefix. Immutable once built, so relay threads read it without locks.
public struct SubscriberDirectory: Sendable {
    /// The most subscribers a directory holds, so a runaway file cannot take the daemon's memory.
    public static let maximumSubscribers = 1_000_000

    /// The named subscribers, in file order.
    public let subscribers: [Subscriber]
    /// The prefix length of an IPv4 source's default subscriber (32: one per address).
    public let defaultIPv4PrefixLength: Int
    /// The prefix length of an IPv6 source's default subscriber (56: one per typical delegation).
    public let defaultIPv6PrefixLength: Int

    /// A prefix of a subscriber (by position), and whether it is delegated.
    private struct Claim: Sendable {
        let owner: Int
        let prefix: IPPrefix
        var isDelegated: Bool
    }

    /// Each named subscriber's position, for `plainmode ctl subscriber ID`.
    private let positionByID: [SubscriberID: Int]
    /// Each link prefix to the position of its subscriber: who a connection's source is.
    private let linkOwners: PrefixTable
    /// Every link and delegated prefix (to its position in `claims`): who may use an address as a preserved source.
    private let addressClaims: PrefixTable
    private let claims: [Claim]

    /// Builds the directory from subscribers given in code; errors name a subscriber by its
    /// 1-based position in the list.
    public init(
        _ subscribers: [Subscriber], defaultIPv4PrefixLength: Int = 32, defaultIPv6PrefixLength: Int = 56
    ) throws(SubscriberFileError) {
        try self.init(
            subscribers, lines: subscribers.indices.map { $0 + 1 },
            defaultIPv4PrefixLength: defaultIPv4PrefixLength, defaultIPv6PrefixLength: defaultIPv6PrefixLength)
    }

    /// Builds the directory, naming the subscriber at position i by `lines[i]` in errors.
    init(
        _ subscribers: [Subscriber], lines: [Int], defaultIPv4PrefixLength: Int, defaultIPv6PrefixLength: Int
    ) throws(SubscriberFileError) {
        guard (0...32).contains(defaultIPv4PrefixLength) else {
            throw .badDefaultPrefixLength(defaultIPv4PrefixLength, maximum: 32)
        }
        guard (0...128).contains(defaultIPv6PrefixLength) else {
            throw .badDefaultPrefixLength(defaultIPv6PrefixLength, maximum: 128)
        }
        guard subscribers.count <= Self.maximumSubscribers else {
            throw .tooManySubscribers(line: lines[Self.maximumSubscribers], maximum: Self.maximumSubscribers)
        }
        var positionByID = [SubscriberID: Int](minimumCapacity: subscribers.count)
        var linkOwners = PrefixTable()
        for (position, subscriber) in subscribers.enumerated() {
            guard subscriber.id.isValidName else { throw .badID(subscriber.id.text, line: lines[position]) }
            guard !subscriber.links.isEmpty else { throw .noLinkPrefix(subscriber.id, line: lines[position]) }
            if let first = positionByID[subscriber.id] {
                throw .duplicateID(subscriber.id, line: lines[position], firstLine: lines[first])
            }
            positionByID[subscriber.id] = position
            for link in subscriber.links { linkOwners[link] = position }
        }
        (self.claims, self.addressClaims) = try Self.claims(of: subscribers, lines: lines)
        self.subscribers = subscribers
        self.positionByID = positionByID
        self.linkOwners = linkOwners
        self.defaultIPv4PrefixLength = defaultIPv4PrefixLength
        self.defaultIPv6PrefixLength = defaultIPv6PrefixLength
    }

    /// Every prefix of every subscriber, refusing any pair that would give an address two owners:
    /// equal link prefixes, or any overlap with a delegated prefix. Link prefixes may nest.
    private static func claims(
        of subscribers: [Subscriber], lines: [Int]
    ) throws(SubscriberFileError) -> (claims: [Claim], table: PrefixTable) {
        // By length, shorter first, so each overlap is met when its longer side comes, with the
        // shorter side in the table; within a length, in file order.
        var pendingByLength = [[Claim]](repeating: [], count: 129)
        for (position, subscriber) in subscribers.enumerated() {
            for link in subscriber.links {
                pendingByLength[link.length].append(Claim(owner: position, prefix: link, isDelegated: false))
            }
            for prefix in subscriber.delegated {
                pendingByLength[prefix.length].append(Claim(owner: position, prefix: prefix, isDelegated: true))
            }
        }
        var claims: [Claim] = []
        var table = PrefixTable()
        for claim in pendingByLength.joined() {
            for held in table.positions(containing: claim.prefix).map({ claims[$0] }) where held.owner != claim.owner {
                guard held.prefix == claim.prefix || held.isDelegated || claim.isDelegated else { continue }
                let (line, otherLine) = (lines[claim.owner], lines[held.owner])
                throw line > otherLine
                    ? .overlappingPrefixes(claim.prefix, line: line, held.prefix, otherLine: otherLine)
                    : .overlappingPrefixes(held.prefix, line: otherLine, claim.prefix, otherLine: line)
            }
            // The same prefix as link and delegated of one subscriber: the stricter (delegated) rule holds.
            if let held = table[claim.prefix] {
                claims[held].isDelegated = claims[held].isDelegated || claim.isDelegated
            } else {
                table[claim.prefix] = claims.count
                claims.append(claim)
            }
        }
        return (claims, table)
    }

    /// How many named subscribers there are.
    public var count: Int { subscribers.count }

    /// The subscriber a connection from `source` belongs to: the one with the longest link prefix
    /// holding it, else the default subscriber of the source's prefix.
    public func subscriber(for source: IPAddress) -> Subscriber {
        if let position = linkOwners.longestMatch(source) { return subscribers[position] }
        let length = source.isIPv4 ? defaultIPv4PrefixLength : defaultIPv6PrefixLength
        // A masked address and a length checked at build: the prefix checks cannot fail.
        guard let prefix = try? IPPrefix(network: source.masked(toLength: length), length: length) else {
            preconditionFailure("default prefix of \(source) with length \(length) was refused")
        }
        return Subscriber(defaultPrefix: prefix)
    }

    /// The named subscriber with this id (default subscribers are not stored).
    public func subscriber(id: SubscriberID) -> Subscriber? {
        positionByID[id].map { subscribers[$0] }
    }

    /// Whether `subscriber` may have `source` preserved (PM source option): it lies in one of the
    /// subscriber's link or delegated prefixes and no other named subscriber holds it more closely.
    public func mayUse(source: IPAddress, for subscriber: Subscriber) -> Bool {
        guard subscriber.covers(source) else { return false }
        guard let claim = addressClaims.longestMatch(source) else { return true }
        return subscribers[claims[claim].owner].id == subscriber.id
    }
}
