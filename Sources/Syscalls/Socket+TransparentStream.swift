public import SystemPackage

extension Socket {
    /// A non-blocking TCP socket bound to `source`, which need not be local (IP_TRANSPARENT /
    /// IPV6_TRANSPARENT, CAP_NET_ADMIN), with TCP_NODELAY: the relay's leg that must come from a
    /// chosen address (the concentrator's pool port, the CPE's Internet host). SO_REUSEADDR lets
    /// a source port in TIME_WAIT towards another peer be bound again.
    public static func transparentStream(boundTo source: SocketAddress) throws(Errno) -> Socket {
        let socket = try stream(family: source.family)
        do {
            try socket.setNoDelay()
            try socket.setTransparent(family: source.family)
            try socket.setReuseAddress()
            try socket.bind(source)
        } catch {
            socket.close()
            throw error
        }
        return socket
    }
}
