import ArgumentParser
import BindingState
import Glibc
import Logging
import NetfilterQueue
import PacketPlane
import PlainMode
import Syscalls
import SystemPackage
import UDPRelay
import WireFormat

/// The concentrator's packet plane flags (SYN gate, UDP bindings) and its start-up.
struct PacketPlaneOptions: ParsableArguments {
    @Flag(inversion: .prefixedNo,
          help: "Check SYNs to the listeners before the kernel answers them (needs the NFQUEUE rules of concentrator-net.sh --gate). Without the gate, SYN data is unprotected from the kernel stall of --syn-window-rewrite.")
    var synGate = true

    @Flag(inversion: .prefixedNo,
          help: "Lower the window field of accepted SYNs that carry data or a Fast Open option (the PM block as SYN data, the draft's way) to the client's true window, checksum fixed; payload, options and sequence numbers untouched. Linux 6.18 takes that field, wrongly scaled, as the send limit of the MPTCP connection and overruns a two-subflow client: transfers towards the CPE stall (README). Turn off only on a kernel without that bug.")
    var synWindowRewrite = true

    @OptionGroup var queueOptions: QueueOptions

    @Option(name: .customLong("allow"),
            help: "Required: a source prefix CPEs connect from (repeatable). List the WAN prefixes of every access link: second-link subflows (MP_JOIN) come from there too. `--allow any` serves every source, an open relay for whoever reaches the listeners. Checked by the SYN gate (silent drop) and at accept() (reset).")
    var allowed: [String] = []

    @Option(help: ArgumentHelp("Firewall mark the SYN gate puts on a SYN it refuses (bad PM, no MP_CAPABLE, refused destination, over the rate limit) so the REJECT rule of concentrator-net.sh --gate answers it with a TCP reset: the client hears at once and keeps MPTCP (a silently dropped MP_CAPABLE SYN turns MPTCP off on a Linux client for an hour). Must match the script's --reset-mark; 0 drops refused SYNs instead.", valueName: "mark"))
    var resetMark = "0x2000"

    @Option(help: "Refused SYNs answered with a reset per second per queue; beyond that (a flood) they are dropped silently and counted (gate_resets_over_budget).")
    var resetsPerSecond = 1000

    @Option(help: "New MPTCP connections per second per CPE address (0: no limit, the default: a CPE sharing one address among a whole LAN opens connections as fast as its hosts do, and the listener's SYN cookies already absorb floods).")
    var maxNewConnectionsPerSecond = 0

    @Option(help: "Connections a CPE address may open at once above that rate (0: one second's worth).")
    var newConnectionBurst = 0

    @Option(help: "MP_JOIN SYNs (extra subflows) per MPTCP connection (0: no limit); the kernel's `ip mptcp limits` still applies.")
    var maxSubflowsPerConnection = 0

    @Flag(inversion: .prefixedNo,
          help: "Carry UDP (PM protocol 17): records become datagrams from the CPE's port set, and datagrams to the pool (queued by concentrator-net.sh --udp) go back as records.")
    var udp = true

    @Option(help: "Which Internet datagrams a UDP binding takes (RFC 4787): address-and-port (only from the remote the CPE named) or endpoint (from anyone to the external endpoint: a remote that no flow of it names gets an inbound connection of its own to the CPE, so the LAN host sees its real address and port; the CPE needs --inbound-listen on --cpe-inbound-port, else such datagrams are lost and counted).")
    var udpFiltering = UDPFiltering.addressAndPortDependent.rawValue

    @OptionGroup var udpFlows: UDPFlowOptions

    func validate() throws {
        guard UDPFiltering(rawValue: udpFiltering) != nil else {
            throw ValidationError("--udp-filtering must be address-and-port or endpoint")
        }
        guard maxNewConnectionsPerSecond >= 0, newConnectionBurst >= 0, maxSubflowsPerConnection >= 0 else {
            throw ValidationError("--max-new-connections-per-second, --new-connection-burst and --max-subflows-per-connection must be 0 or more")
        }
        guard resetsPerSecond >= 0 else { throw ValidationError("--resets-per-second must be 0 or more") }
        _ = try allowedPrefixes()
        _ = try parsedResetMark()
    }

