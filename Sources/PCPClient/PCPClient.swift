public import PCP
public import WireFormat

/// The mappings a CPE asks its concentrator's PCP server for, and what each one is now.
public struct PCPClient: Sendable {
    /// One wanted mapping, identified as RFC 6887 s11.3 identifies it: protocol and internal port
    /// (the internal address is always this client's).
    public struct Key: Hashable, Sendable, Comparable, CustomStringConvertible {
        public var protocolNumber: UInt8
        public var internalPort: UInt16

        public init(protocolNumber: UInt8, internalPort: UInt16) {
            self.protocolNumber = protocolNumber
            self.internalPort = internalPort
        }

        public static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.protocolNumber, lhs.internalPort) < (rhs.protocolNumber, rhs.internalPort)
        }

        public var description: String { "\(protocolNumber == 6 ? "tcp" : protocolNumber == 17 ? "udp" : "proto \(protocolNumber)")/\(internalPort)" }
    }

    /// What to ask for.
    public struct Request: Hashable, Sendable {
        public var key: Key
        /// The external port wanted (0: no preference).
        public var suggestedExternalPort: UInt16
        /// Ports wanted from `key.internalPort` on; more than 1 sends PORT_SET (RFC 7753).
        public var portCount: UInt16
        /// PORT_SET's P bit: external ports keep the internal ports' parity.
        public var preservesParity: Bool
        /// Requested lifetime in seconds.
        public var lifetime: UInt32
        public var nonce: PCPMappingNonce
        /// FILTER options passed on (RFC 6887 s13.3).
        public var filters: [PCPFilter]
        /// PREFER_FAILURE passed on (s13.2).
        public var prefersFailure: Bool

        public init(key: Key, suggestedExternalPort: UInt16 = 0, portCount: UInt16 = 1, preservesParity: Bool = false,
                    lifetime: UInt32, nonce: PCPMappingNonce, filters: [PCPFilter] = [], prefersFailure: Bool = false) {
            self.filters = filters
            self.prefersFailure = prefersFailure
            self.key = key
            self.suggestedExternalPort = suggestedExternalPort
            self.portCount = max(1, portCount)
            self.preservesParity = preservesParity
            self.lifetime = lifetime
            self.nonce = nonce
        }
    }

    /// A granted mapping: external ports `externalPorts` forward to internal ports from `firstInternalPort`.
    public struct Grant: Hashable, Sendable {
        public var externalAddress: IPv6Address
        public var externalPorts: ClosedRange<UInt16>
        public var firstInternalPort: UInt16
        /// Seconds granted.
        public var lifetime: UInt32
    }

    /// What changed, for the forward table and the log.
    public enum Change: Hashable, Sendable {
        /// Mapped or renewed (the grant may differ from the last one).
        case mapped(Key, Grant)
        /// The server refused; the request is tried again after the error's lifetime.
        case refused(Key, PCPResultCode, retryAfter: UInt32)
        /// The mapping lapsed without renewal (the server stopped answering): stop forwarding.
        case lapsed(Key)
        /// The server lost its state (epoch, RFC 6887 s8.5): every mapping is being requested again.
        case serverLostState
        /// Deleted on request (lifetime 0 answered, or given up on).
        case removed(Key)
    }

    /// RFC 6887 s8.1.1: initial and maximum retransmission times.
    public static let initialRetransmission: Duration = .seconds(3)
    public static let maximumRetransmission: Duration = .seconds(1024)
    /// Deletions are sent at most this many times; then the entry is dropped anyway.
    public static let deletionAttempts = 4

    struct Entry: Sendable {
        var request: Request
        var grant: Grant?
        /// When the grant lapses.
        var expiry: ContinuousClock.Instant?
        /// When to send next; nil while nothing is due (mapped, renewal not yet scheduled).
        var nextSend: ContinuousClock.Instant?
        /// The current retransmission timeout (0 before the first send of an exchange).
        var retransmission: Duration = .zero
        var deleting = false
        var deletionsSent = 0
    }

    /// The address the server sees the requests from (PCP Client's IP Address, s7.1).
    public var clientAddress: IPv6Address
    private(set) var entries: [Key: Entry] = [:]
    private var random: SplitMix
    /// The last epoch seen and when (s8.5 client check).
    private var lastEpoch: (epoch: UInt32, at: ContinuousClock.Instant)?

    public init(clientAddress: IPv6Address, seed: UInt64) {
        self.clientAddress = clientAddress
        random = SplitMix(state: seed)
    }

    /// The keys wanted now, in order.
    public var keys: [Key] { entries.keys.sorted() }

    /// The grant of `key`, if mapped.
    public func grant(for key: Key) -> Grant? { entries[key]?.grant }

    /// Starts (or replaces) a wanted mapping; its request is due at once.
    public mutating func add(_ request: Request, now: ContinuousClock.Instant) {
        var entry = entries[request.key] ?? Entry(request: request)
        entry.request = request
        entry.deleting = false
        entry.deletionsSent = 0
        entry.nextSend = now
        entry.retransmission = .zero
        entries[request.key] = entry
    }

    /// Asks the server to delete `key` (lifetime 0) if it was granted; forgets it otherwise.
    public mutating func remove(_ key: Key, now: ContinuousClock.Instant) -> [Change] {
        guard var entry = entries[key] else { return [] }
        guard entry.grant != nil else {
            entries[key] = nil
            return [.removed(key)]
        }
        entry.deleting = true
        entry.nextSend = now
        entry.retransmission = .zero
        entries[key] = entry
        return []
    }

    /// The earliest instant something is due (a send or a lapse), for the caller's wait.
    public var nextDeadline: ContinuousClock.Instant? {
        entries.values.reduce(nil) { earliest, entry in
            [earliest, entry.nextSend, entry.expiry].compactMap { $0 }.min()
        }
    }

    /// The requests due at `now`, serialized, with their retransmission timers advanced; also
    /// grants that lapsed (their renewals went unanswered).
    public mutating func due(now: ContinuousClock.Instant) -> (messages: [[UInt8]], changes: [Change]) {
        var messages: [[UInt8]] = []
        var changes: [Change] = []
        for key in keys {
            guard var entry = entries[key] else { continue }
            if let expiry = entry.expiry, expiry <= now, !entry.deleting {
                entry.grant = nil
                entry.expiry = nil
                if entry.nextSend == nil { entry.nextSend = now }
                changes.append(.lapsed(key))
            }
            if let send = entry.nextSend, send <= now {
                if entry.deleting && entry.deletionsSent >= Self.deletionAttempts {
                    entries[key] = nil
                    changes.append(.removed(key))
                    continue
                }
                if let bytes = message(for: entry) { messages.append(bytes) }
                if entry.deleting { entry.deletionsSent += 1 }
                entry.retransmission = nextRetransmission(after: entry.retransmission)
                entry.nextSend = now + entry.retransmission
            }
            entries[key] = entry
        }
        return (messages, changes)
    }

    /// Takes a datagram from the server: a MAP response for one of ours, or an (unsolicited)
    /// ANNOUNCE. Anything else (malformed, another's nonce) changes nothing.
    public mutating func receive(_ bytes: [UInt8], now: ContinuousClock.Instant) -> [Change] {
        guard let response = try? PCPResponse.parse(bytes) else { return [] }
        var changes: [Change] = []
        if epochShowsLostState(response.epochTime, now: now) {
            changes.append(.serverLostState)
            for key in keys where !(entries[key]?.deleting ?? true) {
                entries[key]?.nextSend = now
                entries[key]?.retransmission = .zero
            }
        }
        guard case .map(let data) = response.payload else { return changes }
        let key = Key(protocolNumber: data.protocolNumber, internalPort: data.internalPort)
        guard var entry = entries[key], entry.request.nonce == data.nonce else { return changes }
        if entry.deleting {
            entries[key] = nil
            return changes + [.removed(key)]
        }
        guard response.resultCode == .success else {
            entry.grant = nil
            entry.expiry = nil
            // s7.4: an error lasts its lifetime; ask again after it (at least the initial timeout).
            let wait = max(Duration.seconds(Int64(response.lifetime)), Self.initialRetransmission)
            entry.nextSend = now + wait
            entry.retransmission = .zero
            entries[key] = entry
            return changes + [.refused(key, response.resultCode, retryAfter: response.lifetime)]
        }
        let count = response.portSet?.size ?? 1
        let first = data.externalPort
        let last = UInt32(first) + UInt32(max(count, 1)) - 1
        guard last <= UInt32(UInt16.max) else { return changes }
        let grant = Grant(externalAddress: data.externalAddress, externalPorts: first...UInt16(last),
                          firstInternalPort: response.portSet?.firstInternalPort ?? data.internalPort,
                          lifetime: response.lifetime)
        entry.grant = grant
        entry.expiry = now + .seconds(Int64(response.lifetime))
        // s11.2.1: renew at a random point between 1/2 and 5/8 of the lifetime.
        let lifetimeMilliseconds = Int64(response.lifetime) * 1000
        let renewal = lifetimeMilliseconds / 2 + Int64(random.next() % UInt64(lifetimeMilliseconds / 8 + 1))
        entry.nextSend = now + .milliseconds(renewal)
        entry.retransmission = .zero
        entries[key] = entry
        return changes + [.mapped(key, grant)]
    }

    /// RFC 6887 s8.5, client side: the server's epoch went backwards, or moved too differently
    /// from our own clock since the last message.
    private mutating func epochShowsLostState(_ epoch: UInt32, now: ContinuousClock.Instant) -> Bool {
        defer { lastEpoch = (epoch, now) }
        guard let (previous, at) = lastEpoch else { return false }
        if UInt64(epoch) + 1 < UInt64(previous) { return true }
        let clientDelta = Int64((now - at).components.seconds)
        let serverDelta = Int64(epoch) - Int64(previous)
        return clientDelta + 2 < serverDelta - serverDelta / 16 || serverDelta + 2 < clientDelta - clientDelta / 16
    }

    /// s8.1.1: RT = (1 + RAND) * IRT, then (1 + RAND) * min(2 * RTprev, MRT), RAND in [-0.1, 0.1].
    private mutating func nextRetransmission(after previous: Duration) -> Duration {
        let base = previous == .zero ? Self.initialRetransmission : min(previous * 2, Self.maximumRetransmission)
        let jitter = Double(Int64(random.next() % 2001) - 1000) / 10_000  // -0.1 ... +0.1
        return base * (1 + jitter)
    }

    private func message(for entry: Entry) -> [UInt8]? {
        let request = entry.request
        var options: [PCPOption] = []
        if request.portCount > 1 {
            options.append(.portSet(PCPPortSet(size: request.portCount, firstInternalPort: request.key.internalPort,
                                               preservesParity: request.preservesParity)))
        }
        if request.prefersFailure && request.portCount == 1 { options.append(.preferFailure) }
        options += request.filters.map(PCPOption.filter)
        // A renewal suggests what was granted (s11.2.1); a first request, what was asked for.
        let suggestedPort = entry.grant?.externalPorts.lowerBound ?? request.suggestedExternalPort
        let suggestedAddress = entry.grant?.externalAddress ?? IPv6Address(ipv4Mapped: IPv4Address(0))
        let data = PCPMapData(nonce: request.nonce, protocolNumber: request.key.protocolNumber,
                              internalPort: request.key.internalPort, externalPort: suggestedPort,
                              externalAddress: suggestedAddress)
        let pcp = PCPRequest(requestedLifetime: entry.deleting ? 0 : request.lifetime, clientAddress: clientAddress,
                             payload: .map(data), options: options)
        return try? pcp.serialized()
    }
}

/// SplitMix64: a small seeded generator for jitter and renewal times (not for nonces).
struct SplitMix: Sendable {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
