// Draft section 7.2: a UDP datagram and a TCP segment carrying the same payload share that
// payload's sum, so one checksum can be derived from the other without touching the payload:
// payloadSum = ~checksum - pseudoHeader - header(with checksum field 0); then re-add the other side.

extension TransportChecksum {
    /// The one's-complement sum of a segment's payload, recovered from its checksum.
    /// `header` is the transport header as sent (its checksum field is skipped).
    @inlinable
    public static func payloadSum(
        fromChecksum checksum: UInt16, pseudoHeader: InternetChecksum,
        header: UnsafeRawBufferPointer, checksumFieldOffset: Int
    ) -> UInt16 {
        var headerSum = InternetChecksum()
        headerSum.add(bytes: header)
        let headerWithoutField = OnesComplement.subtract(headerSum.foldedSum, header.wireUInt16(at: checksumFieldOffset))
        return OnesComplement.subtract(OnesComplement.subtract(~checksum, pseudoHeader.foldedSum), headerWithoutField)
    }

    /// The UDP checksum for a datagram whose payload is the payload of a TCP segment whose
    /// checksum is `tcpChecksum`. With `framed`, the TCP payload is `len16 || datagram` (draft
    /// section 5.1) and the length word is taken out of the sum.
    @inlinable
    public static func udpChecksum(
        fromTCPChecksum tcpChecksum: UInt16, tcpHeader: UnsafeRawBufferPointer,
        tcpSource: IPAddress, tcpDestination: IPAddress, tcpPayloadLength: Int,
        udpSource: IPAddress, udpDestination: IPAddress, udpSourcePort: UInt16, udpDestinationPort: UInt16,
        framed: Bool = false
    ) -> UInt16 {
        let tcpPseudo = pseudoHeader(source: tcpSource, destination: tcpDestination,
                                     protocolNumber: IPProtocolNumber.tcp, length: tcpHeader.count + tcpPayloadLength)
        var data = payloadSum(fromChecksum: tcpChecksum, pseudoHeader: tcpPseudo, header: tcpHeader, checksumFieldOffset: 16)
        let datagramLength = framed ? tcpPayloadLength - 2 : tcpPayloadLength
        // The length prefix is the first (even-aligned) word of the TCP payload.
        if framed { data = OnesComplement.subtract(data, UInt16(truncatingIfNeeded: datagramLength)) }
        let udpLength = UDPHeader.length + datagramLength
        var c = pseudoHeader(source: udpSource, destination: udpDestination,
                             protocolNumber: IPProtocolNumber.udp, length: udpLength)
        c.add(wireWord: udpSourcePort)
        c.add(wireWord: udpDestinationPort)
        c.add(wireWord: UInt16(truncatingIfNeeded: udpLength))
        c.add(wireWord: data)
        let checksum = c.checksum
        return checksum == 0 ? 0xFFFF : checksum
    }

    /// The TCP checksum for a segment (header `tcpHeader`, checksum field ignored) whose payload
    /// is the payload of a UDP datagram whose checksum is `udpChecksum` (non-zero). With `framed`,
    /// the TCP payload is `len16 || datagram`.
    @inlinable
    public static func tcpChecksum(
        fromUDPChecksum udpChecksum: UInt16, udpHeader: UnsafeRawBufferPointer,
        udpSource: IPAddress, udpDestination: IPAddress,
        tcpHeader: UnsafeRawBufferPointer, tcpSource: IPAddress, tcpDestination: IPAddress,
        framed: Bool = false
    ) -> UInt16 {
        let udpLength = Int(udpHeader.wireUInt16(at: 4))
        let datagramLength = udpLength - UDPHeader.length
        let udpPseudo = pseudoHeader(source: udpSource, destination: udpDestination,
                                     protocolNumber: IPProtocolNumber.udp, length: udpLength)
        var data = payloadSum(fromChecksum: udpChecksum, pseudoHeader: udpPseudo,
                              header: UnsafeRawBufferPointer(rebasing: udpHeader[0..<UDPHeader.length]),
                              checksumFieldOffset: 6)
        if framed { data = OnesComplement.add(data, UInt16(truncatingIfNeeded: datagramLength)) }
        let tcpPayloadLength = framed ? datagramLength + 2 : datagramLength
        var c = pseudoHeader(source: tcpSource, destination: tcpDestination,
                             protocolNumber: IPProtocolNumber.tcp, length: tcpHeader.count + tcpPayloadLength)
        var headerSum = InternetChecksum()
        headerSum.add(bytes: tcpHeader)
        c.add(wireWord: OnesComplement.subtract(headerSum.foldedSum, tcpHeader.wireUInt16(at: 16)))
        c.add(wireWord: data)
        return c.checksum
    }
}