    /// `--allow`: the prefixes, or nil for `--allow any`; an empty list means the flag is missing.
    func allowedPrefixes() throws -> [IPPrefix]? {
        if allowed.contains("any") {
            guard allowed.count == 1 else { throw ValidationError("--allow any cannot be combined with prefixes") }
            return nil
        }
        return try allowed.map { text in
            do { return try IPPrefix(text) } catch {
                throw ValidationError("--allow \(text): \(error)")
            }
        }
    }

    func parsedResetMark() throws -> UInt32 {
        let value = resetMark.hasPrefix("0x") ? UInt32(resetMark.dropFirst(2), radix: 16) : UInt32(resetMark)
        guard let value else { throw ValidationError("--reset-mark \(resetMark): expected a number such as 0x2000 or 0") }
        return value
    }

    /// The UDP binding table the relay loops and the queue workers share; nil with --no-udp.
    func udpChannels(shards: Int) -> UDPChannelTable? {
        udp ? UDPChannelTable(filtering: UDPFiltering(rawValue: udpFiltering) ?? .addressAndPortDependent, backlogLimit: udpFlows.udpBacklog, shardCount: shards) : nil
    }

    /// Binds the queues and starts their workers; nil with neither the gate nor UDP.
    func startService(policy: PlainModePolicy, destinations: DestinationFilter, udpChannels: UDPChannelTable?,
                      pool: [IPPrefix], shards: Int, inboundUDP: InboundUDPHandOff? = nil,
                      mappings: (any InboundMappingLookup)? = nil, logger: Logger) throws -> PacketPlaneService? {
        guard synGate || udpChannels != nil else { return nil }
        let settings = SynGateSettings(policy: policy, allowed: try allowedPrefixes() ?? [],
                                       newConnectionsPerSecond: maxNewConnectionsPerSecond,
                                       burst: newConnectionBurst > 0 ? newConnectionBurst : maxNewConnectionsPerSecond,
                                       subflowsPerConnection: maxSubflowsPerConnection, rewritesFastOpenWindow: synWindowRewrite,
                                       destinations: destinations, resetMark: try parsedResetMark(),
                                       resetsPerSecond: resetsPerSecond)
        var template = queueOptions.template()
        // A UDP GSO super-packet holds several datagrams and NFQUEUE does not say where they
        // split: with UDP on, the kernel segments before queueing (SYNs are never GSO).
        template.gso = udpChannels == nil
        let queues = try queueOptions.range()
        let service: PacketPlaneService
        do {
            service = try PacketPlaneService(gate: synGate ? SynGate(settings: settings, shards: shards) : nil,
                                             inbound: udpChannels.map { InboundDatagrams(channels: $0, pool: pool, opener: inboundUDP, mappings: mappings) },
                                             queues: queues, template: template, logger: logger)
        } catch {
            throw StartupRefusal("packet plane: \(error) (or run without it: --no-syn-gate --no-udp)")
        }
        service.start()
        logger.notice("packet plane on NFQUEUE \(queues.lowerBound):\(queues.upperBound): SYN gate \(synGate ? "on" : "off"), UDP \(udp ? "on" : "off")")
        return service
    }
}

/// The UDP flow flags both roles share: when an idle flow closes and how much it may hold back.
struct UDPFlowOptions: ParsableArguments {
    @Option(help: "Seconds without a datagram either way before a UDP flow (its MPTCP connection) is closed with MP_FASTCLOSE (RFC 4787 asks at least 120).")
    var udpIdleTimeout: Double = 300

    @Option(help: "Bytes of records a UDP flow may hold while its MPTCP connection is opening or full; a record that does not fit is dropped whole.")
    var udpBacklog = 32768

    @Option(help: ArgumentHelp("TCP congestion control of the MPTCP connections that carry UDP (all their subflows), e.g. cubic or bbr; default: the kernel's (net.ipv4.tcp_congestion_control). Checked at start-up against tcp_available_congestion_control.", valueName: "name"))
    var udpCongestionControl: String?

