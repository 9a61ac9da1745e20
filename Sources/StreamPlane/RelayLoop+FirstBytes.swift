import Syscalls

/// A client's first bytes usually follow its handshake's last ACK by microseconds, and the
/// accept can win that race: the PM block would then leave alone in the SYN and the request one
/// access round trip later. So when plainmode opens the MPTCP leg (CPE outbound with SYN data,
/// concentrator inbound) and nothing has arrived yet, it waits up to `--first-bytes-wait` for
/// bytes, an end of stream or an error; a server-first protocol pays that wait once.
struct FirstBytesWaiter {
    var slot: Int32
    var generation: UInt32
}

extension RelayLoop {
    /// True when `slot` now waits for its client's first bytes (its leg opens later).
    func awaitFirstBytes(_ slot: Int, now: ContinuousClock.Instant) -> Bool {
        guard tuning.firstBytesWait > .zero, connections[slot].downstream.availableBytes() == 0 else { return false }
        connections[slot].phase = .awaitingFirstBytes
        connections[slot].deadline = now + tuning.firstBytesWait
        firstBytesWaiters.append(FirstBytesWaiter(slot: Int32(slot), generation: connections[slot].generation))
        counters.add(.firstBytesWaits)
        return true
    }

    /// Opens the MPTCP leg of a waiting connection: its bytes came, or its wait ended.
    func openLegAfterFirstBytes(_ slot: Int, now: ContinuousClock.Instant) {
        connections[slot].phase = .free  // until the leg's connect sets `.connecting`
        switch role {
        case .concentrator(let settings): startInboundConnection(slot, settings: settings, now: now)
        case .cpe(let settings): startCPEConnection(slot, settings: settings, now: now)
        }
    }

    /// Opens the legs whose wait is over, oldest first; drops entries of connections that moved on.
    func endFirstBytesWaits(now: ContinuousClock.Instant) {
        var ended = 0
        for waiter in firstBytesWaiters {
            let slot = Int(waiter.slot)
            if connections[slot].generation == waiter.generation, connections[slot].phase == .awaitingFirstBytes {
                guard now >= connections[slot].deadline else { break }
                counters.add(.firstBytesWaitsExpired)
                openLegAfterFirstBytes(slot, now: now)
            }
            ended += 1
        }
        firstBytesWaiters.removeFirst(ended)
    }

    /// `timeout` (epoll milliseconds), shortened to the oldest wait's deadline.
    func firstBytesWaitTimeout(_ timeout: Int32) -> Int32 {
        guard timeout > 0, let oldest = firstBytesWaiters.first else { return timeout }
        let slot = Int(oldest.slot)
        guard connections[slot].generation == oldest.generation, connections[slot].phase == .awaitingFirstBytes else { return 0 }
        let left = connections[slot].deadline - ContinuousClock.now
        guard left > .zero else { return 0 }
        // Rounded up: epoll waits whole milliseconds, and waking early would spin.
        let (seconds, attoseconds) = left.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(min(Int64(timeout), milliseconds))
    }
}
