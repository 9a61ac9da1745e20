import Counters
import Glibc
import Logging
import PCP
import PCPClient
import Synchronization
import Syscalls
import WireFormat

/// What the CPE's PCP thread counts (`ctl stats` keys).
enum CPEPCPCounter: Int, CounterName {
    case lanRequests, lanAnswers, serverRequests, serverMessages, forwardsAdded, forwardsRemoved, sendFailures

    var name: String {
        switch self {
        case .lanRequests: "pcp_lan_requests"
        case .lanAnswers: "pcp_lan_answers"
        case .serverRequests: "pcp_server_requests_sent"
        case .serverMessages: "pcp_server_messages"
        case .forwardsAdded: "pcp_forwards_added"
        case .forwardsRemoved: "pcp_forwards_removed"
        case .sendFailures: "pcp_send_failures"
        }
    }

    var help: String {
        switch self {
        case .lanRequests: "CPE PCP: datagrams received from LAN hosts on --pcp-listen."
        case .lanAnswers: "CPE PCP: answers sent to LAN hosts."
        case .serverRequests: "CPE PCP: requests sent to the concentrator's PCP server (forwards, LAN hosts' mappings, renewals)."
        case .serverMessages: "CPE PCP: datagrams received from the concentrator's PCP server."
        case .forwardsAdded: "CPE PCP: inbound forwards put in place from a concentrator grant (a --forward or a LAN host's mapping)."
        case .forwardsRemoved: "CPE PCP: inbound forwards removed (deleted, lapsed, or replaced by a changed grant)."
        case .sendFailures: "CPE PCP: datagrams to the concentrator or a LAN host that the socket refused to send."
        }
    }
}

/// The CPE's PCP thread: one socket connected to the concentrator's PCP server, one per LAN
/// address it answers PCP on (`--pcp-listen`), and `CPEMappings` deciding what to send. Forward
/// changes go to `apply` (the inbound forward table) from this thread.
final class CPEPCPService: @unchecked Sendable {
    let counters = AtomicCounters<CPEPCPCounter>()
    private let upstream: Socket
    private let lanSockets: [Socket]
    private let wake: EventFD
    private let epoll: Epoll
    private let apply: @Sendable (CPEMappings.Output) -> Void
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private var mappings: CPEMappings
    /// The LAN socket each host last asked on, for answers that wait for the concentrator.
    private var lanSocketOfHost: [IPv6Address: Int] = [:]
    private var thread: OSThread?

    /// Opens the sockets (errors refuse start-up); `start` runs the thread.
    init(server: SocketAddress, lanListen: [SocketAddress], forwards: [CPEMappings.StaticForward], forwardLifetime: UInt32,
         maximumLANMappings: Int, apply: @escaping @Sendable (CPEMappings.Output) -> Void, logger: Logger) throws {
        upstream = try Socket.datagram(family: server.family)
        _ = try upstream.connect(to: server)
        let local = try upstream.localAddress()
        var sockets: [Socket] = []
        for address in lanListen {
            let socket = try Socket.datagram(family: address.family)
            if address.family == AF_INET6 { try socket.setIPv6Only() }
            try socket.setReuseAddress()
            try socket.bind(address)
            sockets.append(socket)
        }
        lanSockets = sockets
        wake = try EventFD()
        epoll = try Epoll()
        try epoll.add(wake.rawValue, events: .readable, token: 0)
        try epoll.add(upstream.rawValue, events: .readable, token: 1)
        for (index, socket) in sockets.enumerated() { try epoll.add(socket.rawValue, events: .readable, token: UInt64(2 + index)) }
        var system = SystemRandomNumberGenerator()
        let seed = system.next()
        mappings = CPEMappings(clientAddress: Self.pcpAddress(local.address), forwards: forwards, forwardLifetime: forwardLifetime,
                               maximumLANMappings: maximumLANMappings, seed: seed, now: .now)
        self.apply = apply
        self.logger = logger
    }

    func start() {
        thread = OSThread.start(name: "pcp-cpe") { self.run() }
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        wake.signal()
        thread?.join()
        thread = nil
        upstream.close()
        for socket in lanSockets { socket.close() }
        epoll.close()
        wake.close()
    }

    func counterTotals() -> [StatTotal] {
        CPEPCPCounter.allCases.map { StatTotal($0, counters[$0]) }
    }

    /// IPv4 as IPv4-mapped, as PCP carries addresses (RFC 6887 s5).
    static func pcpAddress(_ address: IPAddress) -> IPv6Address {
        switch address {
        case .v4(let v4): IPv6Address(ipv4Mapped: v4)
        case .v6(let v6): v6
        }
    }

    private func run() {
        let events = EpollEventBuffer(capacity: 8)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1100 + 4, alignment: 8)
        defer { buffer.deallocate() }
        handle(mappings.tick(now: .now))
        while !stopping.load(ordering: .relaxed) {
            let now = ContinuousClock.now
            // Woken by a datagram, the next deadline, or within a second to notice `stop`.
            let wait = mappings.nextDeadline.map { deadline -> Int32 in
                let (seconds, attoseconds) = (deadline - now).components
                return Int32(clamping: max(0, min(1000, seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)))
            } ?? 1000
            let count = (try? epoll.wait(into: events, timeoutMilliseconds: wait)) ?? 0
            for index in 0..<count {
                let token = events[index].token
                switch token {
                case 0: wake.drain()
                case 1: readServer(buffer)
                default: readLAN(Int(token - 2), buffer)
                }
            }
            handle(mappings.tick(now: .now))
        }
    }

    private func readServer(_ buffer: UnsafeMutableRawBufferPointer) {
        for _ in 0..<64 {
            guard let count = (try? upstream.receive(into: buffer)) ?? nil, count > 0 else { return }
            counters.add(.serverMessages)
            handle(mappings.serverMessage(Array(buffer[0..<min(count, 1100)]), now: .now))
        }
    }

    private func readLAN(_ index: Int, _ buffer: UnsafeMutableRawBufferPointer) {
        for _ in 0..<64 {
            guard let (count, sender) = (try? lanSockets[index].receiveDatagram(into: buffer)) ?? nil else { return }
            counters.add(.lanRequests)
            let host = Self.pcpAddress(sender.address)
            lanSocketOfHost[host] = index
            if lanSocketOfHost.count > 4096 { lanSocketOfHost = [host: index] }  // bounded: forget, answer on the first socket
            handle(mappings.lanRequest(Array(buffer[0..<count]), from: host, port: sender.port, now: .now))
        }
    }

    private func handle(_ outputs: [CPEMappings.Output]) {
        for output in outputs {
            switch output {
            case .toServer(let bytes):
                counters.add(.serverRequests)
                if (try? upstream.send(bytes, from: 0)) == nil { counters.add(.sendFailures) }
            case .toLAN(let host, let port, let bytes):
                guard !lanSockets.isEmpty else { continue }
                let socket = lanSockets[lanSocketOfHost[host] ?? 0]
                let address: IPAddress = host.ipv4Mapped.map { .v4($0) } ?? .v6(host)
                if (try? socket.sendDatagram(bytes, to: SocketAddress(address, port: port))) == true {
                    counters.add(.lanAnswers)
                } else {
                    counters.add(.sendFailures)
                }
            case .forward:
                counters.add(.forwardsAdded)
                apply(output)
            case .unforward:
                counters.add(.forwardsRemoved)
                apply(output)
            case .note(let text):
                logger.notice("\(text)")
            }
        }
    }
}
