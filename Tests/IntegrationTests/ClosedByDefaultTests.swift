import Foundation
import Testing

/// Issue 14, closed by default: who may connect (`--allow`, at the gate and at accept()), which
/// destinations are never relayed (each with its own counter), and MPTCP required for a PM block.
/// Refusals reach a CPE that may connect as a reset, at once; nothing refused is relayed.
@Suite(.serialized) struct ClosedByDefaultTests {
    /// A PM block to `address` (IPv4 or IPv6 text) and `port`, TCP, then EOL, as hex.
    static func block(_ address: String, port: UInt16) -> String {
        let ipv6 = address.contains(":")
        var bytes = [UInt8](repeating: 0, count: ipv6 ? 16 : 4)
        _ = bytes.withUnsafeMutableBytes { inet_pton(ipv6 ? AF_INET6 : AF_INET, address, $0.baseAddress) }
        let option = [0x1E, UInt8(bytes.count + 6), 0xE0, 0x06] + bytes + [UInt8(port >> 8), UInt8(port & 0xFF)] + [0]
        return option.map { String(format: "%02x", $0) }.joined()
    }

    static let hello = "68656c6c6f"

    static func moved(_ before: [String: Int], _ after: [String: Int], _ name: String) -> Int {
        (after[name] ?? 0) - (before[name] ?? 0)
    }

