import Foundation
import Testing

/// Issue 14, subscribers and durable leases: every link of a CPE maps to its subscriber (one
/// port set), leases survive `kill -9` (SQLite under --state-dir), a damaged database stops
/// start-up untouched, and SIGHUP reloads the subscribers file without dropping connections.
@Suite(.serialized) struct SubscriberLeaseTests {
    static let toEcho = SynGateTests.toEcho + SynGateTests.hello
    static let linkA = "198.51.100.2", linkB = "198.51.100.6"

    /// The external (pool address, PSID) the server saw for one connection from `source`
    /// (a=6, k=6: PSID = port bits 4-9).
    static func portSet(_ bed: Testbed, from source: String) throws -> String {
        let before = PeerRecord.parse(bed.serverLog(port: 8086)).count
        let records = try SynGateTests.synData(bed, toEcho, wait: 0.5, extra: ["--bind", source])
        #expect(records.first?["received"] as? Int == 5, "from \(source): \(records)")
        _ = bed.waitFor(5) { PeerRecord.parse(bed.serverLog(port: 8086)).count > before }
        let peer = try #require(PeerRecord.parse(bed.serverLog(port: 8086)).dropFirst(before).first?.peer)
        let parts = peer.split(separator: ":")
        let port = try #require(parts.last.flatMap { Int($0) })
        return "\(parts[0]) PSID \((port >> 4) & 63)"
    }

    func writeSubscribers(_ bed: Testbed, _ lines: [String]) throws -> String {
        let path = bed.directory.appendingPathComponent("subscribers").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Without a subscribers file each link's address is a subscriber of its own (two port sets);
    /// with one line naming both links, connections opening alternately over link A and link B
    /// all leave from one pool address and PSID.
    @Test func aTwoLinkCPEGetsOnePortSet() async throws {
        try await Testbed.with("twolink", rate: nil) { bed in
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            let defaults = try bed.startConcentrator(["--ephemeral-leases"])
            let seenByDefault = try Set([Self.linkA, Self.linkB].map { try Self.portSet(bed, from: $0) })
            #expect(seenByDefault.count == 2, "default subscribers per address: \(seenByDefault)")
            try bed.stop(defaults)

            let file = try writeSubscribers(bed, ["# the testbed's CPE", "cust-1 \(Self.linkA)/32 \(Self.linkB)/32 delegated 2001:db8:1::/48"])
            try bed.startConcentrator(["--subscribers", file])
            var seen: [String] = []
            for round in 0..<6 { seen.append(try Self.portSet(bed, from: round % 2 == 0 ? Self.linkA : Self.linkB)) }
            #expect(Set(seen).count == 1, "one subscriber, one port set: \(seen)")
            let subscriber = try bed.run(bed.conc, [Testbed.binary, "ctl", "subscriber", "cust-1", "--json",
                                                    "--control-socket", bed.concentratorSocket], timeout: 10)
            #expect(subscriber.output.contains("\"named\":true") && subscriber.output.contains("\"lease\":{"), "\(subscriber.output)")
        }
    }

    /// `kill -9` mid-run, restart on the same --state-dir: each subscriber's new connections come
    /// from its previous pool address and PSID, even opened in the other order (a fresh
    /// allocator would swap them). Then a truncated database stops start-up (exit 78) with a
    /// message naming the file, which is left byte for byte as it was.
    @Test func leasesSurviveKillAndADamagedDatabaseStopsStartUp() async throws {
        try await Testbed.with("leases", rate: nil) { bed in
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            let file = try writeSubscribers(bed, ["cust-a \(Self.linkA)/32", "cust-b \(Self.linkB)/32"])
            let first = try bed.startConcentrator(["--subscribers", file])
            let a = try Self.portSet(bed, from: Self.linkA)
            let b = try Self.portSet(bed, from: Self.linkB)
            #expect(a != b)
            let leases = try bed.run(bed.conc, [Testbed.binary, "ctl", "leases", "--json", "--control-socket", bed.concentratorSocket],
                                     timeout: 10)
            #expect(leases.output.contains("\"subscriber\":\"cust-a\"") && leases.output.contains("\"subscriber\":\"cust-b\""),
                    "\(leases.output)")
            _ = bed.waitFor(1) { false }  // the journal commits within milliseconds of an allocation
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()
            try? FileManager.default.removeItem(atPath: bed.concentratorSocket)

            let second = try bed.startConcentrator(["--subscribers", file])
            #expect(bed.log("concentrator").contains("2 held"), "restored leases: \(bed.log("concentrator"))")
            #expect(try Self.portSet(bed, from: Self.linkB) == b, "cust-b after the restart")
            #expect(try Self.portSet(bed, from: Self.linkA) == a, "cust-a after the restart")
            try bed.stop(second)

            let database = URL(fileURLWithPath: bed.stateDirectory).appendingPathComponent("leases.sqlite")
            let whole = try Data(contentsOf: database)
            try #require(whole.count >= 4096, "database of \(whole.count) bytes")
            try whole.prefix(whole.count / 2).write(to: database)
            let damaged = try Data(contentsOf: database)
            let refused = try bed.run(bed.conc, [Testbed.binary, "concentrator", "--listen", "198.51.100.1:5001", "--pool", Testbed.pool,
                                                 "--allow", "198.51.100.0/29", "--no-syn-gate", "--no-udp",
                                                 "--state-dir", bed.stateDirectory, "--control-socket",
                                                 bed.directory.appendingPathComponent("refused.sock").path], timeout: 20)
            #expect(refused.status == 78, "\(refused.output)")
            #expect(refused.output.contains(database.path), "the message names the file: \(refused.output)")
            #expect(try Data(contentsOf: database) == damaged, "the damaged database was changed")
        }
    }

