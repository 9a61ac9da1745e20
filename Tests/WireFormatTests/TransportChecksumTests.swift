import Testing
import WireFormat
import TestSupport

@Suite struct TransportChecksumTests {
    @Test(arguments: [(v4Client, v4Server), (v6Client, v6Server)])
    func fillMatchesNaiveReference(source: IPAddress, destination: IPAddress) throws {
        var rng = SplitMix64(seed: 768)
        for round in 0..<200 {
            let payload = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var packet = round % 2 == 0
                ? makeUDPPacket(source: source, destination: destination, payload: payload)
                : makeTCPPacket(source: source, destination: destination, flags: 0x18, payload: payload)
            let parsed = try ParsedPacket.parse(packet)
            let field = try #require(TransportChecksum.fieldOffset(parsed))
            let expected = (packet[field], packet[field + 1])
            packet[field] = 0xAA; packet[field + 1] = 0x55
            packet.withUnsafeMutableBytes { TransportChecksum.fill($0, parsed) }
            #expect((packet[field], packet[field + 1]) == expected)
            packet.withUnsafeBytes { #expect(TransportChecksum.isValid($0, parsed)) }
            packet[packet.count - 1] ^= payload.isEmpty ? 0 : 0x01
            if !payload.isEmpty { packet.withUnsafeBytes { #expect(!TransportChecksum.isValid($0, parsed)) } }
        }
    }

    @Test func zeroUDPChecksumOverIPv4MeansNone() throws {
        var packet = makeUDPPacket(source: v4Client, destination: v4Server, payload: [1, 2, 3])
        packet[26] = 0; packet[27] = 0
        let parsed = try ParsedPacket.parse(packet)
        packet.withUnsafeBytes { #expect(TransportChecksum.isValid($0, parsed)) }
    }

    /// NAT-style rewrites keep every checksum equal to a full recomputation.
    @Test(arguments: [(v4Client, v4Server), (v6Client, v6Server)])
    func rewritesKeepChecksumsRight(source: IPAddress, destination: IPAddress) throws {
        var rng = SplitMix64(seed: 5382)
        for round in 0..<300 {
            let payload = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var packet = round % 2 == 0
                ? makeTCPPacket(source: source, destination: destination, payload: payload)
                : makeUDPPacket(source: source, destination: destination, payload: payload)
            var parsed = try ParsedPacket.parse(packet)
            let newPort = UInt16.random(in: 1024...65535, using: &rng)
            packet.withUnsafeMutableBytes { buffer in
                switch source {
                case .v4:
                    parsed.rewriteIPv4Address(.source, to: IPv4Address(198, 51, 100, UInt8.random(in: 1...254, using: &rng)), in: buffer)
                    parsed.rewriteIPv4Address(.destination, to: IPv4Address(203, 0, 113, UInt8.random(in: 1...254, using: &rng)), in: buffer)
                case .v6:
                    parsed.rewriteIPv6Address(.source, to: IPv6Address(high: 0x2001_0DB8_0000_0063, low: rng.next()), in: buffer)
                }
                parsed.rewritePort(.source, to: newPort, in: buffer)
                parsed.rewritePort(.destination, to: newPort &+ 1, in: buffer)
            }
            #expect(try ParsedPacket.parse(packet) == parsed, "the view tracks the rewritten bytes")
            packet.withUnsafeBytes { buffer in
                #expect(TransportChecksum.isValid(buffer, parsed))
                if case .v4 = source { #expect(IPv4Header.hasValidChecksum(buffer, headerLength: 20)) }
            }
        }
    }

    /// Draft section 7.2: the UDP checksum derived from the TCP one (and back) equals a full computation.
    @Test(arguments: [(v4Client, v4Server), (v6Client, v6Server)], [false, true])
    func udpTCPTransfer(pair: (IPAddress, IPAddress), framed: Bool) throws {
        var rng = SplitMix64(seed: framed ? 72 : 27)
        let (lan, internet) = pair
        for _ in 0..<200 {
            let datagram = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let tcpPayload = framed ? [UInt8(datagram.count >> 8), UInt8(datagram.count & 0xFF)] + datagram : datagram
            let tcp = makeTCPPacket(source: lan, destination: internet, flags: 0x18, payload: tcpPayload)
            let udp = makeUDPPacket(source: internet, destination: lan, sourcePort: 443, destinationPort: 40001, payload: datagram)
            let tcpParsed = try ParsedPacket.parse(tcp)
            let udpParsed = try ParsedPacket.parse(udp)
            guard case .tcp(let tcpHeader) = tcpParsed.transport, case .udp(let udpHeader) = udpParsed.transport else {
                Issue.record("builders broken"); return
            }
            let ipLength = tcpParsed.transportOffset
            tcp.withUnsafeBytes { tcpBytes in
                udp.withUnsafeBytes { udpBytes in
                    let tcpHeaderBytes = UnsafeRawBufferPointer(rebasing: tcpBytes[ipLength..<ipLength + tcpHeader.headerLength])
                    let derivedUDP = TransportChecksum.udpChecksum(
                        fromTCPChecksum: tcpHeader.checksum, tcpHeader: tcpHeaderBytes,
                        tcpSource: lan, tcpDestination: internet, tcpPayloadLength: tcpPayload.count,
                        udpSource: internet, udpDestination: lan, udpSourcePort: 443, udpDestinationPort: 40001, framed: framed)
                    #expect(derivedUDP == udpHeader.checksum)
                    let derivedTCP = TransportChecksum.tcpChecksum(
                        fromUDPChecksum: udpHeader.checksum,
                        udpHeader: UnsafeRawBufferPointer(rebasing: udpBytes[udpParsed.transportOffset...]),
                        udpSource: internet, udpDestination: lan,
                        tcpHeader: tcpHeaderBytes, tcpSource: lan, tcpDestination: internet, framed: framed)
                    // 0x0000 and 0xFFFF are equal in one's complement; a full computation never gives 0xFFFF... unless data sums to 0.
                    #expect(derivedTCP == tcpHeader.checksum || (derivedTCP ^ tcpHeader.checksum) == 0xFFFF)
                }
            }
        }
    }
}

/// Datagrams built in place for a raw socket parse back with a valid checksum, both families.
@Suite struct UDPDatagramHeadersTests {
    @Test(arguments: [0, 1, 2, 7, 1400, 65_507])
    func builtDatagramsParseWithAValidChecksum(length: Int) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let pairs: [(IPAddress, IPAddress)] = [
            (.v4(IPv4Address(0xC000_0280)), .v4(IPv4Address(0xCB00_7102))),
            (.v6(IPv6Address(high: 0x2001_0db8_0001_0001, low: 2)), .v6(IPv6Address(high: 0x2001_0db8_0003_0000, low: 2))),
        ]
        for (source, destination) in pairs where length <= UDPDatagramHeaders.largestPayload(for: destination) {
            var packet = [UInt8](repeating: 0, count: UDPDatagramHeaders.maximumLength)
            let headerLength = packet.withUnsafeMutableBytes { headers in
                payload.withUnsafeBytes {
                    UDPDatagramHeaders.write(into: headers, source: source, sourcePort: 1024, destination: destination,
                                             destinationPort: 53, payload: $0)
                }
            }
            packet = Array(packet[..<headerLength]) + payload
            let parsed = try ParsedPacket.parse(packet)
            #expect(parsed.source == source && parsed.destination == destination)
            guard case .udp(let udp) = parsed.transport else {
                Issue.record("not UDP")
                continue
            }
            #expect(udp.sourcePort == 1024 && udp.destinationPort == 53 && parsed.payloadLength == length)
            #expect(udp.checksum != 0, "0 would mean no checksum")
            #expect(packet.withUnsafeBytes { TransportChecksum.isValid($0, parsed) })
        }
    }
}
