public import SystemPackage
import CSyscalls
import Glibc

/// A socket file descriptor. A plain value: the owner closes it exactly once (`close` or `abort`).
public struct Socket: Hashable, Sendable {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// IP protocol for MPTCP sockets (Linux 5.6+).
    public static let mptcp: Int32 = PLAINMODE_IPPROTO_MPTCP

    /// A non-blocking, close-on-exec stream socket; `protocolNumber` 0 for TCP, `Socket.mptcp` for MPTCP.
    public static func stream(family: Int32, protocolNumber: Int32 = 0) throws(Errno) -> Socket {
        let type = Int32(SOCK_STREAM.rawValue) | PLAINMODE_SOCK_NONBLOCK | PLAINMODE_SOCK_CLOEXEC
        return Socket(rawValue: try retryingEINTR { Glibc.socket(family, type, protocolNumber) })
    }

    /// A non-blocking, close-on-exec datagram socket: UDP (`AF_INET`/`AF_INET6`: the IPFIX and syslog
    /// exporters, connected to their collectors) or `AF_UNIX` (the local syslog socket, /dev/log).
    public static func datagram(family: Int32) throws(Errno) -> Socket {
        let type = Int32(SOCK_DGRAM.rawValue) | PLAINMODE_SOCK_NONBLOCK | PLAINMODE_SOCK_CLOEXEC
        return Socket(rawValue: try retryingEINTR { Glibc.socket(family, type, 0) })
    }

    /// A non-blocking UDP socket bound to `source`, which need not be local (IP_TRANSPARENT /
    /// IPV6_TRANSPARENT, CAP_NET_ADMIN): datagrams sent through it come from `source`. Several
    /// may share one source (SO_REUSEADDR). Never fragments (DF; too big is EMSGSIZE).
    public static func transparentDatagram(boundTo source: SocketAddress, sendBuffer: Int32) throws(Errno) -> Socket {
        let type = Int32(SOCK_DGRAM.rawValue) | PLAINMODE_SOCK_NONBLOCK | PLAINMODE_SOCK_CLOEXEC
        let socket = Socket(rawValue: try retryingEINTR { Glibc.socket(source.family, type, 0) })
        do {
            try socket.setTransparent(family: source.family)
            try socket.setReuseAddress()
            if source.family == AF_INET6 {
                try socket.setOption(level: Int32(IPPROTO_IPV6), name: IPV6_MTU_DISCOVER, PLAINMODE_IPV6_PMTUDISC_DO)
            } else {
                try socket.setOption(level: Int32(IPPROTO_IP), name: IP_MTU_DISCOVER, PLAINMODE_IP_PMTUDISC_DO)
            }
            try socket.setSendBuffer(atLeast: sendBuffer)
            try socket.bind(source)
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// A blocking Unix stream socket (the control socket).
    public static func unixStream() throws(Errno) -> Socket {
        Socket(rawValue: try retryingEINTR { Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | PLAINMODE_SOCK_CLOEXEC, 0) })
    }

    // MARK: options

    public func setOption(level: Int32, name: Int32, _ value: Int32) throws(Errno) {
        var value = value
        _ = try retryingEINTR { setsockopt(rawValue, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) }
    }

    public func option(level: Int32, name: Int32) throws(Errno) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try retryingEINTR { getsockopt(rawValue, level, name, &value, &length) }
        return value
    }

    /// The socket's protocol (SO_PROTOCOL): an MPTCP listener hands out a plain TCP socket
    /// (`IPPROTO_TCP`) for a connection whose SYN carried no MP_CAPABLE.
    public func protocolNumber() throws(Errno) -> Int32 {
        try option(level: SOL_SOCKET, name: SO_PROTOCOL)
    }

    /// Whether an MPTCP socket still runs MPTCP (TCP_IS_MPTCP): false once it fell back to TCP.
    public func isMultipath() -> Bool {
        ((try? option(level: Int32(IPPROTO_TCP), name: PLAINMODE_TCP_IS_MPTCP)) ?? 0) != 0
    }

