public import Logging
public import NetfilterQueue
import Syscalls
import UDPRelay
import WireFormat

/// The concentrator's packet plane at work: one NFQUEUE per worker thread (`--queues FIRST:LAST`,
/// matched by the `--queue-balance` rules of Deploy/concentrator-net.sh). A queued TCP packet
/// goes to the SYN gate, a UDP one to the UDP bindings; either part may be off.
public final class PacketPlaneService: Sendable {
    public let gate: SynGate?
    public let inbound: InboundDatagrams?
    private let workers: [PacketPlaneWorker]
    private let stopping = StopFlag()

    /// Binds every queue now, so a queue held by another process fails start-up, not later.
    public init(gate: SynGate?, inbound: InboundDatagrams?, queues: ClosedRange<UInt16>,
                template: NetfilterQueueConfiguration, logger: Logger) throws(NetfilterQueueError) {
        self.gate = gate
        self.inbound = inbound
        var workers: [PacketPlaneWorker] = []
        do throws(NetfilterQueueError) {
            for number in queues {
                var configuration = template
                configuration.queue = number
                workers.append(PacketPlaneWorker(queue: try NetfilterQueue(configuration), gate: gate, inbound: inbound,
                                                 logger: logger))
            }
        } catch {
            for worker in workers { worker.queue.close() }
            throw error
        }
        self.workers = workers
    }

    public func start() {
        for (index, worker) in workers.enumerated() {
            let stopping = self.stopping
            worker.thread.withLock { $0 = OSThread.start(name: "packets-\(worker.queue.configuration.queue)") {
                worker.run(expiresLimiters: index == 0, stopping: stopping)
            } }
        }
    }

    /// Stops the workers (each notices within its poll timeout) and unbinds the queues; with
    /// `--queue-bypass` in the rules, packets then go straight to the kernel.
    public func stop() {
        stopping.set()
        for worker in workers {
            worker.thread.withLock { $0 }?.join()
            worker.queue.close()
        }
    }

    /// Gate outcomes, UDP and queue counters summed over the workers, in declaration order.
    public func counterTotals() -> [StatTotal] {
        let gateTotals: [StatTotal] = gate == nil ? [] : SynGateOutcome.allCases.map { StatTotal($0, sum: workers.lazy.map(\.outcomes)) }
            + SynRewriteCounter.allCases.map { StatTotal($0, sum: workers.lazy.map(\.rewrites)) }
        let udpTotals: [StatTotal] = inbound == nil ? [] : UDPCounter.allCases.map { counter in
            var total = StatTotal(counter, sum: workers.lazy.map(\.udp))
            total.name = "inbound_" + total.name
            return total
        }
        return gateTotals + udpTotals + NetfilterQueueCounter.allCases.map { StatTotal($0, sum: workers.lazy.map(\.queue.counters)) }
    }
}

public import Counters
import Synchronization

/// One queue and the thread that drains it.
final class PacketPlaneWorker: Sendable {
    let queue: NetfilterQueue
    let gate: SynGate?
    let inbound: InboundDatagrams?
    let outcomes = AtomicCounters<SynGateOutcome>()
    let rewrites = AtomicCounters<SynRewriteCounter>()
    let udp = UDPCounters()
    let thread = Mutex<OSThread?>(nil)
    let logger: Logger

    init(queue: NetfilterQueue, gate: SynGate?, inbound: InboundDatagrams?, logger: Logger) {
        self.queue = queue
        self.gate = gate
        self.inbound = inbound
        self.logger = logger
    }

    func run(expiresLimiters: Bool, stopping: StopFlag) {
        var nextExpiry = ContinuousClock.now + .seconds(1)
        var burst = UDPBurst()
        var resets = ResetBudget(perSecond: gate?.settings.resetsPerSecond ?? 0, now: .now)
        while !stopping.isSet {
            let now = ContinuousClock.now
            queue.processBurst(timeoutMilliseconds: 250) { packet in
                decide(packet, now: now, burst: &burst, resets: &resets)
            }
            inbound?.flush(&burst, counters: udp)
            if expiresLimiters, let gate, now >= nextExpiry {
                gate.expire(now: now)
                nextExpiry = now + .seconds(1)
            }
        }
    }

    private func decide(_ packet: borrowing QueuedPacket, now: ContinuousClock.Instant, burst: inout UDPBurst,
                        resets: inout ResetBudget) -> Verdict {
        guard let parsed = try? ParsedPacket.parse(packet.bytes) else {
            if gate != nil {
                outcomes.add(.droppedMalformedPacket)
                return .drop
            }
            udp.add(.malformed)
            return .accept
        }
        if parsed.protocolNumber == IPProtocolNumber.udp {
            // With --no-udp, UDP queued by a leftover rule goes on untouched rather than to the gate.
            guard let inbound else { return .accept }
            guard !packet.isGSO else {  // the queues are bound without GSO when UDP is on
                udp.add(.malformed)
                return .drop
            }
            return inbound.handle(parsed, bytes: packet.bytes, verifyChecksum: packet.checksumNeedsVerifying, now: now,
                                  burst: &burst, counters: udp)
        }
        guard let gate else { return .accept }
        let outcome = gate.decide(parsed, bytes: packet.bytes, now: now)
        outcomes.add(outcome)
        switch outcome.response {
        case .accept: break
        case .drop: return .drop
        case .reset:
            guard gate.settings.resetMark != 0 else { return .drop }
            guard resets.take(now: now) else {
                rewrites.add(.resetsOverBudget)
                return .drop
            }
            rewrites.add(.resetsSent)
            return .acceptMarked(gate.settings.resetMark)
        }
        guard outcome != .acceptedJoin, let window = gate.fastOpenWindow(parsed, bytes: packet.bytes) else { return .accept }
        // The one change the gate makes to a SYN: its window field, checksum fixed (FACTS.md 7).
        var rewritten = parsed
        packet.withMutableBytes { rewritten.rewriteTCPWindow(to: window, in: $0, checksumIsPartial: packet.checksumNotReady) }
        rewrites.add(.windowRewritten)
        return .acceptRewritten
    }
}