    /// SIGHUP with a changed file: a connection in progress survives, new connections follow the
    /// new file (link B becomes a subscriber of its own); a bad file is refused with its line
    /// number and the one in force stays.
    @Test func sighupReloadsTheSubscribersFile() async throws {
        try await Testbed.with("sighup", rate: nil) { bed in
            try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
            let file = try writeSubscribers(bed, ["cust-1 \(Self.linkA)/32 \(Self.linkB)/32"])
            let daemon = try bed.startConcentrator(["--subscribers", file])
            let a = try Self.portSet(bed, from: Self.linkA)
            #expect(try Self.portSet(bed, from: Self.linkB) == a)
            try bed.spawn("talker", in: bed.cpe, ["python3", "\(Testbed.tools)/syn_data.py", "talk", "--to", "198.51.100.1", "5000",
                                                  "--hex", Self.toEcho, "--every", "0.3", "--for", "4"])

            _ = try writeSubscribers(bed, ["cust-1 \(Self.linkA)/32", "cust-2 \(Self.linkB)/32"])
            kill(daemon.processIdentifier, SIGHUP)
            #expect(bed.waitFor(5) { bed.log("concentrator").contains("SIGHUP: 2 subscribers in force") }, "\(bed.log("concentrator"))")
            let b = try Self.portSet(bed, from: Self.linkB)
            #expect(b != a, "link B is cust-2 now")
            #expect(try Self.portSet(bed, from: Self.linkA) == a)

            _ = try writeSubscribers(bed, ["cust-1 \(Self.linkA)/32", "cust-2 \(Self.linkB)/32", "cust-3 198.51.100.300/32"])
            kill(daemon.processIdentifier, SIGHUP)
            #expect(bed.waitFor(5) { bed.log("concentrator").contains("line 3") }, "\(bed.log("concentrator"))")
            #expect(try Self.portSet(bed, from: Self.linkB) == b, "the file in force stays")
            #expect(try bed.stats()["subscribers"] == 2)

            let talked = bed.waitFor(15) { bed.log("talker").contains("outcome") }
            try #require(talked, "talker did not finish: \(bed.log("talker"))")
            #expect(bed.log("talker").contains("\"outcome\": \"eof\""), "the connection across both reloads: \(bed.log("talker"))")
            #expect(daemon.isRunning)
        }
    }
}
