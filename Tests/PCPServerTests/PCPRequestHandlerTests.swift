import BindingState
import PCP
import PCPServer
import Testing
import TestSupport
import WireFormat

/// One test per rule of RFC 6887 / RFC 7753 the server applies, each checking the result code,
/// the lifetime and what the table holds afterwards.
@Suite("PCP request handler")
struct PCPRequestHandlerTests {
    static let pool = IPv6Address(ipv4Mapped: IPv4Address(192, 0, 2, 3))

    @Test("SUCCESS: a TCP MAP gets one port of the subscriber's set, on its lease's address, with epoch and lifetime")
    func singlePortMap() throws {
        let handler = try makeHandler()
        let response = try answer(handler, mapRequest())
        #expect(response.resultCode == .success)
        #expect(response.lifetime == 7200)
        #expect(response.epochTime == 3600, "RFC 6887 s8.5: seconds since the epoch start")
        let data = try #require(response.payload.mapData)
        #expect(data.nonce == nonce && data.protocolNumber == 6 && data.internalPort == 8080)
        #expect(data.externalAddress == Self.pool)
        let lease = try #require(handler.table.allocator.currentLease(for: customer.id))
        #expect(lease.portSet.contains(port: data.externalPort))
        #expect(response.portSet == nil)
        let mapping = try #require(handler.table.mappings(of: customer.id).first)
        #expect(mapping.internalAddress == linkA && mapping.cpeAddress == linkA && mapping.externalPorts.count == 1)
        #expect(handler.counters[.mappingsCreated] == 1 && handler.counters[.resultSuccess] == 1)
    }

    @Test("lifetimes are clamped to [min, max] (RFC 6887 s15)")
    func lifetimeClamped() throws {
        let handler = try makeHandler()
        #expect(try answer(handler, mapRequest(lifetime: 30)).lifetime == 120)
        #expect(try answer(handler, mapRequest(lifetime: 1_000_000, internalPort: 9000)).lifetime == 86400)
        let mapping = try #require(handler.table.mappings(of: customer.id).first { $0.internalPort == 9000 })
        #expect(mapping.expires == context().nowMilliseconds + 86_400_000)
    }

    @Test("PORT_SET for 100 ports under a=6,k=6: 16 contiguous ports of one block, PORT_SET in the response")
    func portSetGrant() throws {
        let handler = try makeHandler()
        let response = try answer(handler, mapRequest(protocolNumber: 17, internalPort: 50000,
                                                      options: [.portSet(PCPPortSet(size: 100, firstInternalPort: 50000))]))
        #expect(response.resultCode == .success)
        let set = try #require(response.portSet)
        #expect(set.size == 16 && set.firstInternalPort == 50000 && !set.preservesParity)
        let first = try #require(response.payload.mapData?.externalPort)
        let lease = try #require(handler.table.allocator.currentLease(for: customer.id))
        #expect(first & 15 == 0 && (first >> 4) & 63 == lease.psid, "a whole 16-port block of the subscriber's PSID")
        let mapping = try #require(handler.table.mappings(of: customer.id).first)
        #expect(mapping.externalPorts == first...(first + 15) && mapping.internalPort == 50000)
    }

    @Test("parity (P): the first external port has the First Internal Port's parity")
    func parity() throws {
        let handler = try makeHandler()
        let odd = try answer(handler, mapRequest(protocolNumber: 17, internalPort: 50001,
                                                 options: [.portSet(PCPPortSet(size: 8, firstInternalPort: 50001, preservesParity: true))]))
        #expect(try #require(odd.payload.mapData?.externalPort) & 1 == 1)
        #expect(odd.portSet?.preservesParity == true && odd.portSet?.size == 8)
    }

    @Test("a grant of one port carries no PORT_SET (RFC 7753 s4.2)")
    func singlePortGrantHasNoPortSet() throws {
        // k=10: 2^(16-6-10) = 1-port blocks, so any PORT_SET request maps one port.
        let handler = try makeHandler(psidLength: 10)
        let response = try answer(handler, mapRequest(internalPort: 7000, options: [.portSet(PCPPortSet(size: 10, firstInternalPort: 7000))]))
        #expect(response.resultCode == .success && response.portSet == nil)
    }

    @Test("the suggested external port is honoured when free in the set")
    func suggestedPortHonoured() throws {
        let handler = try makeHandler()
        let lease = try handler.table.allocator.lease(for: customer.id, now: .now)
        let suggested = Array(lease.portSet.ranges)[4].lowerBound + 7
        let response = try answer(handler, mapRequest(externalPort: suggested, externalAddress: Self.pool))
        #expect(response.payload.mapData?.externalPort == suggested)
    }

