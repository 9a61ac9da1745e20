import BindingState
import PCP
import WireFormat

/// What a MAP request comes to: success responses (one per mapping touched), or one error.
enum MapOutcome {
    /// Lifetime, payload and options of each SUCCESS response; header fields are added later.
    case responses([PCPResponse])
    /// The result code, and a Lifetime when the default of RFC 6887 s7.4 does not apply.
    case error(PCPResultCode, lifetime: UInt32?)
}

/// The parts of a MAP request the rules below look at, decoded once.
struct MapRequest {
    let request: PCPRequest
    let data: PCPMapData
    /// nil: Protocol 0, all protocols.
    let transport: TransportProtocol?
    let internalAddress: IPAddress
    /// The Internal Ports the request names: Internal Port and, with PORT_SET, the ports after it.
    let internalPorts: ClosedRange<UInt16>
    let nonce: MappingNonce
}

extension PCPRequestHandler {
    /// MAP processing, RFC 6887 section 11.3 with RFC 7753 section 4.2.
    func map(_ request: PCPRequest, _ data: PCPMapData, context: PCPRequestContext) -> MapOutcome {
        // RFC 6887 s11.3: a mandatory option that makes no sense (PREFER_FAILURE with lifetime 0) is MALFORMED_OPTION.
        if request.requestedLifetime == 0 && request.prefersFailure { return .error(.malformedOption, lifetime: nil) }
        let transport: TransportProtocol?
        switch data.protocolNumber {
        case 0: transport = nil
        case TransportProtocol.tcp.rawValue: transport = .tcp
        case TransportProtocol.udp.rawValue: transport = .udp
        // RFC 6887 s7.4: UNSUPP_PROTOCOL for a protocol the device does not handle (SCTP, ...).
        default: return .error(.unsupportedProtocol, lifetime: nil)
        }
        let internalAddress = Self.stateAddress(request.internalAddress)
        // RFC 6887 s13.1: THIRD_PARTY only where policy allows; here, inside the subscriber's own prefixes.
        if request.thirdPartyAddress != nil && !context.subscriber.owns(internalAddress) {
            return .error(.notAuthorized, lifetime: nil)
        }
        // RFC 7753 s4.2: a PORT_SET of one port is handled as a single-port request.
        let wanted = Int(request.portSet?.size ?? 1)
        let last = min(Int(data.internalPort) + max(1, wanted) - 1, 65535)
        let decoded = MapRequest(request: request, data: data, transport: transport, internalAddress: internalAddress,
                                 internalPorts: data.internalPort...UInt16(last),
                                 nonce: MappingNonce(high: data.nonce.high, low: data.nonce.low))
        if request.requestedLifetime == 0 { return delete(decoded, context: context) }
        // RFC 6887 s11.1: Protocol 0 or Internal Port 0 asks for every protocol or port; a shared
        // address is never given whole to one subscriber (policy: NOT_AUTHORIZED, long lifetime).
        guard let transport, data.internalPort != 0 else { return .error(.notAuthorized, lifetime: nil) }
        guard let filters = Self.mappingFilters(request.filters) else { return .error(.malformedOption, lifetime: nil) }
        // RFC 6887 s13.3: more remote peers than the server can filter.
        guard filters.count <= configuration.maximumFiltersPerMapping else { return .error(.excessiveRemotePeers, lifetime: nil) }
        let existing = overlapping(decoded, transport: transport, context: context)
        if !existing.isEmpty { return refresh(existing, decoded, filters: filters, context: context) }
        return create(decoded, transport: transport, filters: filters, context: context)
    }

    /// The subscriber's mappings of the same internal host and protocol whose Internal Ports
    /// meet the request's (RFC 7753 s4.4.1: such a request refreshes each of them).
    func overlapping(_ request: MapRequest, transport: TransportProtocol?, context: PCPRequestContext) -> [PortMapping] {
        let everyPort = request.data.internalPort == 0
        return table.mappings(of: context.subscriber.id).filter { mapping in
            guard transport == nil || mapping.transport == transport,
                  context.subscriber.sameHost(mapping.internalAddress, request.internalAddress)
            else { return false }
            if transport == nil || everyPort { return true }
            let internalLast = Int(mapping.internalPort) + mapping.externalPorts.count - 1
            return Int(request.internalPorts.lowerBound) <= internalLast && mapping.internalPort <= request.internalPorts.upperBound
        }
    }

