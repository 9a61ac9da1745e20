import WireFormat
import TestSupport

/// TCP options of a Linux MPTCP SYN: MSS, SACK-permitted, timestamps, NOP, window scale, MP_CAPABLE v1.
let synOptions = hexBytes("0204 05b4 0402 080a 0001 e240 0000 0000 0103 0307 1e04 0181")

/// An IPv4 or IPv6 packet carrying a TCP segment (flags, options, payload) with a correct checksum.
func makeTCPPacket(
    source: IPAddress, destination: IPAddress, sourcePort: UInt16 = 40000, destinationPort: UInt16 = 443,
    flags: UInt8 = 0x02, options: [UInt8] = synOptions, payload: [UInt8] = []
) -> [UInt8] {
    precondition(options.count % 4 == 0)
    let tcpLength = 20 + options.count + payload.count
    var tcp: [UInt8] = [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xFF), UInt8(destinationPort >> 8), UInt8(destinationPort & 0xFF),
                        0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, UInt8((20 + options.count) / 4) << 4, flags, 0xFA, 0xF0, 0, 0, 0, 0]
    tcp += options + payload
    return finish(source: source, destination: destination, protocolNumber: 6, segment: tcp, segmentLength: tcpLength)
}

/// An IPv4 or IPv6 packet carrying a UDP datagram with a correct checksum.
func makeUDPPacket(
    source: IPAddress, destination: IPAddress, sourcePort: UInt16 = 5353, destinationPort: UInt16 = 53, payload: [UInt8]
) -> [UInt8] {
    let length = 8 + payload.count
    let udp: [UInt8] = [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xFF), UInt8(destinationPort >> 8), UInt8(destinationPort & 0xFF),
                        UInt8(length >> 8), UInt8(length & 0xFF), 0, 0] + payload
    return finish(source: source, destination: destination, protocolNumber: 17, segment: udp, segmentLength: length)
}

private func finish(source: IPAddress, destination: IPAddress, protocolNumber: UInt8, segment: [UInt8], segmentLength: Int) -> [UInt8] {
    var packet: [UInt8]
    switch (source, destination) {
    case let (.v4(s), .v4(d)):
        packet = [UInt8](repeating: 0, count: 20)
        packet.withUnsafeMutableBytes { buffer in
            _ = IPv4Header.write(into: buffer, source: s, destination: d, protocolNumber: protocolNumber, payloadLength: segmentLength)
        }
    case let (.v6(s), .v6(d)):
        packet = [UInt8](repeating: 0, count: 40)
        packet.withUnsafeMutableBytes { buffer in
            _ = IPv6Header.write(into: buffer, source: s, destination: d, nextHeader: protocolNumber, payloadLength: segmentLength)
        }
    default:
        fatalError("mixed families")
    }
    packet += segment
    let parsed = try! ParsedPacket.parse(packet)
    let field = TransportChecksum.fieldOffset(parsed)!
    var checksum = naiveTransportChecksum(packet: packet, parsed: parsed, fieldOffset: field)
    if protocolNumber == 17 && checksum == 0 { checksum = 0xFFFF }
    packet[field] = UInt8(checksum >> 8)
    packet[field + 1] = UInt8(checksum & 0xFF)
    return packet
}

let v4Client = IPAddress("192.0.2.10")!
let v4Server = IPAddress("203.0.113.5")!
let v6Client = IPAddress("2001:db8:1::10")!
let v6Server = IPAddress("2001:db8:2::5")!
