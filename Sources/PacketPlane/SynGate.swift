public import Counters
public import PlainMode
public import WireFormat

/// The SYN gate's settings (flags of `plainmode concentrator`).
public struct SynGateSettings: Sendable {
    /// The PM rules a SYN's payload must pass (same as the stream plane's).
    public var policy: PlainModePolicy
    /// CPE source prefixes allowed to connect; empty allows every source (`--allow any`).
    public var allowed: [IPPrefix]
    /// New MPTCP connections a CPE address may open per second (0: no limit), with `burst` in reserve.
    public var newConnectionsPerSecond: Int
    public var burst: Int
    /// MP_JOIN SYNs a connection may receive while it is known (0: no limit); the kernel's own
    /// `ip mptcp limits` still applies after the gate.
    public var subflowsPerConnection: Int
    /// Lower the window field of accepted Fast Open SYNs (see `fastOpenWindow`); off only for a
    /// kernel without the MPTCP send-window bug.
    public var rewritesFastOpenWindow: Bool
    /// PM destinations refused (own addresses, listeners, pools, denied ranges).
    public var destinations: DestinationFilter
    /// The firewall mark a refused SYN is accepted with, for the REJECT rule of
    /// concentrator-net.sh that answers it with a TCP reset; 0 drops refused SYNs instead.
    public var resetMark: UInt32
    /// Refused SYNs answered with a reset per second per queue; beyond that (a flood) they are dropped.
    public var resetsPerSecond: Int

    public init(policy: PlainModePolicy, allowed: [IPPrefix] = [], newConnectionsPerSecond: Int = 0, burst: Int = 0,
                subflowsPerConnection: Int = 0, rewritesFastOpenWindow: Bool = true,
                destinations: DestinationFilter = DestinationFilter(), resetMark: UInt32 = 0, resetsPerSecond: Int = 1000) {
        self.resetMark = resetMark
        self.resetsPerSecond = resetsPerSecond
        self.policy = policy
        self.destinations = destinations
        self.allowed = allowed
        self.newConnectionsPerSecond = newConnectionsPerSecond
        self.burst = burst
        self.subflowsPerConnection = subflowsPerConnection
        self.rewritesFastOpenWindow = rewritesFastOpenWindow
    }
}

/// What the gate decided about one queued packet; every case is a `ctl stats` counter.
///
/// Refusals of a CPE that may connect are answered with a TCP reset (`response == .reset`): a
/// Linux client whose MP_CAPABLE SYNs go unanswered falls back to TCP and turns MPTCP off for an
/// hour (FACTS.md 7). Only sources outside `--allow` and malformed packets are dropped silently.
public enum SynGateOutcome: Int, CounterName {
    /// An MP_CAPABLE SYN whose payload carries a valid PM block.
    case acceptedWithPlainMode
    /// An MP_CAPABLE SYN without payload: the PM block comes after the handshake; the stream plane checks it.
    case acceptedWithoutPayload
    case acceptedJoin
    /// Not an initial SYN (the rules should not queue it): passed unchanged.
    case passedNotSYN
    case droppedMalformedPacket
    case droppedNotAllowed
    case refusedBadPlainMode
    /// A SYN without MP_CAPABLE: plain TCP cannot carry a PM block (draft 4.2).
    case refusedNotMultipath
    /// A PM destination the concentrator does not relay to (`DestinationFilter`).
    case refusedDestination
    /// A data-less retransmission of a SYN refused for its PM block.
    case refusedRetransmission
    case refusedRateLimited
    case droppedTooManySubflows

    public var name: String {
        switch self {
        case .acceptedWithPlainMode: "gate_accepted_pm"
        case .acceptedWithoutPayload: "gate_accepted_no_payload"
        case .acceptedJoin: "gate_accepted_join"
        case .passedNotSYN: "gate_passed_not_syn"
        case .droppedMalformedPacket: "gate_drop_malformed_packet"
        case .droppedNotAllowed: "gate_drop_not_allowed"
        case .refusedBadPlainMode: "gate_refused_bad_pm"
        case .refusedNotMultipath: "gate_refused_not_mptcp"
        case .refusedDestination: "gate_refused_destination"
        case .refusedRetransmission: "gate_refused_retransmission"
        case .refusedRateLimited: "gate_refused_rate_limited"
        case .droppedTooManySubflows: "gate_drop_too_many_subflows"
        }
    }

