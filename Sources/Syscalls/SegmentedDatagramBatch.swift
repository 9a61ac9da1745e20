import CSyscalls
import Glibc

/// Datagrams for one UDP socket, gathered into as few messages as UDP GSO allows and sent with
/// one `sendmmsg`: consecutive payloads of one size to one destination share a message that
/// carries UDP_SEGMENT (the kernel cuts it into datagrams, once, after one route lookup); a
/// shorter payload may end it. Payloads stay where they lie (one iovec each) and must stay valid
/// until `send` returns. Owned by one thread; allocates only at init.
public final class SegmentedDatagramBatch {
    /// Datagrams per message: UDP_MAX_SEGMENTS of older kernels (64 in Debian 12's 6.1).
    public static let mostSegmentsPerMessage = 64

    public let messageCapacity: Int
    public let datagramCapacity: Int
    public private(set) var messageCount = 0
    public private(set) var datagramCount = 0
    private let vectors: UnsafeMutablePointer<iovec>
    private let messages: UnsafeMutablePointer<plainmode_mmsghdr>
    private let addresses: UnsafeMutablePointer<sockaddr_in6>
    private let controls: UnsafeMutableRawPointer
    private let shapes: UnsafeMutablePointer<Shape>

    /// What the open message holds, to decide whether the next payload may join it.
    struct Shape {
        var segmentSize: Int
        var segments: Int
        var bytes: Int
        /// Its last payload was shorter than `segmentSize`: nothing more may follow.
        var closed: Bool
    }

    /// What one `send` did, counted in datagrams.
    public struct Outcome: Equatable, Sendable {
        public var sent = 0
        /// Not sent: the socket's send buffer was full.
        public var blocked = 0
        /// Refused with EMSGSIZE (larger than the outgoing link takes).
        public var tooBig = 0
        public var failed = 0
        /// Messages the kernel cut into datagrams (UDP GSO).
        public var segmentedMessages = 0
        /// Segmented messages the kernel refused (EIO: the way out cannot; EINVAL: a datagram
        /// over the MTU), resent one datagram per message.
        public var segmentationRefused = 0
        /// One refusal was EIO: segmenting cannot work through this socket's route.
        public var segmentationUnsupported = false
    }

    public init(messageCapacity: Int = 64, datagramCapacity: Int = 256) {
        precondition(messageCapacity > 0 && datagramCapacity >= messageCapacity)
        self.messageCapacity = messageCapacity
        self.datagramCapacity = datagramCapacity
        vectors = .allocate(capacity: datagramCapacity)
        messages = .allocate(capacity: messageCapacity)
        addresses = .allocate(capacity: messageCapacity)
        controls = .allocate(byteCount: messageCapacity * Int(PLAINMODE_UDP_SEGMENT_SPACE), alignment: 8)
        shapes = .allocate(capacity: messageCapacity)
    }

    deinit {
        vectors.deallocate()
        messages.deallocate()
        addresses.deallocate()
        controls.deallocate()
        shapes.deallocate()
    }

    public var isEmpty: Bool { datagramCount == 0 }

