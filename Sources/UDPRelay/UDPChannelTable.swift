public import BindingState
public import Syscalls
public import SystemPackage

/// Which Internet datagrams a UDP binding takes (RFC 4787 section 5).
public enum UDPFiltering: String, Sendable, CaseIterable {
    /// Only from the remote address and port the CPE named (REQ-8's recommendation; the default).
    case addressAndPortDependent = "address-and-port"
    /// From any remote to the external address and port.
    case endpointIndependent = "endpoint"
}

/// One UDP binding as the packet plane sees it: the external endpoint (pool address and port),
/// the remote the CPE named, and the MPTCP connection its records go to.
public struct UDPChannelKey: Hashable, Sendable {
    public var external: Endpoint
    public var remote: Endpoint

    public init(external: Endpoint, remote: Endpoint) {
        self.external = external
        self.remote = remote
    }
}

/// The concentrator's UDP bindings, sharded by external endpoint and shared by the relay loops
/// (which own the connections: insert, flush, remove) and the queue workers (which frame
/// Internet datagrams into them). A connection is written only under its shard's lock and is
/// removed before its owner closes the socket, so no worker writes to a reused descriptor.
public final class UDPChannelTable: Sendable {
    struct Channel {
        var writer: RecordWriter
        var lastInbound: ContinuousClock.Instant
    }

    struct ShardState {
        var channels: [UDPChannelKey: Channel] = [:]
        /// Per external endpoint: how many channels use it and the remote endpoint-independent
        /// filtering delivers to (the first one's).
        var externals: [Endpoint: (remote: Endpoint, count: Int)] = [:]
    }

    public let filtering: UDPFiltering
    public let backlogLimit: Int
    private let shards: Shards<ShardState>

    public init(filtering: UDPFiltering, backlogLimit: Int, shardCount: Int = 64) {
        precondition(Shards<ShardState>.isValid(count: shardCount))
        self.filtering = filtering
        self.backlogLimit = backlogLimit
        shards = Shards(count: shardCount) { ShardState() }
    }

    /// Adds a binding; false when one with the same key exists.
    public func insert(_ key: UDPChannelKey, socket: Socket, now: ContinuousClock.Instant) -> Bool {
        shards.shard(for: key.external).mutex.withLock { state in
            guard state.channels[key] == nil else { return false }
            state.channels[key] = Channel(writer: RecordWriter(socket: socket, backlogLimit: backlogLimit), lastInbound: now)
            state.externals[key.external, default: (key.remote, 0)].count += 1
            return true
        }
    }

    /// Removes a binding; after this returns no worker touches its socket.
    public func remove(_ key: UDPChannelKey) {
        shards.shard(for: key.external).mutex.withLock { state in
            guard state.channels.removeValue(forKey: key) != nil, var shared = state.externals[key.external] else { return }
            shared.count -= 1
            if shared.count == 0 {
                state.externals[key.external] = nil
                return
            }
            if shared.remote == key.remote, let other = state.channels.keys.first(where: { $0.external == key.external }) {
                shared.remote = other.remote
            }
            state.externals[key.external] = shared
        }
    }

    public enum Delivery: Equatable {
        case written, backlogged
        /// Neither the socket nor the backlog had room for the whole record.
        case droppedBacklogFull
        case noBinding
        /// A binding exists for the external endpoint, not for this remote (filtering).
        case filtered
        case failed(Errno)
    }

    /// Frames one Internet datagram (`remote` -> `external`) as a record staged in its binding;
    /// the binding joins `burst`, whose `flush` sends each binding's records with one send.
    public func deliver(_ payload: UnsafeRawBufferPointer, from remote: Endpoint, to external: Endpoint,
                        now: ContinuousClock.Instant, burst: inout UDPBurst) -> Delivery {
        let (delivery, key): (Delivery, UDPChannelKey?) = shards.shard(for: external).mutex.withLock { state in
            var key = UDPChannelKey(external: external, remote: remote)
            var index = state.channels.index(forKey: key)
            if index == nil {
                guard let shared = state.externals[external] else { return (.noBinding, nil) }
                guard filtering == .endpointIndependent else { return (.filtered, nil) }
                key.remote = shared.remote
                index = state.channels.index(forKey: key)
            }
            // Through the index, so the channel (and its buffer) is changed in place.
            guard let index else { return (.noBinding, nil) }
            state.channels.values[index].lastInbound = now
            switch state.channels.values[index].writer.stage(payload) {
            case .written: return (.written, key)
            case .backlogged: return (.backlogged, key)
            case .dropped: return (.droppedBacklogFull, nil)
            case .failed(let error): return (.failed(error), nil)
            }
        }
        if let key { burst.keys.insert(key) }
        return delivery
    }

    /// Sends what `burst`'s bindings staged and empties it; how many sends failed.
    public func flush(_ burst: inout UDPBurst) -> Int {
        var failures = 0
        for key in burst.keys where flush(key) != nil { failures += 1 }
        burst.keys.removeAll(keepingCapacity: true)
        return failures
    }

    /// Sends a binding's backlog (its socket became writable); the error if writing failed.
    public func flush(_ key: UDPChannelKey) -> Errno? {
        shards.shard(for: key.external).mutex.withLock { state in
            guard let index = state.channels.index(forKey: key),
                  case .failed(let error) = state.channels.values[index].writer.flush() else { return nil }
            return error
        }
    }

    /// When the binding last carried an Internet datagram; nil when it is gone.
    public func lastInbound(_ key: UDPChannelKey) -> ContinuousClock.Instant? {
        shards.shard(for: key.external).mutex.withLock { $0.channels[key]?.lastInbound }
    }

    public var count: Int {
        shards.shards.reduce(0) { total, shard in total + shard.mutex.withLock { $0.channels.count } }
    }
}

/// The bindings one queue burst staged records in, flushed together when the burst ends.
/// One per queue worker; it keeps its capacity, so a burst allocates nothing once warm.
public struct UDPBurst: Sendable {
    var keys: Set<UDPChannelKey> = []

    public init() {}

    public var isEmpty: Bool { keys.isEmpty }
}
