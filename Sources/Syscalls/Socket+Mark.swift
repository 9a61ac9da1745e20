import Glibc
public import SystemPackage

extension Socket {
    /// SO_MARK: the firewall mark of the socket's packets, which netfilter's socket match can copy
    /// back onto packets that belong to the socket (`--restore-skmark`). Needs CAP_NET_ADMIN.
    public func setMark(_ mark: UInt32) throws(Errno) {
        try setOption(level: SOL_SOCKET, name: SO_MARK, Int32(bitPattern: mark))
    }
}
