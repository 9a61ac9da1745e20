public import PCP
public import WireFormat

/// Everything a CPE maps at its concentrator: its static forwards (`--forward`) and the mappings
/// its LAN hosts ask for over PCP. The CPE is a PCP server towards its LAN and a client towards
/// the concentrator (RFC 7648 proxy, co-located with the CPE's address sharing as RFC 7648 s3
/// allows a NAT to be): upstream, every mapping is the CPE's own (internal address = the CPE's
/// address, an internal port the CPE picks per LAN mapping), so the concentrator needs no
/// THIRD_PARTY for LAN addresses it cannot check; the CPE remembers which LAN host each grant
/// forwards to. Pure logic: bytes in and out, time from the caller.
public struct CPEMappings: Sendable {
    /// A static forward: external port (suggested to the concentrator) -> LAN host and port.
    public struct StaticForward: Hashable, Sendable {
        public var protocolNumber: UInt8
        public var suggestedExternalPort: UInt16
        public var portCount: UInt16
        public var host: IPAddress
        public var port: UInt16

        public init(protocolNumber: UInt8, suggestedExternalPort: UInt16, portCount: UInt16 = 1, host: IPAddress, port: UInt16) {
            self.protocolNumber = protocolNumber
            self.suggestedExternalPort = suggestedExternalPort
            self.portCount = max(1, portCount)
            self.host = host
            self.port = port
        }
    }

    /// What the caller must do.
    public enum Output: Hashable, Sendable {
        /// Send to the concentrator's PCP server.
        case toServer([UInt8])
        /// Answer a LAN host (to its address and port).
        case toLAN(host: IPv6Address, port: UInt16, [UInt8])
        /// Inbound flows to these external ports now go to the LAN host (ports from `firstPort`).
        case forward(protocolNumber: UInt8, externalPorts: ClosedRange<UInt16>, host: IPAddress, firstPort: UInt16)
        /// Stop forwarding these external ports.
        case unforward(protocolNumber: UInt8, externalPorts: ClosedRange<UInt16>)
        /// Worth a log line: a refusal, a lapse, the server's restart.
        case note(String)
    }

    /// Whose a wanted upstream mapping is.
    enum Owner: Hashable, Sendable {
        case forward(Int)
        case lan(LANKey)
    }

    /// A LAN host's mapping as it identifies it (RFC 6887 s11.3).
    struct LANKey: Hashable, Sendable {
        var host: IPv6Address
        var protocolNumber: UInt8
        var internalPort: UInt16
    }

    struct LANMapping: Sendable {
        var upstream: PCPClient.Key
        var nonce: PCPMappingNonce
        var portCount: UInt16
        /// When the LAN host's own lifetime ends (it must renew with us).
        var expiry: ContinuousClock.Instant
        /// Requests waiting for the concentrator's first answer: the LAN host's port and request bytes.
        var waiting: [(port: UInt16, request: [UInt8])] = []
    }

    public private(set) var client: PCPClient
    public let forwards: [StaticForward]
    /// Upstream lifetime asked for static forwards (renewed for as long as the CPE runs).
    public let forwardLifetime: UInt32
    /// LAN lifetimes are clamped to this range, as the concentrator clamps ours.
    public let lifetimes: ClosedRange<UInt32>
    /// LAN mappings at most (each LAN mapping is one upstream mapping against the subscriber's quota).
    public let maximumLANMappings: Int
    private var owners: [PCPClient.Key: Owner] = [:]
    private var lanMappings: [LANKey: LANMapping] = [:]
    /// What each upstream key forwards now, so a changed grant moves the forward.
    private var forwarded: [PCPClient.Key: ClosedRange<UInt16>] = [:]
    private let started: ContinuousClock.Instant
    /// Seeded nonces for tests and fuzzing only; nil (the daemon): the system's random generator.
    private var seededNonces: SplitMix?

