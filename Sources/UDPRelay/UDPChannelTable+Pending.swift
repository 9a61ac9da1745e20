import BindingState
public import Syscalls
public import SystemPackage

/// Inbound bindings (draft 5.1.1, 5.1.2): the queue worker that sees an Internet datagram no
/// binding takes inserts a *pending* binding whose writer stages records until a relay loop has
/// opened the MPTCP connection to the CPE (`attach`) and it is up (`connected`). Datagrams that
/// arrive meanwhile queue behind the first one (bounded by the backlog limit, drops counted), so
/// none is lost or reordered by the hand-off.
extension UDPChannelTable {
    /// Inserts a pending binding holding `payload` as its first record; false when the key has a
    /// binding already (the caller delivers into it instead).
    public func insertPending(_ key: UDPChannelKey, first payload: UnsafeRawBufferPointer, route: UDPReturnRoute?,
                              now: ContinuousClock.Instant) -> Bool {
        shards.shard(for: key.external).mutex.withLock { state in
            guard state.channels[key] == nil else { return false }
            var writer = RecordWriter(socket: Socket(rawValue: -1), backlogLimit: backlogLimit, isConnecting: true)
            guard writer.stage(payload) != .dropped else { return false }
            state.channels[key] = Channel(writer: writer, lastInbound: now)
            state.externals[key.external, default: (route, 0)].count += 1
            return true
        }
    }

    /// What `attach` found.
    public enum Attachment: Equatable {
        /// The connect started; the block and staged records went out as far as the SYN took them.
        case attached
        /// The pending binding is gone (removed meanwhile): nothing was sent.
        case gone
        case failed(Errno)
    }

    /// Gives a pending binding its connection: `open` sends `leading` (the PM block) and the
    /// records staged so far as SYN data (a non-blocking Fast Open connect, under the shard lock
    /// so no record slips in between) and returns how many bytes it took.
    public func attach(_ key: UDPChannelKey, socket: Socket, leading: [UInt8],
                       open: ([UInt8]) throws(Errno) -> Int) -> Attachment {
        shards.shard(for: key.external).mutex.withLock { state in
            guard let index = state.channels.index(forKey: key) else { return .gone }
            do throws(Errno) {
                try state.channels.values[index].writer.attach(socket, leading: leading, open: open)
            } catch { return .failed(error) }
            return .attached
        }
    }

    /// The binding's connection is up: what waited goes out; the error if writing failed.
    public func connected(_ key: UDPChannelKey) -> Errno? {
        shards.shard(for: key.external).mutex.withLock { state in
            guard let index = state.channels.index(forKey: key) else { return nil }
            state.channels.values[index].writer.isConnecting = false
            guard case .failed(let error) = state.channels.values[index].writer.flush() else { return nil }
            return error
        }
    }
}
