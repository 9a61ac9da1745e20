public import Logging
public import NetfilterQueue
import Syscalls

/// The SYN gate at work: one NFQUEUE per worker thread (`--queues FIRST:LAST`, matched by the
/// `--queue-balance` rule in Deploy/concentrator-net.sh), each verdict decided by the shared gate.
public final class SynGateService: Sendable {
    public let gate: SynGate
    private let workers: [SynGateWorker]
    private let stopping = StopFlag()

    /// Binds every queue now, so a queue held by another process fails start-up, not later.
    public init(gate: SynGate, queues: ClosedRange<UInt16>, template: NetfilterQueueConfiguration,
                logger: Logger) throws(NetfilterQueueError) {
        self.gate = gate
        var workers: [SynGateWorker] = []
        do throws(NetfilterQueueError) {
            for number in queues {
                var configuration = template
                configuration.queue = number
                workers.append(SynGateWorker(queue: try NetfilterQueue(configuration), gate: gate, logger: logger))
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
            worker.thread.withLock { $0 = OSThread.start(name: "syngate-\(worker.queue.configuration.queue)") {
                worker.run(expiresLimiters: index == 0, stopping: stopping)
            } }
        }
    }

    /// Stops the workers (each notices within its poll timeout) and unbinds the queues; with
    /// `--queue-bypass` in the rules, SYNs then go straight to the listeners.
    public func stop() {
        stopping.set()
        for worker in workers {
            worker.thread.withLock { $0 }?.join()
            worker.queue.close()
        }
    }

    /// Gate outcomes and queue counters summed over the workers, in declaration order.
    public func counterTotals() -> [(name: String, value: Int)] {
        SynGateOutcome.allCases.map { outcome in (outcome.name, workers.reduce(0) { $0 + $1.outcomes[outcome] }) }
            + NetfilterQueueCounter.allCases.map { counter in (counter.name, workers.reduce(0) { $0 + $1.queue.counters[counter] }) }
    }
}

import Counters
import Synchronization

/// One queue and the thread that drains it.
final class SynGateWorker: Sendable {
    let queue: NetfilterQueue
    let gate: SynGate
    let outcomes = AtomicCounters<SynGateOutcome>()
    let thread = Mutex<OSThread?>(nil)
    let logger: Logger

    init(queue: NetfilterQueue, gate: SynGate, logger: Logger) {
        self.queue = queue
        self.gate = gate
        self.logger = logger
    }

    func run(expiresLimiters: Bool, stopping: StopFlag) {
        var nextExpiry = ContinuousClock.now + .seconds(1)
        while !stopping.isSet {
            queue.processBurst(timeoutMilliseconds: 250) { packet in
                let outcome = gate.decide(packet.bytes, now: .now)
                outcomes.add(outcome)
                return outcome.accepts ? .accept : .drop
            }
            let now = ContinuousClock.now
            if expiresLimiters && now >= nextExpiry {
                gate.expire(now: now)
                nextExpiry = now + .seconds(1)
            }
        }
    }
}
