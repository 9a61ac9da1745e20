import Foundation
import Testing

/// The SYN gate on real kernels: Deploy/concentrator-net.sh --gate queues the SYNs to the
/// listeners (--queue-bypass) and `plainmode concentrator --queues 0:1` accepts them unchanged
/// or drops them, counting each decision in `ctl stats` (gate_*).
@Suite(.serialized) struct SynGateTests {
    /// PM destination 203.0.113.2 port 8086 TCP, then EOL; "hello" after it.
    static let toEcho = "1e0ae006cb0071021f96" + "00"
    static let hello = "68656c6c6f"
    /// Forbidden destinations: 127.0.0.1:80 and [::1]:80.
    static let loopback4 = "1e0ae0067f000001005000"
    static let loopback6 = "1e16e006" + "00000000000000000000000000000001" + "0050" + "00"
    /// A client that gives up before its first SYN retransmission (the initial RTO is 1 s), so a
    /// dropped SYN means no connection at all.
    static let beforeRetransmission = 0.8

    /// The gate rules for both listeners on queues 0:1, with the testbed's return path unchanged,
    /// then the concentrator on the same queues.
    @discardableResult
    static func startGatedConcentrator(_ bed: Testbed, _ extra: [String] = []) throws -> Process {
        try bed.concentratorNet()
        return try bed.startConcentrator(["--queues", "0:1"] + extra)
    }

    /// `syn_data.py send`: the hex as SYN data; one record per connection.
    static func synData(_ bed: Testbed, to address: String = "198.51.100.1", _ hex: String, wait: Double,
                        extra: [String] = []) throws -> [[String: Any]] {
        let result = try bed.run(bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "send", "--to", address, "5000",
                                           "--hex", hex, "--wait", "\(wait)"] + extra, timeout: wait + 15)
        return result.output.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    static func moved(_ before: [String: Int], _ after: [String: Int], _ name: String) -> Int {
        (after[name] ?? 0) - (before[name] ?? 0)
    }

    /// Packets the PLAINMODE_GATE rules of one family have queued (or bypassed).
    static func gateRulePackets(_ bed: Testbed, family6: Bool) throws -> Int {
        let list = try bed.run(bed.conc, [family6 ? "ip6tables" : "iptables", "-w", "5", "-t", "mangle", "-L", "PLAINMODE_GATE",
                                          "-v", "-x", "-n"], timeout: 10)
        return list.output.split(separator: "\n").filter { $0.contains("NFQUEUE") }
            .compactMap { Int($0.split(separator: " ").first ?? "") }.reduce(0, +)
    }

    /// A forbidden PM in the SYN data (IPv4 and IPv6 loopback destinations) is refused before the
    /// kernel answers: the gate marks the SYN and concentrator-net.sh's REJECT rule answers it with
    /// a reset at once (no accept(), no connection). A valid PM block, a `plainmode cpe`
    /// connection and its second link's MP_JOIN pass and work end to end.
    @Test func forbiddenPlainModeIsRefusedAndGoodConnectionsPass() async throws {
        try await Testbed.with("gatepm", rate: nil) { bed in
            try Self.startGatedConcentrator(bed)
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])

            for (address, block) in [("198.51.100.1", Self.loopback4), ("2001:db8:a::1", Self.loopback6)] {
                let before = try bed.stats()
                let records = try Self.synData(bed, to: address, block + Self.hello, wait: 3)
                #expect(records.count == 1 && records[0]["outcome"] as? String == "reset", "\(address): \(records)")
                let seconds = records.first?["seconds"] as? Double ?? 99
                #expect(seconds < Self.beforeRetransmission, "\(address): refused after \(seconds) s, not at once")
                let after = try bed.stats()
                #expect(Self.moved(before, after, "gate_refused_bad_pm") == 1, "\(address): \(after)")
                #expect(Self.moved(before, after, "gate_resets_sent") == 1, "\(address): \(after)")
                #expect(Self.moved(before, after, "nfq_marked") == 1, "\(address): \(after)")
                #expect(Self.moved(before, after, "accepted") == 0, "\(address): a refused SYN reached accept(): \(after)")
            }

