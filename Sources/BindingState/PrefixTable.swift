import WireFormat

/// An `Int` (a position in the caller's array) under each of a set of IPv4 and IPv6 prefixes, found
/// by longest-prefix match without a linear scan: one dictionary per family and distinct length,
/// keyed by the masked network, tried longest first. A lookup costs one hash per distinct length
/// in the table (a handful in practice, 129 at most).
struct PrefixTable: Sendable {
    /// The positions under the prefixes of one length, keyed by network.
    private struct Level: Sendable {
        let length: Int
        var positions: [IPAddress: Int]
    }

    /// Longest length first, per family, so the first hit is the longest match.
    private var ipv4Levels: [Level] = []
    private var ipv6Levels: [Level] = []

    init() {}

    /// The position stored under exactly this prefix.
    subscript(prefix: IPPrefix) -> Int? {
        get {
            levels(of: prefix.network).first { $0.length == prefix.length }?.positions[prefix.network]
        }
        set {
            if prefix.isIPv4 {
                Self.store(newValue, under: prefix, in: &ipv4Levels)
            } else {
                Self.store(newValue, under: prefix, in: &ipv6Levels)
            }
        }
    }

    /// The position under the longest prefix that contains `address`.
    func longestMatch(_ address: IPAddress) -> Int? {
        for level in levels(of: address) {
            if let position = level.positions[address.masked(toLength: level.length)] { return position }
        }
        return nil
    }

    /// The positions under every prefix that contains `prefix` (itself included), longest first.
    func positions(containing prefix: IPPrefix) -> [Int] {
        var found: [Int] = []
        for level in levels(of: prefix.network) where level.length <= prefix.length {
            if let position = level.positions[prefix.network.masked(toLength: level.length)] { found.append(position) }
        }
        return found
    }

    private func levels(of address: IPAddress) -> [Level] {
        address.isIPv4 ? ipv4Levels : ipv6Levels
    }

    private static func store(_ position: Int?, under prefix: IPPrefix, in levels: inout [Level]) {
        let index = levels.firstIndex { $0.length <= prefix.length } ?? levels.endIndex
        if index < levels.endIndex && levels[index].length == prefix.length {
            levels[index].positions[prefix.network] = position
        } else if let position {
            levels.insert(Level(length: prefix.length, positions: [prefix.network: position]), at: index)
        }
    }
}