    @Test("a renewal with the same nonce from the CPE's other link is the same mapping; the CPE address follows")
    func renewalOverOtherLink() throws {
        let handler = try makeHandler()
        let first = try answer(handler, mapRequest(lifetime: 600))
        let renewal = try answer(handler, mapRequest(lifetime: 1200, client: linkB), context(from: linkB, at: epochStart + 3_700_000))
        #expect(renewal.resultCode == .success && renewal.lifetime == 1200)
        #expect(renewal.payload.mapData?.externalPort == first.payload.mapData?.externalPort)
        let mappings = handler.table.mappings(of: customer.id)
        #expect(mappings.count == 1 && mappings[0].cpeAddress == linkB && mappings[0].expires == epochStart + 3_700_000 + 1_200_000)
        #expect(handler.counters[.mappingsRenewed] == 1)
    }

    @Test("NOT_AUTHORIZED: a wrong nonce on renewal or deletion, Lifetime the mapping's remaining one (RFC 6887 s11.3)")
    func wrongNonce() throws {
        let handler = try makeHandler()
        _ = try answer(handler, mapRequest(lifetime: 600))
        let other = PCPMappingNonce(high: 1, low: 2)
        let renewal = try answer(handler, mapRequest(nonce: other), context(at: epochStart + 3_600_000 + 100_000))
        #expect(renewal.resultCode == .notAuthorized && renewal.lifetime == 500)
        let deletion = try answer(handler, mapRequest(lifetime: 0, nonce: other))
        #expect(deletion.resultCode == .notAuthorized && deletion.lifetime == 600)
        #expect(handler.table.mappings(of: customer.id).count == 1)
    }

    @Test("lifetime 0 deletes, a port set as one entity; deleting again is still SUCCESS")
    func deletion() throws {
        let handler = try makeHandler()
        let set = [PCPOption.portSet(PCPPortSet(size: 16, firstInternalPort: 40000))]
        _ = try answer(handler, mapRequest(protocolNumber: 17, internalPort: 40000, options: set))
        #expect(handler.table.allocator.mappedPortCount(for: customer.id) == 16)
        let deleted = try answer(handler, mapRequest(lifetime: 0, protocolNumber: 17, internalPort: 40000, options: set))
        #expect(deleted.resultCode == .success && deleted.lifetime == 0 && deleted.portSet?.size == 16)
        #expect(handler.table.mappings(of: customer.id).isEmpty && handler.table.allocator.mappedPortCount(for: customer.id) == 0)
        let again = try answer(handler, mapRequest(lifetime: 0, protocolNumber: 17, internalPort: 40000, options: set))
        #expect(again.resultCode == .success && again.lifetime == 0)
    }

    @Test("protocol 0 with lifetime 0 deletes every mapping of the host")
    func deleteAllProtocols() throws {
        let handler = try makeHandler()
        _ = try answer(handler, mapRequest(protocolNumber: 6, internalPort: 1000))
        _ = try answer(handler, mapRequest(protocolNumber: 17, internalPort: 2000))
        let responses = handler.handle(mapRequest(lifetime: 0, protocolNumber: 0, internalPort: 0), context: context())
        #expect(responses.count == 2)
        #expect(handler.table.mappings(of: customer.id).isEmpty)
    }

    @Test("an overlapping request refreshes each mapping it touches, one response each (RFC 7753 s4.4.1)")
    func overlap() throws {
        let handler = try makeHandler()
        _ = try answer(handler, mapRequest(protocolNumber: 17, internalPort: 100))
        _ = try answer(handler, mapRequest(protocolNumber: 17, internalPort: 101,
                                           options: [.portSet(PCPPortSet(size: 10, firstInternalPort: 101))]))
        let responses = try handler.handle(mapRequest(protocolNumber: 17, internalPort: 100,
                                                      options: [.portSet(PCPPortSet(size: 100, firstInternalPort: 100))]),
                                           context: context()).map { try PCPResponse.parse($0) }
        #expect(responses.count == 2)
        #expect(responses.map { $0.payload.mapData?.internalPort } == [100, 101])
        #expect(responses[0].portSet == nil && responses[1].portSet == PCPPortSet(size: 10, firstInternalPort: 101))
        #expect(handler.table.mappings(of: customer.id).count == 2 && handler.counters[.mappingsRenewed] == 2)
    }

    @Test("USER_EX_QUOTA: one mapping more than --pcp-max-mappings")
    func quota() throws {
        let handler = try makeHandler(quota: 2)
        _ = try answer(handler, mapRequest(internalPort: 1))
        _ = try answer(handler, mapRequest(internalPort: 2))
        let refused = try answer(handler, mapRequest(internalPort: 3))
        #expect(refused.resultCode == .userExceededQuota && refused.lifetime == 30)
        #expect(handler.counters[.resultUserExceededQuota] == 1)
    }

