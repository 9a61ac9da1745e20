public import BindingState
public import Syscalls
import SystemPackage
import WireFormat

/// Sends a flow's datagrams through that flow's own UDP socket, bound to the source they must
/// come from (`Socket.transparentDatagram`): the kernel builds and checksums them, and a read's
/// worth of equal-size datagrams goes as one segmented send (UDP GSO) with one route lookup,
/// where the raw socket (`DatagramSender`) takes one of each per datagram. Outcomes are counted
/// in `counters`. One per thread (the batch is not shared).
public final class SegmentingDatagramSender {
    private let batch = SegmentedDatagramBatch()
    private let counters: UDPCounters
    /// The socket the batch is for: a send through another one flushes first.
    private var socket: Socket?
    /// Cleared for good when the kernel refuses segmenting with EIO (no checksum offload on
    /// the way out): then one datagram per message, still one `sendmmsg` per batch.
    private var segmenting = true

    public init(counters: UDPCounters) {
        self.counters = counters
    }

    /// Queues `payload` to `destination` through `socket`. The payload must stay unchanged
    /// until the next `flush()`; a full batch is sent at once.
    public func send(_ payload: UnsafeRawBufferPointer, to destination: Endpoint, through socket: Socket) {
        let largest = UDPDatagramHeaders.largestPayload(for: destination.address)
        guard payload.count <= largest else { return counters.add(.datagramTooBig) }
        if self.socket != socket { flush() }
        self.socket = socket
        let address = SocketAddress(destination.address, port: destination.port)
        if !batch.append(payload, to: address, segmenting: segmenting, largestMessage: largest) {
            flush()
            self.socket = socket
            _ = batch.append(payload, to: address, segmenting: segmenting, largestMessage: largest)
        }
    }

    /// Queues a payload a `UDPFrameDecoder` handed out while decoding `read`: one gathered
    /// across reads lies in the decoder's own buffer, which its next copy reuses, so it goes at
    /// once; the rest wait for `flush()`, due before `read` is overwritten.
    public func send(_ payload: UnsafeRawBufferPointer, to destination: Endpoint, through socket: Socket,
                     decodedFrom read: UnsafeRawBufferPointer) {
        send(payload, to: destination, through: socket)
        if !read.encloses(payload) { flush() }
    }

    /// Sends what is queued.
    public func flush() {
        guard let socket, !batch.isEmpty else { return }
        let outcome = batch.send(through: socket)
        self.socket = nil
        if outcome.sent > 0 { counters.add(.datagramsSent, outcome.sent) }
        if outcome.blocked > 0 { counters.add(.datagramSendBlocked, outcome.blocked) }
        if outcome.tooBig > 0 { counters.add(.datagramTooBig, outcome.tooBig) }
        if outcome.failed > 0 { counters.add(.datagramSendErrors, outcome.failed) }
        if outcome.segmentedMessages > 0 { counters.add(.segmentedSends, outcome.segmentedMessages) }
        if outcome.segmentationRefused > 0 { counters.add(.segmentationRefused, outcome.segmentationRefused) }
        if outcome.segmentationUnsupported { segmenting = false }
    }
}