    public var help: String {
        switch self {
        case .acceptedWithPlainMode: "SYN gate: MP_CAPABLE SYNs whose data carries a valid PM block; passed to the listener."
        case .acceptedWithoutPayload: "SYN gate: MP_CAPABLE SYNs without data (the PM block follows the handshake); passed to the listener."
        case .acceptedJoin: "SYN gate: MP_JOIN SYNs (new subflows) admitted under --max-subflows-per-connection; passed to the listener."
        case .passedNotSYN: "SYN gate: queued TCP packets that are not an initial SYN (the rules should not queue them); passed unchanged."
        case .droppedMalformedPacket: "SYN gate: queued packets that could not be parsed (or fragments); dropped silently."
        case .droppedNotAllowed: "SYN gate: SYNs from a source outside --allow; dropped silently."
        case .refusedBadPlainMode: "SYN gate: MP_CAPABLE SYNs whose data is not a valid PM block; refused with a reset (dropped with --reset-mark 0)."
        case .refusedNotMultipath: "SYN gate: SYNs without MP_CAPABLE (plain TCP cannot carry PM); refused with a reset (dropped with --reset-mark 0)."
        case .refusedDestination: "SYN gate: SYNs whose PM destination is never relayed to; refused with a reset (dropped with --reset-mark 0)."
        case .refusedRetransmission: "SYN gate: data-less retransmissions of a SYN refused for its PM block; refused again with a reset (dropped with --reset-mark 0)."
        case .refusedRateLimited: "SYN gate: SYNs over the CPE's --max-new-connections-per-second; refused with a reset (dropped with --reset-mark 0)."
        case .droppedTooManySubflows: "SYN gate: MP_JOIN SYNs beyond --max-subflows-per-connection; dropped silently."
        }
    }

    /// What the worker does with the packet.
    public enum Response: Sendable {
        case accept, reset, drop
    }

    public var response: Response {
        switch self {
        case .acceptedWithPlainMode, .acceptedWithoutPayload, .acceptedJoin, .passedNotSYN: .accept
        case .refusedBadPlainMode, .refusedNotMultipath, .refusedDestination, .refusedRetransmission, .refusedRateLimited: .reset
        case .droppedMalformedPacket, .droppedNotAllowed, .droppedTooManySubflows: .drop
        }
    }

    public var accepts: Bool { response == .accept }
}

/// What the gate does to SYNs besides its decision; each case is a `ctl stats` counter.
public enum SynRewriteCounter: Int, CounterName {
    /// A Fast Open SYN whose window field was lowered (`SynGate.fastOpenWindow`).
    case windowRewritten
    /// A refused SYN handed to the reset rule (marked).
    case resetsSent
    /// A refused SYN dropped because the queue's resets for this second were spent (a flood).
    case resetsOverBudget

    public var name: String {
        switch self {
        case .windowRewritten: "gate_syn_window_rewritten"
        case .resetsSent: "gate_resets_sent"
        case .resetsOverBudget: "gate_resets_over_budget"
        }
    }

    public var help: String {
        switch self {
        case .windowRewritten: "SYN gate: accepted Fast Open SYNs whose window field was lowered (Linux 6.18 send-window workaround)."
        case .resetsSent: "SYN gate: refused SYNs marked for the reset rule, so the client gets a TCP reset."
        case .resetsOverBudget: "SYN gate: refused SYNs dropped instead of reset because the queue spent --resets-per-second (a flood)."
        }
    }
}

/// One queue's allowance of resets: at most `perSecond` in any one-second window, so a flood of
/// refused SYNs is not answered packet for packet.
struct ResetBudget {
    let perSecond: Int
    private var windowStart: ContinuousClock.Instant
    private var spent = 0

    init(perSecond: Int, now: ContinuousClock.Instant) {
        self.perSecond = perSecond
        windowStart = now
    }

    mutating func take(now: ContinuousClock.Instant) -> Bool {
        if now - windowStart >= .seconds(1) {
            windowStart = now
            spent = 0
        }
        guard spent < perSecond else { return false }
        spent += 1
        return true
    }
}

/// The SYN gate: one instance shared by every queue worker (its limiter state is
/// lock-sharded). It reads a packet and returns a decision; the one field it may have changed,
/// by the worker, is the window of an accepted Fast Open SYN (`fastOpenWindow`).
public final class SynGate: Sendable {
    public let settings: SynGateSettings
    let rateLimiter: CPERateLimiter
    let subflows: SubflowLimiter
    let refused: RefusedSYNMemory

    /// `shards` must be a power of two in 1...1024 (the daemon's `--shards`).
    public init(settings: SynGateSettings, shards: Int = 64) {
        self.settings = settings
        rateLimiter = CPERateLimiter(perSecond: settings.newConnectionsPerSecond, burst: settings.burst, shards: shards)
        subflows = SubflowLimiter(limit: settings.subflowsPerConnection, shards: shards)
        refused = RefusedSYNMemory(shards: shards)
    }

    /// Decides one queued IP packet. `bytes` is the packet from its IP header.
    public func decide(_ bytes: UnsafeRawBufferPointer, now: ContinuousClock.Instant) -> SynGateOutcome {
        guard let packet = try? ParsedPacket.parse(bytes) else { return .droppedMalformedPacket }
        return decide(packet, bytes: bytes, now: now)
    }