    @Test("THIRD_PARTY inside the subscriber's delegated prefix maps that host; outside it is NOT_AUTHORIZED")
    func thirdParty() throws {
        let handler = try makeHandler()
        let inside = try answer(handler, mapRequest(options: [.thirdParty(mapped(lanHost))]))
        #expect(inside.resultCode == .success && inside.options.contains(.thirdParty(mapped(lanHost))))
        #expect(handler.table.mappings(of: customer.id).first?.internalAddress == lanHost)
        let outside = try answer(handler, mapRequest(internalPort: 9, options: [.thirdParty(mapped(IPAddress("10.9.9.9")!))]))
        #expect(outside.resultCode == .notAuthorized && outside.lifetime == 1800)
    }

    @Test("CANNOT_PROVIDE_EXTERNAL: PREFER_FAILURE with a taken port, or with another pool address")
    func preferFailure() throws {
        let handler = try makeHandler()
        let first = try answer(handler, mapRequest(internalPort: 1000))
        let taken = try #require(first.payload.mapData?.externalPort)
        let busy = try answer(handler, mapRequest(internalPort: 2000, externalPort: taken, externalAddress: Self.pool,
                                                  options: [.preferFailure]))
        #expect(busy.resultCode == .cannotProvideExternal)
        let elsewhere = try answer(handler, mapRequest(internalPort: 2000, externalPort: taken &+ 1,
                                                       externalAddress: IPv6Address(ipv4Mapped: IPv4Address(192, 0, 2, 99)),
                                                       options: [.preferFailure]))
        #expect(elsewhere.resultCode == .cannotProvideExternal)
        // Without PREFER_FAILURE another address is answered with the lease's.
        let moved = try answer(handler, mapRequest(internalPort: 3000, externalAddress: IPv6Address(ipv4Mapped: IPv4Address(192, 0, 2, 99))))
        #expect(moved.resultCode == .success && moved.payload.mapData?.externalAddress == Self.pool)
    }

    @Test("MALFORMED_OPTION: PORT_SET size 0, two PORT_SETs, PORT_SET with PREFER_FAILURE, PREFER_FAILURE with lifetime 0")
    func malformedOptions() throws {
        let handler = try makeHandler()
        let cases: [[UInt8]] = [
            mapRequest(options: [.portSet(PCPPortSet(size: 0, firstInternalPort: 8080))]),
            mapRequest(options: [.portSet(PCPPortSet(size: 2, firstInternalPort: 8080)), .portSet(PCPPortSet(size: 2, firstInternalPort: 8080))]),
            mapRequest(externalPort: 2000, options: [.portSet(PCPPortSet(size: 2, firstInternalPort: 8080)), .preferFailure]),
            mapRequest(lifetime: 0, externalPort: 2000, options: [.preferFailure]),
        ]
        for bytes in cases {
            let response = try answer(handler, bytes)
            #expect(response.resultCode == .malformedOption && response.lifetime == 1800)
        }
        #expect(handler.table.count == 0)
    }

    @Test("UNSUPP_PROTOCOL for SCTP; NOT_AUTHORIZED for all protocols or all ports with a lifetime")
    func protocols() throws {
        let handler = try makeHandler()
        #expect(try answer(handler, mapRequest(protocolNumber: 132)).resultCode == .unsupportedProtocol)
        #expect(try answer(handler, mapRequest(protocolNumber: 0, internalPort: 0)).resultCode == .notAuthorized)
        #expect(try answer(handler, mapRequest(protocolNumber: 6, internalPort: 0)).resultCode == .notAuthorized)
        #expect(handler.table.count == 0)
    }

    @Test("EXCESSIVE_REMOTE_PEERS: more FILTERs than a mapping may hold; FILTERs kept are enforced")
    func filters() throws {
        let handler = try makeHandler()
        let filter = { (n: UInt8) in PCPOption.filter(PCPFilter(prefixLength: 128, remotePeerPort: 0,
                                                                  remotePeerAddress: IPv6Address(ipv4Mapped: IPv4Address(203, 0, 113, n)))) }
        let tooMany = try answer(handler, mapRequest(options: (1...9).map(filter)))
        #expect(tooMany.resultCode == .excessiveRemotePeers)
        let kept = try answer(handler, mapRequest(options: [filter(7)]))
        #expect(kept.resultCode == .success && kept.options.contains(filter(7)))
        let port = try #require(kept.payload.mapData?.externalPort)
        let external = Endpoint(address: .v4(IPv4Address(192, 0, 2, 3)), port: port)
        #expect(handler.table.inboundRoute(.tcp, to: external, from: Endpoint(address: .v4(IPv4Address(203, 0, 113, 7)), port: 1)) != nil)
        #expect(handler.table.inboundRoute(.tcp, to: external, from: Endpoint(address: .v4(IPv4Address(203, 0, 113, 8)), port: 1)) == nil)
    }

