import BindingState
import Counters
import Logging
import PCP
import PCPServer
import Syscalls
import SystemPackage
import WireFormat

/// The concentrator's PCP server thread: one UDP socket per --pcp-listen address, answering
/// sources inside --allow through `PCPRequestHandler`, expiring mappings once a second, and,
/// when the server's state is new, announcing it (unsolicited ANNOUNCE, RFC 6887 s14.1.3).
final class PCPService: @unchecked Sendable {
    /// Read by `ctl stats` and metrics; written by the server thread only.
    let counters: AtomicCounters<PCPCounter>
    let table: MappingTable
    private let handler: PCPRequestHandler<SystemRandomNumberGenerator>
    private let sockets: [(socket: Socket, address: SocketAddress)]
    private let subscribers: SubscriberRegistry
    private let allowed: [IPPrefix]?
    private let announces: Bool
    private let logger: Logger
    private let stopping = StopFlag()
    private var thread: OSThread?

    /// Sends of the start-up ANNOUNCE and the gaps between them: 250 ms doubling, ten sends
    /// (RFC 6887 s14.1.3 asks for repeats, as multicast may be lost).
    static let announcementDelays: [Int64] = (0..<10).map { 250 << $0 }

    /// Binds every address (a refusal names the one that failed); serves nothing until `start`.
    init(listen: [SocketAddress], table: MappingTable, configuration: PCPServerConfiguration, subscribers: SubscriberRegistry,
         allowed: [IPPrefix]?, announce: Bool, logger: Logger) throws(StartupRefusal) {
        var opened: [(Socket, SocketAddress)] = []
        for address in listen {
            do throws(Errno) {
                let socket = try Socket.datagram(family: address.family)
                opened.append((socket, address))
                if !address.address.isIPv4 { try socket.setIPv6Only() }
                try socket.bind(address)
            } catch {
                for (socket, _) in opened { socket.close() }
                throw StartupRefusal("--pcp-listen \(address): \(error)")
            }
        }
        sockets = opened
        counters = AtomicCounters()
        handler = PCPRequestHandler(table: table, configuration: configuration, counters: counters,
                                    random: SystemRandomNumberGenerator())
        self.table = table
        self.subscribers = subscribers
        self.allowed = allowed
        announces = announce
        self.logger = logger
    }

    func start() {
        thread = OSThread.start(name: "pcp-server") { self.run() }
    }

    func stop() {
        stopping.set()
        thread?.join()
        for (socket, _) in sockets { socket.close() }
    }

    /// The server loop: wait (at most 250 ms) for datagrams, answer them, then housekeeping.
    private func run() {
        let epoll: Epoll
        do {
            epoll = try Epoll()
            for (index, entry) in sockets.enumerated() {
                try epoll.add(entry.socket.rawValue, events: .readable, token: UInt64(index))
            }
        } catch {
            return logger.critical("PCP server cannot wait on its sockets: \(error); PCP requests go unanswered")
        }
        defer { epoll.close() }
        let events = EpollEventBuffer(capacity: max(1, sockets.count))
        var buffer = [UInt8](repeating: 0, count: 2048)
        let started = WallClock.nowMilliseconds()
        var lastExpiry = started
        var announcementsLeft = announces ? Self.announcementDelays.count : 0
        var nextAnnouncement = started
        while !stopping.isSet {
            let ready = (try? epoll.wait(into: events, timeoutMilliseconds: 250)) ?? 0
            for slot in 0..<ready {
                let token = Int(events[slot].token)
                guard token < sockets.count else { continue }
                drain(sockets[token].socket, buffer: &buffer)
            }
            let now = WallClock.nowMilliseconds()
            if now - lastExpiry >= 1000 {
                handler.expire(nowMilliseconds: now)
                lastExpiry = now
            }
            if announcementsLeft > 0 && now >= nextAnnouncement {
                announce(now: now)
                nextAnnouncement = now + Self.announcementDelays[Self.announcementDelays.count - announcementsLeft]
                announcementsLeft -= 1
            }
        }
    }

    /// Answers up to 64 waiting datagrams of one socket, so one busy address cannot starve the others.
    private func drain(_ socket: Socket, buffer: inout [UInt8]) {
        for _ in 0..<64 {
            let received = buffer.withUnsafeMutableBytes { try? socket.receiveDatagram(into: $0) }
            guard let (count, source) = received ?? nil else { return }
            // Closed by default: only the sources the operator allowed get an answer.
            guard allowed.map({ prefixes in prefixes.contains { $0.contains(source.address) } }) ?? true else {
                counters.add(.droppedNotAllowed)
                continue
            }
            let context = PCPRequestContext(source: Endpoint(address: source.address, port: source.port),
                                            subscriber: subscribers.subscriber(for: source.address),
                                            nowMilliseconds: WallClock.nowMilliseconds())
            for response in handler.handle(Array(buffer[..<count]), context: context) {
                let sent = (try? socket.sendDatagram(response, to: source)) ?? false
                if !sent { counters.add(.sendErrors) }
            }
        }
    }

    /// The unsolicited ANNOUNCE to all hosts, port 5350, on each listening address's link
    /// (RFC 6887 s14.1.3: 224.0.0.1 and ff02::1); --pcp-listen refuses wildcards, so each names its link.
    private func announce(now: Int64) {
        let message = handler.announcement(nowMilliseconds: now)
        for (socket, address) in sockets {
            let group: IPAddress
            switch address.address {
            case .v4:
                group = .v4(IPv4Address(224, 0, 0, 1))
            case .v6:
                group = .v6(IPv6Address(high: 0xFF02 << 48, low: 1))
            }
            do throws(Errno) {
                try socket.setMulticastSource(address.address, interfaceIndex: InterfaceAddresses.interfaceIndex(of: address.address) ?? 0)
                if try socket.sendDatagram(message, to: SocketAddress(group, port: PCP.clientPort)) {
                    counters.add(.announcementsSent)
                } else {
                    counters.add(.sendErrors)
                }
            } catch {
                counters.add(.sendErrors)
            }
        }
    }

    /// The `pcp_*` totals for `ctl stats` and metrics, with the mappings in force as a level.
    var statTotals: [StatTotal] {
        PCPCounter.allCases.map { StatTotal($0, counters[$0]) } + [Self.mappingsTotal(table.count)]
    }

    /// The same names, all 0, without --pcp-listen: scripts and dashboards see one set of names.
    static var idleTotals: [StatTotal] {
        PCPCounter.allCases.map { StatTotal($0, 0) } + [mappingsTotal(0)]
    }

    private static func mappingsTotal(_ count: Int) -> StatTotal {
        StatTotal("pcp_mappings", count, kind: .level, help: "PCP server: mappings in force now.")
    }
}
