import Synchronization
public import WireFormat

/// The subscriber directory in force, shared by the relay loops and replaced whole on reload
/// (SIGHUP): a lookup takes the lock only to copy the directory's references out.
public final class SubscriberRegistry: Sendable {
    private let current: Mutex<SubscriberDirectory>

    public init(_ directory: SubscriberDirectory) {
        current = Mutex(directory)
    }

    /// The directory in force now.
    public var directory: SubscriberDirectory { current.withLock { $0 } }

    /// The subscriber a connection from `source` belongs to (a line of the file, else a default one).
    public func subscriber(for source: IPAddress) -> Subscriber {
        directory.subscriber(for: source)
    }

    /// Puts a new directory in force; connections already relayed keep the leases they have.
    public func replace(with directory: SubscriberDirectory) {
        current.withLock { $0 = directory }
    }
}