    public init(clientAddress: IPv6Address, forwards: [StaticForward], forwardLifetime: UInt32 = 7200,
                lifetimes: ClosedRange<UInt32> = 120...86_400, maximumLANMappings: Int = 64, seed: UInt64,
                seededNonces: Bool = false,
                now: ContinuousClock.Instant) {
        client = PCPClient(clientAddress: clientAddress, seed: seed)
        self.forwards = forwards
        self.forwardLifetime = forwardLifetime
        self.lifetimes = lifetimes
        self.maximumLANMappings = maximumLANMappings
        started = now
        self.seededNonces = seededNonces ? SplitMix(state: seed ^ 0x5043_5020_4E4F_4E43) : nil
        for (index, forward) in forwards.enumerated() {
            guard let key = freeUpstreamKey(protocolNumber: forward.protocolNumber, preferred: forward.port) else { continue }
            owners[key] = .forward(index)
            client.add(PCPClient.Request(key: key, suggestedExternalPort: forward.suggestedExternalPort, portCount: forward.portCount,
                                         lifetime: forwardLifetime, nonce: nextNonce()), now: now)
        }
    }

    /// The proxy's own epoch (RFC 6887 s8.5): it keeps its LAN state for as long as it runs.
    public func epoch(now: ContinuousClock.Instant) -> UInt32 {
        UInt32(clamping: (now - started).components.seconds)
    }

    public var nextDeadline: ContinuousClock.Instant? {
        [client.nextDeadline, lanMappings.values.map(\.expiry).min()].compactMap { $0 }.min()
    }

    /// Timers: requests and renewals due upstream, LAN mappings their hosts stopped renewing.
    public mutating func tick(now: ContinuousClock.Instant) -> [Output] {
        var outputs: [Output] = []
        for (key, mapping) in lanMappings where mapping.expiry <= now {
            lanMappings[key] = nil
            outputs += release(mapping.upstream, now: now)
        }
        let (messages, changes) = client.due(now: now)
        outputs += messages.map(Output.toServer)
        for change in changes { outputs += apply(change, now: now) }
        return outputs
    }

    /// A datagram from the concentrator's PCP server.
    public mutating func serverMessage(_ bytes: [UInt8], now: ContinuousClock.Instant) -> [Output] {
        client.receive(bytes, now: now).flatMap { apply($0, now: now) }
    }

