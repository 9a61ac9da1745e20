import Foundation
import Testing

/// Issue 15, allocation logs: every lease event (and with --log-sessions every flow) reaches the
/// JSON and RFC 5424 syslog outputs, and the logs alone trace what the server saw to the
/// subscriber that made it.
@Suite(.serialized) struct AllocationLogTests {
    static let toEcho = SynGateTests.toEcho + SynGateTests.hello

    static func jsonLines(_ path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { line in
            ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]) ?? ["unparsed": String(line)]
        }
    }

    /// Whether `port` lies in one of the "FIRST-LAST" ranges of a lease record.
    static func contains(_ ranges: [String], _ port: Int) -> Bool {
        ranges.contains { range in
            let bounds = range.split(separator: "-").compactMap { Int($0) }
            return bounds.count == 2 && (bounds[0]...bounds[1]).contains(port)
        }
    }

    /// Two subscribers, two connections each, leases released after --lease-hold 1: the JSON
    /// log has each allocation and release once, in order (renewals between), the sessions, and ports that contain
    /// what the server saw; the syslog collector gets the same records as RFC 5424 structured data.
    @Test func leaseAndSessionRecordsReachJSONAndSyslog() async throws {
        try await Testbed.with("alog", rate: nil) { bed in try Self.leaseAndSessionRecords(bed) }
    }

    /// The body of the test above (a function of its own: Swift 6.3.1 crashes compiling it inline in the async closure).
    static func leaseAndSessionRecords(_ bed: Testbed) throws {
        try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
        try bed.spawn("syslog", in: bed.conc, ["python3", "\(Testbed.tools)/syslog_sink.py", "--listen", "203.0.113.1",
                                               "--port", "5514", "--lifetime", "120"])
        #expect(bed.waitFor(10) { bed.log("syslog").contains("READY") })
        let subscribers = bed.directory.appendingPathComponent("subscribers").path
        try "cust-a 198.51.100.2/32\ncust-b 198.51.100.6/32\n".write(toFile: subscribers, atomically: true, encoding: .utf8)
        let json = bed.directory.appendingPathComponent("allocation.jsonl").path
        try bed.startConcentrator(["--subscribers", subscribers, "--log-json", json, "--log-syslog", "udp://203.0.113.1:5514",
                                   "--log-sessions", "--lease-hold", "1"])
        var seen: [String: [Int]] = [:]
        for (subscriber, source) in [("cust-a", "198.51.100.2"), ("cust-b", "198.51.100.6"), ("cust-a", "198.51.100.2"),
                                     ("cust-b", "198.51.100.6")] {
            _ = try SubscriberLeaseTests.portSet(bed, from: source)
            let peer = try #require(PeerRecord.parse(bed.serverLog(port: 8086)).last?.peer)
            seen[subscriber, default: []].append(Int(peer.split(separator: ":").last ?? "") ?? -1)
        }
        // Idle for --lease-hold: both leases are released (the sweep runs every 250 ms).
        let released = bed.waitFor(10) { Self.jsonLines(json).filter { $0["event"] as? String == "lease_released" }.count == 2 }
        #expect(released, "\(Self.jsonLines(json))")
        let lines = Self.jsonLines(json)
        #expect(!lines.contains { $0["unparsed"] != nil }, "every line parses: \(lines)")
        for subscriber in ["cust-a", "cust-b"] {
            let own = lines.filter { $0["subscriber"] as? String == subscriber }
            let leaseEvents = own.compactMap { $0["event"] as? String }.filter { $0.hasPrefix("lease_") }
            // Renewals (in use again after an idle sweep) may come between; one allocation, one release.
            let between = Array(leaseEvents.dropFirst().dropLast())
            let inOrder = leaseEvents.first == "lease_allocated" && leaseEvents.last == "lease_released"
            #expect(inOrder, "\(subscriber): \(leaseEvents)")
            #expect(between.allSatisfy { $0 == "lease_renewed" }, "\(subscriber): \(leaseEvents)")
            #expect(own.filter { $0["event"] as? String == "session_created" }.count == 2, "\(subscriber): \(own)")
            #expect(own.filter { $0["event"] as? String == "session_deleted" }.count == 2, "\(subscriber): \(own)")
            let allocation = try #require(own.first { $0["event"] as? String == "lease_allocated" })
            let ranges = allocation["ports"] as? [String] ?? []
            #expect(ranges.count == 63, "a=6: 63 ranges of 16 ports: \(ranges.count)")
            for port in seen[subscriber] ?? [] { #expect(Self.contains(ranges, port), "\(subscriber): port \(port) outside its set") }
            #expect((allocation["cpe"] as? [String]) == [subscriber == "cust-a" ? "198.51.100.2/32" : "198.51.100.6/32"])
            #expect((allocation["time_ms"] as? Int ?? 0) > 1_700_000_000_000, "UTC milliseconds: \(allocation)")
        }

        // The syslog collector: the same lease records as RFC 5424 structured data.
        let syslogged = bed.waitFor(5) { bed.log("syslog").components(separatedBy: "lease_released").count > 2 }
        #expect(syslogged, "\(bed.log("syslog"))")
        let messages = bed.log("syslog").split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
        let unparsed = messages.filter { $0["error"] != nil }
        #expect(unparsed.isEmpty, "\(unparsed)")
        let leases = messages.filter { ($0["params"] as? [String: String])?["event"]?.hasPrefix("lease_") == true }
        let jsonLeases = lines.filter { ($0["event"] as? String)?.hasPrefix("lease_") == true }
        #expect(leases.count == jsonLeases.count, "\(leases)")
        for message in leases {
            let params = message["params"] as? [String: String] ?? [:]
            #expect(message["pri"] as? Int == 134 && message["version"] as? Int == 1 && message["app"] as? String == "plainmode")
            #expect(message["sd_id"] as? String == "plainmode@32473")
            let match = lines.first { $0["event"] as? String == params["event"] && $0["subscriber"] as? String == params["subscriber"] }
            #expect(match?["address"] as? String == params["address"] && (match?["psid"] as? Int).map(String.init) == params["psid"],
                    "syslog \(params) against JSON \(String(describing: match))")
        }
    }
}

