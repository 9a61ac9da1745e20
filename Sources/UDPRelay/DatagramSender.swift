public import BindingState
import Glibc
import Syscalls
public import SystemPackage
import WireFormat

/// Sends datagrams built in place: IP and UDP headers written into a scratch block, the payload
/// left where it lies (two iovecs), full UDP checksum, through a raw socket per family. One per
/// thread (the scratch block is not shared).
public final class DatagramSender {
    private let ipv4: RawSocket?
    private let ipv6: RawSocket?
    private let headers: UnsafeMutableRawBufferPointer

    public enum Outcome: Equatable {
        case sent
        /// The raw socket's send buffer is full.
        case blocked
        /// Larger than the outgoing link takes (EMSGSIZE) or than one datagram can be.
        case tooBig
        case failed(Errno)

        /// The counter this outcome moves.
        public var counter: UDPCounter {
            switch self {
            case .sent: .datagramsSent
            case .blocked: .datagramSendBlocked
            case .tooBig: .datagramTooBig
            case .failed: .datagramSendErrors
            }
        }
    }

    /// Opens the raw sockets; a family whose socket cannot be opened fails at send time.
    public init() throws(Errno) {
        ipv4 = try RawSocket.open(family: AF_INET)
        ipv6 = try? RawSocket.open(family: AF_INET6)
        headers = .allocate(byteCount: UDPDatagramHeaders.maximumLength, alignment: 8)
    }

    deinit {
        ipv4?.close()
        ipv6?.close()
        headers.deallocate()
    }

    /// Sends `payload` from `source` to `destination` (same family).
    public func send(_ payload: UnsafeRawBufferPointer, from source: Endpoint, to destination: Endpoint) -> Outcome {
        guard source.address.isIPv4 == destination.address.isIPv4 else { return .failed(.addressFamilyNotSupported) }
        guard payload.count <= UDPDatagramHeaders.largestPayload(for: destination.address) else { return .tooBig }
        guard let socket = destination.address.isIPv4 ? ipv4 : ipv6 else { return .failed(.addressFamilyNotSupported) }
        let length = UDPDatagramHeaders.write(into: headers, source: source.address, sourcePort: source.port,
                                              destination: destination.address, destinationPort: destination.port,
                                              payload: payload)
        do throws(Errno) {
            let sent = try socket.send(headers: UnsafeRawBufferPointer(rebasing: headers[0..<length]), payload: payload,
                                       to: destination.address)
            return sent ? .sent : .blocked
        } catch {
            return error == .messageTooLong ? .tooBig : .failed(error)
        }
    }
}
