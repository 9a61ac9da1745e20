import BindingState
import PlainMode
import UDPRelay
import Syscalls
import SystemPackage
import WireFormat

/// One relayed connection: the downstream socket (the CPE's MPTCP connection at the
/// concentrator, the LAN host's TCP connection at the CPE) and the upstream socket.
struct RelayConnection {
    enum Phase: Equatable {
        case free
        /// Concentrator: waiting for the whole PM block at the head of the stream.
        case readingBlock
        /// Accepted, its MPTCP leg not opened yet: waiting (at most `--first-bytes-wait`) for
        /// the client's first bytes so they ride in the SYN with the PM block.
        case awaitingFirstBytes
        /// The upstream connect is in flight.
        case connecting
        case relaying
        /// Concentrator: a UDP binding; records from the stream become datagrams.
        case datagrams
        /// CPE: an inbound UDP flow; records become datagrams to the LAN host and its replies records.
        case lanDatagrams
    }

    var phase: Phase = .free
    /// Accepted on an inbound listener: an Internet host's connection, relayed towards the LAN.
    var inbound = false
    /// Bumped when the slot is reused, so a stale epoll event for an old socket is ignored.
    var generation: UInt32 = 0
    var downstream = Socket(rawValue: -1)
    var upstream = Socket(rawValue: -1)
    /// The downstream peer (the CPE's subflow address, or the LAN host) and our end of it.
    var peer = SocketAddress(.v4(IPv4Address(0)), port: 0)
    var local = SocketAddress(.v4(IPv4Address(0)), port: 0)
    var toUpstream = SpliceChannel()
    var toDownstream = SpliceChannel()
    var parser = PlainModeBlockParser()
    /// Stream bytes already fed to `parser` (the block is peeked, then discarded in one read).
    var blockBytesSeen = 0
    var deadline: ContinuousClock.Instant
    var lastActivity: ContinuousClock.Instant
    /// The `lastActivity` whose stall the MPTCP leg was last nudged for (one nudge per stall).
    var nudgedAtActivity: ContinuousClock.Instant?
    var binding: BindingHandle?
    /// The MPTCP leg plainmode opens (CPE outbound, concentrator inbound): where to, whether its
    /// first bytes ride in the SYN, and whether it was already opened a second time.
    var multipathLeg: MultipathLeg?
    /// The UDP side of a `.datagrams` connection.
    var datagrams: DatagramLeg?
    /// The LAN side of a `.lanDatagrams` connection.
    var lanDatagrams: LANDatagramLeg?

    init(now: ContinuousClock.Instant) {
        deadline = now
        lastActivity = now
    }
}

/// How to open a connection's MPTCP leg again after the kernel fell back to plain TCP.
struct MultipathLeg {
    var peer: SocketAddress
    var synData: Bool
    var retried = false
}

/// The binding a relayed connection holds, enough to release it without a lookup.
struct BindingHandle {
    var id: UInt64
    var subscriber: SubscriberID
    var transport: TransportProtocol = .tcp
    /// The flow as logged at its start (`--log-sessions`), logged again as deleted at its end.
    var session: SessionEvent?
    /// The upstream source taken from the subscriber's port set; nil when the source is preserved.
    var pooledSource: SocketAddress?
    /// The endpoint-independent mapping `pooledSource` belongs to (UDP with a PM source): released
    /// through `EndpointMappingTable`, which frees the port with the mapping's last binding.
    var mapping: EndpointMappingKey?
}

/// A UDP binding's state at its relay loop: its key in the shared channel table and the
/// decoder of the records arriving on the stream. A class because the decoder cannot be copied.
final class DatagramLeg {
    let key: UDPChannelKey
    var decoder: UDPFrameDecoder
    /// An inbound binding whose connection to the CPE is not up yet (records wait in its writer).
    var connecting = false

    init(key: UDPChannelKey, maximumDatagramSize: Int) {
        self.key = key
        decoder = UDPFrameDecoder(maximumDatagramSize: maximumDatagramSize)
    }
}

/// One direction of the relay: source socket -> pipe -> destination socket.
struct SpliceChannel {
    var pipe: Pipe?
    /// Bytes in the pipe, not yet written to the destination.
    var buffered = 0
    var capacity = 65536
    var sourceEnded = false
    var shutdownSent = false
    /// Bytes to write before any from the pipe: the CPE's PM block.
    var pending: [UInt8] = []
    var pendingSent = 0

    var hasPending: Bool { pendingSent < pending.count }
    var isFinished: Bool { sourceEnded && buffered == 0 && !hasPending && shutdownSent }
}

/// How one pump of a channel ended.
enum PumpResult {
    /// Bytes moved; `more` when the round limit stopped it with work left.
    case progressed(Int, more: Bool)
    case blocked
    /// The source failed (e.g. an RST arrived on it).
    case sourceFailed(Errno)
    /// Writing to the destination failed (its peer reset).
    case destinationFailed(Errno)
}

extension SpliceChannel {
    /// Moves what it can from `source` to `destination`, bounded so one busy connection
    /// cannot hold the loop: at most `rounds` fill/drain rounds.
    mutating func pump(from source: Socket, to destination: Socket, rounds: Int = 16) -> PumpResult {
        guard let pipe else { return .blocked }
        var moved = 0
        var progressed = false
        var retry = false
        for _ in 0..<rounds {
            progressed = false
            do throws(Errno) {
                if hasPending {
                    if let n = try destination.send(pending, from: pendingSent) {
                        pendingSent += n
                        moved += n
                        progressed = n > 0
                        if !hasPending {
                            pending = []
                            pendingSent = 0
                        }
                    }
                } else if buffered > 0, let n = try splice(from: pipe.readEnd, to: destination.rawValue, maximum: buffered), n > 0 {
                    buffered -= n
                    moved += n
                    progressed = true
                }
            } catch { return .destinationFailed(error) }
            if !sourceEnded && buffered < capacity {
                do throws(Errno) {
                    if let n = try splice(from: source.rawValue, to: pipe.writeEnd, maximum: capacity - buffered) {
                        if n == 0 { sourceEnded = true } else { buffered += n }
                        progressed = true
                    } else if buffered == 0 && source.availableBytes() > 0 {
                        // splice() from TCP sometimes says EAGAIN into an empty pipe with data
                        // queued (measured here); no new edge will come, so ask for a retry.
                        retry = true
                    }
                } catch { return .sourceFailed(error) }
            }
            if sourceEnded && buffered == 0 && !hasPending && !shutdownSent {
                destination.shutdownWrite()
                shutdownSent = true
            }
            if !progressed { break }
        }
        if moved > 0 || sourceEnded || retry { return .progressed(moved, more: progressed || retry) }
        return .blocked
    }
}
