import Glibc
public import SystemPackage
public import WireFormat

/// The addresses of this network namespace's interfaces (getifaddrs): what the concentrator
/// counts as its own when it refuses PM destinations that would loop into itself.
public enum InterfaceAddresses {
    /// Every IPv4 and IPv6 address of every interface, up or not.
    public static func current() throws(Errno) -> Set<IPAddress> {
        var addresses: Set<IPAddress> = []
        try walk { address, _ in
            addresses.insert(address)
            return false
        }
        return addresses
    }

    /// The index of the interface holding `address` (for IPv6 multicast from it); nil when none does.
    public static func interfaceIndex(of address: IPAddress) -> UInt32? {
        var index: UInt32?
        try? walk { candidate, name in
            guard candidate == address else { return false }
            let found = if_nametoindex(name)
            index = found == 0 ? nil : found
            return true
        }
        return index
    }

    /// Calls `body` with each interface address and its interface's name until it returns true.
    private static func walk(_ body: (IPAddress, UnsafePointer<CChar>) -> Bool) throws(Errno) {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { throw Errno(rawValue: errno) }
        defer { freeifaddrs(list) }
        var entry = list
        while let current = entry {
            if let socketAddress = current.pointee.ifa_addr, let name = current.pointee.ifa_name {
                var storage = sockaddr_storage()
                let family = Int32(socketAddress.pointee.sa_family)
                let length = family == AF_INET ? MemoryLayout<sockaddr_in>.size
                    : family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : 0
                if length > 0 {
                    withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: socketAddress, count: length)) }
                    if let address = SocketAddress(storage), body(address.address, name) { return }
                }
            }
            entry = current.pointee.ifa_next
        }
    }
}
