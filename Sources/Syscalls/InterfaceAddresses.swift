import Glibc
public import SystemPackage
public import WireFormat

/// The addresses of this network namespace's interfaces (getifaddrs): what the concentrator
/// counts as its own when it refuses PM destinations that would loop into itself.
public enum InterfaceAddresses {
    /// Every IPv4 and IPv6 address of every interface, up or not.
    public static func current() throws(Errno) -> Set<IPAddress> {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { throw Errno(rawValue: errno) }
        defer { freeifaddrs(list) }
        var addresses: Set<IPAddress> = []
        var entry = list
        while let current = entry {
            if let socketAddress = current.pointee.ifa_addr {
                var storage = sockaddr_storage()
                let family = Int32(socketAddress.pointee.sa_family)
                let length = family == AF_INET ? MemoryLayout<sockaddr_in>.size
                    : family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : 0
                if length > 0 {
                    withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: socketAddress, count: length)) }
                    if let address = SocketAddress(storage) { addresses.insert(address.address) }
                }
            }
            entry = current.pointee.ifa_next
        }
        return addresses
    }
}
