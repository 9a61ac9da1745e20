import CNetfilterQueue

/// One packet the kernel queued to us. `bytes` points into the receive buffer: it is valid only
/// inside the closure that was handed this value, which is why the type cannot escape it.
public struct QueuedPacket: ~Copyable {
    /// The kernel's id for the verdict.
    public let id: UInt32
    /// The link-layer protocol (0x0800 IPv4, 0x86DD IPv6).
    public let hardwareProtocol: UInt16
    /// The netfilter hook it was queued from (NF_INET_PRE_ROUTING 0 ... POST_ROUTING 4).
    public let hook: UInt8
    /// The queue it came from.
    public let queue: UInt16
    /// The IP packet, from its first header byte.
    public let bytes: UnsafeRawBufferPointer
    /// The packet's length before the copy range cut it; equal to `bytes.count` when whole.
    public let originalLength: Int
    /// NFQA_SKB_CSUMNOTREADY: a locally generated packet whose transport checksum is partial.
    public let checksumNotReady: Bool
    /// NFQA_SKB_CSUM_NOTVERIFIED: nobody has checked the transport checksum yet. Absent when
    /// the NIC (or veth, which trusts its sender) vouched for it, as the kernel's own UDP does.
    public let checksumNotVerified: Bool
    /// NFQA_SKB_GSO: a GSO super-packet, larger than the MTU.
    public let isGSO: Bool

    init(_ raw: plainmode_nfq_packet) {
        id = raw.id
        hardwareProtocol = raw.hw_protocol
        hook = raw.hook
        queue = raw.queue
        bytes = raw.has_payload != 0 && raw.payload_len > 0
            ? UnsafeRawBufferPointer(start: raw.payload, count: Int(raw.payload_len)) : UnsafeRawBufferPointer(start: nil, count: 0)
        originalLength = Int(raw.cap_len)
        checksumNotReady = raw.skb_info & UInt32(NFQA_SKB_CSUMNOTREADY) != 0
        checksumNotVerified = raw.skb_info & UInt32(NFQA_SKB_CSUM_NOTVERIFIED) != 0
        isGSO = raw.skb_info & UInt32(NFQA_SKB_GSO) != 0
    }

    /// True when the transport checksum is whole and unchecked: the consumer must verify it.
    public var checksumNeedsVerifying: Bool { !checksumNotReady && checksumNotVerified }

    /// True when the copy range cut the packet short.
    public var isTruncated: Bool { originalLength > bytes.count }

    /// Lets `body` change the packet in place (it lies in this process's receive buffer); answer
    /// `.acceptRewritten` to hand the changed bytes back. The buffer lives only inside `body`.
    public func withMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(mutating: bytes))
    }
}

/// What happens to a queued packet.
public enum Verdict: Sendable, Equatable {
    /// NF_DROP: the packet is gone (consumed by us, or refused).
    case drop
    /// NF_ACCEPT: the packet continues unchanged.
    case accept
    /// NF_ACCEPT with the bytes as the handler changed them (`QueuedPacket.withMutableBytes`);
    /// the packet must not have been cut by the copy range.
    case acceptRewritten
    /// NF_ACCEPT with the packet's firewall mark set to the value, answered at once: how the SYN
    /// gate hands a refused SYN to a REJECT rule that answers it with a TCP reset.
    case acceptMarked(UInt32)
    /// No verdict yet: the packet stays queued until `NetfilterQueue.acceptHeld(through:)` (a
    /// delay line). A queue that ever holds a packet stops answering bursts with batch verdicts,
    /// which would release the packets it holds.
    case hold
}