    @Option(help: ArgumentHelp("Send buffer of each MPTCP connection that carries UDP, fixed (SO_SNDBUFFORCE; the kernel doubles it): what the connection holds while the other end is late before records are dropped. 0: the kernel's autotuning, which on short round trips stays too small for a fast flow.", valueName: "bytes"))
    var udpSendBuffer: Int32 = UDPConnectionTuning.defaultSendBuffer

    @Option(help: ArgumentHelp("Receive buffer of each MPTCP connection that carries UDP, fixed (SO_RCVBUFFORCE; the kernel doubles it), so a late reader does not close the window. 0: the kernel's autotuning.", valueName: "bytes"))
    var udpReceiveBuffer: Int32 = UDPConnectionTuning.defaultReceiveBuffer

    func validate() throws {
        guard udpIdleTimeout > 0 else { throw ValidationError("--udp-idle-timeout must be positive") }
        guard (0...(1 << 24)).contains(udpBacklog) else { throw ValidationError("--udp-backlog must be 0...16777216") }
        for (flag, bytes) in [("--udp-send-buffer", udpSendBuffer), ("--udp-receive-buffer", udpReceiveBuffer)] {
            guard bytes == 0 || (4096...(1 << 30)).contains(bytes) else {
                throw ValidationError("\(flag) must be 0 (kernel autotuning) or 4096...1073741824 bytes, got \(bytes)")
            }
        }
        if let name = udpCongestionControl {
            guard !name.isEmpty, name.utf8.count < 16, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw ValidationError("--udp-congestion-control: '\(name)' is not a congestion control name")
            }
            try checkCongestionControl()
        }
    }

    /// Sets --udp-congestion-control on a throw-away TCP socket (an MPTCP socket with no subflow
    /// yet accepts any name), so an unknown or forbidden name stops start-up with the list the
    /// kernel offers instead of leaving every connection on the default.
    func checkCongestionControl() throws {
        guard let name = udpCongestionControl else { return }
        let probe = try Socket.stream(family: AF_INET, protocolNumber: Int32(IPPROTO_TCP))
        defer { probe.close() }
        do throws(Errno) { try probe.setCongestionControl(name) } catch {
            let available = Privileges.readSmallFile("/proc/sys/net/ipv4/tcp_available_congestion_control")?
                .split(whereSeparator: \.isWhitespace).joined(separator: " ") ?? "unknown"
            throw ValidationError("--udp-congestion-control \(name): \(error) (available here: \(available))")
        }
    }

    var idleTimeout: Duration { .milliseconds(Int64(udpIdleTimeout * 1000)) }

    var connectionTuning: UDPConnectionTuning {
        UDPConnectionTuning(congestionControl: udpCongestionControl, sendBuffer: udpSendBuffer, receiveBuffer: udpReceiveBuffer)
    }
}

/// The NFQUEUE flags both roles share: which queues (one worker thread each) and how long.
struct QueueOptions: ParsableArguments {
    @Option(help: "NFQUEUE numbers, FIRST:LAST or Q, one worker thread each; must match the --queues of concentrator-net.sh / cpe-net.sh (default 0:N-1, N = CPU cores).")
    var queues: String?

    @Option(help: "Packets each queue holds before it is full (then they take the ordinary path unchecked: fail-open).")
    var queueLength: UInt32 = 4096

    func validate() throws {
        _ = try range()
        guard queueLength >= 1 else { throw ValidationError("--queue-length must be at least 1") }
    }

    func template() -> NetfilterQueueConfiguration {
        var template = NetfilterQueueConfiguration(queue: 0)
        template.maxLength = queueLength
        return template
    }

    /// `--queues`, or 0:N-1 with N CPU cores.
    func range() throws -> ClosedRange<UInt16> {
        guard let queues else {
            let cores = max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1024))
            return 0...UInt16(cores - 1)
        }
        let parts = queues.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let first = UInt16(parts[0]), let last = UInt16(parts.last!), first <= last,
              last - first < 1024
        else {
            throw ValidationError("--queues \(queues): expected FIRST:LAST or Q (0...65535, FIRST <= LAST, at most 1024 queues), e.g. 0:1")
        }
        return first...last
    }
}
