public import Synchronization

/// One lock and the state it guards. A class, so the shard array holds references and each
/// `Mutex` sits in its own allocation instead of sharing cache lines with its neighbours.
public final class Shard<State: Sendable>: Sendable {
    public let mutex: Mutex<State>

    public init(_ state: sending State) {
        mutex = Mutex(state)
    }
}

/// A power-of-two array of shards, each key mapping to exactly one (also used by the packet plane's limiters).
public struct Shards<State: Sendable>: Sendable {
    public let shards: [Shard<State>]
    let mask: Int

    /// Whether `count` is a power of two in 1...1024, the shard counts the daemon accepts.
    public static func isValid(count: Int) -> Bool {
        (1...1024).contains(count) && count & (count - 1) == 0
    }

    /// `count` must already be valid (see `isValid(count:)`).
    public init(count: Int, initial: () -> State) {
        shards = (0..<count).map { _ in Shard(initial()) }
        mask = count - 1
    }

    /// The shard that owns `key`; Hasher's per-process seed keeps crafted keys from piling up.
    @inline(__always)
    public func shard(for key: some Hashable) -> Shard<State> {
        var hasher = Hasher()
        hasher.combine(key)
        return shards[hasher.finalize() & mask]
    }

    /// The shard that owns a sequential number (binding ids): the low bits already spread.
    @inline(__always)
    public func shard(forSequence number: UInt64) -> Shard<State> {
        shards[Int(truncatingIfNeeded: number) & mask]
    }
}
