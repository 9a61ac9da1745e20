public import SystemPackage
public import WireFormat
import CSyscalls
import Glibc

/// A raw IP socket that sends packets whose IP header we built (IPPROTO_RAW implies
/// IP_HDRINCL / IPV6_HDRINCL). Transparent, so the source may be an address on no interface
/// (a pool address, the remote end of a bonded flow). Needs CAP_NET_RAW.
public struct RawSocket: Sendable {
    public let rawValue: Int32
    public let family: Int32

    /// Opens a non-blocking raw socket for `family` (AF_INET or AF_INET6) with a send buffer of
    /// at least `sendBuffer` bytes (forced when CAP_NET_ADMIN allows, so bursts are not dropped).
    public static func open(family: Int32, sendBuffer: Int32 = 4 << 20) throws(Errno) -> RawSocket {
        let type = Int32(SOCK_RAW.rawValue) | PLAINMODE_SOCK_NONBLOCK | PLAINMODE_SOCK_CLOEXEC
        let fd = try retryingEINTR { Glibc.socket(family, type, Int32(IPPROTO_RAW)) }
        let socket = Socket(rawValue: fd)
        do {
            try socket.setTransparent(family: family)
            try socket.setSendBuffer(atLeast: sendBuffer)
        } catch {
            socket.close()
            throw error
        }
        return RawSocket(rawValue: fd, family: family)
    }

    public func close() { _ = Glibc.close(rawValue) }
}

/// Packets for one raw socket, each a header block in the batch's own memory followed by a
/// payload left where it lies (two iovecs), sent with one `sendmmsg`. The payloads must stay
/// valid until `send` returns. Owned by one thread; allocates only at init.
public final class RawPacketBatch {
    public let capacity: Int
    public let headerCapacity: Int
    public private(set) var count = 0
    private let headers: UnsafeMutableRawBufferPointer
    private let vectors: UnsafeMutablePointer<iovec>
    private let messages: UnsafeMutablePointer<plainmode_mmsghdr>
    private let addresses: UnsafeMutablePointer<sockaddr_in6>

    /// What one `send` did with the packets, by outcome.
    public struct Outcome: Equatable, Sendable {
        public var sent = 0
        /// Not sent: the socket's send buffer was full.
        public var blocked = 0
        /// Refused with EMSGSIZE (larger than the outgoing link takes).
        public var tooBig = 0
        public var failed = 0
    }

    public init(capacity: Int, headerCapacity: Int) {
        precondition(capacity > 0 && headerCapacity > 0)
        self.capacity = capacity
        self.headerCapacity = headerCapacity
        headers = .allocate(byteCount: capacity * headerCapacity, alignment: 8)
        vectors = .allocate(capacity: 2 * capacity)
        messages = .allocate(capacity: capacity)
        addresses = .allocate(capacity: capacity)
    }

    deinit {
        headers.deallocate()
        vectors.deallocate()
        messages.deallocate()
        addresses.deallocate()
    }

    public var isFull: Bool { count == capacity }
    public var isEmpty: Bool { count == 0 }

    /// Where the next packet's header block goes: fill it, then `append`.
    public var nextHeaders: UnsafeMutableRawBufferPointer {
        precondition(!isFull)
        return UnsafeMutableRawBufferPointer(rebasing: headers[count * headerCapacity..<(count + 1) * headerCapacity])
    }

    /// Adds the packet whose first `headerLength` bytes are in `nextHeaders`.
    public func append(headerLength: Int, payload: UnsafeRawBufferPointer, to destination: IPAddress) {
        precondition(!isFull && headerLength <= headerCapacity)
        let header = vectors + 2 * count
        header.initialize(to: iovec(iov_base: headers.baseAddress! + count * headerCapacity, iov_len: headerLength))
        (header + 1).initialize(to: iovec(iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress), iov_len: payload.count))
        let name = UnsafeMutableRawPointer(addresses + count)
        var message = plainmode_mmsghdr()
        message.msg_hdr.msg_name = name
        message.msg_hdr.msg_namelen = SocketAddress(destination, port: 0).write(to: name)
        message.msg_hdr.msg_iov = header
        message.msg_hdr.msg_iovlen = payload.isEmpty ? 1 : 2
        (messages + count).initialize(to: message)
        count += 1
    }

    /// Sends every packet through `socket` (non-blocking) and empties the batch. A packet the
    /// kernel refuses is counted and the rest still go; a full send buffer blocks the rest.
    public func send(through socket: RawSocket) -> Outcome {
        var outcome = Outcome()
        sendMessages(messages, count: count, through: socket.rawValue,
                     sent: { outcome.sent += $0.count },
                     refused: { _, code in if code == EMSGSIZE { outcome.tooBig += 1 } else { outcome.failed += 1 } },
                     blocked: { outcome.blocked += count - $0 })
        count = 0
        return outcome
    }
}

extension Socket {
    /// Sends `prefix` then `payload` in one call (a framed record: length, datagram); nil when
    /// the socket buffer is full, else the bytes taken, which may be fewer than offered.
    public func send(prefix: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) throws(Errno) -> Int? {
        var vectors = (iovec(iov_base: UnsafeMutableRawPointer(mutating: prefix.baseAddress), iov_len: prefix.count),
                       iovec(iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress), iov_len: payload.count))
        return try withUnsafeMutablePointer(to: &vectors) { pair throws(Errno) -> Int? in
            var message = msghdr()
            message.msg_iov = UnsafeMutableRawPointer(pair).assumingMemoryBound(to: iovec.self)
            message.msg_iovlen = payload.isEmpty ? 1 : 2
            return try retryingEINTRUnlessWouldBlock { Glibc.sendmsg(rawValue, &message, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        }
    }

    /// Sends `bytes` without blocking; nil when the socket buffer is full.
    public func send(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int? {
        try retryingEINTRUnlessWouldBlock { Glibc.send(rawValue, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
    }
}

/// Sends `count` messages without blocking, with as few `sendmmsg` calls as the kernel allows:
/// `sent` for each run it took, `refused` for a message it refused with that errno (the rest
/// still go), `blocked` once with the first message left when the send buffer is full.
func sendMessages(_ messages: UnsafeMutablePointer<plainmode_mmsghdr>, count: Int, through fd: Int32,
                  sent: (Range<Int>) -> Void, refused: (Int, Int32) -> Void, blocked: (Int) -> Void) {
    var start = 0
    while start < count {
        let taken = plainmode_sendmmsg(fd, messages + start, UInt32(count - start), Int32(MSG_DONTWAIT))
        if taken > 0 {
            sent(start..<start + Int(taken))
            start += Int(taken)
            continue
        }
        if taken == 0 {  // not expected with messages left; never spin on it
            return blocked(start)
        }
        // sendmmsg reports an error only for the first message it tried: that one failed.
        let code = errno
        switch code {
        case EINTR:
            continue
        case EAGAIN, EWOULDBLOCK:
            return blocked(start)
        default:
            refused(start, code)
            start += 1
        }
    }
}
