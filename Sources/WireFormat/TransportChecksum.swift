// TCP and UDP checksums over the pseudo-header (RFC 9293 section 3.1, RFC 768, RFC 8200
// section 8.1): full computation, verification, and in-place filling of built packets.

/// Checksums of TCP and UDP segments inside an IP packet.
public enum TransportChecksum {
    /// The pseudo-header's contribution (source, destination, protocol, upper-layer length).
    @inlinable
    public static func pseudoHeader(
        source: IPAddress, destination: IPAddress, protocolNumber: UInt8, length: Int
    ) -> InternetChecksum {
        var c = InternetChecksum()
        switch (source, destination) {
        case let (.v4(s), .v4(d)):
            c.add(s)
            c.add(d)
            c.add(wireWord: UInt16(protocolNumber))
            c.add(wireWord: UInt16(truncatingIfNeeded: length))
        case let (.v6(s), .v6(d)):
            c.add(s)
            c.add(d)
            c.add(wireWord32: UInt32(truncatingIfNeeded: length))
            c.add(wireWord32: UInt32(protocolNumber))
        default:
            preconditionFailure("pseudo-header with mixed address families")
        }
        return c
    }

    /// The one's-complement sum of pseudo-header plus segment as it stands (checksum field included).
    @inlinable
    static func sumWithField(_ packet: UnsafeRawBufferPointer, _ parsed: ParsedPacket) -> InternetChecksum {
        let length = parsed.transportLength
        var c = pseudoHeader(source: parsed.source, destination: parsed.destination,
                             protocolNumber: parsed.protocolNumber, length: length)
        let start = parsed.transportOffset
        c.add(bytes: UnsafeRawBufferPointer(rebasing: packet[start..<start + length]))
        return c
    }

    /// Offset of the checksum field in the packet, nil when the transport is not TCP or UDP.
    @inlinable
    public static func fieldOffset(_ parsed: ParsedPacket) -> Int? {
        switch parsed.transport {
        case .tcp: parsed.transportOffset + 16
        case .udp: parsed.transportOffset + 6
        case .other: nil
        }
    }

    /// Whether the TCP or UDP checksum is right (a zero UDP checksum over IPv4 means "none": valid).
    @inlinable
    public static func isValid(_ packet: UnsafeRawBufferPointer, _ parsed: ParsedPacket) -> Bool {
        if case .udp(let udp) = parsed.transport, udp.checksum == 0, parsed.source.isIPv4 { return true }
        guard fieldOffset(parsed) != nil, !parsed.isFragment else { return false }
        return sumWithField(packet, parsed).foldedSum == 0xFFFF
    }

    /// Computes the full checksum and writes it into the packet (UDP's 0 is sent as 0xFFFF).
    @inlinable
    public static func fill(_ packet: UnsafeMutableRawBufferPointer, _ parsed: ParsedPacket) {
        guard let field = fieldOffset(parsed) else { return }
        packet.storeWireUInt16(0, at: field)
        var checksum = sumWithField(UnsafeRawBufferPointer(packet), parsed).checksum
        if case .udp = parsed.transport, checksum == 0 { checksum = 0xFFFF }
        packet.storeWireUInt16(checksum, at: field)
    }
}
