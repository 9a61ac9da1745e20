import Foundation
import Testing

/// Issue 15, metrics: `--metrics-listen` of both daemons scraped from inside their namespaces and
/// parsed by a real Prometheus parser (prometheus_client, tools/scrape.py): the documented names
/// and types, counters that move with traffic, subflows per access link, 404 and 405.
@Suite(.serialized) struct MetricsTests {
    static let concentratorMetrics = "http://198.51.100.1:9100"
    static let cpeMetrics = "http://198.51.100.2:9101"
    static let upload = 8 * 1024 * 1024

    /// One parsed scrape: family name (as the parser gives it, `_total` stripped) to type, and
    /// sample name plus labels to value.
    struct Scrape {
        var status: Int
        var contentType: String
        var types: [String: String] = [:]
        var samples: [String: Double] = [:]
        var labelNames: Set<String> = []

        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples[Self.key(name, labels)]
        }

        static func key(_ name: String, _ labels: [String: String]) -> String {
            name + "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
        }
    }

    static func scrape(_ bed: Testbed, _ namespace: String, _ base: String) throws -> Scrape {
        let result = try bed.run(namespace, ["/usr/bin/python3", "\(Testbed.tools)/scrape.py", base + "/metrics"], timeout: 20)
        try #require(result.status == 0, "scrape.py failed: \(result.output)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        var scrape = Scrape(status: object["status"] as? Int ?? 0, contentType: object["content_type"] as? String ?? "")
        for family in object["families"] as? [[String: Any]] ?? [] {
            let name = try #require(family["name"] as? String)
            scrape.types[name] = family["type"] as? String
            for sample in family["samples"] as? [[String: Any]] ?? [] {
                let labels = sample["labels"] as? [String: String] ?? [:]
                scrape.labelNames.formUnion(labels.keys)
                scrape.samples[Scrape.key(try #require(sample["name"] as? String), labels)] = sample["value"] as? Double
            }
        }
        return scrape
    }

    static func status(_ bed: Testbed, _ namespace: String, _ url: String, post: Bool = false) throws -> Int? {
        let result = try bed.run(namespace, ["/usr/bin/python3", "\(Testbed.tools)/scrape.py", post ? "--post-status" : "--status", url],
                                 timeout: 20)
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        return object?["status"] as? Int
    }

    /// Families of both roles and their types, as docs/operator-guide.md lists them.
    static let concentratorTypes: [String: String] = [
        "plainmode_accepted": "counter", "plainmode_upstream_connected": "counter",
        "plainmode_accept_refused_source": "counter", "plainmode_dest_refused_denied": "counter",
        "plainmode_pm_reject_bad_length": "counter", "plainmode_gate_accepted_pm": "counter",
        "plainmode_data_to_upstream_bytes": "counter", "plainmode_data_to_downstream_bytes": "counter",
        "plainmode_lease_events_written": "counter", "plainmode_lease_write_failures": "counter",
        "plainmode_nfq_received": "counter", "plainmode_tfo_listen_overflow": "counter",
        "plainmode_connections_open": "gauge", "plainmode_bindings": "gauge", "plainmode_udp_bindings_open": "gauge",
        "plainmode_port_set_leases": "gauge", "plainmode_port_set_capacity": "gauge", "plainmode_tcp_ports_in_use": "gauge",
        "plainmode_ports_held": "gauge", "plainmode_subscribers": "gauge",
        "plainmode_pool_port_set_leases": "gauge", "plainmode_pool_port_set_capacity": "gauge",
        "plainmode_kernel_mptcpext_MPCapableSYNRX": "counter", "plainmode_kernel_mptcpext_MPCapableFallbackACK": "counter",
    ]

    @Test func scrapesParseWithTheDocumentedTypesAndCountersMoveWithTraffic() async throws {
        try await Testbed.with("metrics", rate: "40mbit") { bed in
            try bed.startConcentrator(["--metrics-listen", "198.51.100.1:9100"])
            try bed.startCPE(["--metrics-listen", "198.51.100.2:9101"])
            try bed.startServer(port: 8095)
            let before = try Self.scrape(bed, bed.conc, Self.concentratorMetrics)
            #expect(before.status == 200)
            #expect(before.contentType == "text/plain; version=0.0.4; charset=utf-8")
            for (name, type) in Self.concentratorTypes {
                #expect(before.types[name] == type, "\(name): \(before.types[name] ?? "missing")")
            }
            // Every MPTcpExt field is there, MPCurrEstab (a level) as a gauge.
            #expect(before.types.keys.filter { $0.hasPrefix("plainmode_kernel_mptcpext_") }.count >= 20)
            if before.types["plainmode_kernel_mptcpext_MPCurrEstab"] != nil {
                #expect(before.types["plainmode_kernel_mptcpext_MPCurrEstab"] == "gauge")
            }
            // Levels are gauges without _total; counters end in _total.
            #expect(before.value("plainmode_connections_open") != nil)
            #expect(before.value("plainmode_accepted_total") != nil)
            let pool = ["pool": Testbed.pool]
            #expect((before.value("plainmode_pool_port_set_capacity", pool) ?? 0) > 0)
            #expect(before.value("plainmode_pool_port_set_capacity", pool) == before.value("plainmode_port_set_capacity"))
            // No per-subscriber labels: only pools and local addresses label anything.
            #expect(before.labelNames.isSubset(of: ["pool", "local_address"]), "\(before.labelNames)")

            // An upload through both links, scraped while it runs (subflows per access link) and after.
            try bed.spawn("upload", in: bed.lan, ["python3", "\(Testbed.tools)/peer.py", "client", "--connect", Testbed.serverV4,
                                                  "--port", "8095", "--send", "\(Self.upload)", "--timeout", "60"])
            var during = try Self.scrape(bed, bed.cpe, Self.cpeMetrics)
            let bothLinks = try bed.waitFor(15) {
                during = try Self.scrape(bed, bed.cpe, Self.cpeMetrics)
                return (during.value("plainmode_mptcp_subflows", ["local_address": "198.51.100.2"]) ?? 0) >= 1
                    && (during.value("plainmode_mptcp_subflows", ["local_address": "198.51.100.6"]) ?? 0) >= 1
            }
            #expect(bothLinks, "CPE subflows: \(during.samples.filter { $0.key.hasPrefix("plainmode_mptcp_subflows") })")
            #expect(during.types["plainmode_mptcp_subflows"] == "gauge")
            #expect((during.value("plainmode_connections_open") ?? 0) >= 1, "CPE connections_open while uploading")
            let concentratorDuring = try Self.scrape(bed, bed.conc, Self.concentratorMetrics)
            #expect((concentratorDuring.value("plainmode_connections_open") ?? 0) >= 1)
            #expect((concentratorDuring.value("plainmode_pool_port_set_leases", pool) ?? 0) >= 1)
            let finished = bed.waitFor(60) { !PeerRecord.parse(bed.log("upload")).isEmpty }
            #expect(finished, "upload: \(bed.log("upload"))")
            _ = bed.waitFor(5) { (try? bed.stats()["connections_open"]) == 0 }

            let after = try Self.scrape(bed, bed.conc, Self.concentratorMetrics)
            func moved(_ name: String) -> Double { (after.value(name) ?? 0) - (before.value(name) ?? 0) }
            #expect(moved("plainmode_accepted_total") >= 1)
            #expect(moved("plainmode_upstream_connected_total") >= 1)
            #expect(moved("plainmode_data_to_upstream_bytes_total") >= Double(Self.upload))
            #expect(moved("plainmode_kernel_mptcpext_MPCapableSYNRX_total") >= 1)
            #expect(moved("plainmode_kernel_mptcpext_MPJoinSynRx_total") >= 1, "the second link joined")
            #expect(after.value("plainmode_connections_open") == 0)
            // The scrape agrees with ctl stats (one list of totals behind both).
            let stats = try bed.stats()
            #expect(after.value("plainmode_accepted_total") == Double(stats["accepted"] ?? -1))
            #expect(after.value("plainmode_data_to_upstream_bytes_total") == Double(stats["bytes_to_upstream"] ?? -1))

            let cpeAfter = try Self.scrape(bed, bed.cpe, Self.cpeMetrics)
            #expect((cpeAfter.value("plainmode_accepted_total") ?? 0) >= 1)
            // The CPE counts the LAN bytes that rode with the PM block apart from the relayed rest.
            let cpeUpload = (cpeAfter.value("plainmode_data_to_upstream_bytes_total") ?? 0)
                + (cpeAfter.value("plainmode_first_data_with_block_bytes_total") ?? 0)
            #expect(cpeUpload >= Double(Self.upload), "\(cpeUpload)")
            #expect(cpeAfter.types["plainmode_syn_data_connections"] == "counter")

            #expect(try Self.status(bed, bed.conc, Self.concentratorMetrics + "/other") == 404)
            #expect(try Self.status(bed, bed.conc, Self.concentratorMetrics + "/") == 404)
            #expect(try Self.status(bed, bed.conc, Self.concentratorMetrics + "/metrics", post: true) == 405)

            // The Grafana dashboard is JSON and asks only for metrics a scrape has.
            try Self.checkDashboard(names: Set([after, during, concentratorDuring].flatMap(\.samples.keys).map { String($0.prefix { $0 != "{" }) }))
        }
    }

    /// A second daemon on a metrics address in use refuses to start with exit status 78.
    @Test func aMetricsAddressInUseRefusesStartUp() async throws {
        try await Testbed.with("metricsbusy", rate: nil) { bed in
            try bed.spawn("holder", in: bed.conc, ["python3", "-c",
                "import socket,time; s=socket.socket(); s.bind(('198.51.100.1', 9100)); s.listen(); print('READY', flush=True); time.sleep(60)"])
            #expect(bed.waitFor(10) { bed.log("holder").contains("READY") })
            let result = try bed.run(bed.conc, [Testbed.binary, "concentrator", "--listen", Testbed.serviceV4, "--pool", Testbed.pool,
                                                "--allow", "any", "--ephemeral-leases", "--no-syn-gate", "--no-udp",
                                                "--control-socket", bed.directory.appendingPathComponent("busy.sock").path,
                                                "--metrics-listen", "198.51.100.1:9100"], timeout: 30)
            #expect(result.status == 78, "\(result.output)")
            #expect(result.output.contains("--metrics-listen 198.51.100.1:9100: cannot listen"), "\(result.output)")
        }
    }

    static func checkDashboard(names: Set<String>) throws {
        let url = Testbed.repository.appendingPathComponent("Deploy/grafana/plainmode-dashboard.json")
        let text = try String(contentsOf: url, encoding: .utf8)
        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(!(dashboard["panels"] as? [Any] ?? []).isEmpty)
        let regex = try NSRegularExpression(pattern: "plainmode_[A-Za-z0-9_]+")
        let used = Set(regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range, in: text).map { String(text[$0]) }
        })
        #expect(!used.isEmpty)
        for name in used where !name.hasSuffix("_") {
            #expect(names.contains(name), "the dashboard asks for \(name), which no scrape has")
        }
        let scrapeConfig = Testbed.repository.appendingPathComponent("Deploy/prometheus/plainmode-scrape.yml")
        #expect(try String(contentsOf: scrapeConfig, encoding: .utf8).contains("metrics_path: /metrics"))
    }
}
