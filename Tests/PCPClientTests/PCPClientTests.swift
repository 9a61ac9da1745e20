import PCP
import PCPClient
import Testing
import WireFormat

private let cpe = IPv6Address(ipv4Mapped: IPv4Address(192, 0, 2, 10))
private let pool = IPv6Address(ipv4Mapped: IPv4Address(203, 0, 113, 5))
private let nonce = PCPMappingNonce(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C)
private let web = PCPClient.Key(protocolNumber: 6, internalPort: 8080)

/// A server's answer to the MAP request `bytes`, built with the PCP codec.
private func answer(_ bytes: [UInt8], result: PCPResultCode = .success, lifetime: UInt32 = 600, epoch: UInt32 = 100,
                    externalPort: UInt16 = 1860, portSetSize: UInt16? = nil, nonce override: PCPMappingNonce? = nil) throws -> [UInt8] {
    let request = try PCPRequest.parse(bytes)
    var data = try #require(request.payload.mapData)
    data.externalPort = externalPort
    data.externalAddress = pool
    if let override { data.nonce = override }
    var options: [PCPOption] = []
    if let portSetSize, let asked = request.portSet {
        options.append(.portSet(PCPPortSet(size: portSetSize, firstInternalPort: asked.firstInternalPort)))
    }
    return try PCPResponse(resultCode: result, lifetime: lifetime, epochTime: epoch, payload: .map(data), options: options).serialized()
}

@Suite("PCPClient: the CPE's mappings at the concentrator (RFC 6887 s8.1.1, s8.5, s11.2.1; RFC 7753)")
struct PCPClientTests {
    let start = ContinuousClock.now

    @Test("a new mapping is sent at once and retransmitted after about 3, 6, 12 s while unanswered")
    func retransmission() throws {
        var client = PCPClient(clientAddress: cpe, seed: 1)
        client.add(.init(key: web, suggestedExternalPort: 8080, lifetime: 7200, nonce: nonce), now: start)
        let first = client.due(now: start).messages
        try #require(first.count == 1)
        let request = try PCPRequest.parse(first[0])
        #expect(request.requestedLifetime == 7200 && request.clientAddress == cpe && request.portSet == nil)
        #expect(request.payload.mapData?.externalPort == 8080 && request.payload.mapData?.nonce == nonce)
        var sentAt: [Double] = []
        var t = start
        for _ in 0..<2000 {  // 25 ms steps over 50 s
            t += .milliseconds(25)
            if !client.due(now: t).messages.isEmpty { sentAt.append(Double((t - start).components.seconds) + Double((t - start).components.attoseconds) / 1e18) }
        }
        try #require(sentAt.count >= 3)
        #expect((2.7...3.35).contains(sentAt[0]))
        // Each timeout is (1 + RAND) x twice the previous one, RAND in [-0.1, 0.1] (25 ms steps of slack).
        let gaps = [sentAt[0], sentAt[1] - sentAt[0], sentAt[2] - sentAt[1]]
        for i in 1..<3 {
            #expect((2 * gaps[i - 1] * 0.9 - 0.05...2 * gaps[i - 1] * 1.1 + 0.05).contains(gaps[i]), "gap \(i): \(gaps)")
        }
    }

    @Test("a grant is reported, renewed between 1/2 and 5/8 of its lifetime suggesting the granted port, and lapses unanswered")
    func grantRenewalLapse() throws {
        var client = PCPClient(clientAddress: cpe, seed: 2)
        client.add(.init(key: web, lifetime: 600, nonce: nonce), now: start)
        let sent = client.due(now: start).messages[0]
        let changes = client.receive(try answer(sent, lifetime: 600), now: start)
        let grant = try #require(client.grant(for: web))
        #expect(changes == [.mapped(web, grant)])
        #expect(grant.externalPorts == 1860...1860 && grant.externalAddress == pool && grant.lifetime == 600)
        let renewal = try #require(client.nextDeadline)
        #expect(renewal >= start + .seconds(300) && renewal <= start + .seconds(375))
        #expect(client.due(now: renewal - .milliseconds(1)).messages.isEmpty)
        let renewed = client.due(now: renewal).messages
        try #require(renewed.count == 1)
        #expect(try PCPRequest.parse(renewed[0]).payload.mapData?.externalPort == 1860)
        // No answer: at the lifetime's end the grant lapses and the forward must stop.
        var lapsed: [PCPClient.Change] = []
        var t = renewal
        for _ in 0..<400 where lapsed.isEmpty {
            t += .seconds(1)
            lapsed = client.due(now: t).changes
        }
        #expect(lapsed == [.lapsed(web)])
        #expect(t >= start + .seconds(600) && t <= start + .seconds(601))
        #expect(client.grant(for: web) == nil)
    }