            // A valid block in the SYN data passes unchanged: the server echoes the data.
            let good = try Self.synData(bed, Self.toEcho + Self.hello, wait: 2)
            #expect(good.first?["received"] as? Int == 5, "valid PM through the gate: \(good)")
            #expect(try bed.stats()["gate_accepted_pm"] == 1)

            // plainmode cpe: PM block (and the first bytes) as SYN data, whose window field the gate
            // lowers, then an MP_JOIN from the second WAN address.
            try bed.startCPE()
            _ = bed.waitFor(2) { false }  // joins of the earlier connections settle
            let beforeCPE = try bed.stats()
            let client = try bed.run(bed.lan, ["python3", "\(Testbed.tools)/peer.py", "client", "--connect", Testbed.serverV4,
                                              "--port", "8086", "--send", "1000000", "--timeout", "30"], timeout: 40)
            #expect(client.status == 0, "LAN client through the CPE: \(client.output)")
            let record = try #require(PeerRecord.parse(client.output).first)
            #expect(record.received == 1_000_000 && record.received_sha256 == record.sent_sha256, "\(client.output)")
            let joined = bed.waitFor(5) { Self.moved(beforeCPE, (try? bed.stats()) ?? [:], "gate_accepted_join") >= 1 }
            let afterCPE = try bed.stats()
            #expect(joined, "no MP_JOIN passed the gate: \(afterCPE)")
            #expect(Self.moved(beforeCPE, afterCPE, "gate_accepted_no_payload") == 0, "\(afterCPE)")
            #expect(Self.moved(beforeCPE, afterCPE, "gate_accepted_pm") == 1, "\(afterCPE)")
            #expect(Self.moved(beforeCPE, afterCPE, "gate_syn_window_rewritten") == 1, "\(afterCPE)")
            // Every SYN the kernel saw went through the gate: its counters match the kernel's.
            #expect(afterCPE["gate_accepted_join"] == (try bed.nstat(bed.conc, "MPTcpExtMPJoinSynRx")), "\(afterCPE)")
            #expect((afterCPE["gate_accepted_pm"] ?? 0) + (afterCPE["gate_accepted_no_payload"] ?? 0)
                    == afterCPE["mptcp_capable_syn_rx"], "\(afterCPE)")
            #expect(afterCPE["gate_drop_malformed_packet"] == 0 && afterCPE["nfq_verdict_errors"] == 0, "\(afterCPE)")
        }
    }

    /// `--max-new-connections-per-second 2 --new-connection-burst 2`: six connections at once from
    /// one CPE address, some refused with a reset; the same CPE's second WAN address is not limited
    /// by it, and the first address connects again once its allowance has refilled, still over
    /// MPTCP: a reset, unlike silently dropped SYNs, does not make the client's kernel declare an
    /// MPTCP black hole and fall back to TCP for an hour (FACTS.md 7).
    @Test func connectionRateLimitIsPerCPEAddress() async throws {
        try await Testbed.with("gaterate", rate: nil) { bed in
            try Self.startGatedConcentrator(bed, ["--max-new-connections-per-second", "2", "--new-connection-burst", "2"])
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])

            let burst = try Self.synData(bed, Self.toEcho + Self.hello, wait: Self.beforeRetransmission, extra: ["--parallel", "6"])
            let served = burst.filter { $0["received"] as? Int == 5 }.count
            let cutOff = burst.filter { $0["outcome"] as? String == "reset" && ($0["seconds"] as? Double ?? 99) < Self.beforeRetransmission }.count
            #expect(burst.count == 6 && served + cutOff == 6, "\(burst)")
            #expect(served >= 2 && cutOff >= 1, "\(served) served, \(cutOff) cut off: \(burst)")
            let afterBurst = try bed.stats()
            #expect(afterBurst["gate_refused_rate_limited"] == cutOff, "\(afterBurst)")

            // Another CPE address, right away: its own allowance.
            let other = try Self.synData(bed, Self.toEcho + Self.hello, wait: Self.beforeRetransmission,
                                         extra: ["--bind", "198.51.100.6", "--parallel", "2"])
            #expect(other.count == 2 && other.allSatisfy { $0["received"] as? Int == 5 }, "198.51.100.6: \(other)")
            #expect(try bed.stats()["gate_refused_rate_limited"] == cutOff)

            // 198.51.100.2 again after its bucket refilled (2 per second).
            _ = bed.waitFor(1.5) { false }
            let again = try Self.synData(bed, Self.toEcho + Self.hello, wait: 2)
            #expect(again.first?["received"] as? Int == 5, "after the refill: \(again)")
            // Refused for its rate and for a bad PM, the CPE keeps MPTCP for its next connections.
            let badPM = try Self.synData(bed, Self.loopback4 + Self.hello, wait: 3)
            #expect(badPM.first?["outcome"] as? String == "reset", "\(badPM)")
            _ = bed.waitFor(1) { false }
            let later = try Self.synData(bed, Self.toEcho + Self.hello, wait: 2, extra: ["--parallel", "2"])
            #expect(later.count == 2 && later.allSatisfy { $0["received"] as? Int == 5 && $0["mptcp"] as? Int == 1 },
                    "connections after the refusals: \(later)")
            #expect(try bed.nstat(bed.cpe, "MPTcpExtBlackhole") == 0, "the CPE's kernel declared an MPTCP black hole")
        }
    }

    /// SIGKILL with the rules still installed: --queue-bypass sends new SYNs straight to the
    /// kernel, which refuses them at once (RST) instead of dropping them silently.
    @Test func killedDaemonDoesNotBlackHoleSYNs() async throws {
        try await Testbed.with("gatekill", rate: nil) { bed in
            let daemon = try Self.startGatedConcentrator(bed)
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            let good = try Self.synData(bed, Self.toEcho + Self.hello, wait: 2)
            #expect(good.first?["received"] as? Int == 5, "\(good)")
            #expect(try bed.stats()["gate_accepted_pm"] == 1, "the SYN did not pass the gate")

            kill(daemon.processIdentifier, SIGKILL)
            let dead = bed.waitFor(5) { !daemon.isRunning }
            try #require(dead, "the concentrator survived SIGKILL")
            for (address, family6) in [("198.51.100.1", false), ("2001:db8:a::1", true)] {
                let queued = try Self.gateRulePackets(bed, family6: family6)
                let refused = try Self.synData(bed, to: address, Self.toEcho + Self.hello, wait: 3)
                #expect(refused.first?["outcome"] as? String == "reset", "\(address): \(refused)")
                let seconds = refused.first?["seconds"] as? Double ?? 99
                #expect(seconds < Self.beforeRetransmission, "\(address): refused after \(seconds) s, not at once")
                // The SYN still matched the (installed) gate rule, and was let through.
                #expect(try Self.gateRulePackets(bed, family6: family6) > queued, "\(address): the gate rule is gone")
            }
        }
    }

    /// A second concentrator on the same queues refuses to start (exit 78) and says why; the first
    /// keeps gating.
    @Test func secondConcentratorOnTheSameQueuesRefusesToStart() async throws {
        try await Testbed.with("gatetwo", rate: nil) { bed in
            try Self.startGatedConcentrator(bed)
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            let second = try bed.run(bed.conc, [Testbed.binary, "concentrator", "--listen", "198.51.100.1:5001", "--pool", Testbed.pool,
                                                "--allow", "198.51.100.0/29", "--ephemeral-leases",
                                                "--control-socket", bed.directory.appendingPathComponent("second.sock").path,
                                                "--queues", "0:1"], timeout: 20)
            #expect(second.status == 78, "\(second.output)")
            #expect(second.output.contains("is bound by another process"), "\(second.output)")
            let good = try Self.synData(bed, Self.toEcho + Self.hello, wait: 2)
            #expect(good.first?["received"] as? Int == 5, "the first concentrator after the refusal: \(good)")
            #expect(try bed.stats()["gate_accepted_pm"] == 1)
        }
    }
}
