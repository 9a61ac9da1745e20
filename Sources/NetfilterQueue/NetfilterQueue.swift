/// NetfilterQueue: the kernel side of the packet plane. It owns one NFQUEUE netlink socket per
/// queue, the buffers packets are read into (parsed in place, never copied) and the verdict
/// batch that answers a whole burst with one `sendto`. Callers see `QueuedPacket` values inside
/// a closure and return a `Verdict`; every raw pointer stays in this module and the C shim.
import SystemPackage
import CNetfilterQueue
import CSyscalls
import Glibc

/// One NFQUEUE queue bound by this process. Not thread-safe: it is handed to one worker thread,
/// which alone uses it (hence unchecked Sendable); only `counters` is read from elsewhere.
public final class NetfilterQueue: @unchecked Sendable {
    public let configuration: NetfilterQueueConfiguration
    public let counters = NetfilterQueueCounters()
    private let socket: OpaquePointer  // struct mnl_socket *
    /// `receiveSlots` slots of `slotSize` bytes end to end, one message each per `recvmmsg`.
    private let receiveBuffer: UnsafeMutableRawBufferPointer
    private let slotSize: Int
    private let receiveSlots: Int
    /// One `mmsghdr` and iovec per slot, built once: `recvmmsg` only fills in lengths and flags.
    private let slotMessages: UnsafeMutablePointer<plainmode_mmsghdr>
    private let slotVectors: UnsafeMutablePointer<iovec>
    private var verdicts: VerdictBatch
    /// Where a verdict carrying a rewritten packet is built: the packet plus headroom.
    private let rewriteBuffer: UnsafeMutableRawBufferPointer
    /// Set once a packet is held: batch verdicts would release held packets, so none are sent.
    private var holdsPackets = false
    private var sequence: UInt32 = 1

    /// The netlink socket's descriptor, for a caller that multiplexes it with other sources.
    public var fileDescriptor: Int32 { mnl_socket_get_fd(socket) }

    /// Opens a netlink socket, binds it to `configuration.queue` and applies the queue settings.
    /// Throws `.queueOwned` when another process holds the queue.
    public init(_ configuration: NetfilterQueueConfiguration) throws(NetfilterQueueError) {
        try configuration.validate()
        guard let socket = mnl_socket_open2(NETLINK_NETFILTER, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)) else {
            throw .open(Errno(rawValue: errno))
        }
        guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            let error = Errno(rawValue: errno)
            mnl_socket_close(socket)
            throw .open(error)
        }
        self.configuration = configuration
        self.socket = socket
        // A slot holds one whole GSO packet (64 KiB) plus its netlink and nfqueue headers.
        slotSize = Int(configuration.copyRange) + 4096
        receiveSlots = min(configuration.burst, Self.mostMessagesPerReceive)
        receiveBuffer = .allocate(byteCount: slotSize * receiveSlots, alignment: 8)
        slotVectors = .allocate(capacity: receiveSlots)
        slotMessages = .allocate(capacity: receiveSlots)
        for slot in 0..<receiveSlots {
            (slotVectors + slot).initialize(to: iovec(iov_base: receiveBuffer.baseAddress! + slot * slotSize, iov_len: slotSize))
            var message = plainmode_mmsghdr()
            message.msg_hdr.msg_iov = slotVectors + slot
            message.msg_hdr.msg_iovlen = 1
            (slotMessages + slot).initialize(to: message)
        }
        verdicts = VerdictBatch(capacity: configuration.burst)
        rewriteBuffer = .allocate(byteCount: Int(configuration.copyRange) + 1024, alignment: 8)
        do {
            try configureSocket()
            try request(kind: "bind") { buffer, sequence in
                plainmode_nfq_put_bind(buffer, configuration.queue, sequence)
            }
            let flags = (configuration.failOpen ? UInt32(NFQA_CFG_F_FAIL_OPEN) : 0) | (configuration.gso ? UInt32(NFQA_CFG_F_GSO) : 0)
            try request(kind: "configure") { buffer, sequence in
                plainmode_nfq_put_params(buffer, configuration.queue, sequence, configuration.copyRange, configuration.maxLength,
                                         UInt32(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO), flags)
            }
        } catch {
            close()
            throw error
        }
    }

    /// Most queued packets one `recvmmsg` takes (one netlink message each).
    static let mostMessagesPerReceive = 16

    deinit {
        receiveBuffer.deallocate()
        rewriteBuffer.deallocate()
        slotMessages.deallocate()
        slotVectors.deallocate()
    }

    /// Closes the socket; the kernel unbinds the queue and, with `--queue-bypass`, lets packets pass.
    public func close() { mnl_socket_close(socket) }

    private func configureSocket() throws(NetfilterQueueError) {
        let fd = fileDescriptor
        var one: Int32 = 1
        // ENOBUFS would otherwise be reported on the next receive and the message lost anyway.
        if setsockopt(fd, PLAINMODE_SOL_NETLINK, PLAINMODE_NETLINK_NO_ENOBUFS, &one, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw .socketOption("NETLINK_NO_ENOBUFS", Errno(rawValue: errno))
        }
        var size = configuration.receiveBufferBytes
        // SO_RCVBUFFORCE passes rmem_max with CAP_NET_ADMIN; SO_RCVBUF is the unprivileged fallback.
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0,
           setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw .socketOption("SO_RCVBUF", Errno(rawValue: errno))
        }
    }

    /// Sends one configuration message and waits (bounded) for the kernel's acknowledgement.
    private func request(kind: String, _ build: (UnsafeMutablePointer<CChar>, UInt32) -> UInt32) throws(NetfilterQueueError) {
        sequence &+= 1
        let expected = sequence
        let base = receiveBuffer.baseAddress!
        let length = build(base.assumingMemoryBound(to: CChar.self), expected)
        guard mnl_socket_sendto(socket, base, Int(length)) >= 0 else { throw .request(kind, Errno(rawValue: errno)) }
        for _ in 0..<64 {
            var poller = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 2000)
            if ready == 0 { throw .request(kind, .timedOut) }
            if ready < 0 {
                if errno == EINTR { continue }
                throw .request(kind, Errno(rawValue: errno))
            }
            let received = recv(fileDescriptor, base, slotSize, 0)
            if received < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .request(kind, Errno(rawValue: errno))
            }
            var answeredSequence: UInt32 = 0
            let code = plainmode_nlmsg_error(base.assumingMemoryBound(to: nlmsghdr.self), &answeredSequence)
            guard code >= 0, answeredSequence == expected else { continue }
            if code == 0 { return }
            if code == EPERM && kind == "bind" { throw .queueOwned(configuration.queue) }
            throw .request(kind, Errno(rawValue: code))
        }
        throw .request(kind, .timedOut)
    }
}

