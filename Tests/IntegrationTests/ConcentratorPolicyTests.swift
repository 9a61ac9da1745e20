import Foundation
import Testing

/// The concentrator's timers and source rules on real kernels: idle timeout (RFC 5382), port
/// hold after an RST (RFC 7857), preserved IPv4 sources, and the kernel counters in `ctl stats`.
@Suite(.serialized) struct ConcentratorPolicyTests {
    /// PM destination 203.0.113.2 port 8086 / 8087, TCP, then EOL.
    static let toEcho = "1e0ae006cb0071021f96" + "00"
    static let toReset = "1e0ae006cb0071021f97" + "00"

    static func synData(_ bed: Testbed, _ hex: String, wait: Double) throws -> (status: Int32, output: String) {
        try bed.run(bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "send", "--to", "198.51.100.1", "5000",
                              "--hex", hex, "--wait", "\(wait)"], timeout: wait + 10)
    }

    static func record(_ output: String) -> [String: Any] {
        let line = output.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
    }

    /// The TFO and MPTCP counters of the concentrator's namespace are in both renderings of
    /// `ctl stats`, with the kernel's values (nstat in the same namespace).
    @Test func kernelCountersAreReported() async throws {
        try await Testbed.with("kctr", rate: nil) { bed in
            try bed.startConcentrator()
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            let passiveBefore = try #require(try bed.stats()["tfo_passive"], "no tfo_passive in ctl stats")
            // PM block + "hello" as SYN data: one passive TFO open, one MP_CAPABLE SYN.
            let echoed = try Self.synData(bed, Self.toEcho + "68656c6c6f", wait: 2)
            #expect(echoed.output.contains("\"received\": 5"), "\(echoed.output)")
            let stats = try bed.stats()
            for (name, kernelName) in [("tfo_listen_overflow", "TcpExtTCPFastOpenListenOverflow"),
                                       ("tfo_passive", "TcpExtTCPFastOpenPassive"),
                                       ("mptcp_capable_syn_rx", "MPTcpExtMPCapableSYNRX"),
                                       ("mptcp_capable_fallback_ack", "MPTcpExtMPCapableFallbackACK")] {
                let reported = try #require(stats[name], "\(name) missing from ctl stats --json: \(stats)")
                #expect(reported == (try bed.nstat(bed.conc, kernelName)), "\(name) differs from nstat's \(kernelName)")
            }
            #expect(stats["tfo_passive"] == passiveBefore + 1, "the SYN data was not taken as TFO: \(stats)")
            #expect(stats["mptcp_capable_syn_rx"] ?? 0 >= 1)
            let text = try bed.run(bed.conc, [Testbed.binary, "ctl", "stats", "--control-socket", bed.concentratorSocket], timeout: 10)
            #expect(text.output.contains("tfo_listen_overflow"), "\(text.output)")
        }
    }

    /// A full TFO queue: SYN data is refused (TcpExtTCPFastOpenListenOverflow) and ctl stats shows it.
    /// `--backlog 1` gives a TFO queue of one; the CPE's final ACKs are dropped so the first
    /// TFO connection stays in the queue while the second SYN arrives.
    @Test func fastOpenQueueOverflowIsReported() async throws {
        try await Testbed.with("tfoovf", rate: nil) { bed in
            try bed.startConcentrator(["--backlog", "1"])
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            #expect(try bed.stats()["tfo_listen_overflow"] == 0)
            let dropAcks = ["-p", "tcp", "-d", "198.51.100.1", "--dport", "5000", "--tcp-flags", "SYN,ACK,FIN,RST", "ACK", "-j", "DROP"]
            try #require(try bed.run(bed.cpe, ["iptables", "-w", "5", "-I", "OUTPUT"] + dropAcks).status == 0)
            try bed.spawn("tfo-first", in: bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "send", "--to", "198.51.100.1", "5000",
                                                     "--hex", Self.toEcho + "6869", "--wait", "4"])
            let first = bed.waitFor(5) { (try? bed.stats()["tfo_passive"]) ?? 0 >= 1 }
            #expect(first, "the first SYN data was not taken as TFO: \(String(describing: try? bed.stats()))")
            _ = try Self.synData(bed, Self.toEcho + "6869", wait: 2)
            try bed.run(bed.cpe, ["iptables", "-w", "5", "-D", "OUTPUT"] + dropAcks)
            let stats = try bed.stats()
            #expect(stats["tfo_listen_overflow"] ?? 0 >= 1, "\(stats)")
            #expect(stats["tfo_listen_overflow"] == (try bed.nstat(bed.conc, "TcpExtTCPFastOpenListenOverflow")))
        }
    }

    /// `--idle-timeout 2`: a relayed connection that goes silent is aborted on both legs and
    /// counted; one that sends a byte every 0.5 s for 6 s is not.
    @Test func idleConnectionsAreClosedAndCounted() async throws {
        try await Testbed.with("idle", rate: nil) { bed in
            try bed.startConcentrator(["--idle-timeout", "2"])
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            try bed.spawn("talker", in: bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "talk", "--to", "198.51.100.1", "5000",
                                                  "--hex", Self.toEcho + "6869", "--every", "0.5", "--for", "6"])
            // Silent after its echo: the concentrator must close it after about 2 s.
            let silent = try Self.synData(bed, Self.toEcho + "6869", wait: 12)
            let silentRecord = Self.record(silent.output)
            #expect(silentRecord["outcome"] as? String == "reset", "silent client: \(silent.output)")
            #expect(silentRecord["received"] as? Int == 2, "silent client: \(silent.output)")
            let closedAfter = silentRecord["seconds"] as? Double ?? 0
            #expect(closedAfter >= 1.8 && closedAfter < 8, "closed after \(closedAfter) s with --idle-timeout 2")

            let talked = bed.waitFor(15) { bed.log("talker").contains("outcome") }
            try #require(talked, "talker did not finish: \(bed.log("talker"))")
            let talker = Self.record(bed.log("talker"))
            #expect(talker["outcome"] as? String == "eof", "talker: \(bed.log("talker"))")
            let sent = talker["sent"] as? Int ?? 0
            #expect(sent >= 8, "talker sent \(sent) bytes in 6 s")
            #expect(talker["received"] as? Int == sent + 2, "talker: \(bed.log("talker"))")

            // The server saw one connection reset (the silent one) and one ended cleanly.
            _ = bed.waitFor(5) { PeerRecord.parse(bed.serverLog(port: 8086)).count >= 2 }
            let server = PeerRecord.parse(bed.serverLog(port: 8086))
            #expect(server.count == 2, "\(bed.serverLog(port: 8086))")
            #expect(server.filter { $0.error?.contains("ConnectionReset") == true }.count == 1, "\(bed.serverLog(port: 8086))")
            #expect(server.contains { $0.error == nil && $0.received == sent + 2 }, "\(bed.serverLog(port: 8086))")
            let stats = try bed.stats()
            #expect(stats["idle_timeouts"] == 1, "\(stats)")
            #expect(stats["closed_normally"] == 1, "\(stats)")
            #expect(stats["connections_open"] == 0, "\(stats)")
            #expect(stats["bindings"] == 0, "\(stats)")
        }
    }

    /// `--reset-hold 8` with four ports per CPE (a=0, k=14): after the server resets a connection
    /// its port is held (bindings and lease show it), new connections get only the other three and
    /// a fourth is refused; when the hold ends the port is handed out again.
    @Test func resetHoldKeepsThePortUntilItEnds() async throws {
        try await Testbed.with("hold", rate: nil) { bed in
            let hold = 8.0
            try bed.startConcentrator(["--psid-offset", "0", "--psid-length", "14", "--reset-hold", "\(Int(hold))"])
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            try bed.startServer(port: 8087, arguments: ["--mode", "rst"])

            let reset = try Self.synData(bed, Self.toReset + "6869", wait: 5)
            let resetAt = Date()
            #expect(Self.record(reset.output)["outcome"] as? String == "reset", "\(reset.output)")
            #expect(try bed.stats()["reset_by_upstream"] == 1)
            let afterReset = try bed.bindingsJSON()
            let closing = try #require((afterReset["bindings"] as? [[String: Any]])?.first, "no binding after the reset: \(afterReset)")
            #expect(closing["state"] as? String == "closing", "\(closing)")
            let heldPort = try #require(closing["external"] as? String)
            let lease = try #require((afterReset["leases"] as? [[String: Any]])?.first)
            #expect(lease["held"] as? Int == 1 && lease["tcp_in_use"] as? Int == 0, "\(lease)")
            #expect(lease["ports"] as? Int == 4, "\(lease)")
            #expect(try bed.stats()["ports_held"] == 1)

            // Three connections take the three other ports; none gets the held one.
            for index in 0..<3 {
                try bed.spawn("holder-\(index)", in: bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "send", "--to", "198.51.100.1",
                                                              "5000", "--hex", Self.toEcho + "6869", "--wait", "\(hold + 6)"])
            }
            let up = bed.waitFor(5) { (try? bed.stats()["upstream_connected"]) == 4 }
            #expect(up, "three holders did not come up: \(String(describing: try? bed.stats()))")
            let externals = (try bed.bindingsJSON()["bindings"] as? [[String: Any]] ?? [])
                .filter { $0["state"] as? String == "established" }.compactMap { $0["external"] as? String }
            #expect(externals.count == 3 && !externals.contains(heldPort), "held \(heldPort), in use \(externals)")
            // The only free port is held: a fourth connection is refused.
            let refused = try Self.synData(bed, Self.toEcho + "6869", wait: 3)
            let refusedWithinHold = Date().timeIntervalSince(resetAt) < hold - 0.5
            try #require(refusedWithinHold, "the machine is too slow to test an \(hold) s hold")
            #expect(Self.record(refused.output)["outcome"] as? String == "reset", "\(refused.output)")
            #expect(try bed.stats()["port_set_exhausted"] == 1)

            // The hold ends (not before its time), the closing binding goes, and the port is reused.
            let released = bed.waitFor(hold + 5) { (try? bed.stats()["ports_held"]) == 0 }
            let heldFor = Date().timeIntervalSince(resetAt)
            #expect(released, "the port was still held after \(heldFor) s")
            #expect(heldFor >= hold - 1, "the hold ended after \(heldFor) s, before --reset-hold \(hold)")
            #expect(try bed.stats()["bindings"] == 3)
            let reused = try Self.synData(bed, Self.toEcho + "6869", wait: 2)
            #expect(Self.record(reused.output)["received"] as? Int == 2, "\(reused.output)")
            let last = PeerRecord.parse(bed.serverLog(port: 8086)).last
            #expect(last?.peer == heldPort, "after the hold the server saw \(String(describing: last?.peer)), not \(heldPort)")
        }
    }

    /// `--preserve-source` for IPv4: upstream connections leave from the PM source (the LAN
    /// host's address and port, sent by `cpe --source-option always`) or, without one, from the
    /// CPE's own address. Other sources are refused and counted: the IPv4 rule is the CPE's own
    /// address (/32) or a prefix delegated to that CPE with --delegated-prefix.
    @Test func preservedIPv4Source() async throws {
        try await Testbed.with("pres4", rate: nil) { bed in
            // The LAN (192.0.2.0/26) is delegated to the CPE at 198.51.100.2 only, not to its second WAN address.
            try bed.startConcentrator(["--preserve-source", "--delegated-prefix", "198.51.100.2=192.0.2.0/26"])
            try bed.startCPE(["--source-option", "always"])
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            // The server's replies to the preserved sources go through the concentrator, which hands
            // them to its transparent sockets (every upstream source prefix given with --pool).
            for prefix in ["192.0.2.0/26", "198.51.100.0/29"] {
                try #require(try bed.run(bed.srv, ["ip", "route", "add", prefix, "via", "203.0.113.1", "dev", "up0"]).status == 0)
            }
            try bed.concentratorNet(["--pool", "192.0.2.0/26", "--pool", "198.51.100.0/29"])

            // 1. The LAN host through the CPE: the server sees the LAN host's own address and port.
            let client = try bed.run(bed.lan, ["python3", "\(Testbed.tools)/peer.py", "client", "--connect", Testbed.serverV4,
                                              "--port", "8086", "--send", "100000", "--timeout", "20"], timeout: 30)
            #expect(client.status == 0, "client: \(client.output)")
            let clientRecord = try #require(PeerRecord.parse(client.output).first)
            #expect(clientRecord.received == 100_000)
            _ = bed.waitFor(5) { !PeerRecord.parse(bed.serverLog(port: 8086)).isEmpty }
            let lanSeen = PeerRecord.parse(bed.serverLog(port: 8086)).first?.peer
            #expect(lanSeen != nil && lanSeen == clientRecord.local, "server saw \(String(describing: lanSeen)), LAN host is \(String(describing: clientRecord.local))")

            // 2. No PM source: the CPE's own address.
            let own = try bed.run(bed.cpe, ["python3", "\(Testbed.tools)/pm_client.py", "--concentrator", "198.51.100.1", "5000",
                                           "--dest", Testbed.serverV4, "8086", "--send", "1000", "--timeout", "10"], timeout: 20)
            #expect(own.status == 0, "CPE's own address: \(own.output)")
            _ = bed.waitFor(5) { PeerRecord.parse(bed.serverLog(port: 8086)).count >= 2 }
            let ownSeen = PeerRecord.parse(bed.serverLog(port: 8086)).dropFirst().first?.peer
            #expect(ownSeen?.hasPrefix("198.51.100.2:") == true, "server saw \(String(describing: ownSeen)), not the CPE")

            // 3. Sources the CPE may not use: refused before any upstream connect, and counted.
            let connectsBefore = try bed.stats()["upstream_connects"] ?? -1
            let refusals: [(what: String, arguments: [String])] = [
                ("outside the delegated /26", ["--source", "192.0.2.77"]),
                ("another address of the CPE's subnet", ["--source", "198.51.100.3"]),
                ("the delegated LAN from the CPE's second WAN address", ["--source", "192.0.2.2", "--bind", "198.51.100.6"]),
            ]
            for (index, refusal) in refusals.enumerated() {
                let result = try bed.run(bed.cpe, ["python3", "\(Testbed.tools)/pm_client.py", "--concentrator", "198.51.100.1", "5000",
                                                  "--dest", Testbed.serverV4, "8086", "--send", "1000", "--timeout", "5"]
                                                 + refusal.arguments, timeout: 15)
                #expect(result.status != 0 && result.output.contains("Error"), "\(refusal.what): \(result.output)")
                #expect(try bed.stats()["source_not_allowed"] == index + 1, "\(refusal.what)")
            }
            let stats = try bed.stats()
            #expect(stats["upstream_connects"] == connectsBefore, "a refused source was connected upstream: \(stats)")
            #expect(stats["port_set_leases"] == 0, "a preserved source took a port set: \(stats)")
            #expect(PeerRecord.parse(bed.serverLog(port: 8086)).count == 2, "\(bed.serverLog(port: 8086))")
        }
    }
}
