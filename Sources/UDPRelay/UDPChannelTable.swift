public import BindingState
public import Syscalls
public import SystemPackage
public import WireFormat

/// Which Internet datagrams a UDP binding takes (RFC 4787 section 5).
public enum UDPFiltering: String, Sendable, CaseIterable {
    /// Only from the remote address and port the CPE named (REQ-8's recommendation; the default).
    case addressAndPortDependent = "address-and-port"
    /// From any remote to the external address and port; one that no binding names needs an
    /// inbound connection carrying it as the source (`UDPInboundOpener`), else it is dropped.
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
        /// Per external endpoint: how many channels use it and the LAN endpoint behind it, if known.
        var externals: [Endpoint: (route: UDPReturnRoute?, count: Int)] = [:]
    }

    public let filtering: UDPFiltering
    public let backlogLimit: Int
    let shards: Shards<ShardState>

    public init(filtering: UDPFiltering, backlogLimit: Int, shardCount: Int = 64) {
        precondition(Shards<ShardState>.isValid(count: shardCount))
        self.filtering = filtering
        self.backlogLimit = backlogLimit
        shards = Shards(count: shardCount) { ShardState() }
    }

    /// Adds a binding; false when one with the same key exists. `route` names the LAN endpoint
    /// behind the external endpoint (its endpoint-independent mapping), for `UDPInboundOpener`.
    public func insert(_ key: UDPChannelKey, socket: Socket, route: UDPReturnRoute? = nil, now: ContinuousClock.Instant) -> Bool {
        shards.shard(for: key.external).mutex.withLock { state in
            guard state.channels[key] == nil else { return false }
            state.channels[key] = Channel(writer: RecordWriter(socket: socket, backlogLimit: backlogLimit), lastInbound: now)
            state.externals[key.external, default: (route, 0)].count += 1
            return true
        }
    }

    /// Removes a binding; after this returns no worker touches its socket.
    public func remove(_ key: UDPChannelKey) {
        shards.shard(for: key.external).mutex.withLock { state in
            guard state.channels.removeValue(forKey: key) != nil, let index = state.externals.index(forKey: key.external) else { return }
            state.externals.values[index].count -= 1
            if state.externals.values[index].count == 0 { state.externals.remove(at: index) }
        }
    }

    public enum Delivery: Equatable {
        case written, backlogged
        /// Neither the socket nor the backlog had room for the whole record.
        case droppedBacklogFull
        case noBinding
        /// A binding exists for the external endpoint, not for this remote (filtering).
        case filtered
        /// Endpoint-independent filtering admits this remote, but no binding carries its datagrams:
        /// records carry no source, so one can only reach the LAN host through a connection of its
        /// own (`UDPInboundOpener`). `route` is the LAN endpoint behind the external endpoint, if known.
        case newRemote(UDPReturnRoute?)
        case failed(Errno)
    }

    /// Frames one Internet datagram (`remote` -> `external`) as a record staged in its binding;
    /// the binding joins `burst`, whose `flush` sends each binding's records with one send.
    public func deliver(_ payload: UnsafeRawBufferPointer, from remote: Endpoint, to external: Endpoint,
                        now: ContinuousClock.Instant, burst: inout UDPBurst) -> Delivery {
        let (delivery, key): (Delivery, UDPChannelKey?) = shards.shard(for: external).mutex.withLock { state in
            let key = UDPChannelKey(external: external, remote: remote)
            // Through the index, so the channel (and its buffer) is changed in place.
            guard let index = state.channels.index(forKey: key) else {
                guard let shared = state.externals[external] else { return (.noBinding, nil) }
                // Never into another remote's binding: the LAN host would take it for that remote's.
                return (filtering == .endpointIndependent ? .newRemote(shared.route) : .filtered, nil)
            }
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

/// The LAN endpoint behind an external endpoint: the CPE that opened its bindings and the LAN
/// host's address and port it named in their PM blocks (the endpoint-independent mapping's key).
public struct UDPReturnRoute: Hashable, Sendable {
    public var cpe: IPAddress
    public var `internal`: Endpoint

    public init(cpe: IPAddress, internal: Endpoint) {
        self.cpe = cpe
        self.internal = `internal`
    }
}

/// Carries a datagram no binding takes yet to the LAN host, on an inbound MPTCP connection to the
/// CPE whose PM block names the remote as the source (draft 5.1.1, 5.1.2), so the host sees the
/// true sender. Asked by the queue workers for a datagram to a PCP-mapped pool port, and under
/// `--udp-filtering endpoint` for a new remote of an endpoint-independent mapping
/// (`InboundUDPHandOff`).
public protocol UDPInboundOpener: Sendable {
    /// Takes the datagram (`payload` is valid only during the call: copy it) for `request`; false
    /// when it cannot (then it is dropped and counted). Runs on a queue worker: must not block.
    func open(_ payload: UnsafeRawBufferPointer, _ request: UDPInboundRequest, now: ContinuousClock.Instant) -> Bool
}