    /// A request from a LAN host (its address and port as the socket saw them).
    public mutating func lanRequest(_ bytes: [UInt8], from host: IPv6Address, port: UInt16, now: ContinuousClock.Instant) -> [Output] {
        let epoch = epoch(now: now)
        let request: PCPRequest
        do throws(PCPRequestError) {
            request = try PCPRequest.parse(bytes)
            try request.checkSource(host)
        } catch {
            guard let reply = PCPErrorResponse.bytes(for: error, request: bytes, epochTime: epoch) else { return [] }
            return [.toLAN(host: host, port: port, reply)]
        }
        func refuse(_ code: PCPResultCode) -> [Output] {
            [.toLAN(host: host, port: port, PCPErrorResponse.bytes(request: bytes, resultCode: code, requestWasParsed: true, epochTime: epoch))]
        }
        guard case .map(let data) = request.payload else {
            // ANNOUNCE: a success carrying our epoch (s14.1).
            return [.toLAN(host: host, port: port, (try? PCPResponse(resultCode: .success, lifetime: 0, epochTime: epoch,
                                                                      payload: .announce).serialized()) ?? [])]
        }
        // THIRD_PARTY from the LAN would let one LAN host map another's ports: not offered (s13.1).
        if request.thirdPartyAddress != nil { return refuse(.unsupportedOption) }
        guard data.protocolNumber == 6 || data.protocolNumber == 17, data.internalPort != 0 else {
            return refuse(.unsupportedProtocol)
        }
        let key = LANKey(host: host, protocolNumber: data.protocolNumber, internalPort: data.internalPort)
        if request.requestedLifetime == 0 {
            guard let mapping = lanMappings[key] else { return [.toLAN(host: host, port: port, reply(request, data, nil, lifetime: 0, now: now))] }
            guard mapping.nonce == data.nonce else { return refuse(.notAuthorized) }
            lanMappings[key] = nil
            return release(mapping.upstream, now: now) + [.toLAN(host: host, port: port, reply(request, data, nil, lifetime: 0, now: now))]
        }
        let lifetime = min(max(request.requestedLifetime, lifetimes.lowerBound), lifetimes.upperBound)
        if var mapping = lanMappings[key] {
            guard mapping.nonce == data.nonce else { return refuse(.notAuthorized) }
            mapping.expiry = now + .seconds(Int64(lifetime))
            if let grant = client.grant(for: mapping.upstream) {
                lanMappings[key] = mapping
                return [.toLAN(host: host, port: port, reply(request, data, grant, lifetime: min(lifetime, grant.lifetime), now: now))]
            }
            mapping.waiting = Array((mapping.waiting + [(port, bytes)]).suffix(4))
            lanMappings[key] = mapping
            return []
        }
        guard lanMappings.count < maximumLANMappings else { return refuse(.userExceededQuota) }
        guard let upstream = freeUpstreamKey(protocolNumber: data.protocolNumber, preferred: data.internalPort) else {
            return refuse(.noResources)
        }
        let portCount = request.portSet?.size ?? 1
        owners[upstream] = .lan(key)
        lanMappings[key] = LANMapping(upstream: upstream, nonce: data.nonce, portCount: portCount,
                                      expiry: now + .seconds(Int64(lifetime)), waiting: [(port, bytes)])
        client.add(PCPClient.Request(key: upstream, suggestedExternalPort: data.externalPort, portCount: portCount,
                                     preservesParity: request.portSet?.preservesParity ?? false, lifetime: lifetime,
                                     nonce: nextNonce(), filters: request.filters, prefersFailure: request.prefersFailure),
                   now: now)
        return client.due(now: now).messages.map(Output.toServer)
    }

    // MARK: - upstream changes

    private mutating func apply(_ change: PCPClient.Change, now: ContinuousClock.Instant) -> [Output] {
        switch change {
        case .mapped(let key, let grant):
            guard let owner = owners[key] else { return [] }
            var outputs: [Output] = []
            if let previous = forwarded[key], previous != grant.externalPorts {
                outputs.append(.unforward(protocolNumber: key.protocolNumber, externalPorts: previous))
            }
            forwarded[key] = grant.externalPorts
            switch owner {
            case .forward(let index):
                let forward = forwards[index]
                outputs.append(.forward(protocolNumber: key.protocolNumber, externalPorts: grant.externalPorts, host: forward.host,
                                        firstPort: forward.port &+ (grant.firstInternalPort &- key.internalPort)))
            case .lan(let lanKey):
                guard var mapping = lanMappings[lanKey] else { return outputs }
                let host: IPAddress = lanKey.host.ipv4Mapped.map { .v4($0) } ?? .v6(lanKey.host)
                outputs.append(.forward(protocolNumber: key.protocolNumber, externalPorts: grant.externalPorts, host: host,
                                        firstPort: lanKey.internalPort &+ (grant.firstInternalPort &- key.internalPort)))
                for waiting in mapping.waiting {
                    guard let request = try? PCPRequest.parse(waiting.request), let data = request.payload.mapData else { continue }
                    outputs.append(.toLAN(host: lanKey.host, port: waiting.port,
                                          reply(request, data, grant, lifetime: min(request.requestedLifetime, grant.lifetime), now: now)))
                }
                mapping.waiting = []
                lanMappings[lanKey] = mapping
            }
            return outputs
        case .refused(let key, let code, let retryAfter):
            var outputs: [Output] = [.note("the concentrator refused mapping \(key): \(code.name), asking again in \(retryAfter) s")]
            if let ports = forwarded.removeValue(forKey: key) {
                outputs.append(.unforward(protocolNumber: key.protocolNumber, externalPorts: ports))
            }
            if case .lan(let lanKey)? = owners[key], var mapping = lanMappings[lanKey] {
                // The LAN host hears the concentrator's answer; its mapping is dropped with ours.
                for waiting in mapping.waiting {
                    outputs.append(.toLAN(host: lanKey.host, port: waiting.port,
                                          PCPErrorResponse.bytes(request: waiting.request, resultCode: code, requestWasParsed: true,
                                                                 epochTime: epoch(now: now), lifetime: retryAfter)))
                }
                mapping.waiting = []
                lanMappings[lanKey] = nil
                outputs += release(key, now: now)
            }
            return outputs
        case .lapsed(let key):
            guard let ports = forwarded.removeValue(forKey: key) else { return [] }
            return [.unforward(protocolNumber: key.protocolNumber, externalPorts: ports),
                    .note("mapping \(key) lapsed: the concentrator did not answer its renewals")]
        case .serverLostState:
            return [.note("the concentrator's PCP server lost its mappings (epoch): asking for every mapping again")]
        case .removed(let key):
            owners[key] = nil
            guard let ports = forwarded.removeValue(forKey: key) else { return [] }
            return [.unforward(protocolNumber: key.protocolNumber, externalPorts: ports)]
        }
    }

