import ArgumentParser
import BindingState
import LeaseStore
import ControlSocket
import PCPServer
import Logging
import PlainMode
import PortSets
import StreamPlane
import SystemPackage
import UDPRelay
import Syscalls
import WireFormat

/// `plainmode concentrator`: terminates the CPEs' MPTCP connections and relays to the Internet.
struct ConcentratorCommand: ParsableCommand {
    static let defaultControlSocket = "/run/plainmode/concentrator.sock"

    static let configuration = CommandConfiguration(
        commandName: "concentrator",
        abstract: "Run the concentrator: MPTCP listeners, PM block, upstream TCP from the CPE's port set, splice relay.",
        discussion: """
            Closed by default: --allow names the prefixes CPEs connect from (or `any`). IPv4 \
            destinations are reached from a shared pool address (--pool), each subscriber (a line \
            of --subscribers, every link of its CPE; else one per source address) using one PSID \
            port set on one pool address (paired pooling), kept in --state-dir across restarts; \
            IPv6 destinations from the PM source (source preserved). SIGHUP re-reads --subscribers and the host's own addresses (never a destination). Needs root or CAP_NET_ADMIN, net.ipv4.tcp_fastopen with the \
            server bit (0x2), and the transparent return path of Deploy/concentrator-net.sh. \
            Inbound (--inbound-listen, off by default): the Internet's TCP connections to mapped \
            pool ports (TPROXY, concentrator-net.sh --inbound) are relayed to the CPE over MPTCP.
            Exit status: 0 stopped by SIGINT/SIGTERM, 78 refused to start (the message says why), 64 bad usage.
            """
    )

    @Option(name: .customLong("listen"), help: "MPTCP listening address, ADDRESS:PORT (repeatable; IPv4 and IPv6).")
    var listenAddresses: [String] = ["0.0.0.0:5000"]

    @Option(name: .customLong("pool"), help: "IPv4 prefix of shared external addresses (repeatable), e.g. 192.0.2.128/27.")
    var pools: [String] = []

    @Option(help: "PSID offset a (RFC 7597): ports below 2^(16-a) are never used (a=6 keeps 0-1023 out).")
    var psidOffset = 6

    @Option(help: "PSID length k: each pool address is shared by 2^k CPEs.")
    var psidLength = 6

    @Option(name: .customLong("reserve-ports"), help: "Ports never handed out, FIRST-LAST or PORT (repeatable).")
    var reservedPorts: [String] = []

    @Option(help: "Refuse to start unless the pool holds at least this many CPE port sets.")
    var minPortSets = 1

    @Flag(help: "IPv4 too: connect upstream from the PM source (or the CPE's address) instead of the pool.")
    var preserveSource = false

    @Option(help: "A preserved IPv6 source must lie in this prefix length around the CPE's own address.")
    var ipv6SourcePrefixLength = 48

    @Option(name: .customLong("delegated-prefix"),
            help: "CPE=PREFIX: CPEs at CPE (an address or prefix) may use preserved sources inside PREFIX (repeatable), e.g. 2001:db8:a::2=2001:db8:1::/48.")
    var delegatedPrefixes: [String] = []

    @Option(name: .customLong("deny-destination"),
            help: "A destination prefix never relayed to (repeatable), on top of the concentrator's own addresses and listeners, its pools, and the RFC 6890 ranges that are never a destination (this network, loopback, link-local, multicast, reserved, limited broadcast; ::, ::1, ::ffff:0:0/96, fe80::/10, ff00::/8). Private ranges stay reachable unless listed here.")
    var deniedDestinations: [String] = []

    @Option(help: "PM option subtype this deployment uses (draft default 14, 0xE).")
    var subtype: UInt8 = PlainMode.defaultSubtype

    @Option(help: "Bytes to wait for before giving up on a PM block that does not end.")
    var maxBlockBytes = PlainModePolicy.longestLegalBlock

    @Option(help: "Seconds a new connection has to deliver its whole PM block.")
    var pmTimeout: Double = 5

    @Option(help: "Seconds a port stays unusable after an RST (RFC 7857 asks 240).")
    var resetHold: Double = 240

    @Option(help: "Seconds a subscriber keeps its port set with no port in use or held, before it goes back to the pool (logged as released).")
    var leaseHold: Double = 300

    @Option(help: "Lock shards of the binding tables and port-set allocator (a power of two).")
    var shards = 64

