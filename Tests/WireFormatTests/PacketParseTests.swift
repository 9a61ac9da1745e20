import Testing
import WireFormat
import TestSupport

@Suite struct PacketParseTests {
    @Test func ipv4TCPSynWithOptionsAndPayload() throws {
        let payload = hexBytes("1E0A E006 C000 0201 01BB 00") + Array("GET".utf8)
        let packet = makeTCPPacket(source: v4Client, destination: v4Server, payload: payload)
        let parsed = try ParsedPacket.parse(packet)
        #expect(parsed.source == v4Client)
        #expect(parsed.destination == v4Server)
        #expect(parsed.protocolNumber == 6)
        #expect(parsed.transportOffset == 20)
        #expect(parsed.packetLength == packet.count)
        guard case .tcp(let tcp) = parsed.transport else { Issue.record("not TCP"); return }
        #expect(tcp.sourcePort == 40000 && tcp.destinationPort == 443)
        #expect(tcp.isInitialSYN)
        #expect(tcp.headerLength == 44)
        #expect(tcp.sequenceNumber == 0x1234_5678)
        #expect(parsed.payloadOffset == 64)
        #expect(parsed.payloadLength == payload.count)
        #expect(Array(packet[parsed.payloadOffset...]) == payload)
        packet.withUnsafeBytes { buffer in
            #expect(TransportChecksum.isValid(buffer, parsed))
            #expect(IPv4Header.hasValidChecksum(buffer, headerLength: 20))
        }
    }

    @Test func tcpOptionsWalk() throws {
        let packet = makeTCPPacket(source: v4Client, destination: v4Server)
        let parsed = try ParsedPacket.parse(packet)
        guard case .tcp(let tcp) = parsed.transport else { Issue.record("not TCP"); return }
        try packet.withUnsafeBytes { buffer in
            let options = TCPOptions(segment: UnsafeRawBufferPointer(rebasing: buffer[20...]), headerLength: tcp.headerLength)
            var kinds: [UInt8] = []
            try options.forEach { kinds.append($0.kind) }
            #expect(kinds == [2, 4, 8, 3, 30])
            let mss = try #require(try options.first(kind: TCPOption.maximumSegmentSize))
            #expect(mss.dataLength == 2)
            #expect(buffer.wireUInt16(at: 20 + mss.dataOffset) == 1460)
            #expect(try options.multipathSubtype() == 0) // MP_CAPABLE
        }
    }

    @Test func tcpOptionsStopAtEOLAndRejectBadLengths() throws {
        // EOL after MSS: what follows is ignored even if it looks like garbage.
        let eol = makeTCPPacket(source: v4Client, destination: v4Server, options: hexBytes("0204 05b4 00ff ffff"))
        try eol.withUnsafeBytes { buffer in
            let options = TCPOptions(segment: UnsafeRawBufferPointer(rebasing: buffer[20...]), headerLength: 28)
            var count = 0
            try options.forEach { _ in count += 1 }
            #expect(count == 1)
        }
        for bad in ["0201 0000", "0208 0000", "0204 05b4 1e"] {
            var opts = hexBytes(bad)
            while opts.count % 4 != 0 { opts.append(0x1E) }
            let packet = makeTCPPacket(source: v4Client, destination: v4Server, options: opts)
            packet.withUnsafeBytes { buffer in
                let options = TCPOptions(segment: UnsafeRawBufferPointer(rebasing: buffer[20...]), headerLength: 20 + opts.count)
                #expect(throws: PacketError.self) { try options.forEach { _ in } }
            }
        }
    }

