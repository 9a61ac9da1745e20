public import SystemPackage
public import WireFormat
import CSyscalls
import Glibc

/// A raw IP socket that sends packets whose IP header we built (IPPROTO_RAW implies
/// IP_HDRINCL / IPV6_HDRINCL). Transparent, so the source may be an address on no interface
/// (a pool address, the remote end of a bonded flow). Needs CAP_NET_RAW.
public struct RawSocket: Sendable {
    public let rawValue: Int32
    public let family: Int32

    /// Opens a non-blocking raw socket for `family` (AF_INET or AF_INET6) with a send buffer of
    /// at least `sendBuffer` bytes (forced when CAP_NET_ADMIN allows, so bursts are not dropped).
    public static func open(family: Int32, sendBuffer: Int32 = 4 << 20) throws(Errno) -> RawSocket {
        let type = Int32(SOCK_RAW.rawValue) | PLAINMODE_SOCK_NONBLOCK | PLAINMODE_SOCK_CLOEXEC
        let fd = try retryingEINTR { Glibc.socket(family, type, Int32(IPPROTO_RAW)) }
        let socket = Socket(rawValue: fd)
        do {
            try socket.setTransparent(family: family)
            if (try? socket.setOption(level: SOL_SOCKET, name: SO_SNDBUFFORCE, sendBuffer)) == nil {
                try socket.setOption(level: SOL_SOCKET, name: SO_SNDBUF, sendBuffer)
            }
        } catch {
            socket.close()
            throw error
        }
        return RawSocket(rawValue: fd, family: family)
    }

    /// Sends one packet made of `headers` then `payload` (two iovecs, no copy) to `destination`.
    /// Returns false when the send buffer is full (the packet is not sent).
    public func send(headers: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, to destination: IPAddress) throws(Errno) -> Bool {
        let result = SocketAddress(destination, port: 0).withSockAddr { address, length -> Int in
            var vectors = (iovec(iov_base: UnsafeMutableRawPointer(mutating: headers.baseAddress), iov_len: headers.count),
                           iovec(iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress), iov_len: payload.count))
            return withUnsafeMutablePointer(to: &vectors) { pair -> Int in
                var message = msghdr()
                message.msg_name = UnsafeMutableRawPointer(mutating: address)
                message.msg_namelen = length
                message.msg_iov = UnsafeMutableRawPointer(pair).assumingMemoryBound(to: iovec.self)
                message.msg_iovlen = payload.isEmpty ? 1 : 2
                while true {
                    let sent = Glibc.sendmsg(rawValue, &message, Int32(MSG_DONTWAIT))
                    if sent >= 0 { return sent }
                    if errno != EINTR { return -Int(errno) }
                }
            }
        }
        if result >= 0 { return true }
        if result == -Int(EAGAIN) { return false }
        throw Errno(rawValue: Int32(-result))
    }

    public func close() { _ = Glibc.close(rawValue) }
}

extension Socket {
    /// Sends `prefix` then `payload` in one call (a framed record: length, datagram); nil when
    /// the socket buffer is full, else the bytes taken, which may be fewer than offered.
    public func send(prefix: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) throws(Errno) -> Int? {
        var vectors = (iovec(iov_base: UnsafeMutableRawPointer(mutating: prefix.baseAddress), iov_len: prefix.count),
                       iovec(iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress), iov_len: payload.count))
        return try withUnsafeMutablePointer(to: &vectors) { pair throws(Errno) -> Int? in
            var message = msghdr()
            message.msg_iov = UnsafeMutableRawPointer(pair).assumingMemoryBound(to: iovec.self)
            message.msg_iovlen = payload.isEmpty ? 1 : 2
            return try retryingEINTRUnlessWouldBlock { Glibc.sendmsg(rawValue, &message, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        }
    }

    /// Sends `bytes` without blocking; nil when the socket buffer is full.
    public func send(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int? {
        try retryingEINTRUnlessWouldBlock { Glibc.send(rawValue, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
    }
}