    /// Only link A's prefix is allowed: link B's SYNs are dropped silently by the gate, and with
    /// no gate (its queues unbound, so --queue-bypass lets SYNs through) reset at accept().
    @Test func aSourceOutsideTheAllowListIsRefusedAtTheGateAndAtAccept() async throws {
        try await Testbed.with("allow", rate: nil) { bed in
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            let toEcho = Self.block("203.0.113.2", port: 8086) + Self.hello
            for gated in [true, false] {
                let daemon = try bed.startConcentrator(["--allow", "198.51.100.0/30", "--allow", "2001:db8:a::/64"]
                                                       + (gated ? [] : ["--no-syn-gate"]))
                let before = try bed.stats()
                let allowed = try SynGateTests.synData(bed, toEcho, wait: 2)
                #expect(allowed.first?["received"] as? Int == 5, "gated \(gated), link A: \(allowed)")
                let outside = try SynGateTests.synData(bed, toEcho, wait: SynGateTests.beforeRetransmission,
                                                       extra: ["--bind", "198.51.100.6"])
                let after = try bed.stats()
                if gated {
                    #expect(outside.first?["outcome"] as? String == "open" && outside.first?["received"] as? Int == 0,
                            "link B through the gate: \(outside)")
                    // Its SYN, and the MP_JOINs the allowed connection tries from link B.
                    #expect(Self.moved(before, after, "gate_drop_not_allowed") >= 1, "\(after)")
                    #expect(Self.moved(before, after, "accepted") == 1, "\(after)")
                } else {
                    #expect(outside.first?["outcome"] as? String == "reset", "link B without the gate: \(outside)")
                    #expect(Self.moved(before, after, "accept_refused_source") == 1, "\(after)")
                }
                #expect(Self.moved(before, after, "upstream_connects") == 1, "only link A's connection went upstream: \(after)")
                try bed.stop(daemon)
            }
        }
    }

    /// Every destination the concentrator must not relay to, with and without the gate: refused
    /// with a reset, counted under its own reason, never connected upstream. Each RFC 6890 range
    /// is refused by the `DestinationFilter` or, for loopback, multicast, broadcast and
    /// unspecified addresses, already by the PM parser. Plain TCP with a PM
    /// block (no MP_CAPABLE) likewise.
    @Test func refusedDestinationsAndPlainTCPAreResetAndCounted() async throws {
        try await Testbed.with("denydst", rate: nil) { bed in
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            // (destination, port, counter without the gate, counter at the gate)
            let cases: [(String, UInt16, String, String)] = [
                ("198.51.100.1", 5000, "dest_refused_listener", "gate_refused_destination"),
                ("2001:db8:a::1", 5000, "dest_refused_listener", "gate_refused_destination"),
                ("203.0.113.1", 80, "dest_refused_own_address", "gate_refused_destination"),
                ("2001:db8:3::1", 80, "dest_refused_own_address", "gate_refused_destination"),
                ("192.0.2.130", 80, "dest_refused_pool", "gate_refused_destination"),
                ("169.254.1.1", 80, "dest_refused_denied", "gate_refused_destination"),
                ("240.0.0.1", 80, "dest_refused_denied", "gate_refused_destination"),
                ("10.9.9.9", 80, "dest_refused_denied", "gate_refused_destination"),  // --deny-destination
                ("fe80::1", 80, "dest_refused_denied", "gate_refused_destination"),
                ("::ffff:203.0.113.2", 8086, "dest_refused_denied", "gate_refused_destination"),
                ("ff02::1", 80, "pm_reject_forbidden_address", "gate_refused_bad_pm"),
                ("127.0.0.1", 80, "pm_reject_forbidden_address", "gate_refused_bad_pm"),
                ("224.0.0.5", 80, "pm_reject_forbidden_address", "gate_refused_bad_pm"),
                ("::1", 80, "pm_reject_forbidden_address", "gate_refused_bad_pm"),
                ("0.0.0.1", 80, "pm_reject_forbidden_address", "gate_refused_bad_pm"),
                ("255.255.255.255", 80, "pm_reject_forbidden_address", "gate_refused_bad_pm"),
            ]
            for gated in [true, false] {
                let daemon = try bed.startConcentrator(["--deny-destination", "10.0.0.0/8"] + (gated ? [] : ["--no-syn-gate"]))
                for (address, port, streamCounter, gateCounter) in cases {
                    let service = address.contains(":") ? "2001:db8:a::1" : "198.51.100.1"
                    let before = try bed.stats()
                    let records = try SynGateTests.synData(bed, to: service, Self.block(address, port: port) + Self.hello, wait: 3)
                    let after = try bed.stats()
                    let counter = gated ? gateCounter : streamCounter
                    #expect(records.first?["outcome"] as? String == "reset", "gated \(gated), \(address):\(port): \(records)")
                    #expect(Self.moved(before, after, counter) == 1, "gated \(gated), \(address):\(port): \(counter) in \(after)")
                    #expect(Self.moved(before, after, "upstream_connects") == 0, "gated \(gated), \(address): relayed")
                }
                // A PM block on plain TCP (no MP_CAPABLE in the SYN), then on MPTCP to the same server.
                let before = try bed.stats()
                let plain = try SynGateTests.synData(bed, Self.block("203.0.113.2", port: 8086) + Self.hello, wait: 3, extra: ["--tcp"])
                let after = try bed.stats()
                #expect(plain.first?["outcome"] as? String == "reset", "gated \(gated), plain TCP: \(plain)")
                #expect(Self.moved(before, after, gated ? "gate_refused_not_mptcp" : "accept_refused_not_mptcp") == 1, "\(after)")
                #expect(Self.moved(before, after, "upstream_connects") == 0, "gated \(gated): plain TCP relayed")
                let good = try SynGateTests.synData(bed, Self.block("203.0.113.2", port: 8086) + Self.hello, wait: 2)
                #expect(good.first?["received"] as? Int == 5 && good.first?["mptcp"] as? Int == 1, "gated \(gated): \(good)")
                try bed.stop(daemon)
            }
        }
    }
}