extension NetfilterQueue {
    /// Waits up to `timeoutMilliseconds` for the queue to become readable, then reads every
    /// readable message (at most `configuration.burst`, up to 16 per `recvmmsg`), calls `handle`
    /// for each packet in the receive buffer, and sends all the burst's verdicts with one
    /// `sendto`. Returns the packets handled. Receive errors are counted, never thrown: a packet
    /// plane must keep running.
    @discardableResult
    public func processBurst(timeoutMilliseconds: Int32, _ handle: (borrowing QueuedPacket) -> Verdict) -> Int {
        let fd = fileDescriptor
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) > 0 else { return 0 }
        var handled = 0
        let base = receiveBuffer.baseAddress!
        receiving: while handled < configuration.burst {
            let asked = min(receiveSlots, configuration.burst - handled)
            let received = Int(plainmode_recvmmsg(fd, slotMessages, UInt32(asked), Int32(MSG_DONTWAIT)))
            counters.add(.receiveCalls)
            if received < 0 {
                switch errno {
                case EINTR: continue
                case EAGAIN: break receiving
                case ENOBUFS: counters.add(.receiveOverruns)  // the kernel dropped messages; go on
                default:
                    counters.add(.receiveErrors)
                    break receiving
                }
                continue
            }
            for slot in 0..<received {
                let message = slotMessages[slot]
                // Slots hold copy range + 4 KiB, so no message should be cut; counted if one is.
                guard message.msg_hdr.msg_flags & Int32(MSG_TRUNC) == 0 else {
                    counters.add(.receiveErrors)
                    continue
                }
                handled += handleMessages(at: base + slot * slotSize, length: Int32(message.msg_len), handle)
            }
            if received < asked { break receiving }  // drained: no need to ask again for EAGAIN
        }
        flushVerdicts()
        return handled
    }

    /// Parses the netlink messages of one received datagram in place, staging a verdict for each
    /// queued packet. Returns the packets handled.
    private func handleMessages(at start: UnsafeMutableRawPointer, length: Int32, _ handle: (borrowing QueuedPacket) -> Verdict) -> Int {
        var handled = 0
        var remaining = length
        var message: UnsafeMutablePointer<nlmsghdr>? = start.assumingMemoryBound(to: nlmsghdr.self)
        while let current = message, mnl_nlmsg_ok(current, remaining) {
            var raw = plainmode_nfq_packet()
            if plainmode_nfq_read_packet(current, &raw) == 0 {
                handled += 1
                stage(handle(QueuedPacket(raw)), for: raw)
            } else if current.pointee.nlmsg_type != UInt16(NLMSG_DONE) {
                counters.add(.unexpectedMessages)
            }
            message = mnl_nlmsg_next(current, &remaining)
        }
        return handled
    }

    /// Stages one handler's verdict. A rewritten packet is answered at once, with its bytes, while
    /// they are still in the receive slot (the next `recvmmsg` of the burst reuses it).
    private func stage(_ verdict: Verdict, for raw: plainmode_nfq_packet) {
        switch verdict {
        case .accept, .drop:
            verdicts.append(id: raw.id, dropped: verdict == .drop, counters: counters)
        case .hold:
            holdsPackets = true
            counters.add(.received)
            counters.add(.held)
        case .acceptRewritten:
            let sent = raw.cap_len == raw.payload_len && sendRewritten(raw)
            if !sent { counters.add(.rewriteFailures) }
            stageSentAlone(raw, sent: sent, counter: .rewritten, otherwiseDrop: false)
        case .acceptMarked(let mark):
            let sent = sendAlone { plainmode_nfq_put_verdict_mark($0, configuration.queue, raw.id, UInt32(NF_ACCEPT), mark) }
            if !sent { counters.add(.verdictErrors) }
            // Unmarked, a refused SYN would reach the listener: dropped instead.
            stageSentAlone(raw, sent: sent, counter: .marked, otherwiseDrop: true)
        }
    }

    /// Counts a verdict sent on its own, or stages the fallback verdict when the send failed.
    private func stageSentAlone(_ raw: plainmode_nfq_packet, sent: Bool, counter: NetfilterQueueCounter, otherwiseDrop: Bool) {
        guard sent else { return verdicts.append(id: raw.id, dropped: otherwiseDrop, counters: counters) }
        counters.add(.received)
        counters.add(.accepted)
        counters.add(counter)
    }

    /// Builds one verdict message in the rewrite buffer and sends it at once.
    private func sendAlone(_ build: (UnsafeMutablePointer<CChar>) -> UInt32) -> Bool {
        let base = rewriteBuffer.baseAddress!.assumingMemoryBound(to: CChar.self)
        let length = build(base)
        counters.add(.verdictSends)
        return mnl_socket_sendto(socket, base, Int(length)) >= 0
    }

    private func sendRewritten(_ raw: plainmode_nfq_packet) -> Bool {
        guard let payload = raw.payload, Int(raw.payload_len) + 1024 <= rewriteBuffer.count else { return false }
        return sendAlone { plainmode_nfq_put_verdict_payload($0, configuration.queue, raw.id, UInt32(NF_ACCEPT), payload, raw.payload_len) }
    }

    /// Accepts every packet of the queue with an id up to `id` that is still queued: how a delay
    /// line releases what it held (ids grow in arrival order). Returns false when the send failed.
    @discardableResult
    public func acceptHeld(through id: UInt32) -> Bool {
        guard sendAlone({ plainmode_nfq_put_batch_verdict($0, configuration.queue, id, UInt32(NF_ACCEPT)) }) else {
            counters.add(.verdictErrors)
            return false
        }
        return true
    }

    /// Sends the staged verdicts: one VERDICT_BATCH message when the whole burst shares one
    /// verdict (all accepted: SYNs; all dropped: carried datagrams) and the queue holds nothing,
    /// else one VERDICT message per packet, all in a single `sendto`.
    private func flushVerdicts() {
        guard !verdicts.isEmpty else { return }
        let base = receiveBuffer.baseAddress!.assumingMemoryBound(to: CChar.self)
        var length = 0
        if (verdicts.allAccepted || verdicts.allDropped) && !holdsPackets {
            let verdict = UInt32(verdicts.allAccepted ? NF_ACCEPT : NF_DROP)
            length = Int(plainmode_nfq_put_batch_verdict(base, configuration.queue, verdicts.highestID, verdict))
        } else {
            verdicts.forEach { id, dropped in
                length += Int(plainmode_nfq_put_verdict(base + length, configuration.queue, id, UInt32(dropped ? NF_DROP : NF_ACCEPT)))
            }
        }
        if mnl_socket_sendto(socket, base, length) < 0 { counters.add(.verdictErrors) }
        counters.add(.verdictSends)
        verdicts.removeAll()
    }
}
