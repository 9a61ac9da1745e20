import CSyscalls
import Glibc
public import SystemPackage
public import WireFormat

/// The MPTCP subflows of this network namespace, counted per local address: one sock_diag dump
/// of established TCP sockets per family, keeping those whose upper-layer protocol (ULP) is
/// "mptcp", as `ss -ti` shows them. Read on request (a metrics scrape), never on the data path.
public enum SubflowCensus {
    /// Established subflows per local address (an IPv4-mapped address counts as IPv4). The kernel
    /// names a socket's ULP only to a caller with CAP_NET_ADMIN; without it every count is 0.
    public static func established() throws(Errno) -> [IPAddress: Int] {
        let descriptor = socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue) | PLAINMODE_SOCK_CLOEXEC, netlinkSockDiag)
        guard descriptor >= 0 else { throw Errno(rawValue: errno) }
        defer { close(descriptor) }
        var counts: [IPAddress: Int] = [:]
        for family in [AF_INET, AF_INET6] {
            try dump(family: UInt8(family), on: descriptor, sequence: UInt32(family)) { address in counts[address, default: 0] += 1 }
        }
        return counts
    }

    // linux/sock_diag.h, linux/inet_diag.h, linux/netlink.h
    static let netlinkSockDiag: Int32 = 4
    static let requestFlags: UInt16 = 0x001 | 0x300  // NLM_F_REQUEST | NLM_F_DUMP
    static let sockDiagByFamily: UInt16 = 20
    static let messageDone: UInt16 = 3
    static let messageError: UInt16 = 2
    static let attributeULPInfo: UInt16 = 19
    static let ulpInfoName: UInt16 = 1
    static let headerLength = 16
    static let diagMessageLength = 72

    /// Sends one dump request (TCP, established only) and reads its answer to NLMSG_DONE.
    private static func dump(family: UInt8, on descriptor: Int32, sequence: UInt32,
                             _ subflow: (IPAddress) -> Void) throws(Errno) {
        var request = [UInt8](repeating: 0, count: headerLength + 56)
        store(UInt32(request.count), at: 0, in: &request)
        store(sockDiagByFamily, at: 4, in: &request)
        store(requestFlags, at: 6, in: &request)
        store(sequence, at: 8, in: &request)
        request[16] = family
        request[17] = UInt8(IPPROTO_TCP)
        request[18] = 1 << (2 - 1)  // idiag_ext: INET_DIAG_INFO, without which the kernel leaves the ULP out
        store(UInt32(1 << 1), at: 20, in: &request)  // idiag_states: TCP_ESTABLISHED (1)
        // An unconnected netlink socket sends to the kernel (port id 0).
        let sent = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
        guard sent == request.count else { throw Errno(rawValue: sent < 0 ? errno : EIO) }
        var buffer = [UInt8](repeating: 0, count: 32768)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Errno(rawValue: errno)
            }
            var offset = 0
            while offset + headerLength <= count {
                let length = Int(load32(buffer, offset))
                let type = load16(buffer, offset + 4)
                guard length >= headerLength, offset + length <= count else { throw Errno(rawValue: EPROTO) }
                switch type {
                case messageDone: return
                case messageError:
                    let code = Int32(bitPattern: load32(buffer, offset + headerLength))
                    if code != 0 { throw Errno(rawValue: -code) }
                case sockDiagByFamily where length >= headerLength + diagMessageLength:
                    let message = offset + headerLength
                    if isMultipathSubflow(buffer, attributes: (message + diagMessageLength)..<(offset + length)) {
                        subflow(localAddress(buffer, message: message))
                    }
                default: break
                }
                offset += (length + 3) & ~3
            }
        }
    }

    /// Whether the attributes hold INET_DIAG_ULP_INFO naming "mptcp".
    private static func isMultipathSubflow(_ bytes: [UInt8], attributes: Range<Int>) -> Bool {
        var offset = attributes.lowerBound
        while offset + 4 <= attributes.upperBound {
            let length = Int(load16(bytes, offset))
            let type = load16(bytes, offset + 2) & 0x3FFF  // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
            guard length >= 4, offset + length <= attributes.upperBound else { return false }
            if type == attributeULPInfo {
                var inner = offset + 4
                while inner + 4 <= offset + length {
                    let innerLength = Int(load16(bytes, inner))
                    guard innerLength >= 4, inner + innerLength <= offset + length else { return false }
                    if load16(bytes, inner + 2) & 0x3FFF == ulpInfoName {
                        return bytes[(inner + 4)..<(inner + innerLength)].prefix { $0 != 0 }.elementsEqual("mptcp".utf8)
                    }
                    inner += (innerLength + 3) & ~3
                }
            }
            offset += (length + 3) & ~3
        }
        return false
    }

    /// inet_diag_msg: family at 0, idiag_src (network order, 16 bytes) at 8.
    private static func localAddress(_ bytes: [UInt8], message: Int) -> IPAddress {
        let source = message + 8
        if Int32(bytes[message]) == AF_INET {
            return .v4(IPv4Address(bytes[source], bytes[source + 1], bytes[source + 2], bytes[source + 3]))
        }
        let high = bytes[source..<(source + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let low = bytes[(source + 8)..<(source + 16)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let address = IPv6Address(high: high, low: low)
        return address.ipv4Mapped.map(IPAddress.v4) ?? .v6(address)
    }

    /// Netlink headers and attributes are in host byte order.
    private static func load16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self) }
    }

    private static func load32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    }

    private static func store<Value: FixedWidthInteger>(_ value: Value, at offset: Int, in bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value, toByteOffset: offset, as: Value.self) }
    }
}
