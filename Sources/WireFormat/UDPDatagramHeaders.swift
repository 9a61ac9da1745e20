/// The IP and UDP headers of a datagram built in place for a raw socket (IPv4 20 bytes or IPv6
/// 40 bytes, then UDP 8), with the full UDP checksum over the payload kept elsewhere: FACTS.md
/// section 3, the kernel drops locally generated datagrams whose checksum is not whole.
public enum UDPDatagramHeaders {
    /// Room for the longest header block (IPv6 + UDP).
    public static let maximumLength = IPv6Header.fixedLength + UDPHeader.length
    /// Largest payload a header block can describe for `destination`'s family.
    public static func largestPayload(for destination: IPAddress) -> Int {
        destination.isIPv4 ? 0xFFFF - IPv4Header.minimumLength - UDPHeader.length : 0xFFFF - UDPHeader.length
    }

    /// Writes the headers for `payload` at the start of `buffer` and returns their length. The
    /// IPv4 identification and header checksum are left 0: the kernel fills both for raw sockets.
    @inlinable
    public static func write(
        into buffer: UnsafeMutableRawBufferPointer, source: IPAddress, sourcePort: UInt16,
        destination: IPAddress, destinationPort: UInt16, payload: UnsafeRawBufferPointer, hopLimit: UInt8 = 64
    ) -> Int {
        let udpLength = UDPHeader.length + payload.count
        let ipLength: Int
        switch (source, destination) {
        case let (.v4(s), .v4(d)):
            precondition(buffer.count >= IPv4Header.minimumLength + UDPHeader.length && udpLength + 20 <= 0xFFFF)
            ipLength = IPv4Header.minimumLength
            buffer.storeWireUInt16(0x4500, at: 0)                     // version 4, IHL 5, DSCP/ECN 0
            buffer.storeWireUInt16(UInt16(ipLength + udpLength), at: 2)
            buffer.storeWireUInt32(0x0000_4000, at: 4)                // id 0 (kernel picks), DF
            buffer.storeWireUInt16(UInt16(hopLimit) << 8 | UInt16(IPProtocolNumber.udp), at: 8)
            buffer.storeWireUInt16(0, at: 10)                         // header checksum: the kernel's
            buffer.storeWireIPv4Address(s, at: 12)
            buffer.storeWireIPv4Address(d, at: 16)
        case let (.v6(s), .v6(d)):
            precondition(buffer.count >= maximumLength && udpLength <= 0xFFFF)
            ipLength = IPv6Header.fixedLength
            buffer.storeWireUInt32(0x6000_0000, at: 0)
            buffer.storeWireUInt16(UInt16(udpLength), at: 4)
            buffer.storeWireUInt16(UInt16(IPProtocolNumber.udp) << 8 | UInt16(hopLimit), at: 6)
            buffer.storeWireIPv6Address(s, at: 8)
            buffer.storeWireIPv6Address(d, at: 24)
        default:
            preconditionFailure("datagram with mixed address families")
        }
        let udp = UnsafeMutableRawBufferPointer(rebasing: buffer[ipLength..<ipLength + UDPHeader.length])
        UDPHeader.write(into: udp, sourcePort: sourcePort, destinationPort: destinationPort, payloadLength: payload.count)
        var sum = TransportChecksum.pseudoHeader(source: source, destination: destination,
                                                 protocolNumber: IPProtocolNumber.udp, length: udpLength)
        sum.add(bytes: UnsafeRawBufferPointer(udp))
        sum.add(bytes: payload)
        let checksum = sum.checksum
        udp.storeWireUInt16(checksum == 0 ? 0xFFFF : checksum, at: 6)  // RFC 768: 0 means "none"
        return ipLength + UDPHeader.length
    }
}
