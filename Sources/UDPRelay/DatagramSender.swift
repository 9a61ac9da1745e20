public import BindingState
import Glibc
import Syscalls
public import SystemPackage
import WireFormat

/// Sends datagrams built in place: IP and UDP headers written into the batch's header block,
/// the payload left where it lies (two iovecs), full UDP checksum, through a raw socket per
/// family. Datagrams are gathered and sent with one `sendmmsg` per `flush()` (or per full
/// batch): a read's worth of records costs one system call, not one each. Outcomes are counted
/// in `counters`. One per thread (the batch is not shared).
public final class DatagramSender {
    /// Datagrams per `sendmmsg`.
    public static let batchCapacity = 32
    private let ipv4: RawSocket?
    private let ipv6: RawSocket?
    private let batch = RawPacketBatch(capacity: batchCapacity, headerCapacity: UDPDatagramHeaders.maximumLength)
    /// The family of the datagrams in the batch (one socket per `sendmmsg`).
    private var batchIsIPv4 = true
    private let counters: UDPCounters

    /// Opens the raw sockets; a family whose socket cannot be opened fails at send time.
    public init(counters: UDPCounters) throws(Errno) {
        ipv4 = try RawSocket.open(family: AF_INET)
        ipv6 = try? RawSocket.open(family: AF_INET6)
        self.counters = counters
    }

    deinit {
        ipv4?.close()
        ipv6?.close()
    }

    /// Queues `payload` from `source` to `destination` (same family). The payload must stay
    /// unchanged until the next `flush()`; a full batch is sent at once.
    public func send(_ payload: UnsafeRawBufferPointer, from source: Endpoint, to destination: Endpoint) {
        let isIPv4 = destination.address.isIPv4
        guard source.address.isIPv4 == isIPv4, (isIPv4 ? ipv4 : ipv6) != nil else {
            return counters.add(.datagramSendErrors)
        }
        guard payload.count <= UDPDatagramHeaders.largestPayload(for: destination.address) else {
            return counters.add(.datagramTooBig)
        }
        if !batch.isEmpty && batchIsIPv4 != isIPv4 { flush() }
        batchIsIPv4 = isIPv4
        let length = UDPDatagramHeaders.write(into: batch.nextHeaders, source: source.address, sourcePort: source.port,
                                              destination: destination.address, destinationPort: destination.port,
                                              payload: payload)
        batch.append(headerLength: length, payload: payload, to: destination.address)
        if batch.isFull { flush() }
    }

    /// Queues a payload a `UDPFrameDecoder` handed out while decoding `read`: one gathered
    /// across reads lies in the decoder's own buffer, which its next copy reuses, so it goes at
    /// once; the rest wait for `flush()`, due before `read` is overwritten.
    public func send(_ payload: UnsafeRawBufferPointer, from source: Endpoint, to destination: Endpoint,
                     decodedFrom read: UnsafeRawBufferPointer) {
        send(payload, from: source, to: destination)
        if !read.encloses(payload) { flush() }
    }

    /// Sends what is queued.
    public func flush() {
        guard !batch.isEmpty, let socket = batchIsIPv4 ? ipv4 : ipv6 else { return }
        let outcome = batch.send(through: socket)
        if outcome.sent > 0 { counters.add(.datagramsSent, outcome.sent) }
        if outcome.blocked > 0 { counters.add(.datagramSendBlocked, outcome.blocked) }
        if outcome.tooBig > 0 { counters.add(.datagramTooBig, outcome.tooBig) }
        if outcome.failed > 0 { counters.add(.datagramSendErrors, outcome.failed) }
    }
}
