public import WireFormat

/// Why a `PortSetAllocator` cannot be built from its configuration.
public enum PortSetAllocatorError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No prefixes were given.
    case emptyPool
    /// A pool prefix is IPv6; port sets share IPv4 addresses only.
    case ipv6PrefixInPool(IPPrefix)
    /// Two pool prefixes share addresses.
    case overlappingPrefixes(IPPrefix, IPPrefix)
    /// The shard count is not a power of two in 1...1024.
    case invalidShardCount(Int)
    /// The pool offers `capacity` port sets (`addresses` x `portSetsPerAddress`), fewer than `required`.
    case poolTooSmall(capacity: Int, required: Int, addresses: Int, portSetsPerAddress: Int)

    /// What was wrong and what to change.
    public var description: String {
        switch self {
        case .emptyPool:
            "the address pool is empty: give at least one IPv4 prefix (for example 198.51.100.0/28)."
        case .ipv6PrefixInPool(let prefix):
            "pool prefix \(prefix) is IPv6: port sets share IPv4 addresses, so list only IPv4 prefixes in the pool."
        case let .overlappingPrefixes(a, b):
            "pool prefixes \(a) and \(b) overlap: list each address once (drop one, or split them into disjoint prefixes)."
        case .invalidShardCount(let count):
            "shard count \(count) is not a power of two between 1 and 1024: use 1, 2, 4, ... or 1024 (16 is the default)."
        case let .poolTooSmall(capacity, required, addresses, perAddress):
            "the pool holds \(capacity) port sets (\(addresses) addresses x \(perAddress) usable PSIDs) but \(required) "
                + "are required: add IPv4 addresses to the pool, raise the PSID length, or free reserved ports."
        }
    }
}