    /// Adds a datagram of `payload` to `destination`. It joins the open message when segmenting
    /// is allowed, the destination is the same, it is no larger than that message's datagrams,
    /// and the message stays within `largestMessage` bytes and `mostSegmentsPerMessage`.
    /// False when the batch is full: send it, then append again.
    public func append(_ payload: UnsafeRawBufferPointer, to destination: SocketAddress, segmenting: Bool,
                       largestMessage: Int) -> Bool {
        guard datagramCount < datagramCapacity else { return false }
        let vector = vectors + datagramCount
        if segmenting, messageCount > 0, joinsOpenMessage(payload.count, destination: destination, largestMessage: largestMessage) {
            let shape = shapes + (messageCount - 1)
            shape.pointee.segments += 1
            shape.pointee.bytes += payload.count
            shape.pointee.closed = payload.count < shape.pointee.segmentSize
            messages[messageCount - 1].msg_hdr.msg_iovlen += 1
        } else {
            guard messageCount < messageCapacity else { return false }
            let name = UnsafeMutableRawPointer(addresses + messageCount)
            var message = plainmode_mmsghdr()
            message.msg_hdr.msg_name = name
            message.msg_hdr.msg_namelen = destination.write(to: name)
            message.msg_hdr.msg_iov = vector
            message.msg_hdr.msg_iovlen = 1
            (messages + messageCount).initialize(to: message)
            // A zero-length datagram cannot be a segment size: it stands alone.
            (shapes + messageCount).initialize(to: Shape(segmentSize: payload.count, segments: 1, bytes: payload.count,
                                                         closed: payload.isEmpty))
            messageCount += 1
        }
        vector.initialize(to: iovec(iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress), iov_len: payload.count))
        datagramCount += 1
        return true
    }

    private func joinsOpenMessage(_ size: Int, destination: SocketAddress, largestMessage: Int) -> Bool {
        let shape = shapes[messageCount - 1]
        // An empty datagram cannot be a segment (it would vanish): it stands alone.
        guard size > 0, !shape.closed, size <= shape.segmentSize, shape.segments < Self.mostSegmentsPerMessage,
              shape.bytes + size <= largestMessage else { return false }
        let message = messages[messageCount - 1].msg_hdr
        return destination.withSockAddr { address, length in
            length == message.msg_namelen && memcmp(UnsafeRawPointer(address), message.msg_name, Int(length)) == 0
        }
    }

    /// Sends every message through `socket` (non-blocking) and empties the batch. A message the
    /// kernel refuses is counted and the rest still go; a full send buffer blocks the rest.
    public func send(through socket: Socket) -> Outcome {
        var outcome = Outcome()
        for index in 0..<messageCount where shapes[index].segments > 1 {
            let control = controls + index * Int(PLAINMODE_UDP_SEGMENT_SPACE)
            messages[index].msg_hdr.msg_control = control
            messages[index].msg_hdr.msg_controllen = plainmode_write_udp_segment(control, UInt16(shapes[index].segmentSize))
        }
        sendMessages(messages, count: messageCount, through: socket.rawValue,
                     sent: { range in
                         for index in range {
                             outcome.sent += shapes[index].segments
                             if shapes[index].segments > 1 { outcome.segmentedMessages += 1 }
                         }
                     },
                     refused: { index, code in
                         if shapes[index].segments > 1 && (code == EIO || code == EINVAL || code == EMSGSIZE) {
                             outcome.segmentationRefused += 1
                             if code == EIO { outcome.segmentationUnsupported = true }
                             sendOneByOne(index, through: socket, &outcome)
                         } else if code == EMSGSIZE {
                             outcome.tooBig += 1
                         } else {
                             outcome.failed += shapes[index].segments
                         }
                     },
                     blocked: { start in
                         for index in start..<messageCount { outcome.blocked += shapes[index].segments }
                     })
        messageCount = 0
        datagramCount = 0
        return outcome
    }

    /// Sends message `index`'s datagrams without UDP_SEGMENT, one `sendmsg` each.
    private func sendOneByOne(_ index: Int, through socket: Socket, _ outcome: inout Outcome) {
        var header = messages[index].msg_hdr
        header.msg_control = nil
        header.msg_controllen = 0
        header.msg_iovlen = 1
        let first = header.msg_iov!
        for segment in 0..<shapes[index].segments {
            header.msg_iov = first + segment
            var result: Int
            repeat { result = Glibc.sendmsg(socket.rawValue, &header, Int32(MSG_DONTWAIT)) } while result < 0 && errno == EINTR
            if result >= 0 {
                outcome.sent += 1
                continue
            }
            switch errno {
            case EAGAIN, EWOULDBLOCK:
                outcome.blocked += shapes[index].segments - segment
                return
            case EMSGSIZE: outcome.tooBig += 1
            default: outcome.failed += 1
            }
        }
    }
}
