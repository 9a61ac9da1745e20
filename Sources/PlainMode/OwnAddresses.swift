import Synchronization
public import WireFormat

/// The concentrator's own interface addresses, shared by every copy of `DestinationFilter` (the
/// SYN gate's, each relay loop's) and replaced whole on reload, so an address added after
/// start-up is refused as a destination once SIGHUP has read the interfaces again.
public final class OwnAddresses: Sendable, ExpressibleByArrayLiteral {
    private let current: Mutex<Set<IPAddress>>

    public init(_ addresses: Set<IPAddress> = []) {
        current = Mutex(addresses)
    }

    public convenience init(arrayLiteral addresses: IPAddress...) {
        self.init(Set(addresses))
    }

    /// Whether `address` is one of them now; a lookup, never a copy of the set.
    public func contains(_ address: IPAddress) -> Bool {
        current.withLock { $0.contains(address) }
    }

    public var count: Int { current.withLock { $0.count } }

    /// Puts a fresh reading of the interfaces in force; returns the addresses added and removed.
    @discardableResult
    public func replace(with addresses: Set<IPAddress>) -> (added: Set<IPAddress>, removed: Set<IPAddress>) {
        current.withLock { old in
            defer { old = addresses }
            return (addresses.subtracting(old), old.subtracting(addresses))
        }
    }
}
