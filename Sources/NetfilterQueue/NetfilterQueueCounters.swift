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

    public var help: String {
        switch self {
        case .received: "Packets the queue workers received from their netfilter queues."
        case .accepted: "Queued packets given back to the kernel with an accept verdict (rewritten and marked ones included)."
        case .dropped: "Queued packets answered with a drop verdict: refusals, and UDP datagrams that went on as records instead."
        case .rewritten: "Queued packets accepted with bytes the worker changed (a SYN's window field)."
        case .held: "Queued packets held for a later verdict (delay lines)."
        case .marked: "Queued packets accepted with a firewall mark: refused SYNs handed to the reset rule."
        case .rewriteFailures: "Rewritten packets that could not be handed back (cut by the copy range, or the send failed); accepted unchanged."
        case .receiveOverruns: "Receives that failed with ENOBUFS: the kernel could not deliver some queued messages (with fail-open they passed)."
        case .receiveCalls: "recvmmsg calls on the queue sockets; received divided by this is packets per system call."
        case .receiveErrors: "Failed receives and truncated messages on the queue sockets."
        case .unexpectedMessages: "Netlink messages on a queue socket that were not a queued packet; ignored."
        case .verdictSends: "Verdict messages sent to the kernel (one per burst, one per rewritten or marked packet)."
        case .verdictErrors: "Verdict messages the kernel did not take (sendto failed)."
        }
    }
}

/// One queue's counters, written by the queue's worker, read by the control thread.
public typealias NetfilterQueueCounters = AtomicCounters<NetfilterQueueCounter>
