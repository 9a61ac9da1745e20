import WireFormat

/// The textbook checksum, one big-endian 16-bit word at a time: the independent reference.
func naiveChecksum(_ bytes: [UInt8]) -> UInt16 {
    var sum: UInt32 = 0
    var i = 0
    while i + 1 < bytes.count {
        sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
        i += 2
    }
    if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
    while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
    return ~UInt16(sum)
}

func be16(_ b: [UInt8], _ offset: Int) -> UInt16 { UInt16(b[offset]) << 8 | UInt16(b[offset + 1]) }

/// Pseudo-header + segment with the checksum field zeroed, summed naively.
func naiveTransportChecksum(packet: [UInt8], parsed: ParsedPacket, fieldOffset: Int) -> UInt16 {
    var data: [UInt8] = []
    let length = parsed.transportLength
    switch (parsed.source, parsed.destination) {
    case let (.v4(s), .v4(d)):
        for v in [s.value, d.value] { data += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        data += [0, parsed.protocolNumber, UInt8(length >> 8), UInt8(length & 0xFF)]
    case let (.v6(s), .v6(d)):
        for a in [s, d] { for i in 0..<8 { let g = a.group(i); data += [UInt8(g >> 8), UInt8(g & 0xFF)] } }
        data += [0, 0, UInt8(length >> 8), UInt8(length & 0xFF), 0, 0, 0, parsed.protocolNumber]
    default:
        fatalError("mixed families")
    }
    var segment = Array(packet[parsed.transportOffset..<parsed.transportOffset + length])
    segment[fieldOffset - parsed.transportOffset] = 0
    segment[fieldOffset - parsed.transportOffset + 1] = 0
    return naiveChecksum(data + segment)
}
