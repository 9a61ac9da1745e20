import CSyscalls
import Glibc
public import SystemPackage

extension Socket {
    /// Receives one datagram on an unconnected socket with its sender; nil when none is waiting.
    /// A datagram longer than `buffer` is cut (its count is what was kept).
    public func receiveDatagram(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> (count: Int, from: SocketAddress)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(Errno) -> Int? in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(Errno) -> Int? in
                try retryingEINTRUnlessWouldBlock { recvfrom(rawValue, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT), raw, &length) }
            }
        }
        guard let count else { return nil }
        guard let sender = SocketAddress(storage) else { throw Errno.addressFamilyNotSupported }
        return (count, sender)
    }

    /// Sends one datagram to `destination`; false when the socket buffer is full (dropped).
    @discardableResult
    public func sendDatagram(_ bytes: [UInt8], to destination: SocketAddress) throws(Errno) -> Bool {
        let outcome: Result<Int?, Errno> = bytes.withUnsafeBytes { raw in
            destination.withSockAddr { address, length in
                Result { () throws(Errno) -> Int? in
                    try retryingEINTRUnlessWouldBlock {
                        sendto(rawValue, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), address, length)
                    }
                }
            }
        }
        let sent = try outcome.get()
        return sent != nil
    }
}
