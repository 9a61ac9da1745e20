public import SystemPackage
public import WireFormat
import CSyscalls
import Glibc

/// Unconnected UDP: one socket answering many peers (the PCP server), and multicast sends.
extension Socket {
    /// Receives one datagram into `buffer`: its length (truncated to the buffer) and its source;
    /// nil when nothing is waiting. A source of another family than IPv4/IPv6 is dropped.
    public func receiveDatagram(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> (count: Int, source: SocketAddress)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let received = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(Errno) -> Int? in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(Errno) -> Int? in
                try retryingEINTRUnlessWouldBlock { recvfrom(rawValue, buffer.baseAddress, buffer.count, 0, raw, &length) }
            }
        }
        guard let received else { return nil }
        guard let source = SocketAddress(storage) else { return (0, SocketAddress(.v4(.init(0)), port: 0)) }
        return (received, source)
    }

    /// Sends one datagram to `destination`; false when the socket buffer is full (dropped).
    @discardableResult
    public func sendDatagram(_ bytes: [UInt8], to destination: SocketAddress) throws(Errno) -> Bool {
        let sent = try destination.withSockAddr { address, length in
            Result { () throws(Errno) -> Int? in
                try retryingEINTRUnlessWouldBlock {
                    bytes.withUnsafeBytes { Glibc.sendto(rawValue, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length) }
                }
            }
        }.get()
        return sent != nil
    }

    /// Multicasts leave from the interface of `address` (IP_MULTICAST_IF / IPV6_MULTICAST_IF with
    /// its interface index), with a hop limit of 1: link-local groups stay on the link.
    public func setMulticastSource(_ address: IPAddress, interfaceIndex: UInt32) throws(Errno) {
        switch address {
        case .v4(let v4):
            // struct in_addr, network order, is what IP_MULTICAST_IF takes.
            try setOption(level: Int32(IPPROTO_IP), name: IP_MULTICAST_IF, Int32(bitPattern: v4.value.bigEndian))
            try setOption(level: Int32(IPPROTO_IP), name: IP_MULTICAST_TTL, 1)
        case .v6:
            try setOption(level: Int32(IPPROTO_IPV6), name: IPV6_MULTICAST_IF, Int32(bitPattern: interfaceIndex))
            try setOption(level: Int32(IPPROTO_IPV6), name: IPV6_MULTICAST_HOPS, 1)
        }
    }
}
