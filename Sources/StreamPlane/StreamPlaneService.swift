public import Counters
public import Logging
public import Syscalls
import UDPRelay
import Glibc
public import SystemPackage

/// Why the stream plane could not start; each says what to fix.
public enum StreamPlaneError: Error, CustomStringConvertible, Sendable {
    case listen(SocketAddress, Errno)
    case loop(Errno)

    public var description: String {
        switch self {
        case let .listen(address, error):
            switch error {
            case .addressNotAvailable:
                "cannot listen on \(address): the address is not configured on this host (ip addr add it, or fix --listen)"
            case .addressInUse:
                "cannot listen on \(address): another socket already uses it (is another plainmode running?)"
            case .permissionDenied, .notPermitted:
                "cannot listen on \(address): permission denied (run as root or with CAP_NET_ADMIN)"
            case .protocolNotSupported:
                "cannot listen on \(address): the kernel has no MPTCP (needs Linux 5.6+ and net.mptcp.enabled=1)"
            default:
                "cannot listen on \(address): \(error)"
            }
        case let .loop(error): "cannot start a relay loop: \(error)"
        }
    }
}

/// The stream plane of one role: its listeners and relay loops (one OS thread each).
public final class StreamPlaneService: Sendable {
    private let loops: [RelayLoop]
    private let listeners: [Socket]
    private let stopping = StopFlag()
    private let threads = ThreadList()

    /// Opens the listeners (MPTCP with TFO without cookie at the concentrator, transparent TCP
    /// at the CPE; the other kind for `inbound` ones) and prepares `loopCount` loops; `start` runs them.
    public init(role: RelayRole, listen addresses: [SocketAddress], inbound inboundAddresses: [SocketAddress] = [],
                loopCount: Int, backlog: Int32, tuning: RelayTuning, logger: Logger) throws(StreamPlaneError) {
        var listeners: [Socket] = []
        let concentrator = if case .concentrator = role { true } else { false }
        do throws(StreamPlaneError) {
            for address in addresses {
                listeners.append(try Self.openListener(address, multipath: concentrator, backlog: backlog))
            }
            // The CPE's inbound listeners are MPTCP (the concentrator connects), the concentrator's
            // transparent (TPROXY hands it the Internet's connections to pool addresses).
            for address in inboundAddresses {
                listeners.append(try Self.openListener(address, multipath: !concentrator, backlog: backlog))
            }
            var loops: [RelayLoop] = []
            for index in 0..<max(1, loopCount) {
                var loopLogger = logger
                loopLogger[metadataKey: "loop"] = "\(index)"
                do {
                    loops.append(try RelayLoop(index: index, role: role, tuning: tuning, listeners: listeners,
                                               firstInboundListener: addresses.count, stopping: stopping, logger: loopLogger))
                } catch { throw StreamPlaneError.loop(error) }
            }
            self.loops = loops
            self.listeners = listeners
        } catch {
            for listener in listeners { listener.close() }
            throw error
        }
    }

    /// An MPTCP listener that takes the PM block as SYN data, or a transparent TCP one for TPROXY.
    private static func openListener(_ address: SocketAddress, multipath: Bool, backlog: Int32) throws(StreamPlaneError) -> Socket {
        let socket: Socket
        do {
            socket = try Socket.stream(family: address.family, protocolNumber: multipath ? Socket.mptcp : 0)
        } catch { throw .listen(address, error) }
        do {
            try socket.setReuseAddress()
            if !address.address.isIPv4 { try socket.setIPv6Only() }
            if multipath {
                // A TFO queue at least the backlog, or SYN data is dropped under load (FACTS.md 2).
                try socket.enableFastOpenWithoutCookie(queueLength: backlog)
            } else {
                try socket.setTransparent(family: address.family)  // TPROXY delivers foreign destinations
            }
            try socket.bind(address)
            try socket.listen(backlog: backlog)
        } catch {
            socket.close()
            throw .listen(address, error)
        }
        return socket
    }

    public func start() {
        for loop in loops {
            threads.append(OSThread.start(name: "relay-\(loop.index)") { loop.run() })
        }
    }

    /// Stops the loops (open connections are aborted) and waits for their threads.
    public func stop() {
        stopping.set()
        for loop in loops { loop.wake.signal() }
        threads.joinAll()
        for listener in listeners { listener.close() }
    }

    /// Every UDP counter summed over the loops, in declaration order.
    public func udpCounterTotals() -> [StatTotal] {
        UDPCounter.allCases.map { StatTotal($0, sum: loops.lazy.map(\.udpCounters)) }
    }

    /// Every stream counter summed over the loops, in declaration order.
    public func counterTotals() -> [StatTotal] {
        StreamCounter.allCases.map { StatTotal($0, sum: loops.lazy.map(\.counters)) }
    }
}

import Synchronization

/// The loop threads, joined at stop.
final class ThreadList: Sendable {
    private let threads = Mutex<[OSThread]>([])
    func append(_ thread: OSThread) { threads.withLock { $0.append(thread) } }
    func joinAll() {
        let all = threads.withLock { $0 }
        for thread in all { thread.join() }
    }
}
