/// An IP packet decoded down to its transport header: addresses, protocol and byte offsets into
/// the buffer it was parsed from. Holds no pointer, so it can be kept after the buffer is reused.
@frozen
public struct ParsedPacket: Equatable, Sendable {
    public var source: IPAddress
    public var destination: IPAddress
    /// Upper-layer protocol (after IPv6 extension headers).
    public var protocolNumber: UInt8
    /// Where the transport header starts (IP header plus extension headers).
    public var transportOffset: Int
    /// End of the packet as the IP length says (bytes past it are link padding).
    public var packetLength: Int
    public var transport: Transport
    /// Set for any fragment (first or not): the transport checksum covers data not in this buffer.
    public var isFragment: Bool

    @inlinable
    public init(source: IPAddress, destination: IPAddress, protocolNumber: UInt8, transportOffset: Int, packetLength: Int, transport: Transport, isFragment: Bool) {
        self.source = source
        self.destination = destination
        self.protocolNumber = protocolNumber
        self.transportOffset = transportOffset
        self.packetLength = packetLength
        self.transport = transport
        self.isFragment = isFragment
    }

    @frozen
    public enum Transport: Equatable, Sendable {
        case tcp(TCPHeader)
        case udp(UDPHeader)
        /// Another protocol, or a non-first fragment (no transport header in this packet).
        case other
    }

    /// Where the transport payload starts (after TCP options or the UDP header).
    @inlinable
    public var payloadOffset: Int {
        switch transport {
        case .tcp(let tcp): transportOffset + tcp.headerLength
        case .udp: transportOffset + UDPHeader.length
        case .other: transportOffset
        }
    }

    /// Bytes of transport payload in this packet.
    @inlinable
    public var payloadLength: Int {
        switch transport {
        case .udp(let udp): udp.totalLength - UDPHeader.length
        default: packetLength - payloadOffset
        }
    }

    /// Length of the transport segment (header + payload) as covered by its checksum.
    @inlinable
    public var transportLength: Int {
        switch transport {
        case .udp(let udp): udp.totalLength
        default: packetLength - transportOffset
        }
    }

    /// Decodes an IPv4 or IPv6 packet that starts at the first byte of `bytes`.
    @inlinable @inline(__always)
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(PacketError) -> ParsedPacket {
        guard let first = bytes.first else { throw .truncated(layer: .ipv4, needed: 1, available: 0) }
        let source: IPAddress
        let destination: IPAddress
        let protocolNumber: UInt8
        let transportOffset: Int
        let packetLength: Int
        let isFragment: Bool
        let hasTransportHeader: Bool
        switch first >> 4 {
        case 4:
            let ip = try IPv4Header.parse(bytes)
            source = .v4(ip.source)
            destination = .v4(ip.destination)
            protocolNumber = ip.protocolNumber
            transportOffset = ip.headerLength
            packetLength = ip.totalLength
            isFragment = ip.isFragment
            hasTransportHeader = ip.fragmentOffset == 0
        case 6:
            let ip = try IPv6Header.parse(bytes)
            source = .v6(ip.source)
            destination = .v6(ip.destination)
            protocolNumber = ip.upperLayerProtocol
            transportOffset = ip.upperLayerOffset
            packetLength = IPv6Header.fixedLength + ip.payloadLength
            isFragment = ip.isFragment
            hasTransportHeader = !ip.isNonFirstFragment
        default:
            throw .badVersion(first >> 4)
        }
        let segment = UnsafeRawBufferPointer(rebasing: bytes[transportOffset..<packetLength])
        let transport: Transport
        switch protocolNumber {
        case IPProtocolNumber.tcp where hasTransportHeader:
            transport = .tcp(try TCPHeader.parse(segment))
        case IPProtocolNumber.udp where hasTransportHeader:
            transport = .udp(try UDPHeader.parse(segment))
        default:
            transport = .other
        }
        return ParsedPacket(
            source: source, destination: destination, protocolNumber: protocolNumber,
            transportOffset: transportOffset, packetLength: packetLength,
            transport: transport, isFragment: isFragment
        )
    }
}

extension ParsedPacket {
    /// Safe entry point for callers holding an array (tests, tools); the data path passes its buffer.
    @inlinable
    public static func parse(_ bytes: [UInt8]) throws(PacketError) -> ParsedPacket {
        // withUnsafeBytes cannot forward a typed error, so carry it out as a Result.
        let result: Result<ParsedPacket, PacketError> = bytes.withUnsafeBytes { buffer in
            do throws(PacketError) { return .success(try parse(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
