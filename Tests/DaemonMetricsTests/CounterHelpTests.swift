import AllocationLog
import BindingState
import Counters
import LeaseStore
import MetricsEndpoint
import NetfilterQueue
import PacketPlane
import PCPServer
import StreamPlane
import Testing
import UDPRelay
@testable import plainmode

/// The HELP line of every `--metrics-listen` metric made from a `ctl stats` total: its own
/// sentence, safe to print in the text exposition unescaped.
@Suite struct CounterHelpTests {
    /// One list of totals, by where they come from: a `CounterName` enum, or the fixed totals.
    struct Source: Sendable, CustomTestStringConvertible {
        var label: String
        var totals: [StatTotal]
        var testDescription: String { label }
    }

    static func counters<Name: CounterName>(_ type: Name.Type) -> Source {
        Source(label: "\(type)", totals: type.allCases.map { StatTotal($0, 0) })
    }

    static let sources: [Source] = [
        counters(StreamCounter.self), counters(UDPCounter.self), counters(SynGateOutcome.self),
        counters(SynRewriteCounter.self), counters(NetfilterQueueCounter.self), counters(PCPCounter.self),
        counters(LeaseJournalCounter.self), counters(AllocationLogCounter.self), counters(CPEPCPCounter.self),
        Source(label: "concentrator levels", totals: ConcentratorReports.allocatorTotals(bindings: 0, nil)
            + [ConcentratorReports.subscribersTotal(0)] + PCPService.idleTotals.suffix(1)),
        Source(label: "kernel counters", totals: KernelCounters.reported.map { StatTotal($0.name, 0, help: $0.help) }),
    ]

    @Test("every total has one sentence of help, printable as a HELP line", arguments: sources)
    func everyTotalHasItsOwnHelp(_ source: Source) {
        for total in source.totals {
            let help = total.help
            #expect(!help.isEmpty, "\(total.name): no help")
            #expect(help.hasSuffix("."), "\(total.name): \(help)")
            // Prometheus escapes these in HELP; a plain sentence needs none of them.
            #expect(!help.contains { $0 == "\n" || $0 == "\\" || $0 == "\"" }, "\(total.name): \(help)")
            #expect(help.count <= 160, "\(total.name): \(help.count) characters")
        }
        // Copied and not adapted: two counters of one source saying the same.
        var seen: [String: String] = [:]
        for total in source.totals {
            if let other = seen.updateValue(total.name, forKey: total.help) {
                Issue.record("\(other) and \(total.name) share their help: \(total.help)")
            }
        }
    }

    @Test func theSnapshotCarriesEachTotalsHelp() {
        let totals = [StatTotal(StreamCounter.accepted, 3), StatTotal(StreamCounter.bytesToUpstream, 1000),
                      StatTotal(StreamCounter.connectionsOpen, 2), ConcentratorReports.subscribersTotal(5)]
        let snapshot = DaemonMetrics.snapshot(totals: totals, netstat: [:])
        let accepted = snapshot.counters.first { $0.name == "plainmode_accepted_total" }
        #expect(accepted?.help == StreamCounter.accepted.help)
        #expect(accepted?.value == 3)
        let bytes = snapshot.counters.first { $0.name == "plainmode_data_to_upstream_bytes_total" }
        #expect(bytes?.help == StreamCounter.bytesToUpstream.help)
        #expect(snapshot.gauges.first { $0.name == "plainmode_connections_open" }?.help == StreamCounter.connectionsOpen.help)
        #expect(snapshot.gauges.first { $0.name == "plainmode_subscribers" }?.help == ConcentratorReports.subscribersTotal(0).help)
    }

    @Test func kernelTotalsCarryTheirHelp() {
        let groups = KernelCounters.parseNetstat("TcpExt: TCPFastOpenListenOverflow\nTcpExt: 7\n")
        let selected = KernelCounters.select(from: groups)
        #expect(selected.map(\.name) == ["tfo_listen_overflow"])
        #expect(selected.first?.help == KernelCounters.reported.first { $0.name == "tfo_listen_overflow" }?.help)
    }

    @Test func ctlStatsShowsNamesAndValuesOnly() {
        let totals = [StatTotal(StreamCounter.accepted, 3), StatTotal(StreamCounter.connectionsOpen, 12)]
        #expect(renderStats(totals, json: false) == "accepted          3\nconnections_open  12\n")
        #expect(renderStats(totals, json: true) == "{\"accepted\":3,\"connections_open\":12}\n")
    }
}