    @Test func ipv6WithExtensionHeadersToUDP() throws {
        let inner = makeUDPPacket(source: v6Client, destination: v6Server, payload: Array("hello".utf8))
        // Insert hop-by-hop (8 bytes: PadN) and destination options (8 bytes) before UDP.
        let udp = Array(inner[40...])
        let hopByHop: [UInt8] = [60, 0, 1, 4, 0, 0, 0, 0]
        let destOpts: [UInt8] = [17, 0, 1, 4, 0, 0, 0, 0]
        var packet = Array(inner[0..<40])
        packet[6] = 0 // next header: hop-by-hop
        let payloadLength = 16 + udp.count
        packet[4] = UInt8(payloadLength >> 8); packet[5] = UInt8(payloadLength & 0xFF)
        packet += hopByHop + destOpts + udp
        let parsed = try ParsedPacket.parse(packet)
        #expect(parsed.protocolNumber == 17)
        #expect(parsed.transportOffset == 56)
        guard case .udp(let header) = parsed.transport else { Issue.record("not UDP"); return }
        #expect(header.destinationPort == 53)
        #expect(Array(packet[parsed.payloadOffset..<parsed.payloadOffset + parsed.payloadLength]) == Array("hello".utf8))
        packet.withUnsafeBytes { #expect(TransportChecksum.isValid($0, parsed)) }
    }

    @Test func ipv6FragmentsAreMarked() throws {
        let inner = makeUDPPacket(source: v6Client, destination: v6Server, payload: [1, 2, 3, 4])
        for (offsetField, nonFirst) in [(UInt16(0x0001), false), (UInt16(0x0008), true)] {
            var packet = Array(inner[0..<40])
            packet[6] = 44
            let rest = Array(inner[40...])
            let payloadLength = 8 + rest.count
            packet[4] = UInt8(payloadLength >> 8); packet[5] = UInt8(payloadLength & 0xFF)
            packet += [17, 0, UInt8(offsetField >> 8), UInt8(offsetField & 0xFF), 0, 0, 0, 1] + rest
            let parsed = try ParsedPacket.parse(packet)
            #expect(parsed.isFragment)
            if nonFirst {
                #expect(parsed.transport == .other)
            } else {
                guard case .udp = parsed.transport else { Issue.record("first fragment should expose UDP"); return }
            }
        }
    }

    @Test func ipv4NonFirstFragmentHasNoTransport() throws {
        var packet = makeUDPPacket(source: v4Client, destination: v4Server, payload: [9, 9, 9, 9])
        packet[6] = 0x00; packet[7] = 0x10 // fragment offset 16 * 8 bytes
        let parsed = try ParsedPacket.parse(packet)
        #expect(parsed.isFragment)
        #expect(parsed.transport == .other)
    }

    @Test func everyTruncationThrowsInsteadOfTrapping() {
        let packets = [
            makeTCPPacket(source: v4Client, destination: v4Server, payload: [1, 2, 3]),
            makeTCPPacket(source: v6Client, destination: v6Server, payload: [1, 2, 3]),
            makeUDPPacket(source: v4Client, destination: v4Server, payload: [7]),
        ]
        for packet in packets {
            for length in 0..<packet.count {
                var cut = Array(packet[0..<length])
                // The length fields still claim the full packet, so every prefix must be refused.
                #expect(throws: PacketError.self) { try ParsedPacket.parse(cut) }
                cut.removeAll()
            }
        }
    }

    @Test func eachPacketErrorCase() {
        let tcp4 = makeTCPPacket(source: v4Client, destination: v4Server)
        #expect(throws: PacketError.truncated(layer: .ipv4, needed: 1, available: 0)) { try ParsedPacket.parse([UInt8]()) }
        #expect(throws: PacketError.badVersion(5)) { try ParsedPacket.parse([0x55] + Array(tcp4[1...])) }
        #expect(throws: PacketError.badHeaderLength(layer: .ipv4, length: 16)) { try ParsedPacket.parse([0x44] + Array(tcp4[1...])) }
        var long = tcp4; long[2] = 0xFF
        #expect(throws: PacketError.badTotalLength(layer: .ipv4, length: Int(be16(long, 2)))) { try ParsedPacket.parse(long) }
        var badOffset = tcp4; badOffset[32] = 0x40 // TCP data offset 4 words
        #expect(throws: PacketError.badHeaderLength(layer: .tcp, length: 16)) { try ParsedPacket.parse(badOffset) }
        var udp = makeUDPPacket(source: v4Client, destination: v4Server, payload: [1, 2])
        udp[24] = 0; udp[25] = 4 // UDP length 4 < 8
        #expect(throws: PacketError.badTotalLength(layer: .udp, length: 4)) { try ParsedPacket.parse(udp) }
        let v6 = makeUDPPacket(source: v6Client, destination: v6Server, payload: [1, 2])
        var esp = v6; esp[6] = 50
        #expect(throws: PacketError.encrypted) { try ParsedPacket.parse(esp) }
        // 17 chained destination-options headers exceed the walk's bound.
        var chain = Array(v6[0..<40]); chain[6] = 60
        for i in 0..<17 { chain += [i == 16 ? 17 : 60, 0, 1, 4, 0, 0, 0, 0] }
        chain += Array(v6[40...])
        let pl = chain.count - 40; chain[4] = UInt8(pl >> 8); chain[5] = UInt8(pl & 0xFF)
        #expect(throws: PacketError.tooManyExtensionHeaders) { try ParsedPacket.parse(chain) }
        var hbh = Array(v6[0..<40]); hbh[6] = 0; hbh[4] = 0; hbh[5] = 4
        hbh += [17, 0, 0, 0]
        #expect(throws: PacketError.truncated(layer: .ipv6Extension, needed: 48, available: 44)) { try ParsedPacket.parse(hbh) }
    }

    @Test func trailingLinkPaddingIsIgnored() throws {
        let packet = makeUDPPacket(source: v4Client, destination: v4Server, payload: [1])
        let parsed = try ParsedPacket.parse(packet + [0, 0, 0, 0, 0])
        #expect(parsed.packetLength == packet.count)
        #expect(parsed.payloadLength == 1)
    }
}
