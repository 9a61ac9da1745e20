import PCP
import PCPClient
import Testing
import WireFormat

private let cpeAddress = IPv6Address(ipv4Mapped: IPv4Address(192, 0, 2, 10))
private let lanHost = IPv6Address(ipv4Mapped: IPv4Address(192, 168, 1, 20))
private let pool = IPv6Address(ipv4Mapped: IPv4Address(203, 0, 113, 5))

/// The concentrator's success answer to an upstream MAP request, granting `externalPort` (and `size` ports).
private func grant(_ bytes: [UInt8], externalPort: UInt16, size: UInt16? = nil, lifetime: UInt32 = 600) throws -> [UInt8] {
    let request = try PCPRequest.parse(bytes)
    var data = try #require(request.payload.mapData)
    data.externalPort = externalPort
    data.externalAddress = pool
    let options: [PCPOption] = size.map { [.portSet(PCPPortSet(size: $0, firstInternalPort: data.internalPort))] } ?? []
    return try PCPResponse(resultCode: .success, lifetime: request.requestedLifetime == 0 ? 0 : lifetime, epochTime: 50,
                           payload: .map(data), options: options).serialized()
}

private func lanMap(port internalPort: UInt16, protocolNumber: UInt8 = 6, lifetime: UInt32 = 3600, nonce: UInt64 = 1,
                    suggested: UInt16 = 0, portSet: UInt16? = nil) throws -> [UInt8] {
    let data = PCPMapData(nonce: PCPMappingNonce(high: nonce, low: 7), protocolNumber: protocolNumber, internalPort: internalPort,
                          externalPort: suggested, externalAddress: IPv6Address(ipv4Mapped: IPv4Address(0)))
    let options: [PCPOption] = portSet.map { [.portSet(PCPPortSet(size: $0, firstInternalPort: internalPort))] } ?? []
    return try PCPRequest(requestedLifetime: lifetime, clientAddress: lanHost, payload: .map(data), options: options).serialized()
}

private func serverMessages(_ outputs: [CPEMappings.Output]) -> [[UInt8]] {
    outputs.compactMap { if case .toServer(let bytes) = $0 { bytes } else { nil } }
}

private func lanReplies(_ outputs: [CPEMappings.Output]) throws -> [PCPResponse] {
    try outputs.compactMap { if case .toLAN(_, _, let bytes) = $0 { try PCPResponse.parse(bytes) } else { nil } }
}

@Suite("CPEMappings: static forwards and the LAN's PCP requests proxied to the concentrator (RFC 7648)")
struct CPEMappingsTests {
    let start = ContinuousClock.now

    @Test("a static forward is asked for at start and forwards the port the concentrator granted, not the one suggested")
    func staticForward() throws {
        var mappings = CPEMappings(clientAddress: cpeAddress, forwards: [
            .init(protocolNumber: 6, suggestedExternalPort: 8080, host: .v4(IPv4Address(192, 168, 1, 20)), port: 80),
        ], seed: 1, now: start)
        let sent = serverMessages(mappings.tick(now: start))
        try #require(sent.count == 1)
        let request = try PCPRequest.parse(sent[0])
        #expect(request.clientAddress == cpeAddress && request.thirdPartyAddress == nil)
        #expect(request.payload.mapData?.externalPort == 8080 && request.payload.mapData?.internalPort == 80)
        let outputs = mappings.serverMessage(try grant(sent[0], externalPort: 1860), now: start)
        #expect(outputs == [.forward(protocolNumber: 6, externalPorts: 1860...1860, host: .v4(IPv4Address(192, 168, 1, 20)), firstPort: 80)])
    }

    @Test("a LAN host's MAP goes upstream as the CPE's own; the grant answers the host and forwards to it; renewals are answered from state")
    func proxiedMap() throws {
        var mappings = CPEMappings(clientAddress: cpeAddress, forwards: [], seed: 2, now: start)
        let first = mappings.lanRequest(try lanMap(port: 5000, protocolNumber: 17, suggested: 5000), from: lanHost, port: 5350, now: start)
        #expect(try lanReplies(first).isEmpty)
        let upstream = serverMessages(first)
        try #require(upstream.count == 1)
        let request = try PCPRequest.parse(upstream[0])
        #expect(request.clientAddress == cpeAddress && request.payload.mapData?.protocolNumber == 17)
        let granted = mappings.serverMessage(try grant(upstream[0], externalPort: 1861), now: start)
        #expect(granted.contains(.forward(protocolNumber: 17, externalPorts: 1861...1861, host: .v4(IPv4Address(192, 168, 1, 20)), firstPort: 5000)))
        let replies = try lanReplies(granted)
        try #require(replies.count == 1)
        #expect(replies[0].resultCode == .success && replies[0].payload.mapData?.externalPort == 1861)
        #expect(replies[0].payload.mapData?.externalAddress == pool && replies[0].lifetime == 600 && replies[0].portSet == nil)
        // The renewal is answered at once, with nothing sent upstream.
        let renewal = mappings.lanRequest(try lanMap(port: 5000, protocolNumber: 17), from: lanHost, port: 5350, now: start + .seconds(60))
        #expect(serverMessages(renewal).isEmpty)
        #expect(try lanReplies(renewal).first?.payload.mapData?.externalPort == 1861)
    }

