import WireFormat

/// SYNs the gate refused for their PM block, remembered for a while: the kernel retransmits a
/// SYN without its data, so without this memory the retransmission would pass as "PM after the
/// handshake" and reach accept(). A retransmission has the same addresses, ports and sequence number.
struct RefusedSYNMemory: Sendable {
    struct Flow: Hashable, Sendable {
        var source: IPAddress
        var destination: IPAddress
        var sourcePort: UInt16
        var destinationPort: UInt16
    }

    struct Refusal {
        var sequenceNumber: UInt32
        var refused: ContinuousClock.Instant
    }

    /// Covers a client's SYN retransmissions (1, 3, 7, 15, 31 s with the Linux defaults).
    let memory: Duration
    private let refusals: LimiterTable<Flow, Refusal>

    init(shards: Int, memory: Duration = .seconds(64)) {
        self.memory = memory
        refusals = LimiterTable(shards: shards)
    }

    func remember(_ flow: Flow, sequenceNumber: UInt32, now: ContinuousClock.Instant) {
        _ = refusals.update(flow, fresh: Refusal(sequenceNumber: sequenceNumber, refused: now)) { refusal in
            refusal = Refusal(sequenceNumber: sequenceNumber, refused: now)
            return true
        }
    }

    /// Whether this SYN repeats a refused one (same flow and sequence number, within `memory`).
    func isRetransmission(of flow: Flow, sequenceNumber: UInt32, now: ContinuousClock.Instant) -> Bool {
        refusals.lookup(flow) { $0.sequenceNumber == sequenceNumber && now - $0.refused < memory }
    }

    func expire(now: ContinuousClock.Instant) {
        refusals.removeAll { now - $0.refused >= memory }
    }
}