    @Test("PORT_SET: 100 ports asked, 16 granted: the grant is 16 contiguous external ports")
    func portSet() throws {
        var client = PCPClient(clientAddress: cpe, seed: 3)
        let games = PCPClient.Key(protocolNumber: 17, internalPort: 50000)
        client.add(.init(key: games, suggestedExternalPort: 50000, portCount: 100, preservesParity: true, lifetime: 7200,
                         nonce: nonce), now: start)
        let sent = client.due(now: start).messages[0]
        let request = try PCPRequest.parse(sent)
        #expect(request.portSet == PCPPortSet(size: 100, firstInternalPort: 50000, preservesParity: true))
        _ = client.receive(try answer(sent, externalPort: 1856, portSetSize: 16), now: start)
        #expect(client.grant(for: games)?.externalPorts == 1856...1871)
        #expect(client.grant(for: games)?.firstInternalPort == 50000)
    }

    @Test("an error is reported and asked again after its lifetime; another nonce's answer is ignored")
    func refusal() throws {
        var client = PCPClient(clientAddress: cpe, seed: 4)
        client.add(.init(key: web, lifetime: 600, nonce: nonce), now: start)
        let sent = client.due(now: start).messages[0]
        #expect(client.receive(try answer(sent, nonce: PCPMappingNonce(high: 9, low: 9)), now: start).isEmpty)
        let changes = client.receive(try answer(sent, result: .userExceededQuota, lifetime: 30), now: start)
        #expect(changes == [.refused(web, .userExceededQuota, retryAfter: 30)])
        #expect(client.due(now: start + .seconds(29)).messages.isEmpty)
        #expect(client.due(now: start + .seconds(30)).messages.count == 1)
    }

    @Test("an epoch that goes backwards means the server lost its state: every mapping is asked for again at once")
    func epochLoss() throws {
        var client = PCPClient(clientAddress: cpe, seed: 5)
        let dns = PCPClient.Key(protocolNumber: 17, internalPort: 53)
        client.add(.init(key: web, lifetime: 600, nonce: nonce), now: start)
        client.add(.init(key: dns, lifetime: 600, nonce: nonce), now: start)
        for message in client.due(now: start).messages { _ = client.receive(try answer(message, epoch: 1000), now: start) }
        #expect(client.due(now: start + .seconds(10)).messages.isEmpty)
        // 20 s later an ANNOUNCE with epoch 5: the server restarted without its mappings.
        let announce = try PCPResponse(resultCode: .success, lifetime: 0, epochTime: 5, payload: .announce).serialized()
        #expect(client.receive(announce, now: start + .seconds(20)) == [.serverLostState])
        #expect(client.due(now: start + .seconds(20)).messages.count == 2)
        // An epoch that kept pace with our clock is fine.
        var steady = PCPClient(clientAddress: cpe, seed: 6)
        steady.add(.init(key: web, lifetime: 600, nonce: nonce), now: start)
        _ = steady.receive(try answer(steady.due(now: start).messages[0], epoch: 1000), now: start)
        let later = try PCPResponse(resultCode: .success, lifetime: 0, epochTime: 1100, payload: .announce).serialized()
        #expect(steady.receive(later, now: start + .seconds(100)).isEmpty)
    }

    @Test("removal sends lifetime 0 and forgets the mapping when answered, or after 4 unanswered tries")
    func removal() throws {
        var client = PCPClient(clientAddress: cpe, seed: 7)
        client.add(.init(key: web, lifetime: 600, nonce: nonce), now: start)
        _ = client.receive(try answer(client.due(now: start).messages[0]), now: start)
        #expect(client.remove(web, now: start).isEmpty)
        let deletion = client.due(now: start).messages
        #expect(try deletion.map { try PCPRequest.parse($0).requestedLifetime } == [0])
        #expect(client.receive(try answer(deletion[0], lifetime: 0), now: start) == [.removed(web)])
        #expect(client.keys.isEmpty)

        var unanswered = PCPClient(clientAddress: cpe, seed: 8)
        unanswered.add(.init(key: web, lifetime: 600, nonce: nonce), now: start)
        _ = unanswered.receive(try answer(unanswered.due(now: start).messages[0]), now: start)
        _ = unanswered.remove(web, now: start)
        var sends = 0
        var removed = false
        var t = start
        for _ in 0..<200 where !removed {
            let (messages, changes) = unanswered.due(now: t)
            sends += messages.count
            removed = changes.contains(.removed(web))
            t += .seconds(1)
        }
        #expect(removed && sends == PCPClient.deletionAttempts)
    }
}