    /// Stops wanting an upstream mapping (lifetime 0 upstream); the forward ends at once.
    private mutating func release(_ key: PCPClient.Key, now: ContinuousClock.Instant) -> [Output] {
        var outputs: [Output] = []
        if let ports = forwarded.removeValue(forKey: key) {
            outputs.append(.unforward(protocolNumber: key.protocolNumber, externalPorts: ports))
        }
        for change in client.remove(key, now: now) { outputs += apply(change, now: now) }
        if client.grant(for: key) == nil && !client.keys.contains(key) { owners[key] = nil }
        outputs += client.due(now: now).messages.map(Output.toServer)
        return outputs
    }

    /// The LAN host's answer: the concentrator's external address and ports, our epoch.
    private func reply(_ request: PCPRequest, _ data: PCPMapData, _ grant: PCPClient.Grant?, lifetime: UInt32,
                       now: ContinuousClock.Instant) -> [UInt8] {
        var answer = data
        var options: [PCPOption] = request.filters.map(PCPOption.filter)
        if let grant {
            answer.externalPort = grant.externalPorts.lowerBound
            answer.externalAddress = grant.externalAddress
            // RFC 7753 s4.2: a single granted port carries no PORT_SET.
            if grant.externalPorts.count > 1 {
                options.insert(.portSet(PCPPortSet(size: UInt16(grant.externalPorts.count), firstInternalPort: data.internalPort,
                                                   preservesParity: request.portSet?.preservesParity ?? false)), at: 0)
            }
        }
        return (try? PCPResponse(resultCode: .success, lifetime: lifetime, epochTime: epoch(now: now), payload: .map(answer),
                                 options: options).serialized()) ?? []
    }

    /// An upstream internal port for a new mapping: the LAN port when free for the protocol, else the next free one above 1023.
    private func freeUpstreamKey(protocolNumber: UInt8, preferred: UInt16) -> PCPClient.Key? {
        let preferredKey = PCPClient.Key(protocolNumber: protocolNumber, internalPort: preferred)
        if preferred != 0 && owners[preferredKey] == nil { return preferredKey }
        for port in UInt16(1024)...UInt16.max {
            let key = PCPClient.Key(protocolNumber: protocolNumber, internalPort: port)
            if owners[key] == nil { return key }
        }
        return nil
    }

    private mutating func nextNonce() -> PCPMappingNonce {
        // RFC 6887 s11.1: chosen at random, so an off-path host cannot guess it to delete a mapping.
        if var seeded = seededNonces {
            defer { seededNonces = seeded }
            return PCPMappingNonce(high: seeded.next(), low: UInt32(truncatingIfNeeded: seeded.next()))
        }
        var system = SystemRandomNumberGenerator()
        return PCPMappingNonce(high: system.next(), low: UInt32(truncatingIfNeeded: system.next()))
    }
}
