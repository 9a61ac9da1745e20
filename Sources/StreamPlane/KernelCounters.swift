public import Counters
public import SystemPackage

/// Kernel counters an operator needs next to the relay's own (FACTS.md section 2): when the TFO
/// queue overflows, the PM block in the SYN is not acknowledged and MPTCP falls back to TCP.
/// They come from /proc/net/netstat of the daemon's network namespace, so they count every
/// listener of that namespace, not plainmode's alone. Read per `ctl stats` request or metrics
/// scrape, never on the data path.
public enum KernelCounters {
    /// A counter as `ctl stats` names it, where /proc/net/netstat keeps it (nstat calls it
    /// `group + field`, e.g. TcpExtTCPFastOpenListenOverflow), and its metric's HELP text.
    public struct Reported: Sendable {
        public var name: String
        public var group: String
        public var field: String
        public var help: String
    }

    public static let reported: [Reported] = [
        Reported(name: "tfo_listen_overflow", group: "TcpExt", field: "TCPFastOpenListenOverflow",
                 help: "Kernel, whole namespace: Fast Open SYNs whose data (the PM block) was not taken because the TFO queue, --backlog long, was full."),
        Reported(name: "tfo_passive", group: "TcpExt", field: "TCPFastOpenPassive",
                 help: "Kernel, whole namespace: connections accepted with their SYN's Fast Open data."),
        Reported(name: "mptcp_capable_syn_rx", group: "MPTcpExt", field: "MPCapableSYNRX",
                 help: "Kernel, whole namespace: SYNs received with MP_CAPABLE."),
        Reported(name: "mptcp_capable_fallback_ack", group: "MPTcpExt", field: "MPCapableFallbackACK",
                 help: "Kernel, whole namespace: connections that fell back to TCP because the client's third ACK had no MP_CAPABLE."),
    ]

    public static let netstatPath: FilePath = "/proc/net/netstat"

    /// MPTcpExt fields that are levels, not event counts (MPCurrEstab: MPTCP connections established now).
    public static let multipathLevels: Set<String> = ["MPCurrEstab"]

    /// The reported counters the kernel has, in `reported` order; one the kernel lacks (an older
    /// kernel, MPTCP not built) is left out rather than shown as 0. Empty when the file cannot be read.
    public static func read(from path: FilePath = netstatPath) -> [StatTotal] {
        select(from: readGroups(from: path))
    }

    /// Every group of the file (TcpExt, IpExt, MPTcpExt, ...) by field; empty when it cannot be read.
    public static func readGroups(from path: FilePath = netstatPath) -> [String: [String: Int]] {
        readProcFile(path).map(parseNetstat) ?? [:]
    }

    /// Every MPTcpExt field the kernel keeps (nstat's MPTcpExt*), sorted by field; empty without MPTCP.
    public static func multipathFields(from groups: [String: [String: Int]]) -> [(field: String, value: Int)] {
        (groups["MPTcpExt"] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The reported counters `groups` has, as `ctl stats` totals (events) in `reported` order.
    public static func select(from groups: [String: [String: Int]]) -> [StatTotal] {
        reported.compactMap { counter in groups[counter.group]?[counter.field].map { StatTotal(counter.name, $0, help: counter.help) } }
    }

    /// Parses /proc/net/netstat (also /proc/net/snmp): each group is a line of field names
    /// ("TcpExt: SyncookiesSent ...") followed by a line of values with the same prefix. A
    /// header without its value line, or a value that is not a number, is skipped.
    public static func parseNetstat(_ text: String) -> [String: [String: Int]] {
        var groups: [String: [String: Int]] = [:]
        let lines = text.split(separator: "\n")
        var index = 0
        while index + 1 < lines.count {
            let names = lines[index].split(separator: " ")
            let values = lines[index + 1].split(separator: " ")
            guard let group = names.first, group.hasSuffix(":"), values.first == group else {
                index += 1  // out of step: resynchronise on the next line
                continue
            }
            var fields = groups[String(group.dropLast()), default: [:]]
            for (name, value) in zip(names.dropFirst(), values.dropFirst()) {
                if let number = Int(value) { fields[String(name)] = number }
            }
            groups[String(group.dropLast())] = fields
            index += 2
        }
        return groups
    }

    /// A whole /proc file (at most 1 MiB), read until EOF: one read may return only part of it.
    static func readProcFile(_ path: FilePath) -> String? {
        guard let descriptor = try? FileDescriptor.open(path, .readOnly, options: .closeOnExec) else { return nil }
        defer { try? descriptor.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while bytes.count < 1 << 20 {
            guard let count = try? chunk.withUnsafeMutableBytes({ try descriptor.read(into: $0, retryOnInterrupt: true) })
            else { return nil }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