    @Option(help: "Path of the control socket that `plainmode ctl` talks to.")
    var controlSocket = ConcentratorCommand.defaultControlSocket

    @OptionGroup(title: "Subscribers and leases") var subscriberOptions: SubscriberOptions

    @OptionGroup(title: "Allocation log") var logOptions: LogOptions

    @OptionGroup(title: "Packet plane (SYN gate, UDP)") var packets: PacketPlaneOptions

    @OptionGroup(title: "PCP server (inbound mappings)") var pcp: PCPOptions
    @OptionGroup(title: "Inbound connections") var inbound: ConcentratorInboundOptions

    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        guard (0...15).contains(subtype) else { throw ValidationError("--subtype must be 0...15") }
        guard maxBlockBytes >= 1 && maxBlockBytes <= 1024 else { throw ValidationError("--max-block-bytes must be 1...1024") }
        guard pmTimeout > 0, resetHold >= 0, leaseHold >= 0 else {
            throw ValidationError("--pm-timeout must be positive, --reset-hold and --lease-hold not negative")
        }
        guard (0...128).contains(ipv6SourcePrefixLength) else { throw ValidationError("--ipv6-source-prefix-length must be 0...128") }
    }

    func run() throws { try refusingToStart(start) }

    private func start() throws {
        // First: every thread started from here on (the lease journal's too) inherits the blocked
        // SIGINT/SIGTERM/SIGHUP, so only the main thread's sigwait sees them.
        Signals.prepareDaemon()
        // Configuration first: these refusals need no privileges.
        let listen = try parseSocketAddresses(listenAddresses, flag: "--listen").map { $0 }
        let inboundListen = try inbound.addresses()
        let geometry: PSIDGeometry
        do { geometry = try PSIDGeometry(offset: psidOffset, psidLength: psidLength) } catch {
            throw StartupRefusal("invalid PSID geometry --psid-offset \(psidOffset) --psid-length \(psidLength): \(error)")
        }
        var prefixes: [IPPrefix] = []
        for text in pools {
            do { prefixes.append(try IPPrefix(text)) } catch { throw StartupRefusal("--pool \(text): \(error)") }
        }
        if prefixes.isEmpty && !preserveSource {
            throw StartupRefusal("no --pool: IPv4 address sharing needs at least one pool prefix (or pass --preserve-source)")
        }
        let reserved = try reservedPorts.map(Self.parsePortRange)
        let subscribers = SubscriberRegistry(try subscriberOptions.loadDirectory())
        // Closed by default: nobody is served until the operator names who may connect.
        guard !packets.allowed.isEmpty else {
            throw StartupRefusal("no --allow: name the prefixes your CPEs connect from (repeat --allow for every access link), or pass --allow any to serve every source that reaches the listeners")
        }
        let allowedSources = try packets.allowedPrefixes()
        var denied = DestinationFilter.neverDestinations
        for text in deniedDestinations {
            do { denied.append(try IPPrefix(text)) } catch { throw StartupRefusal("--deny-destination \(text): \(error)") }
        }
        let ownAddresses: OwnAddresses
        do { ownAddresses = OwnAddresses(try InterfaceAddresses.current()) } catch { throw StartupRefusal("cannot list this host's addresses: \(error)") }
        let destinations = DestinationFilter(ownAddresses: ownAddresses, listeners: (listen + inboundListen).map { ($0.address, $0.port) },
                                             pools: prefixes, denied: denied)
        // No pool: every source is preserved (--preserve-source), nothing to allocate or keep.
        let allocator: PortSetAllocator?
        let database = prefixes.isEmpty ? nil : try subscriberOptions.openDatabase()
        // Closed last (after the journal's final commit): SQLite then checkpoints and removes the WAL.
        defer { try? database?.close() }
        let journal = database.map { LeaseJournal(database: $0) }
        defer { journal?.close() }
        let allocationLog = try logOptions.makeLogger(subscribers: subscribers, geometry: geometry)
        defer { allocationLog?.close() }
        let leaseEvents: (any LeaseEventSink)? = switch (journal, allocationLog) {
        case let (journal?, log?): LeaseEventFanOut([journal, log])
        case let (journal?, nil): journal
        case let (nil, log?): log
        case (nil, nil): nil
        }
        if prefixes.isEmpty {
            allocator = nil
        } else {
            do throws(PortSetAllocatorError) {
                allocator = try PortSetAllocator(pool: prefixes, geometry: geometry, reservedPorts: reserved,
                                                 leaseHold: .milliseconds(Int64(leaseHold * 1000)), shardCount: shards, requiredPortSets: minPortSets, events: leaseEvents)
            } catch {
                if case let .poolTooSmall(capacity, _, _, _) = error {
                    throw StartupRefusal("the pool \(pools.joined(separator: " ")) holds \(capacity) port sets with --psid-length \(psidLength), fewer than --min-port-sets \(minPortSets): add pool addresses or raise --psid-length")
                }
                throw StartupRefusal("cannot build the port-set pool: \(error)")
            }
        }
        var delegations: [(cpe: IPPrefix, sources: IPPrefix)] = []
        for text in delegatedPrefixes {
            let parts = text.split(separator: "=")
            guard parts.count == 2 else { throw StartupRefusal("--delegated-prefix \(text): expected CPE=PREFIX") }
            do { delegations.append((try IPPrefix(String(parts[0])), try IPPrefix(String(parts[1])))) } catch {
                throw StartupRefusal("--delegated-prefix \(text): \(error)")
            }
        }
        let bindings: BindingTable
        do { bindings = try BindingTable(shardCount: shards) } catch { throw StartupRefusal("\(error)") }
        let pcpListen = try pcp.addresses()
        if !pcpListen.isEmpty && allocator == nil {
            throw StartupRefusal("--pcp-listen needs a --pool: mappings are ports of the subscribers' pool port sets")
        }

        try StartupChecks.requireNetAdmin(role: "concentrator")
        try StartupChecks.requireFastOpen(bit: 0x2, role: "concentrator")
        try StartupChecks.requireMPTCP()

        Privileges.raiseDescriptorLimit()
        let logger = daemon.makeLogger(label: "plainmode.concentrator")
        if let database, let allocator { try restoreLeases(from: database, into: allocator, logger: logger) }
        // Mappings come back after the leases they live in, with the epoch kept alongside them.
        let mappingEvents: (any MappingEventSink)? = switch (journal, allocationLog) {
        case let (journal?, log?): MappingEventFanOut([journal, log])
        case let (journal?, nil): journal
        case let (nil, log?): log
        case (nil, nil): nil
        }
        let mappings = try allocator.map { allocator in
            try makeMappingTable(allocator: allocator, events: mappingEvents, database: pcpListen.isEmpty ? nil : database, logger: logger)
        }
        let pcpService = try mappings.flatMap { table -> PCPService? in
            guard !pcpListen.isEmpty else { return nil }
            return try startPCP(pcpListen, table: table.table, epochStart: table.epochStart, subscribers: subscribers,
                                allowed: allowedSources, logger: logger)
        }
        defer { pcpService?.stop() }
        // The log starts with every lease in force (restored ones included), so it alone traces them.
        allocationLog?.start { allocator?.snapshot().map { ($0.subscriber, $0.externalAddress, $0.psid) } ?? [] }
        var tuning = daemon.tuning()
        tuning.blockTimeout = .milliseconds(Int64(pmTimeout * 1000))
        tuning.resetHold = .milliseconds(Int64(resetHold * 1000))
        let policy = PlainModePolicy(subtype: subtype, maximumBlockLength: maxBlockBytes)
        // Bound and running before any listener exists, so no SYN is accepted ungated; a queue
        // held by another process refuses start-up.
        let udpChannels = packets.udpChannels(shards: shards)
        if udpChannels != nil {
            // Records leave as datagrams built in place through raw sockets, opened per loop at
            // the first binding: without CAP_NET_RAW every binding would fail, so refuse now.
            do throws(Errno) { try RawSocket.open(family: AF_INET).close() } catch {
                throw StartupRefusal("UDP needs a raw IPv4 socket (CAP_NET_RAW): \(error); run as root or pass --no-udp")
            }
        }
        // Datagrams no binding takes, to a PCP-mapped port or from a new remote under endpoint
        // filtering, are handed from the queue workers to the relay loops, which connect to the CPE.
        var inboundUDP: InboundUDPHandOff?
        if let udpChannels {
            do throws(Errno) { inboundUDP = try InboundUDPHandOff(channels: udpChannels, loops: daemon.loopCount) } catch {
                throw StartupRefusal("inbound UDP: \(error)")
            }
        }
        let packetPlane = try packets.startService(policy: policy, destinations: destinations, udpChannels: udpChannels, pool: prefixes,
                                                   shards: shards, inboundUDP: inboundUDP, mappings: mappings?.table, logger: logger)
        defer { packetPlane?.stop() }
        let udp = udpChannels.map {
            ConcentratorUDPSettings(channels: $0, idleTimeout: packets.udpFlows.idleTimeout,
                                    connectionTuning: packets.udpFlows.connectionTuning,
                                    mappings: allocator.map { EndpointMappingTable(allocator: $0, shardCount: shards) },
                                    inbound: inboundUDP)
        }
        var settings = ConcentratorSettings(policy: policy, allocator: allocator, bindings: bindings,
                                            preserveIPv4Source: preserveSource,
                                            ipv6SourcePrefixLength: ipv6SourcePrefixLength, delegations: delegations,
                                            udp: udp, allowedSources: allowedSources, destinations: destinations,
                                            subscribers: subscribers, sessions: logOptions.logSessions ? allocationLog : nil)
        settings.inboundMappings = mappings?.table
        settings.cpeInboundPort = inbound.cpeInboundPort
        let inboundBanner = inboundListen.isEmpty ? ""
            : "; inbound on \(inboundListen.map(\.description).joined(separator: ", ")) to CPE port \(inbound.cpeInboundPort)"
        try serve(.concentrator(settings), listen: listen, inbound: inboundListen, daemon: daemon, tuning: tuning, logger: logger,
                  controlSocket: controlSocket,
                  banner: "\(subscribers.directory.count) subscribers; concentrator listening on \(listen.map(\.description).joined(separator: ", "))\(inboundBanner); allowing \(allowedSources.map { $0.map(\.description).joined(separator: " ") } ?? "any source"); pool \(pools.joined(separator: " ")); PSID offset \(psidOffset) length \(psidLength)",
                  onHangUp: {
                      reloadSubscribers(into: subscribers, logger: logger)
                      Self.reloadOwnAddresses(into: ownAddresses, logger: logger)
                  },
                  metrics: { plane in
                      let netstat = KernelCounters.readGroups()
                      let totals = ConcentratorReports.statTotals(plane: plane, bindings: bindings, allocator: allocator,
                                                                  packetPlane: packetPlane, subscribers: subscribers,
                                                                  journal: journal, allocationLog: allocationLog, netstat: netstat,
                                                                  pcp: pcpService)
                      return DaemonMetrics.snapshot(totals: totals, netstat: netstat, gauges: ConcentratorReports.poolGauges(allocator))
                  }) { plane, request in
            ConcentratorReports.answer(request, plane: plane, bindings: bindings, allocator: allocator, packetPlane: packetPlane,
                                       subscribers: subscribers, database: database, journal: journal,
                                       allocationLog: allocationLog, pcp: pcpService, mappings: mappings?.table)
        }
    }

    /// Start-up: the stored leases go back to their subscribers; port sets the pool no longer
    /// has are dropped from the store, each logged.
    private func restoreLeases(from database: LeaseDatabase, into allocator: PortSetAllocator, logger: Logger) throws {
        let records: [LeaseRecord]
        do { records = try database.load() } catch { throw StartupRefusal("\(error)") }
        let restored = allocator.restore(records, now: .now)
        for record in restored.outsidePool {
            logger.warning("stored lease \(record.address) PSID \(record.psid) of \(record.subscriber) is outside the pool now: dropped")
        }
        do { try database.forget(restored.outsidePool.map { ($0.address, $0.psid) }) } catch { throw StartupRefusal("\(error)") }
        logger.notice("leases from \(database.path): \(restored.active) held, \(restored.previous) remembered as previous")
    }

    /// The mapping table over the allocator, with the mappings stored in `database` taken back
    /// before any request or inbound flow. The epoch start is kept with them (RFC 6887 s8.5): it
    /// starts again, and the PCP server announces it (s14.1.3), when there is no database or a
    /// stored mapping could not be taken back; one that lapsed while the daemon was down was not lost.
    private func makeMappingTable(allocator: PortSetAllocator, events: (any MappingEventSink)?, database: LeaseDatabase?,
                                  logger: Logger) throws
        -> (table: MappingTable, epochStart: (milliseconds: Int64, isNew: Bool)) {
        let table: MappingTable
        do { table = try MappingTable(allocator: allocator, maximumMappingsPerSubscriber: pcp.maximumMappings, shardCount: shards, events: events) } catch {
            throw StartupRefusal("\(error)")
        }
        let now = WallClock.nowMilliseconds()
        guard let database else { return (table, (now, true)) }
        let stored: [PortMapping]
        do { stored = try database.loadMappings() } catch { throw StartupRefusal("\(error)") }
        let restored = table.restore(stored, nowMilliseconds: now)
        var lost = 0
        for (mapping, reason) in restored.dropped {
            let lapsed = mapping.expires <= now
            if !lapsed {
                lost += 1
                logger.warning("stored mapping \(mapping.transport) \(mapping.externalAddress):\(mapping.externalPorts.lowerBound) of \(mapping.subscriber) not restored: \(reason)")
            }
            // Out of the store and into the log, as if it had ended now.
            events?.record(MappingEvent(lapsed ? .expired : .deleted, mapping))
        }
        if !stored.isEmpty { logger.notice("mappings from \(database.path): \(restored.restored) restored, \(restored.dropped.count - lost) lapsed while down, \(lost) lost") }
        let epochStart: Int64
        do { epochStart = try database.pcpEpochStart(now: now, keptMappings: lost == 0) } catch { throw StartupRefusal("\(error)") }
        return (table, (epochStart, epochStart == now))
    }

    /// Opens the --pcp-listen sockets and starts the server thread.
    private func startPCP(_ listen: [SocketAddress], table: MappingTable, epochStart: (milliseconds: Int64, isNew: Bool),
                          subscribers: SubscriberRegistry, allowed: [IPPrefix]?, logger: Logger) throws -> PCPService {
        let configuration = PCPServerConfiguration(
            minimumLifetime: pcp.minimumLifetime, maximumLifetime: pcp.maximumLifetime, epochStartMilliseconds: epochStart.milliseconds,
            requestsPerSecond: pcp.requestsPerSecond, requestBurst: 2 * pcp.requestsPerSecond)
        let service = try PCPService(listen: listen, table: table, configuration: configuration, subscribers: subscribers,
                                     allowed: allowed, announce: epochStart.isNew, logger: logger)
        service.start()
        logger.notice("PCP server on \(listen.map(\.description).joined(separator: ", ")); lifetimes \(pcp.minimumLifetime)-\(pcp.maximumLifetime) s, \(pcp.maximumMappings) mappings per subscriber\(epochStart.isNew ? "; new epoch, announced" : "")")
        return service
    }

    /// SIGHUP: the subscribers file read again; a bad file leaves the one in force.
    private func reloadSubscribers(into registry: SubscriberRegistry, logger: Logger) {
        guard subscriberOptions.subscribersFile != nil else { return logger.notice("SIGHUP: no --subscribers file to reload") }
        do {
            let directory = try subscriberOptions.loadDirectory()
            registry.replace(with: directory)
            logger.notice("SIGHUP: \(directory.count) subscribers in force")
        } catch {
            logger.error("SIGHUP: \(error); the subscribers in force stay")
        }
    }

    /// SIGHUP: the interfaces' addresses read again, so one added since start-up is never a
    /// destination; a failed reading leaves the addresses in force.
    static func reloadOwnAddresses(into ownAddresses: OwnAddresses, logger: Logger) {
        do {
            let (added, removed) = ownAddresses.replace(with: try InterfaceAddresses.current())
            let change = [added.isEmpty ? nil : "added \(added.map(\.description).sorted().joined(separator: " "))",
                          removed.isEmpty ? nil : "removed \(removed.map(\.description).sorted().joined(separator: " "))"]
                .compactMap { $0 }.joined(separator: ", ")
            logger.notice("SIGHUP: \(ownAddresses.count) own addresses refused as destinations\(change.isEmpty ? "" : " (\(change))")")
        } catch {
            logger.error("SIGHUP: cannot list this host's addresses: \(error); the own addresses in force stay")
        }
    }

    static func parsePortRange(_ text: String) throws -> ClosedRange<UInt16> {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let first = UInt16(parts[0]), let last = UInt16(parts.last!), first <= last else {
            throw ValidationError("--reserve-ports \(text): expected PORT or FIRST-LAST with FIRST <= LAST")
        }
        return first...last
    }
}

func printError(_ message: String) {
    var standardError = StandardError()
    print(message, to: &standardError)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

import Glibc