    /// The same decision for a packet the caller parsed already.
    public func decide(_ packet: ParsedPacket, bytes: UnsafeRawBufferPointer, now: ContinuousClock.Instant) -> SynGateOutcome {
        guard !packet.isFragment, case .tcp(let tcp) = packet.transport, packet.packetLength <= bytes.count
        else { return .droppedMalformedPacket }
        guard tcp.isInitialSYN else { return .passedNotSYN }
        if !settings.allowed.isEmpty && !settings.allowed.contains(where: { $0.contains(packet.source) }) {
            return .droppedNotAllowed
        }
        let segment = UnsafeRawBufferPointer(rebasing: bytes[packet.transportOffset..<packet.packetLength])
        let options = TCPOptions(segment: segment, headerLength: tcp.headerLength)
        let multipath: TCPOption?
        do { multipath = try options.first(kind: TCPOption.multipathTCP) } catch { return .droppedMalformedPacket }
        // MP_JOIN (subtype 1): never carries PM (draft 4.1); its SYN holds the receiver's token.
        if let multipath, multipath.dataLength >= 6, segment[multipath.dataOffset] >> 4 == 1 {
            let token = segment.wireUInt32(at: multipath.dataOffset + 2)
            return subflows.admit(token: token, now: now) ? .acceptedJoin : .droppedTooManySubflows
        }
        // Only MP_CAPABLE (subtype 0) SYNs open MPTCP connections; plain TCP cannot carry PM (draft 4.2).
        guard let multipath, multipath.dataLength >= 1, segment[multipath.dataOffset] >> 4 == 0 else {
            return .refusedNotMultipath
        }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[packet.payloadOffset..<packet.packetLength])
        let flow = RefusedSYNMemory.Flow(source: packet.source, destination: packet.destination,
                                         sourcePort: tcp.sourcePort, destinationPort: tcp.destinationPort)
        var outcome = SynGateOutcome.acceptedWithoutPayload
        if !payload.isEmpty {
            guard let block = try? PlainModeBlock.parse(payload, policy: settings.policy) else {
                refused.remember(flow, sequenceNumber: tcp.sequenceNumber, now: now)
                return .refusedBadPlainMode
            }
            if let destination = block.block.destination,
               settings.destinations.refusal(of: destination.address, port: destination.port) != nil {
                refused.remember(flow, sequenceNumber: tcp.sequenceNumber, now: now)
                return .refusedDestination
            }
            outcome = .acceptedWithPlainMode
        } else if refused.isRetransmission(of: flow, sequenceNumber: tcp.sequenceNumber, now: now) {
            return .refusedRetransmission
        }
        // Charged last, so a refused SYN does not use up the CPE's allowance.
        return rateLimiter.admit(packet.source, now: now) ? outcome : .refusedRateLimited
    }

    /// The window field an accepted SYN should carry instead of its own, or nil to leave it.
    ///
    /// Linux 6.18 builds a Fast Open child from the SYN and takes the SYN's window field shifted
    /// by the client's window scale as the MPTCP send limit (SYN windows are never scaled): 64240
    /// << 10 is 65.8 MB, so the server overruns a client whose second subflow then drops the
    /// excess, and the transfer towards the client stalls (FACTS.md section 7). Dividing the field
    /// by 2^scale makes that bogus limit the client's true initial window; real window updates
    /// take over from the first ACK. Only SYNs that can make a Fast Open child are touched (data,
    /// or a Fast Open option), and never their payload, options or sequence numbers.
    public func fastOpenWindow(_ packet: ParsedPacket, bytes: UnsafeRawBufferPointer) -> UInt16? {
        settings.rewritesFastOpenWindow ? Self.fastOpenWindow(packet, bytes: bytes) : nil
    }

    /// `fastOpenWindow` whatever the settings: also the CPE's, for SYNs to its inbound listeners.
    public static func fastOpenWindow(_ packet: ParsedPacket, bytes: UnsafeRawBufferPointer) -> UInt16? {
        guard case .tcp(let tcp) = packet.transport, tcp.isInitialSYN,
              packet.packetLength <= bytes.count
        else { return nil }
        let segment = UnsafeRawBufferPointer(rebasing: bytes[packet.transportOffset..<packet.packetLength])
        let options = TCPOptions(segment: segment, headerLength: tcp.headerLength)
        guard packet.payloadLength > 0 || (try? options.first(kind: TCPOption.fastOpen)) != nil,
              let scaleOption = try? options.first(kind: TCPOption.windowScale), scaleOption.dataLength == 1
        else { return nil }
        let scale = min(Int(segment[scaleOption.dataOffset]), 14)  // RFC 7323 2.3: larger counts as 14
        let lowered = max(1, tcp.window >> scale)
        return lowered < tcp.window ? lowered : nil
    }

    /// Forgets limiter entries idle for a while; call about once a second from one thread.
    public func expire(now: ContinuousClock.Instant) {
        rateLimiter.expire(now: now)
        subflows.expire(now: now)
        refused.expire(now: now)
    }
}
