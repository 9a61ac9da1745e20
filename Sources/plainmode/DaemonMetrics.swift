import Counters
import MetricsEndpoint
import StreamPlane
import Syscalls

/// `--metrics-listen`: what both daemons export, assembled per scrape from the `ctl stats` totals,
/// the namespace's MPTcpExt counters and its subflows. No per-subscriber label: that stays in `ctl`.
enum DaemonMetrics {
    static let prefix = "plainmode_"

    /// A `ctl stats` total as a metric: events `plainmode_NAME_total`, levels `plainmode_NAME`,
    /// bytes `plainmode_NAME_bytes_total` with the key's word "bytes" read as "data".
    static func metricName(_ total: StatTotal) -> String {
        switch total.kind {
        case .events: prefix + total.name + "_total"
        case .level: prefix + total.name
        case .bytes: prefix + total.name.replacing("bytes", with: "data") + "_bytes_total"
        }
    }

    /// The snapshot one scrape renders: `totals` (the role's `ctl stats` list), every MPTcpExt
    /// field of `netstat`, subflows per local address, and the role's labelled `gauges`.
    static func snapshot(totals: [StatTotal], netstat: [String: [String: Int]],
                         gauges: [MetricsSnapshot.Gauge] = []) -> MetricsSnapshot {
        var snapshot = MetricsSnapshot(gauges: gauges)
        for total in totals {
            let name = metricName(total)
            switch total.kind {
            case .events, .bytes:
                snapshot.counters.append(.init(name: name, help: total.help, value: total.value))
            case .level:
                snapshot.gauges.append(.init(name: name, help: total.help, value: total.value))
            }
        }
        for (field, value) in KernelCounters.multipathFields(from: netstat) {
            let help = "The kernel's MPTcpExt \(field) of the daemon's network namespace (/proc/net/netstat)."
            if KernelCounters.multipathLevels.contains(field) {
                snapshot.gauges.append(.init(name: prefix + "kernel_mptcpext_" + field, help: help, value: value))
            } else {
                snapshot.counters.append(.init(name: prefix + "kernel_mptcpext_" + field + "_total", help: help, value: value))
            }
        }
        // A failed dump shows no series rather than a wrong zero.
        if let subflows = try? SubflowCensus.established() {
            for (address, count) in subflows.sorted(by: { "\($0.key)" < "\($1.key)" }) {
                snapshot.gauges.append(.init(
                    name: prefix + "mptcp_subflows",
                    help: "Established MPTCP subflows of the daemon's network namespace per local address (an access link's address at the CPE).",
                    labels: [("local_address", "\(address)")], value: count))
            }
        }
        return snapshot
    }

    /// Starts the server `--metrics-listen` asks for, or nothing; an address in use refuses start-up.
    static func start(_ listen: SocketAddress?, snapshot: @escaping @Sendable () -> MetricsSnapshot) throws(StartupRefusal) -> MetricsServer? {
        guard let listen else { return nil }
        do {
            return try MetricsServer(host: "\(listen.address)", port: Int(listen.port), snapshot: snapshot)
        } catch {
            throw StartupRefusal(error.description)
        }
    }
}