    /// Whether the peer acknowledged the data this socket sent in its SYN (TCP_INFO `tcpi_options`
    /// has TCPI_OPT_SYN_DATA; an MPTCP socket answers for its first subflow). nil when unknown.
    public func synDataAcknowledged() -> Bool? {
        // The first 8 bytes of struct tcp_info; `tcpi_options` is byte 5.
        var head: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: head))
        guard getsockopt(rawValue, Int32(IPPROTO_TCP), PLAINMODE_TCP_INFO, &head, &length) == 0, length >= 6 else { return nil }
        return head.5 & UInt8(PLAINMODE_TCPI_OPT_SYN_DATA) != 0
    }

    /// The pending error of a non-blocking connect (SO_ERROR), nil when it succeeded.
    public func pendingError() -> Errno? {
        let code = (try? option(level: SOL_SOCKET, name: SO_ERROR)) ?? EIO
        return code == 0 ? nil : Errno(rawValue: code)
    }

    /// SO_REUSEADDR: bind a port whose earlier connection is still in TIME_WAIT.
    public func setReuseAddress() throws(Errno) {
        try setOption(level: SOL_SOCKET, name: SO_REUSEADDR, 1)
    }

    /// IPV6_V6ONLY: an IPv6 listener that leaves IPv4 to its own listener.
    public func setIPv6Only() throws(Errno) {
        try setOption(level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, 1)
    }

    /// IP_TRANSPARENT / IPV6_TRANSPARENT: bind to, and accept for, addresses that are not local.
    public func setTransparent(family: Int32) throws(Errno) {
        if family == AF_INET6 {
            try setOption(level: Int32(IPPROTO_IPV6), name: PLAINMODE_IPV6_TRANSPARENT, 1)
        } else {
            try setOption(level: Int32(IPPROTO_IP), name: PLAINMODE_IP_TRANSPARENT, 1)
        }
    }

    /// Server-side TCP Fast Open with `queueLength` and no cookie required (SYN data accepted at once).
    public func enableFastOpenWithoutCookie(queueLength: Int32) throws(Errno) {
        try setOption(level: Int32(IPPROTO_TCP), name: PLAINMODE_TCP_FASTOPEN, queueLength)
        try setOption(level: Int32(IPPROTO_TCP), name: PLAINMODE_TCP_FASTOPEN_NO_COOKIE, 1)
    }

    /// The TCP congestion control (e.g. "cubic"); on an MPTCP socket it applies to every
    /// subflow, present and future. ENOENT: not available; EPERM: not allowed without CAP_NET_ADMIN.
    public func setCongestionControl(_ name: String) throws(Errno) {
        var bytes = Array(name.utf8)
        let result = bytes.withUnsafeMutableBytes {
            Glibc.setsockopt(rawValue, Int32(IPPROTO_TCP), TCP_CONGESTION, $0.baseAddress, socklen_t($0.count))
        }
        if result != 0 { throw Errno(rawValue: errno) }
    }

    /// SO_SNDBUFFORCE: a fixed send buffer of `bytes` (the kernel doubles it for its bookkeeping),
    /// past net.core.wmem_max and without autotuning. EPERM without CAP_NET_ADMIN.
    public func setSendBufferForced(_ bytes: Int32) throws(Errno) {
        try setOption(level: SOL_SOCKET, name: SO_SNDBUFFORCE, bytes)
    }

    /// SO_RCVBUFFORCE: a fixed receive buffer, as `setSendBufferForced` (on MPTCP, every subflow too).
    public func setReceiveBufferForced(_ bytes: Int32) throws(Errno) {
        try setOption(level: SOL_SOCKET, name: SO_RCVBUFFORCE, bytes)
    }

    /// A send buffer of at least `bytes`: forced past net.core.wmem_max when CAP_NET_ADMIN
    /// allows (so bursts are not dropped), else as large as that limit lets it be.
    public func setSendBuffer(atLeast bytes: Int32) throws(Errno) {
        if (try? setSendBufferForced(bytes)) == nil {
            try setOption(level: SOL_SOCKET, name: SO_SNDBUF, bytes)
        }
    }

    /// TCP_NODELAY: a write leaves at once instead of waiting for the acknowledgement of a small
    /// segment in flight (Nagle). A relay sets it on both legs: the endpoints' own Nagle has
    /// already run, and a relay that waited again would add an access round trip (on MPTCP it
    /// applies to every subflow).
    public func setNoDelay() throws(Errno) {
        try setOption(level: Int32(IPPROTO_TCP), name: TCP_NODELAY, 1)
    }

    /// Client side: send SYN data without a cookie.
    public func enableFastOpenClientWithoutCookie() throws(Errno) {
        try setOption(level: Int32(IPPROTO_TCP), name: PLAINMODE_TCP_FASTOPEN_NO_COOKIE, 1)
    }

    // MARK: connection set-up

    public func bind(_ address: SocketAddress) throws(Errno) {
        let result = address.withSockAddr { Glibc.bind(rawValue, $0, $1) }
        if result != 0 { throw Errno(rawValue: errno) }
    }

    public func listen(backlog: Int32) throws(Errno) {
        _ = try retryingEINTR { Glibc.listen(rawValue, backlog) }
    }

    /// Accepts one connection, non-blocking and close-on-exec; nil when none is waiting.
    public func accept() throws(Errno) -> (socket: Socket, peer: SocketAddress?)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(Errno) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(Errno) in
                try retryingEINTRUnlessWouldBlock {
                    plainmode_accept4(rawValue, address, &length, PLAINMODE_SOCK_NONBLOCK | PLAINMODE_SOCK_CLOEXEC)
                }
            }
        }
        guard let fd else { return nil }
        return (Socket(rawValue: fd), SocketAddress(storage))
    }

    /// Starts a connect; true when it completed at once, false when in progress (EINPROGRESS).
    public func connect(to address: SocketAddress) throws(Errno) -> Bool {
        let result = address.withSockAddr { Glibc.connect(rawValue, $0, $1) }
        if result == 0 { return true }
        let code = errno
        if code == EINPROGRESS || code == EINTR { return false }
        throw Errno(rawValue: code)
    }

    /// TCP Fast Open connect: sends `bytes` in the SYN; returns how many bytes were queued
    /// (0 when the kernel sent a bare SYN and the bytes must be written after the handshake).
    public func connectSendingFastOpen(to address: SocketAddress, _ bytes: [UInt8]) throws(Errno) -> Int {
        let result = address.withSockAddr { (pointer, length) in
            bytes.withUnsafeBytes { raw in
                Glibc.sendto(rawValue, raw.baseAddress, raw.count, PLAINMODE_MSG_FASTOPEN | Int32(MSG_NOSIGNAL), pointer, length)
            }
        }
        if result >= 0 { return result }
        let code = errno
        if code == EINPROGRESS || code == EAGAIN { return 0 }
        throw Errno(rawValue: code)
    }

    public func connectUnix(path: String) throws(Errno) {
        var address = sockaddr_un()
        try Self.fill(&address, path: path)
        _ = try withUnsafePointer(to: &address) { (pointer) throws(Errno) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(Errno) in
                try retryingEINTR { Glibc.connect(rawValue, raw, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
    }

    public func bindUnix(path: String) throws(Errno) {
        var address = sockaddr_un()
        try Self.fill(&address, path: path)
        _ = try withUnsafePointer(to: &address) { (pointer) throws(Errno) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(Errno) in
                try retryingEINTR { Glibc.bind(rawValue, raw, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
    }

    private static func fill(_ address: inout sockaddr_un, path: String) throws(Errno) {
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw Errno.fileNameTooLong }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
    }

    public func localAddress() throws(Errno) -> SocketAddress {
        try address { getsockname(rawValue, $0, $1) }
    }

    public func peerAddress() throws(Errno) -> SocketAddress {
        try address { getpeername(rawValue, $0, $1) }
    }

    private func address(_ call: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) throws(Errno) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(Errno) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(Errno) in
                try retryingEINTR { call(raw, &length) }
            }
        }
        guard let address = SocketAddress(storage) else { throw Errno.addressFamilyNotSupported }
        return address
    }

    // MARK: data

    /// Receives into `buffer`; nil when nothing is waiting, 0 at end of stream.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, peek: Bool = false) throws(Errno) -> Int? {
        try retryingEINTRUnlessWouldBlock { recv(rawValue, buffer.baseAddress, buffer.count, peek ? Int32(MSG_PEEK) : 0) }
    }

    /// Sends `bytes[offset...]`; nil when the socket buffer is full.
    public func send(_ bytes: [UInt8], from offset: Int) throws(Errno) -> Int? {
        try retryingEINTRUnlessWouldBlock {
            bytes.withUnsafeBytes { Glibc.send(rawValue, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
        }
    }

    /// Bytes waiting in the receive queue (FIONREAD); 0 when unknown.
    public func availableBytes() -> Int {
        max(0, Int(plainmode_bytes_available(rawValue)))
    }

    /// Half-close: no more data will be sent (a FIN, or DATA_FIN on MPTCP).
    public func shutdownWrite() {
        _ = Glibc.shutdown(rawValue, Int32(SHUT_WR))
    }

    // MARK: blocking use (the control socket)

    public func acceptBlocking() throws(Errno) -> Socket {
        Socket(rawValue: try retryingEINTR { plainmode_accept4(rawValue, nil, nil, PLAINMODE_SOCK_CLOEXEC) })
    }

    /// Writes all of `bytes` on a blocking socket.
    public func sendAll(_ bytes: [UInt8]) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            offset += try retryingEINTR {
                bytes.withUnsafeBytes { Glibc.send(rawValue, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            }
        }
    }

    /// Reads a blocking socket until end of stream, or until `stop` says the bytes so far suffice.
    public func receiveAll(limit: Int, until stop: ([UInt8]) -> Bool = { _ in false }) throws(Errno) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while bytes.count < limit && !stop(bytes) {
            let result = chunk.withUnsafeMutableBytes { recv(rawValue, $0.baseAddress, $0.count, 0) }
            if result < 0 {
                if errno == EINTR { continue }
                throw Errno(rawValue: errno)
            }
            if result == 0 { break }
            bytes += chunk[..<result]
        }
        return bytes
    }

    // MARK: teardown

    public func close() {
        _ = Glibc.close(rawValue)  // never retried: Linux frees the descriptor even on EINTR
    }

    /// Abortive close: SO_LINGER {1, 0} then close, which sends an RST on TCP and an
    /// MP_FASTCLOSE on MPTCP (draft 4.4.4).
    public func abort() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(rawValue, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        _ = Glibc.close(rawValue)
    }
}