extension AllocationLogTests {
    /// RFC 6888 REQ-12 through the logs alone: 20 subscribers (CPE addresses 198.51.100.65-84)
    /// open 10 connections each in turn; with 16 port sets in the pool and --lease-hold 0.5, port
    /// sets pass from one subscriber to another during the run. For every connection the server
    /// saw, the JSON log's lease records (address, exact port set, allocation and release times)
    /// name exactly one subscriber at that time, and it is the one that made it.
    @Test func theLogsAloneTraceEveryConnectionToItsSubscriber() async throws {
        try await Testbed.with("trace", rate: nil) { bed in try Self.traceConnections(bed) }
    }

    static func traceConnections(_ bed: Testbed) throws {
        let sources = (65...84).map { "198.51.100.\($0)" }
        for source in sources {
            _ = try bed.run(bed.cpe, ["ip", "addr", "add", "\(source)/32", "dev", "wana"], timeout: 10)
        }
        _ = try bed.run(bed.conc, ["ip", "route", "add", "198.51.100.64/27", "via", "198.51.100.2", "dev", "cpea"], timeout: 10)
        try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
        let json = bed.directory.appendingPathComponent("allocation.jsonl").path
        try bed.startConcentrator(Testbed.allowCPE + ["--allow", "198.51.100.64/27", "--pool", "192.0.2.128/31", "--psid-length", "3",
                                                      "--lease-hold", "0.5", "--log-json", json])
        // Each subscriber's connections: the ports the server saw, and when (wall-clock ms).
        var made: [(subscriber: String, port: Int, address: String, from: Int, to: Int)] = []
        for source in sources {
            let before = PeerRecord.parse(bed.serverLog(port: 8086)).count
            let from = Int(Date().timeIntervalSince1970 * 1000)
            let records = try SynGateTests.synData(bed, toEcho, wait: 0.3, extra: ["--bind", source, "--parallel", "10"])
            #expect(records.filter { $0["received"] as? Int == 5 }.count == 10, "\(source): \(records)")
            _ = bed.waitFor(5) { PeerRecord.parse(bed.serverLog(port: 8086)).count >= before + 10 }
            let to = Int(Date().timeIntervalSince1970 * 1000)
            for record in PeerRecord.parse(bed.serverLog(port: 8086)).dropFirst(before) {
                let parts = (record.peer ?? "").split(separator: ":")
                made.append(("\(source)/32", Int(parts.last ?? "") ?? -1, String(parts.first ?? ""), from, to))
            }
            _ = bed.waitFor(0.4) { false }  // spread the subscribers over time
        }
        #expect(made.count == 200, "\(made.count) connections seen by the server")
        _ = bed.waitFor(2) { false }  // the last leases are released and logged
        let events = jsonLines(json)
        // Lease intervals from the log: allocated (or held) .. released, per (address, PSID).
        var intervals: [(subscriber: String, address: String, ranges: [String], from: Int, to: Int)] = []
        var open: [String: (subscriber: String, ranges: [String], from: Int)] = [:]
        for event in events {
            guard let name = event["event"] as? String, let address = event["address"] as? String, let psid = event["psid"] as? Int,
                  let time = event["time_ms"] as? Int, let subscriber = event["subscriber"] as? String
            else { continue }
            let key = "\(address)/\(psid)"
            switch name {
            case "lease_allocated", "lease_held":
                open[key] = (subscriber, event["ports"] as? [String] ?? [], time)
            case "lease_released":
                if let lease = open.removeValue(forKey: key) { intervals.append((lease.subscriber, address, lease.ranges, lease.from, time)) }
            default:
                continue
            }
        }
        for (key, lease) in open {
            intervals.append((lease.subscriber, String(key.split(separator: "/")[0]), lease.ranges, lease.from, Int.max))
        }
        let reassigned = Dictionary(grouping: intervals) { "\($0.address) \($0.ranges.first ?? "")" }.values.filter {
            Set($0.map(\.subscriber)).count > 1
        }
        #expect(!reassigned.isEmpty, "no port set passed between subscribers: the test would not need the times")
        var traced = 0
        for connection in made {
            let candidates = intervals.filter {
                $0.address == connection.address && contains($0.ranges, connection.port) && $0.from <= connection.to && $0.to >= connection.from
            }
            #expect(candidates.count == 1 && candidates.first?.subscriber == connection.subscriber,
                    "\(connection): \(candidates.map { ($0.subscriber, $0.from, $0.to) })")
            if candidates.count == 1 && candidates.first?.subscriber == connection.subscriber { traced += 1 }
        }
        #expect(traced == 200)
    }
}