    @Test("NO_RESOURCES: no lease left in the pool for a new subscriber")
    func poolExhausted() throws {
        // k=1 on one address: two PSIDs, both leased to others first.
        let handler = try makeHandler(psidLength: 1)
        _ = try handler.table.allocator.lease(for: SubscriberID("someone"), now: .now)
        _ = try handler.table.allocator.lease(for: SubscriberID("someone-else"), now: .now)
        let refused = try answer(handler, mapRequest())
        #expect(refused.resultCode == .noResources && refused.lifetime == 30)
    }

    @Test("ADDRESS_MISMATCH and MALFORMED_REQUEST (THIRD_PARTY naming the source)")
    func sourceChecks() throws {
        let handler = try makeHandler()
        #expect(try answer(handler, mapRequest(client: linkB)).resultCode == .addressMismatch)
        #expect(try answer(handler, mapRequest(options: [.thirdParty(mapped(linkA))])).resultCode == .malformedRequest)
    }

    @Test("codec rejections are answered: UNSUPP_VERSION, MALFORMED_REQUEST, UNSUPP_OPCODE (PEER), UNSUPP_OPTION; R bit dropped")
    func codecRejections() throws {
        let handler = try makeHandler()
        var version = mapRequest()
        version[0] = 1
        #expect(try answer(handler, version).resultCode == .unsupportedVersion)
        // Shorter than the header: the answer is the header alone (no MAP data to copy), so read its byte 3.
        let short = handler.handle(Array(mapRequest().prefix(20)), context: context())
        #expect(short.count == 1 && short.first?.count == 24 && short.first?[3] == PCPResultCode.malformedRequest.rawValue)
        var peer = mapRequest()
        peer[1] = 2
        // The codec's client side does not parse PEER, so read the header: R set, opcode 2, result code.
        let peerAnswer = handler.handle(peer, context: context())
        #expect(peerAnswer.first.map { Array($0[1...3]) } == [0x82, 0, PCPResultCode.unsupportedOpcode.rawValue])
        #expect(peerAnswer.first?.count == peer.count)
        let unknownMandatory = mapRequest() + [4, 0, 0, 0]
        #expect(try answer(handler, unknownMandatory).resultCode == .unsupportedOption)
        var response = mapRequest()
        response[1] |= 0x80
        #expect(handler.handle(response, context: context()).isEmpty)
        #expect(handler.handle([2], context: context()).isEmpty)
        #expect(handler.counters[.droppedSilently] == 2 && handler.counters[.unparsable] == 6)
    }

    @Test("ANNOUNCE is answered SUCCESS with Lifetime 0 and the epoch (RFC 6887 s14.1)")
    func announce() throws {
        let handler = try makeHandler()
        let request = try PCPRequest(requestedLifetime: 0, clientAddress: mapped(linkA), payload: .announce).serialized()
        let response = try answer(handler, request, context(at: epochStart + 12_345))
        #expect(response.resultCode == .success && response.lifetime == 0 && response.epochTime == 12 && response.opcode == .announce)
        #expect(try PCPResponse.parse(handler.announcement(nowMilliseconds: epochStart)).epochTime == 0)
    }

    @Test("the rate limit drops a subscriber's requests beyond its burst, silently, and refills with time")
    func rateLimit() throws {
        let handler = try makeHandler(rate: 2)
        let announce = try PCPRequest(requestedLifetime: 0, clientAddress: mapped(linkA), payload: .announce).serialized()
        let answered = (0..<5).filter { _ in !handler.handle(announce, context: context()).isEmpty }.count
        #expect(answered == 2 && handler.counters[.rateLimited] == 3)
        #expect(!handler.handle(announce, context: context(at: epochStart + 3_601_000)).isEmpty)
    }

    @Test("expiry: a mapping lapses at its lifetime and its ports go back")
    func expiry() throws {
        let handler = try makeHandler()
        _ = try answer(handler, mapRequest(lifetime: 120))
        let now = context().nowMilliseconds
        #expect(handler.expire(nowMilliseconds: now + 119_000).isEmpty)
        #expect(handler.expire(nowMilliseconds: now + 120_000).count == 1)
        #expect(handler.counters[.mappingsExpired] == 1 && handler.table.allocator.mappedPortCount(for: customer.id) == 0)
    }
}

@Suite("PCP counters")
struct PCPCounterTests {
    @Test("every result code has its own pcp_result_* counter; names are unique")
    func names() {
        let names = PCPCounter.allCases.map(\.name)
        #expect(Set(names).count == names.count)
        for code in PCPResultCode.allCases {
            #expect(PCPCounter.result(code).name == "pcp_result_" + code.name.lowercased())
        }
        #expect(names.allSatisfy { $0.hasPrefix("pcp_") })
    }
}
