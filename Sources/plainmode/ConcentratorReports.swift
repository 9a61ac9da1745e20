import AllocationLog
import BindingState
import Counters
import LeaseStore
import MetricsEndpoint
import PacketPlane
import StreamPlane

/// Answers the concentrator's control requests: "stats text|json", "bindings text|json",
/// "leases text|json", "mappings text|json", "subscriber text|json ID".
enum ConcentratorReports {
    static func answer(_ request: String, plane: StreamPlaneService, bindings: BindingTable,
                       allocator: PortSetAllocator?, packetPlane: PacketPlaneService?,
                       subscribers: SubscriberRegistry, database: LeaseDatabase?, journal: LeaseJournal?,
                       allocationLog: AllocationLogger?, pcp: PCPService? = nil, mappings: MappingTable? = nil) -> String {
        let parts = request.split(separator: " ")
        let json = parts.count > 1 && parts[1] == "json"
        switch parts.first {
        case "stats":
            return renderStats(statTotals(plane: plane, bindings: bindings, allocator: allocator, packetPlane: packetPlane,
                                          subscribers: subscribers, journal: journal, allocationLog: allocationLog, pcp: pcp), json: json)
        case "bindings":
            return renderBindings(bindings.snapshot(), leases: allocator?.snapshot() ?? [], json: json)
        case "leases":
            return renderLeases(allocator: allocator, database: database, journal: journal, json: json)
        case "mappings":
            return renderMappings(mappings?.snapshot() ?? [], json: json)
        case "subscriber" where parts.count == 3:
            return renderSubscriber(String(parts[2]), subscribers: subscribers, allocator: allocator, bindings: bindings, json: json)
        default:
            return "unknown request \(request.jsonQuoted); try stats, bindings, leases, mappings or subscriber ID\n"
        }
    }

    /// The totals `ctl stats` lists and the metrics export, in one order: the stream plane, the
    /// allocator, UDP, the packet plane, the lease journal, subscribers, the kernel's counters.
    static func statTotals(plane: StreamPlaneService, bindings: BindingTable, allocator: PortSetAllocator?,
                           packetPlane: PacketPlaneService?, subscribers: SubscriberRegistry, journal: LeaseJournal?,
                           allocationLog: AllocationLogger?, netstat: [String: [String: Int]] = KernelCounters.readGroups(),
                           pcp: PCPService? = nil) -> [StatTotal] {
        var totals = plane.counterTotals()
        totals += allocatorTotals(bindings: bindings.count, allocator?.statistics)
        // UDP bindings as the relay loops see them (records to datagrams).
        totals += plane.udpCounterTotals()
        // The SYN gate's decisions, Internet datagrams (inbound_udp_*) and the queues (nfq_*).
        totals += packetPlane?.counterTotals() ?? []
        // The lease store's writer (events written, batches, dropped, failed writes).
        totals += LeaseJournalCounter.allCases.map { StatTotal($0, journal?.counters[$0] ?? 0) }
        totals.append(subscribersTotal(subscribers.directory.count))
        // The allocation log (records written and dropped, failing outputs).
        totals += AllocationLogCounter.allCases.map { StatTotal($0, allocationLog?.counters[$0] ?? 0) }
        // The PCP server: requests, each result code, drops, mappings (pcp_*; all 0 without --pcp-listen).
        totals += pcp?.statTotals ?? PCPService.idleTotals
        // The kernel's view of the PM block in the SYN (TFO queue overflow, MPTCP fallback).
        totals += KernelCounters.select(from: netstat)
        return totals
    }

    /// The binding table's and the allocator's levels (the allocator's are 0 without a pool).
    static func allocatorTotals(bindings: Int, _ statistics: PortSetAllocatorStatistics?) -> [StatTotal] {
        [
            StatTotal("bindings", bindings, kind: .level,
                      help: "TCP and UDP bindings in the binding table now, those held closing after a reset included."),
            StatTotal("port_set_leases", statistics?.leases ?? 0, kind: .level,
                      help: "Subscribers holding a port-set lease now."),
            StatTotal("port_set_capacity", statistics?.portSetCapacity ?? 0, kind: .level,
                      help: "Port sets the pools can lease (addresses times allocatable PSIDs)."),
            StatTotal("tcp_ports_in_use", statistics?.tcpPortsInUse ?? 0, kind: .level,
                      help: "TCP ports allocated across all port-set leases now."),
            StatTotal("udp_ports_in_use", statistics?.udpPortsInUse ?? 0, kind: .level,
                      help: "UDP ports allocated across all port-set leases now."),
            StatTotal("ports_held", statistics?.portsHeld ?? 0, kind: .level,
                      help: "Ports released but held back from reuse now (after a reset, for --reset-hold), both protocols."),
        ]
    }

    static func subscribersTotal(_ count: Int) -> StatTotal {
        StatTotal("subscribers", count, kind: .level, help: "Named subscribers in the subscriber file in force.")
    }

    /// Labelled gauges only the metrics show: leases held and port sets per pool prefix.
    static func poolGauges(_ allocator: PortSetAllocator?) -> [MetricsSnapshot.Gauge] {
        (allocator?.leasesPerPool() ?? []).flatMap { pool in
            [MetricsSnapshot.Gauge(name: DaemonMetrics.prefix + "pool_port_set_leases",
                                   help: "Port-set leases held on the addresses of a --pool prefix.",
                                   labels: [("pool", "\(pool.pool)")], value: pool.leases),
             MetricsSnapshot.Gauge(name: DaemonMetrics.prefix + "pool_port_set_capacity",
                                   help: "Port sets a --pool prefix can lease (addresses times allocatable PSIDs).",
                                   labels: [("pool", "\(pool.pool)")], value: pool.capacity)]
        }
    }

    static func stateText(_ state: BindingState) -> String {
        switch state {
        case .connecting: "connecting"
        case .established: "established"
        case .closing: "closing"
        }
    }

    static func renderBindings(_ list: [Binding], leases: [PortSetLeaseSnapshot], json: Bool) -> String {
        if json {
            let items = list.map { b in
                "{\"id\":\(b.id),\"protocol\":\"\(b.protocol)\",\"state\":\"\(stateText(b.state))\","
                    + "\"cpe\":\(b.cpe.description.jsonQuoted),\"service\":\(b.service.description.jsonQuoted),"
                    + "\"external\":\(b.external.description.jsonQuoted),\"remote\":\(b.remote.description.jsonQuoted)}"
            }
            let leaseItems = leases.map { l in
                "{\"subscriber\":\(l.subscriber.text.jsonQuoted),\"address\":\("\(l.externalAddress)".jsonQuoted),\"psid\":\(l.psid),"
                    + "\"ports\":\(l.usablePortCount),\"tcp_in_use\":\(l.tcpPortsInUse),\"udp_in_use\":\(l.udpPortsInUse),"
                    + "\"held\":\(l.portsHeld)}"
            }
            return "{\"bindings\":[" + items.joined(separator: ",") + "],\"leases\":[" + leaseItems.joined(separator: ",") + "]}\n"
        }
        var lines = ["\(list.count) bindings"]
        for b in list {
            lines.append("  #\(b.id) \(b.protocol) \(stateText(b.state)): CPE \(b.cpe) via \(b.service) -> external \(b.external) -> \(b.remote)")
        }
        lines.append("\(leases.count) port-set leases")
        for l in leases {
            lines.append("  subscriber \(l.subscriber): \(l.externalAddress) PSID \(l.psid) (\(l.usablePortCount) ports; tcp \(l.tcpPortsInUse), udp \(l.udpPortsInUse) in use; \(l.portsHeld) held)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
