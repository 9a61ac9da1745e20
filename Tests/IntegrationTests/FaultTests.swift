import Foundation
import Testing

/// Bad input and faults at the concentrator: each ends in a clean close and a counter, and
/// other connections carry on.
@Suite(.serialized) struct FaultTests {
    // Destination 203.0.113.2:8086 TCP; source 192.0.2.2:4096 TCP; IPv6 source and destination.
    static let destination = "1e0ae006cb0071021f96"
    static let source = "1e0ae806c000020210 00".replacingOccurrences(of: " ", with: "")
    static let source6 = "1e16e80620010db8000100010000000000000002" + "1000"
    static let destination6 = "1e16e00620010db8000300000000000000000002" + "1f96"

    /// Every validation error of the codec, with the counter it must move.
    static let badBlocks: [(name: String, hex: String, counter: String)] = [
        ("bad length", "1e09e006cb0071021f9600", "pm_reject_bad_length"),
        ("unknown subtype", "1e0ad006cb0071021f9600", "pm_reject_unknown_subtype"),
        ("unexpected kind", "0500", "pm_reject_unexpected_kind"),
        ("duplicate source", source + source + destination + "00", "pm_reject_duplicate_source"),
        ("duplicate destination", destination + destination + "00", "pm_reject_duplicate_destination"),
        ("loopback destination", "1e0ae0067f000001005000", "pm_reject_forbidden_address"),
        ("multicast destination", "1e0ae006e0000001005000", "pm_reject_forbidden_address"),
        ("no destination", source + "00", "pm_reject_missing_destination"),
        ("destination without port", "1e08e006cb00710200", "pm_reject_missing_destination_port"),
        ("destination port 0", "1e0ae006cb007102000000", "pm_reject_zero_destination_port"),
        ("protocol not enabled", "1e0ae084cb0071021f9600", "pm_reject_protocol_not_enabled"),
        ("protocol mismatch", "1e0ae811c000020210 00".replacingOccurrences(of: " ", with: "") + destination + "00",
         "pm_reject_protocol_mismatch"),
        ("family mismatch", source6 + destination + "00", "pm_reject_family_mismatch"),
        ("too long", source6 + destination6 + "1e16", "pm_reject_too_long"),
    ]