    /// A new mapping: quota, suggested address and port, ports from the subscriber's lease.
    func create(_ request: MapRequest, transport: TransportProtocol, filters: [MappingFilter],
                context: PCPRequestContext) -> MapOutcome {
        let data = request.data
        let prefersFailure = request.request.prefersFailure
        // RFC 6887 s11.3: a suggested external address other than the subscriber's lease's
        // cannot be given (its ports belong to others); PREFER_FAILURE turns that into an error.
        if prefersFailure && !data.hasUnspecifiedExternalAddress {
            guard let lease = try? table.allocator.lease(for: context.subscriber.id, now: .now) else {
                return .error(.noResources, lifetime: nil)
            }
            guard data.externalAddress.ipv4Mapped == lease.address else { return .error(.cannotProvideExternal, lifetime: nil) }
        }
        let ports = MappingPortRequest(
            count: request.internalPorts.count, suggestedPort: data.externalPort == 0 ? nil : data.externalPort,
            requiresSuggestedPort: prefersFailure && data.externalPort != 0,
            parity: request.request.portSet?.preservesParity == true ? data.internalPort & 1 : nil)
        let lifetime = configuration.assignedLifetime(request.request.requestedLifetime)
        let mapping: PortMapping
        do {
            mapping = try table.create(
                MappingRequest(subscriber: context.subscriber.id, transport: transport, internalAddress: request.internalAddress,
                               internalPort: data.internalPort, ports: ports, cpeAddress: context.source.address,
                               nonce: request.nonce, filters: filters, lifetimeMilliseconds: Int64(lifetime) * 1000),
                nowMilliseconds: context.nowMilliseconds, random: &random)
        } catch {
            switch error {
            // RFC 6887 s7.4: USER_EX_QUOTA, short lifetime: the mapping count, or every port of the set taken.
            case .quotaExceeded, .reservation(.portSetFull): return .error(.userExceededQuota, lifetime: nil)
            case .reservation(.poolExhausted), .reservation(.portsUnavailable): return .error(.noResources, lifetime: nil)
            // RFC 6887 s13.2: PREFER_FAILURE and the suggested port is not free.
            case .reservation(.suggestedPortUnavailable): return .error(.cannotProvideExternal, lifetime: nil)
            }
        }
        counters.add(.mappingsCreated)
        return .responses([response(for: mapping, request, lifetime: lifetime)])
    }

    /// Renewal of each overlapping mapping (RFC 6887 s11.3, RFC 7753 s4.4), all or none: the
    /// nonce must match every one of them (s11.3: else NOT_AUTHORIZED, Lifetime the mapping's).
    func refresh(_ existing: [PortMapping], _ request: MapRequest, filters: [MappingFilter],
                 context: PCPRequestContext) -> MapOutcome {
        if let other = existing.first(where: { $0.nonce != request.nonce }) {
            return .error(.notAuthorized, lifetime: remainingSeconds(other, context))
        }
        let lifetime = configuration.assignedLifetime(request.request.requestedLifetime)
        var responses: [PCPResponse] = []
        for var mapping in existing {
            mapping.expires = context.nowMilliseconds + Int64(lifetime) * 1000
            mapping.cpeAddress = context.source.address
            // RFC 6887 s13.3: FILTERs sent with a renewal replace the mapping's; none keeps them.
            if !request.request.filters.isEmpty { mapping.filters = filters }
            guard table.renew(mapping) != nil else { continue }
            counters.add(.mappingsRenewed)
            responses.append(response(for: mapping, request, lifetime: lifetime))
        }
        return .responses(responses)
    }

