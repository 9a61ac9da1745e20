// In-place address, port and TCP window rewrites with RFC 1624 incremental checksum updates: the
// IPv4 header checksum and the TCP/UDP checksum (whose pseudo-header covers the addresses). The
// SYN gate's window rewrite is the live user; the address and port rewrites are library code.
// Not for packets handed back to the kernel after local generation: FACTS.md section 3 says
// those need a full transport checksum (`TransportChecksum.fill`).

/// Which end of a packet a rewrite changes.
public enum PacketEndpoint: Sendable { case source, destination }

extension ParsedPacket {
    /// Replaces an IPv4 address and adjusts the header and transport checksums.
    @inlinable @inline(__always)
    public mutating func rewriteIPv4Address(
        _ endpoint: PacketEndpoint, to new: IPv4Address, in packet: UnsafeMutableRawBufferPointer
    ) {
        let current = endpoint == .source ? source : destination
        guard case .v4(let old) = current else { preconditionFailure("IPv4 rewrite of a non-IPv4 packet") }
        packet.storeWireIPv4Address(new, at: endpoint == .source ? 12 : 16)
        packet.storeWireUInt16(InternetChecksum.adjusted(packet.wireUInt16(at: 10), replacing: old, with: new), at: 10)
        adjustTransportChecksum(in: packet) { checksum, isUDP in
            isUDP ? InternetChecksum.adjustedUDP(checksum, replacing: old, with: new)
                  : InternetChecksum.adjusted(checksum, replacing: old, with: new)
        }
        if endpoint == .source { source = .v4(new) } else { destination = .v4(new) }
    }

    /// Replaces an IPv6 address and adjusts the transport checksum (IPv6 has no header checksum).
    @inlinable
    public mutating func rewriteIPv6Address(
        _ endpoint: PacketEndpoint, to new: IPv6Address, in packet: UnsafeMutableRawBufferPointer
    ) {
        let current = endpoint == .source ? source : destination
        guard case .v6(let old) = current else { preconditionFailure("IPv6 rewrite of a non-IPv6 packet") }
        packet.storeWireIPv6Address(new, at: endpoint == .source ? 8 : 24)
        adjustTransportChecksum(in: packet) { checksum, isUDP in
            let c = InternetChecksum.adjusted(checksum, replacing: old, with: new)
            return isUDP && c == 0 ? 0xFFFF : c
        }
        if endpoint == .source { source = .v6(new) } else { destination = .v6(new) }
    }

    /// Replaces the TCP or UDP port and adjusts the transport checksum.
    @inlinable @inline(__always)
    public mutating func rewritePort(_ endpoint: PacketEndpoint, to new: UInt16, in packet: UnsafeMutableRawBufferPointer) {
        let fieldOffset = transportOffset + (endpoint == .source ? 0 : 2)
        let old: UInt16
        switch transport {
        case .tcp(var tcp):
            old = endpoint == .source ? tcp.sourcePort : tcp.destinationPort
            if endpoint == .source { tcp.sourcePort = new } else { tcp.destinationPort = new }
            transport = .tcp(tcp)
        case .udp(var udp):
            old = endpoint == .source ? udp.sourcePort : udp.destinationPort
            if endpoint == .source { udp.sourcePort = new } else { udp.destinationPort = new }
            transport = .udp(udp)
        case .other:
            preconditionFailure("port rewrite of a packet without TCP or UDP header")
        }
        packet.storeWireUInt16(new, at: fieldOffset)
        adjustTransportChecksum(in: packet) { checksum, isUDP in
            isUDP ? InternetChecksum.adjustedUDP(checksum, replacing: old, with: new)
                  : InternetChecksum.adjusted(checksum, replacing: old, with: new)
        }
    }

    /// Replaces the TCP window field. `checksumIsPartial`: the kernel marked the packet
    /// CHECKSUM_PARTIAL (a local sender, veth), so the field holds no full checksum to update and
    /// the whole sum is computed; otherwise an RFC 1624 incremental update.
    @inlinable
    public mutating func rewriteTCPWindow(to new: UInt16, in packet: UnsafeMutableRawBufferPointer, checksumIsPartial: Bool) {
        guard case .tcp(var tcp) = transport else { preconditionFailure("window rewrite of a packet without TCP header") }
        let old = tcp.window
        tcp.window = new
        transport = .tcp(tcp)
        packet.storeWireUInt16(new, at: transportOffset + 14)
        if checksumIsPartial {
            TransportChecksum.fill(packet, self)
            tcp.checksum = packet.wireUInt16(at: transportOffset + 16)
            transport = .tcp(tcp)
        } else {
            adjustTransportChecksum(in: packet) { checksum, _ in InternetChecksum.adjusted(checksum, replacing: old, with: new) }
        }
    }

    @inlinable @inline(__always)
    mutating func adjustTransportChecksum(
        in packet: UnsafeMutableRawBufferPointer, _ adjust: (UInt16, Bool) -> UInt16
    ) {
        switch transport {
        case .tcp(var tcp):
            tcp.checksum = adjust(packet.wireUInt16(at: transportOffset + 16), false)
            packet.storeWireUInt16(tcp.checksum, at: transportOffset + 16)
            transport = .tcp(tcp)
        case .udp(var udp):
            udp.checksum = adjust(packet.wireUInt16(at: transportOffset + 6), true)
            packet.storeWireUInt16(udp.checksum, at: transportOffset + 6)
            transport = .udp(udp)
        case .other:
            break
        }
    }
}