    /// The stream plane's own checks: with the SYN gate on, these SYNs would not reach accept()
    /// (SynGateTests); `--no-syn-gate` lets the gate's queues pass every SYN.
    @Test func everyMalformedOrForbiddenBlockIsRefusedAndCounted() async throws {
        try await Testbed.with("badpm", rate: nil) { bed in
            try bed.startConcentrator(["--no-syn-gate"])
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            for block in Self.badBlocks {
                let before = try bed.stats()[block.counter] ?? 0
                let result = try bed.run(bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "send", "--to", "198.51.100.1", "5000",
                                                  "--hex", block.hex + "68656c6c6f", "--wait", "5"], timeout: 15)
                #expect(result.output.contains("\"outcome\": \"reset\""), "\(block.name): \(result.output)")
                let after = try bed.stats()[block.counter] ?? 0
                #expect(after == before + 1, "\(block.name): \(block.counter) went \(before) -> \(after)")
            }
            // A good block on the same concentrator still works afterwards.
            let good = try bed.run(bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "send", "--to", "198.51.100.1", "5000",
                                            "--hex", Self.destination + "00" + "68656c6c6f", "--wait", "2"], timeout: 10)
            #expect(good.output.contains("\"received\": 5"), "good block: \(good.output)")
            #expect(try bed.stats()["pm_block_complete"] == 1)
        }
    }

    /// A block that never ends is closed at --pm-timeout; one cut short by a FIN at once.
    @Test func unfinishedBlocksAreClosedAndCounted() async throws {
        try await Testbed.with("pmtime", rate: nil) { bed in
            try bed.startConcentrator(["--pm-timeout", "1", "--no-syn-gate"])  // the gate would drop these SYNs
            let result = try bed.run(bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "send", "--to", "198.51.100.1", "5000",
                                              "--hex", "1e0ae006cb", "--wait", "5"], timeout: 15)
            #expect(result.output.contains("\"outcome\": \"reset\""), "unfinished: \(result.output)")
            #expect(try bed.stats()["pm_block_timeouts"] == 1)
        }
    }

    /// Unreachable and refusing destinations: MP_FASTCLOSE to the CPE and a counter each.
    @Test func unreachableAndRefusingDestinations() async throws {
        try await Testbed.with("dest", rate: nil) { bed in
            try bed.startConcentrator()
            // 198.51.100.77 has no route from the concentrator; nothing listens on 203.0.113.2:9.
            let unreachable = try bed.run(bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "send", "--to", "198.51.100.1", "5000",
                                                   "--hex", "1e0ae006c633644d005000", "--wait", "5"], timeout: 15)
            #expect(unreachable.output.contains("\"outcome\": \"reset\""), "unreachable: \(unreachable.output)")
            let refused = try bed.run(bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "send", "--to", "198.51.100.1", "5000",
                                               "--hex", "1e0ae006cb007102000900", "--wait", "5"], timeout: 15)
            #expect(refused.output.contains("\"outcome\": \"reset\""), "refused: \(refused.output)")
            let stats = try bed.stats()
            #expect(stats["upstream_unreachable"] == 1, "\(stats)")
            #expect(stats["upstream_refused"] == 1, "\(stats)")
            #expect(stats["connections_open"] == 0)
        }
    }

    /// A CPE whose port set is used up gets a clean refusal; its open connections are untouched.
    @Test func portSetExhaustionIsRefusedCleanly() async throws {
        try await Testbed.with("exhaust", rate: nil) { bed in
            // a=0, k=14: four ports per PSID.
            try bed.startConcentrator(["--psid-offset", "0", "--psid-length", "14"])
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            for index in 0..<4 {
                try bed.spawn("holder-\(index)", in: bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "send", "--to", "198.51.100.1",
                                                              "5000", "--hex", Self.destination + "00" + "6869", "--wait", "8"])
            }
            let held = bed.waitFor(5) { (try? bed.stats()["upstream_connected"]) == 4 }
            #expect(held, "four connections did not come up: \(String(describing: try? bed.stats()))")
            let fifth = try bed.run(bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "send", "--to", "198.51.100.1", "5000",
                                             "--hex", Self.destination + "00" + "6869", "--wait", "3"], timeout: 10)
            #expect(fifth.output.contains("\"outcome\": \"reset\""), "fifth: \(fifth.output)")
            #expect(try bed.stats()["port_set_exhausted"] == 1)
            let holders = bed.waitFor(15) { (0..<4).allSatisfy { bed.log("holder-\($0)").contains("outcome") } }
            #expect(holders)
            for index in 0..<4 {
                #expect(bed.log("holder-\(index)").contains("\"received\": 2"), "holder \(index): \(bed.log("holder-\(index)"))")
            }
        }
    }

    /// 1000 connections that send nothing are all closed at the PM timeout and counted, while a
    /// real connection goes through.
    @Test func floodOfSilentConnections() async throws {
        try await Testbed.with("flood", rate: nil) { bed in
            try bed.startConcentrator(["--pm-timeout", "2"])
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            try bed.spawn("flood", in: bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "flood", "--to", "198.51.100.1", "5000",
                                                 "--count", "1000", "--hold", "15"])
            let flooding = bed.waitFor(10) { (try? bed.stats()["accepted"]) ?? 0 >= 1000 }
            #expect(flooding, "the flood did not arrive: \(String(describing: try? bed.stats()))")
            let good = try bed.run(bed.cpe, ["python3", "\(Testbed.tools)/pm_client.py", "--concentrator", "198.51.100.1", "5000",
                                            "--dest", Testbed.serverV4, "8086", "--send", "10000", "--timeout", "10"], timeout: 20)
            #expect(good.status == 0, "good connection during the flood: \(good.output)")
            let done = bed.waitFor(20) { bed.log("flood").contains("closed_by_peer") }
            #expect(done)
            #expect(bed.log("flood").contains("\"closed_by_peer\": 1000"), "\(bed.log("flood"))")
            #expect(try bed.stats()["pm_block_timeouts"] == 1000)
        }
    }

    /// Out of descriptors, the concentrator aborts the connections it cannot take (one reserve
    /// descriptor makes room for accept + abort) instead of spinning on a listener that stays
    /// readable, and serves again once descriptors are free.
    @Test func runningOutOfDescriptorsShedsConnectionsWithoutSpinning() async throws {
        try await Testbed.with("fdlim", rate: nil) { bed in
            let daemon = try bed.startConcentrator(["--pm-timeout", "4"], wrapper: ["prlimit", "--nofile=96:96", "--"])
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            let cpuBefore = try Self.cpuSeconds(daemon.processIdentifier)
            try bed.spawn("flood", in: bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "flood", "--to", "198.51.100.1", "5000",
                                                 "--count", "300", "--hold", "3"])
            let done = bed.waitFor(30) { bed.log("flood").contains("closed_by_peer") }
            #expect(done, "flood: \(bed.log("flood"))")
            let cpu = try Self.cpuSeconds(daemon.processIdentifier) - cpuBefore
            let stats = try bed.stats()
            #expect((stats["descriptor_exhaustion"] ?? 0) > 0, "\(stats)")
            #expect((stats["connections_shed"] ?? 0) > 0, "\(stats)")
            // Every connection got an answer: taken, or aborted (during or after the handshake).
            let flood = try #require(try JSONSerialization.jsonObject(with: Data((bed.log("flood").split(separator: "\n").last ?? "").utf8))
                                     as? [String: Int])
            #expect(flood["opened"].map { $0 + (flood["refused"] ?? 0) } == 300, "\(flood)")
            // Those still queued when the flood ends are accepted once descriptors come back (the
            // PM timeout frees them); with the SYN gate in the path more of them are still queued then.
            let answered = bed.waitFor(10) {
                let now = (try? bed.stats()) ?? [:]
                return (now["accepted"] ?? 0) + (now["connections_shed"] ?? 0) >= 300
            }
            #expect(answered, "\(String(describing: try? bed.stats()))")
            // A loop spinning on EMFILE burns a core for the whole 3 s hold.
            #expect(cpu < 1.5, "the concentrator used \(cpu) s of CPU during the flood")
            // Descriptors come back when the flood's connections end (PM timeout 4 s at most).
            let served = bed.waitFor(15) { (try? bed.stats()["connections_open"]) == 0 }
            #expect(served, "\(String(describing: try? bed.stats()))")
            let good = try bed.run(bed.cpe, ["python3", "\(Testbed.tools)/pm_client.py", "--concentrator", "198.51.100.1", "5000",
                                            "--dest", Testbed.serverV4, "8086", "--send", "10000", "--timeout", "10"], timeout: 20)
            #expect(good.status == 0, "good connection after the flood: \(good.output)")
        }
    }

    /// User + system CPU seconds of a process, from /proc/PID/stat.
    static func cpuSeconds(_ pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
        // After the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
        return Double((Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
