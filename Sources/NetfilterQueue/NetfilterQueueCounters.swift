public import Counters

/// What one queue counts; names are the `ctl stats` keys.
public enum NetfilterQueueCounter: Int, CounterName {
    case received, accepted, dropped
    /// Accepted with bytes the handler rewrote (also counted in `accepted`).
    case rewritten
    /// Held for a later verdict (`acceptHeld(through:)`, delay lines).
    case held
    /// Accepted with a firewall mark (a refused SYN handed to the reset rule).
    case marked
    /// A rewrite that could not be handed back (cut by the copy range, or the send failed): the
    /// packet was accepted unchanged.
    case rewriteFailures
    /// ENOBUFS on receive: the kernel could not deliver some messages (with fail-open they passed).
    case receiveOverruns
    /// `recvmmsg` calls: with `received`, how many packets one system call brings.
    case receiveCalls
    case receiveErrors, unexpectedMessages
    case verdictSends, verdictErrors

    public var name: String {
        switch self {
        case .received: "nfq_received"
        case .accepted: "nfq_accepted"
        case .dropped: "nfq_dropped"
        case .rewritten: "nfq_rewritten"
        case .held: "nfq_held"
        case .marked: "nfq_marked"
        case .rewriteFailures: "nfq_rewrite_failures"
        case .receiveOverruns: "nfq_receive_overruns"
        case .receiveCalls: "nfq_receive_calls"
        case .receiveErrors: "nfq_receive_errors"
        case .unexpectedMessages: "nfq_unexpected_messages"
        case .verdictSends: "nfq_verdict_sends"
        case .verdictErrors: "nfq_verdict_errors"
        }
    }
}

/// One queue's counters, written by the queue's worker, read by the control thread.
public typealias NetfilterQueueCounters = AtomicCounters<NetfilterQueueCounter>