    @Test("wrong nonce: NOT_AUTHORIZED; lifetime 0 with the right one deletes upstream and stops the forward")
    func deletion() throws {
        var mappings = CPEMappings(clientAddress: cpeAddress, forwards: [], seed: 3, now: start)
        let upstream = serverMessages(mappings.lanRequest(try lanMap(port: 22), from: lanHost, port: 5350, now: start))
        _ = mappings.serverMessage(try grant(upstream[0], externalPort: 1862), now: start)
        let stranger = mappings.lanRequest(try lanMap(port: 22, lifetime: 0, nonce: 99), from: lanHost, port: 5350, now: start)
        #expect(try lanReplies(stranger).map(\.resultCode) == [.notAuthorized])
        let delete = mappings.lanRequest(try lanMap(port: 22, lifetime: 0), from: lanHost, port: 5350, now: start)
        #expect(delete.contains(.unforward(protocolNumber: 6, externalPorts: 1862...1862)))
        #expect(try lanReplies(delete).map(\.resultCode) == [.success])
        let deletions = serverMessages(delete)
        #expect(try deletions.map { try PCPRequest.parse($0).requestedLifetime } == [0])
    }

    @Test("a LAN mapping its host stops renewing is released upstream when its lifetime ends")
    func lanExpiry() throws {
        var mappings = CPEMappings(clientAddress: cpeAddress, forwards: [], seed: 4, now: start)
        let upstream = serverMessages(mappings.lanRequest(try lanMap(port: 443, lifetime: 200), from: lanHost, port: 5350, now: start))
        _ = mappings.serverMessage(try grant(upstream[0], externalPort: 1863, lifetime: 3600), now: start)
        #expect(!mappings.tick(now: start + .seconds(199)).contains(.unforward(protocolNumber: 6, externalPorts: 1863...1863)))
        let expired = mappings.tick(now: start + .seconds(200))
        #expect(expired.contains(.unforward(protocolNumber: 6, externalPorts: 1863...1863)))
        #expect(try serverMessages(expired).map { try PCPRequest.parse($0).requestedLifetime } == [0])
    }

    @Test("a PORT_SET grant answers with PORT_SET and forwards the whole block; malformed, THIRD_PARTY and ANNOUNCE get their answers")
    func portSetAndOddRequests() throws {
        var mappings = CPEMappings(clientAddress: cpeAddress, forwards: [], seed: 5, now: start)
        let upstream = serverMessages(mappings.lanRequest(try lanMap(port: 50000, protocolNumber: 17, portSet: 100), from: lanHost, port: 5350, now: start))
        #expect(try PCPRequest.parse(upstream[0]).portSet?.size == 100)
        let granted = mappings.serverMessage(try grant(upstream[0], externalPort: 1856, size: 16), now: start)
        #expect(granted.contains(.forward(protocolNumber: 17, externalPorts: 1856...1871, host: .v4(IPv4Address(192, 168, 1, 20)), firstPort: 50000)))
        #expect(try lanReplies(granted).first?.portSet?.size == 16)

        var third = try PCPRequest.parse(try lanMap(port: 80))
        third.options = [.thirdParty(IPv6Address(ipv4Mapped: IPv4Address(192, 168, 1, 99)))]
        #expect(try lanReplies(mappings.lanRequest(try third.serialized(), from: lanHost, port: 5350, now: start)).map(\.resultCode) == [.unsupportedOption])
        let spoofed = mappings.lanRequest(try lanMap(port: 80), from: IPv6Address(ipv4Mapped: IPv4Address(192, 168, 1, 21)), port: 5350, now: start)
        #expect(try lanReplies(spoofed).map(\.resultCode) == [.addressMismatch])
        var garbage = try lanMap(port: 80)
        garbage.removeLast(4)
        // The error answer to an unparsable request echoes its bytes, so only the header is read (result code: byte 3).
        let malformed = mappings.lanRequest(garbage, from: lanHost, port: 5350, now: start)
        #expect(malformed.compactMap { if case .toLAN(_, _, let bytes) = $0 { bytes[3] } else { nil } } == [PCPResultCode.malformedRequest.rawValue])
        let announce = try PCPRequest(requestedLifetime: 0, clientAddress: lanHost, payload: .announce).serialized()
        let answered = try lanReplies(mappings.lanRequest(announce, from: lanHost, port: 5350, now: start + .seconds(42)))
        #expect(answered.map(\.resultCode) == [.success] && answered.first?.epochTime == 42)
    }
}