extension AllocationLogTests {
    /// A collector that is down and a queue that is full: records are dropped and counted, never
    /// waited for; every connection is served as fast as without logging.
    @Test func aDownCollectorAndAFullQueueDropAndCountButNeverSlowTheRelay() async throws {
        try await Testbed.with("logdrop", rate: nil) { bed in try Self.dropsAreCounted(bed) }
    }

    static func dropsAreCounted(_ bed: Testbed) throws {
        try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
        // Nobody listens on 203.0.113.1:5999: the kernel answers port unreachable, sends then fail.
        try bed.startConcentrator(["--log-syslog", "udp://203.0.113.1:5999", "--log-sessions", "--log-queue-size", "1"])
        var records: [[String: Any]] = []
        for _ in 0..<3 {
            records += try SynGateTests.synData(bed, toEcho, wait: 0.3, extra: ["--parallel", "20"])
        }
        let served = records.filter { $0["received"] as? Int == 5 }
        #expect(served.count == 60, "\(records.count) connections, \(served.count) served")
        let slowest = records.compactMap { $0["seconds"] as? Double }.max() ?? 99
        #expect(slowest < 1, "a connection took \(slowest) s")
        let stats = try bed.stats()
        #expect((stats["log_records_dropped"] ?? 0) > 0, "\(stats)")
        #expect((stats["log_output_failures"] ?? 0) > 0, "\(stats)")
        #expect(stats["upstream_connected"] == 60, "\(stats)")
    }
}

extension AllocationLogTests {
    /// The lease database stays the record of truth: a collector that was unreachable gets every
    /// lease in force first when it takes records again, and a restarted concentrator announces
    /// the leases it restored.
    @Test func leasesAreAnnouncedAgainToARecoveredCollectorAndAfterARestart() async throws {
        try await Testbed.with("announce", rate: nil) { bed in try Self.announcements(bed) }
    }

    static func announcements(_ bed: Testbed) throws {
        try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
        let json = bed.directory.appendingPathComponent("allocation.jsonl").path
        let flags = ["--log-syslog", "udp://203.0.113.1:5515", "--log-json", json, "--log-sessions"]
        let first = try bed.startConcentrator(flags)
        // Nothing listens on 5515 yet: after the first datagram the kernel's port unreachable
        // makes the next sends fail.
        for _ in 0..<3 { _ = try SubscriberLeaseTests.portSet(bed, from: "198.51.100.2") }
        let failures = bed.waitFor(5) { ((try? bed.stats())?["log_output_failures"] ?? 0) > 0 }
        let stats = try bed.stats()
        #expect(failures, "\(stats)")
        let lease = try #require(jsonLines(json).first { $0["event"] as? String == "lease_allocated" })
        let address = try #require(lease["address"] as? String)

        try bed.spawn("syslog", in: bed.conc, ["python3", "\(Testbed.tools)/syslog_sink.py", "--listen", "203.0.113.1",
                                               "--port", "5515", "--lifetime", "120"])
        #expect(bed.waitFor(10) { bed.log("syslog").contains("READY") })
        _ = try SubscriberLeaseTests.portSet(bed, from: "198.51.100.2")
        let announced = bed.waitFor(5) { bed.log("syslog").contains("event=\\\"lease_held\\\"") }
        #expect(announced, "the recovered collector got no lease_held: \(bed.log("syslog"))")
        #expect(bed.log("syslog").contains("address=\\\"\(address)\\\""), "\(bed.log("syslog"))")
        #expect(((try? bed.stats())?["log_leases_announced"] ?? 0) >= 1)

        try bed.stop(first)
        try bed.startConcentrator(flags)
        let restored = bed.waitFor(5) {
            jsonLines(json).contains { $0["event"] as? String == "lease_held" && $0["address"] as? String == address }
        }
        #expect(restored, "no lease_held after the restart: \(jsonLines(json).suffix(3))")
    }
}
