import ArgumentParser
import Glibc
import Logging
import NetfilterQueue
import PacketPlane
import PlainMode
import WireFormat

/// The concentrator's SYN gate flags and its start-up.
struct SynGateOptions: ParsableArguments {
    @Flag(inversion: .prefixedNo,
          help: "Check SYNs to the listeners before the kernel answers them (read-only; needs the NFQUEUE rules of concentrator-net.sh --gate).")
    var synGate = true

    @Option(help: "NFQUEUE numbers, FIRST:LAST or Q, one worker thread each; must match concentrator-net.sh --queues (default 0:N-1, N = CPU cores).")
    var queues: String?

    @Option(help: "Packets each queue holds before it is full (then they pass ungated: fail-open).")
    var queueLength: UInt32 = 4096

    @Option(name: .customLong("allow"),
            help: "CPE source prefix allowed to connect (repeatable; default: every source). List every WAN prefix: second-link subflows (MP_JOIN) come from there too.")
    var allowed: [String] = []

    @Option(help: "New MPTCP connections per second per CPE address (0: no limit, the default: a CPE sharing one address among a whole LAN opens connections as fast as its hosts do, and the listener's SYN cookies already absorb floods).")
    var maxNewConnectionsPerSecond = 0

    @Option(help: "Connections a CPE address may open at once above that rate (0: one second's worth).")
    var newConnectionBurst = 0

    @Option(help: "MP_JOIN SYNs (extra subflows) per MPTCP connection (0: no limit); the kernel's `ip mptcp limits` still applies.")
    var maxSubflowsPerConnection = 0

    func validate() throws {
        _ = try queueRange()
        guard queueLength >= 1 else { throw ValidationError("--queue-length must be at least 1") }
        guard maxNewConnectionsPerSecond >= 0, newConnectionBurst >= 0, maxSubflowsPerConnection >= 0 else {
            throw ValidationError("--max-new-connections-per-second, --new-connection-burst and --max-subflows-per-connection must be 0 or more")
        }
        _ = try allowedPrefixes()
    }

    /// `--queues`, or 0:N-1 with N CPU cores.
    func queueRange() throws -> ClosedRange<UInt16> {
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

    func allowedPrefixes() throws -> [IPPrefix] {
        try allowed.map { text in
            do { return try IPPrefix(text) } catch {
                throw ValidationError("--allow \(text): \(error)")
            }
        }
    }

    /// Binds the queues and starts their workers; nil with --no-syn-gate.
    func startService(policy: PlainModePolicy, shards: Int, logger: Logger) throws -> SynGateService? {
        guard synGate else { return nil }
        let settings = SynGateSettings(policy: policy, allowed: try allowedPrefixes(),
                                       newConnectionsPerSecond: maxNewConnectionsPerSecond,
                                       burst: newConnectionBurst > 0 ? newConnectionBurst : maxNewConnectionsPerSecond,
                                       subflowsPerConnection: maxSubflowsPerConnection)
        var template = NetfilterQueueConfiguration(queue: 0)
        template.maxLength = queueLength
        let queues = try queueRange()
        let service: SynGateService
        do {
            service = try SynGateService(gate: SynGate(settings: settings, shards: shards), queues: queues,
                                         template: template, logger: logger)
        } catch {
            throw StartupRefusal("SYN gate: \(error) (or run without the gate: --no-syn-gate)")
        }
        service.start()
        logger.notice("SYN gate on NFQUEUE \(queues.lowerBound):\(queues.upperBound)")
        return service
    }
}
