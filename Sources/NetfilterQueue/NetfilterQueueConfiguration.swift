/// How one queue is bound: its number and the kernel-side settings that keep it robust.
public struct NetfilterQueueConfiguration: Sendable {
    /// The NFQUEUE number (`--queue-num` / `--queue-balance` in the rules).
    public var queue: UInt16
    /// Packets the kernel holds for us before the queue is full (then fail-open or drop).
    public var maxLength: UInt32 = 4096
    /// Bytes of each packet copied to us; 65535 covers a whole GSO packet.
    public var copyRange: UInt32 = 0xFFFF
    /// Netlink receive buffer; large so bursts survive a slow verdict round.
    public var receiveBufferBytes: Int32 = 8 << 20
    /// NFQA_CFG_F_FAIL_OPEN: a full queue accepts packets instead of dropping them.
    public var failOpen = true
    /// NFQA_CFG_F_GSO: take GSO packets whole instead of having the kernel segment them.
    public var gso = true
    /// Messages read before the verdicts are flushed.
    public var burst = 64

    public init(queue: UInt16) { self.queue = queue }

    func validate() throws(NetfilterQueueError) {
        guard burst >= 1 && burst <= 4096 else { throw .invalidConfiguration("burst must be 1...4096, got \(burst)") }
        guard maxLength >= 1 else { throw .invalidConfiguration("queue length must be at least 1") }
        guard copyRange >= 64 && copyRange <= 0xFFFF else {
            throw .invalidConfiguration("copy range must be 64...65535, got \(copyRange)")
        }
        guard receiveBufferBytes >= 65536 else { throw .invalidConfiguration("receive buffer must be at least 64 KiB") }
    }
}