extension ClosedByDefaultTests {
    /// A connection that negotiated MPTCP (MP_CAPABLE SYN) and fell back to TCP afterwards (a
    /// middlebox on the CPE's path strips the MPTCP option from every later segment) is served,
    /// and counted as a fallback when it ends.
    @Test func aConnectionThatFallsBackLaterIsServedAndCounted() async throws {
        try await Testbed.with("fallbk", rate: nil) { bed in
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            try bed.startConcentrator()
            let strip = try bed.run(bed.cpe, ["iptables", "-w", "5", "-t", "mangle", "-A", "POSTROUTING", "-p", "tcp", "!", "--syn",
                                              "--dport", "5000", "-j", "TCPOPTSTRIP", "--strip-options", "30"], timeout: 10)
            try #require(strip.status == 0, "TCPOPTSTRIP: \(strip.output)")
            let before = try bed.stats()
            let records = try SynGateTests.synData(bed, Self.block("203.0.113.2", port: 8086) + Self.hello, wait: 1)
            #expect(records.first?["received"] as? Int == 5 && records.first?["mptcp"] as? Int == 0, "\(records)")
            let counted = bed.waitFor(5) { Self.moved(before, (try? bed.stats()) ?? [:], "mptcp_fallback") == 1 }
            let after = try bed.stats()
            #expect(counted, "\(after)")
            #expect(Self.moved(before, after, "accept_refused_not_mptcp") == 0)
        }
    }
}

extension ClosedByDefaultTests {
    /// An address the concentrator gains after start-up is relayed to (into the concentrator
    /// itself) until SIGHUP reads the interfaces again; from then on it is refused, at the gate
    /// and without it, and after its removal and another SIGHUP it is an ordinary destination again.
    @Test func anAddressAddedAfterStartUpIsRefusedOnceSIGHUPReadsTheInterfaces() async throws {
        try await Testbed.with("ownaddr", rate: nil) { bed in
            let added = "203.0.113.77"
            let toAdded = Self.block(added, port: 8086) + Self.hello
            for gated in [true, false] {
                let daemon = try bed.startConcentrator(gated ? [] : ["--no-syn-gate"])
                try #require(bed.run(bed.conc, ["ip", "address", "add", "\(added)/32", "dev", "lo"], timeout: 10).status == 0)
                defer { _ = try? bed.run(bed.conc, ["ip", "address", "del", "\(added)/32", "dev", "lo"], timeout: 10) }
                // Not read yet: the concentrator connects to its own new address, a relay into itself.
                var before = try bed.stats()
                _ = try SynGateTests.synData(bed, toAdded, wait: 3)
                var after = try bed.stats()
                #expect(Self.moved(before, after, "upstream_connects") == 1, "gated \(gated), before SIGHUP: \(after)")

                try Self.hangUp(bed, daemon, expecting: "own addresses refused as destinations (added \(added))")
                before = try bed.stats()
                let records = try SynGateTests.synData(bed, toAdded, wait: 3)
                after = try bed.stats()
                #expect(records.first?["outcome"] as? String == "reset", "gated \(gated), after SIGHUP: \(records)")
                #expect(Self.moved(before, after, gated ? "gate_refused_destination" : "dest_refused_own_address") == 1,
                        "gated \(gated), after SIGHUP: \(after)")
                #expect(Self.moved(before, after, "upstream_connects") == 0, "gated \(gated), after SIGHUP: relayed")

                try #require(bed.run(bed.conc, ["ip", "address", "del", "\(added)/32", "dev", "lo"], timeout: 10).status == 0)
                try Self.hangUp(bed, daemon, expecting: "own addresses refused as destinations (removed \(added))")
                before = try bed.stats()
                _ = try SynGateTests.synData(bed, toAdded, wait: 3)
                after = try bed.stats()
                #expect(Self.moved(before, after, "upstream_connects") == 1, "gated \(gated), after removal: \(after)")
                try bed.stop(daemon)
            }
        }
    }

    /// Sends SIGHUP and waits (5 s at most) for one more log line containing `line`.
    static func hangUp(_ bed: Testbed, _ daemon: Process, expecting line: String) throws {
        let seen = bed.log("concentrator").components(separatedBy: line).count
        kill(daemon.processIdentifier, SIGHUP)
        #expect(bed.waitFor(5) { bed.log("concentrator").components(separatedBy: line).count > seen },
                "no new \(line) in \(bed.log("concentrator"))")
    }
}