    /// Lifetime 0 (RFC 6887 s15): deletes the matching mappings, a port set as one entity (RFC
    /// 7753 s4.4); Protocol 0 or Internal Port 0 deletes all of the host's (for that protocol).
    /// Deleting what does not exist is a SUCCESS, so a retransmitted deletion is answered alike.
    func delete(_ request: MapRequest, context: PCPRequestContext) -> MapOutcome {
        let matching = overlapping(request, transport: request.transport, context: context)
        if let other = matching.first(where: { $0.nonce != request.nonce }) {
            return .error(.notAuthorized, lifetime: remainingSeconds(other, context))
        }
        guard !matching.isEmpty else {
            return .responses([PCPResponse(resultCode: .success, lifetime: 0, epochTime: 0, payload: .map(request.data),
                                           options: Self.echoedOptions(request.request))])
        }
        var responses: [PCPResponse] = []
        for mapping in matching where table.delete(mapping) {
            counters.add(.mappingsDeleted)
            responses.append(response(for: mapping, request, lifetime: 0))
        }
        return .responses(responses)
    }

    /// A SUCCESS response for `mapping`: the request's nonce and protocol, its Internal Port when
    /// inside the mapping (else the mapping's first, RFC 7753 s5.3), the assigned external port and
    /// address, the processed options, and PORT_SET only for more than one port (RFC 7753 s4.2).
    func response(for mapping: PortMapping, _ request: MapRequest, lifetime: UInt32) -> PCPResponse {
        let internalLast = Int(mapping.internalPort) + mapping.externalPorts.count - 1
        let asked = request.data.internalPort
        let internalPort = asked >= mapping.internalPort && Int(asked) <= internalLast ? asked : mapping.internalPort
        var options = Self.echoedOptions(request.request).filter { if case .portSet = $0 { false } else { true } }
        if mapping.externalPorts.count > 1 {
            options.append(.portSet(PCPPortSet(size: UInt16(mapping.externalPorts.count), firstInternalPort: mapping.internalPort,
                                               preservesParity: request.request.portSet?.preservesParity ?? false)))
        }
        let data = PCPMapData(nonce: request.data.nonce, protocolNumber: mapping.transport.rawValue, internalPort: internalPort,
                              externalPort: mapping.externalPorts.lowerBound,
                              externalAddress: IPv6Address(ipv4Mapped: mapping.externalAddress))
        return PCPResponse(resultCode: .success, lifetime: lifetime, epochTime: 0, payload: .map(data), options: options)
    }

    /// Options a success response carries back: THIRD_PARTY, PREFER_FAILURE and FILTER as
    /// processed (RFC 6887 s13: they appear in a response when they were in the request), and
    /// PORT_SET; unknown optional options are not echoed (s7.3: ignored).
    static func echoedOptions(_ request: PCPRequest) -> [PCPOption] {
        request.options.filter { if case .unknown = $0 { false } else { true } }
    }

    /// Seconds `mapping` has left, rounded up: the Lifetime of a NOT_AUTHORIZED about it (RFC 6887 s11.3).
    func remainingSeconds(_ mapping: PortMapping, _ context: PCPRequestContext) -> UInt32 {
        UInt32(clamping: max(0, (mapping.expires - context.nowMilliseconds + 999) / 1000))
    }

    /// FILTER options as the mapping keeps them, in order: Prefix Length 0 removes the ones
    /// before it (RFC 6887 s13.3); nil when a prefix cannot be built.
    static func mappingFilters(_ filters: [PCPFilter]) -> [MappingFilter]? {
        var result: [MappingFilter] = []
        for filter in filters {
            guard filter.prefixLength != 0 else {
                result.removeAll()
                continue
            }
            let address = stateAddress(filter.remotePeerAddress)
            let length = address.isIPv4 ? Int(filter.prefixLength) - 96 : Int(filter.prefixLength)
            guard let prefix = try? IPPrefix(network: address.masked(toLength: length), length: length) else { return nil }
            result.append(MappingFilter(prefix: prefix, port: filter.remotePeerPort))
        }
        return result
    }
}

extension Subscriber {
    /// Whether `address` is the subscriber's: inside one of its link or delegated prefixes.
    func owns(_ address: IPAddress) -> Bool {
        links.contains { $0.contains(address) } || delegated.contains { $0.contains(address) }
    }

    /// Whether two internal addresses are one host: equal, or both the CPE's own link addresses
    /// (one CPE reached over two links), so a renewal over link B finds the mapping made over A.
    func sameHost(_ a: IPAddress, _ b: IPAddress) -> Bool {
        a == b || (links.contains { $0.contains(a) } && links.contains { $0.contains(b) })
    }
}
