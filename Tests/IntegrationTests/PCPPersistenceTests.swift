import Foundation
import Testing

/// Issue 16: PCP mappings are kept with the leases. A mapping made before the concentrator dies
/// (SIGKILL, no clean shutdown) is there again after the restart with its external port, its
/// renewal (same nonce) keeps that port, the epoch goes on counting instead of starting again
/// (RFC 6887 s8.5), and the allocation log carries its creation and deletion.
@Suite(.serialized) struct PCPPersistenceTests {
    static func start(_ bed: Testbed, log: String) throws -> Process {
        let file = bed.directory.appendingPathComponent("subscribers").path
        try "cust-1 \(PCPServerTests.linkA)/32 \(PCPServerTests.linkB)/32\n".write(toFile: file, atomically: true, encoding: .utf8)
        return try bed.startConcentrator(["--subscribers", file, "--psid-offset", "6", "--psid-length", "6",
                                          "--pcp-listen", PCPServerTests.serverA, "--pcp-rate-limit", "1000", "--log-json", log])
    }

    static func logEvents(_ path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }

    @Test func mappingsAndTheEpochSurviveARestart() async throws {
        try await Testbed.with("pcpkeep") { bed in
            let log = bed.directory.appendingPathComponent("allocation.jsonl").path
            let first = try Self.start(bed, log: log)
            let nonce = "0102030405060708090a0b0c"
            let made = try PCPServerTests.single(bed, ["--internal-port", "8080", "--lifetime", "600", "--nonce", nonce])
            let port = try #require(made.external_port)
            #expect(made.result == 0 && made.epoch ?? 99 < 5, "\(made)")
            // Long enough for the journal (committed within ~10 ms) and for the epoch to move.
            usleep(3_000_000)
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()
            try? FileManager.default.removeItem(atPath: bed.concentratorSocket)

            let second = try Self.start(bed, log: log)
            let mappings = try #require(try PCPServerTests.ctl(bed, "mappings")["mappings"] as? [[String: Any]])
            #expect(mappings.count == 1 && mappings.first?["first_port"] as? Int == port, "\(mappings)")
            let renewed = try PCPServerTests.single(bed, ["--internal-port", "8080", "--lifetime", "600", "--nonce", nonce])
            #expect(renewed.result == 0 && renewed.external_port == port, "\(renewed)")
            #expect(renewed.epoch ?? 0 >= 3, "the epoch started again although the mapping was kept: \(renewed)")
            let stranger = try PCPServerTests.single(bed, ["--internal-port", "8080", "--lifetime", "0", "--nonce", "ffffffffffffffffffffffff"])
            #expect(stranger.result == 2, "the stored nonce still guards the mapping: \(stranger)")
            #expect(try PCPServerTests.single(bed, ["--internal-port", "8080", "--lifetime", "0", "--nonce", nonce]).result == 0)

            let logged = bed.waitFor(5) { Self.logEvents(log).contains { $0["event"] as? String == "mapping_deleted" } }
            let events = Self.logEvents(log).filter { ($0["event"] as? String)?.hasPrefix("mapping_") == true }
            #expect(logged, "\(events)")
            let created = events.first { $0["event"] as? String == "mapping_created" }
            #expect(created?["subscriber"] as? String == "cust-1" && created?["ports"] as? String == "\(port)-\(port)"
                    && created?["internal_ports"] as? String == "8080-8080" && created?["cpe_address"] as? String == PCPServerTests.linkA,
                    "\(events)")
            #expect(events.contains { $0["event"] as? String == "mapping_renewed" })

            // Deleted before the restart: gone after it too.
            kill(second.processIdentifier, SIGKILL)
            second.waitUntilExit()
            try? FileManager.default.removeItem(atPath: bed.concentratorSocket)
            _ = try Self.start(bed, log: log)
            let after = try #require(try PCPServerTests.ctl(bed, "mappings")["mappings"] as? [[String: Any]])
            #expect(after.isEmpty, "\(after)")
        }
    }
}
