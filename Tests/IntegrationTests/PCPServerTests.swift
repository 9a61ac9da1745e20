import Foundation
import Testing

/// Issue 16, the PCP server on the concentrator (RFC 6887 + RFC 7753), driven by
/// tools/pcp_client.py, a client written from the RFCs (not plainmode's codec) from the CPE's
/// namespace over both of its links. The concentrator runs with --pcp-listen on its two
/// CPE-facing addresses and a=6, k=6 (16-port blocks).
@Suite(.serialized) struct PCPServerTests {
    static let tool = Testbed.tools + "/pcp_client.py"
    static let linkA = "198.51.100.2", linkB = "198.51.100.6"
    static let serverA = "198.51.100.1", serverB = "198.51.100.5"

    struct Answer: Decodable {
        struct PortSet: Decodable, Equatable {
            var size: Int
            var first_internal_port: Int
            var parity: Bool
        }
        var result: Int?
        var result_name: String?
        var lifetime: Int?
        var epoch: Int?
        var opcode: Int?
        var internal_port: Int?
        var external_port: Int?
        var external_address: String?
        var port_set: PortSet?
    }

    struct Case: Decodable {
        var `case`: String
        var result: Int?
    }

    static func lines<T: Decodable>(_ output: String, as type: T.Type) -> [T] {
        output.split(separator: "\n").compactMap { try? JSONDecoder().decode(T.self, from: Data($0.utf8)) }
    }

    /// One MAP (or other command) from the CPE namespace; the answers received within a second.
    static func pcp(_ bed: Testbed, _ arguments: [String], from source: String = linkA, server: String = serverA,
                    command: String = "map") throws -> [Answer] {
        let result = try bed.run(bed.cpe, ["python3", tool, command, "--server", server, "--bind", source] + arguments, timeout: 20)
        try #require(result.status == 0, "pcp_client \(arguments): \(result.output)")
        return lines(result.output, as: Answer.self)
    }

    /// The single answer of a request (a test failure when there is not exactly one).
    static func single(_ bed: Testbed, _ arguments: [String], from source: String = linkA, server: String = serverA) throws -> Answer {
        let answers = try pcp(bed, arguments, from: source, server: server)
        try #require(answers.count == 1, "\(arguments): \(answers.count) answers")
        return answers[0]
    }

    static func ctl(_ bed: Testbed, _ what: String) throws -> [String: Any] {
        let result = try bed.run(bed.conc, [Testbed.binary, "ctl", what, "--json", "--control-socket", bed.concentratorSocket], timeout: 10)
        try #require(result.status == 0, "ctl \(what): \(result.output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
    }

    /// The testbed's CPE as one subscriber over both links, its LAN delegated (THIRD_PARTY).
    static func startConcentrator(_ bed: Testbed, _ extra: [String] = []) throws -> Process {
        let file = bed.directory.appendingPathComponent("subscribers").path
        try "cust-1 \(linkA)/32 \(linkB)/32 delegated 192.0.2.0/26 2001:db8:1::/48\n".write(toFile: file, atomically: true, encoding: .utf8)
        return try bed.startConcentrator(["--subscribers", file, "--ephemeral-leases", "--psid-offset", "6", "--psid-length", "6",
                                          "--pcp-listen", serverA, "--pcp-listen", "\(serverB):5351",
                                          "--pcp-max-mappings", "4", "--pcp-rate-limit", "1000"] + extra)
    }

    @Test func theClientEncodesAndDecodesTheRFC7753Example() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.tool, "selftest"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0 && output.contains("\"selftest\": \"ok\""), "\(output)")
    }

    /// PORT_SET under a=6, k=6: 100 asked, 16 contiguous ports of the subscriber's set granted
    /// (checked against `ctl leases`); parity; renewal over link B and deletion of the set as one;
    /// overlap; wrong nonce; quota; then every malformed case answered with its code.
    @Test func portSetsRenewalDeletionQuotaAndMalformedRequests() async throws {
        try await Testbed.with("pcpmap") { bed in
            _ = try Self.startConcentrator(bed)
            let set = try Self.single(bed, ["--protocol", "17", "--internal-port", "50000", "--port-set", "100", "--lifetime", "300"])
            #expect(set.result == 0 && set.lifetime == 300, "\(set)")
            #expect(set.port_set == Answer.PortSet(size: 16, first_internal_port: 50000, parity: false), "\(set)")
            let first = try #require(set.external_port)
            let leases = try #require(try Self.ctl(bed, "leases")["leases"] as? [[String: Any]])
            let lease = try #require(leases.first { $0["subscriber"] as? String == "cust-1" }, "\(leases)")
            #expect(set.external_address == lease["address"] as? String)
            #expect(first & 15 == 0 && (first >> 4) & 63 == lease["psid"] as? Int, "16 contiguous ports of one block of PSID \(lease["psid"] ?? "?"): \(first)")
            var mappings = try #require(try Self.ctl(bed, "mappings")["mappings"] as? [[String: Any]])
            #expect(mappings.count == 1 && mappings[0]["first_port"] as? Int == first && mappings[0]["last_port"] as? Int == first + 15)

            let parity = try Self.single(bed, ["--protocol", "17", "--internal-port", "40001", "--port-set", "6", "--parity",
                                               "--nonce", "aaaaaaaaaaaaaaaaaaaaaaaa"])
            #expect(parity.result == 0 && (parity.external_port ?? 0) & 1 == 1 && parity.port_set?.size == 6, "\(parity)")

            // Renewed over link B (other client address, same nonce): the same set, the CPE address follows.
            let renewed = try Self.single(bed, ["--protocol", "17", "--internal-port", "50000", "--port-set", "100", "--lifetime", "900"],
                                          from: Self.linkB, server: Self.serverB)
            #expect(renewed.result == 0 && renewed.lifetime == 900 && renewed.external_port == first && renewed.port_set?.size == 16, "\(renewed)")
            mappings = try #require(try Self.ctl(bed, "mappings")["mappings"] as? [[String: Any]])
            #expect(mappings.first { $0["first_port"] as? Int == first }?["cpe"] as? String == Self.linkB, "\(mappings)")

            // Overlap (RFC 7753 s4.4.1): internal ports 50010-50019 meet the set: a refresh of it.
            let overlap = try Self.single(bed, ["--protocol", "17", "--internal-port", "50010", "--port-set", "10"])
            #expect(overlap.result == 0 && overlap.external_port == first && overlap.port_set?.first_internal_port == 50000, "\(overlap)")

            // Deleted as one entity: gone from ctl mappings.
            let deleted = try Self.single(bed, ["--protocol", "17", "--internal-port", "50000", "--port-set", "100", "--lifetime", "0"])
            #expect(deleted.result == 0 && deleted.lifetime == 0 && deleted.port_set?.size == 16, "\(deleted)")
            mappings = try #require(try Self.ctl(bed, "mappings")["mappings"] as? [[String: Any]])
            #expect(!mappings.contains { $0["first_port"] as? Int == first }, "\(mappings)")

            // Wrong nonce on delete: NOT_AUTHORIZED (2), the mapping stays.
            #expect(try Self.single(bed, ["--internal-port", "8080"]).result == 0)
            let wrong = try Self.single(bed, ["--internal-port", "8080", "--lifetime", "0", "--nonce", "0badc0de0badc0de0badc0de"])
            #expect(wrong.result == 2, "\(wrong)")

            // Quota 4: parity set, 8080, two more; the fifth is USER_EX_QUOTA (10).
            #expect(try Self.single(bed, ["--internal-port", "8081"]).result == 0)
            #expect(try Self.single(bed, ["--internal-port", "8082"]).result == 0)
            let over = try Self.single(bed, ["--internal-port", "8083"])
            #expect(over.result == 10 && over.lifetime == 30, "\(over)")

            // Malformed requests (FACTS.md section 5, RFC 6887 sections 7.3, 8.3, 11.3, 13; RFC 7753 s4.2).
            let expected: [String: Int?] = [
                "one_byte": nil, "response_bit": nil, "version_1": 1, "shorter_than_header": 3, "not_multiple_of_four": 3,
                "longer_than_1100": 3, "truncated_map_data": 3, "peer_opcode": 4, "opcode_99": 4, "unknown_mandatory_option": 5,
                "option_overruns": 6, "port_set_length_4": 6, "port_set_size_0": 6, "two_port_sets": 6,
                "port_set_with_prefer_failure": 6, "prefer_failure_without_suggestion": 6, "prefer_failure_with_lifetime_0": 6,
                "filter_prefix_length_40_ipv4": 6, "third_party_is_source": 3, "third_party_not_subscriber": 2,
                "client_address_mismatch": 12, "protocol_132": 9, "all_ports_with_lifetime": 2, "announce_with_option": 6,
            ]
            let run = try bed.run(bed.cpe, ["python3", Self.tool, "cases", "--server", Self.serverA, "--bind", Self.linkA,
                                            "--internal-port", "9000"], timeout: 60)
            let cases = Self.lines(run.output, as: Case.self)
            #expect(cases.count == expected.count, "\(run.output)")
            for answered in cases {
                #expect(expected[answered.case] == .some(answered.result), "\(answered.case): got \(answered.result.map(String.init) ?? "no answer")")
            }
            let stats = try bed.stats()
            #expect(stats["pcp_result_malformed_option"] ?? 0 >= 9 && stats["pcp_result_unsupp_opcode"] == 2, "\(stats.filter { $0.key.hasPrefix("pcp_") })")
            #expect(stats["pcp_dropped_silently"] == 2 && stats["pcp_mappings"] == 4 && stats["pcp_mappings_deleted"] == 1)
            #expect(stats["pcp_mappings_renewed"] == 2 && stats["pcp_result_user_ex_quota"] == 1)
        }
    }

    /// Closed by default: a source outside --allow gets no answer (counted); an allowed one does.
    /// A fresh concentrator (no stored state) announces its epoch on the CPE links (RFC 6887 s14.1.3).
    @Test func onlyAllowedSourcesAreAnsweredAndANewServerAnnounces() async throws {
        try await Testbed.with("pcpallow") { bed in
            try bed.spawn("announce-listener", in: bed.cpe, ["python3", Self.tool, "listen", "--bind", "0.0.0.0", "--duration", "8"])
            #expect(bed.waitFor(5) { bed.log("announce-listener").contains("listening") })
            _ = try Self.startConcentrator(bed, ["--allow", "198.51.100.4/30"])
            let refused = try Self.pcp(bed, ["--internal-port", "8080"], from: Self.linkA, server: Self.serverA)
            #expect(refused.count == 1 && refused[0].result == nil, "link A is not allowed: \(refused)")
            let allowed = try Self.single(bed, ["--internal-port", "8080"], from: Self.linkB, server: Self.serverB)
            #expect(allowed.result == 0, "\(allowed)")
            let stats = try bed.stats()
            #expect(stats["pcp_dropped_not_allowed"] == 1 && stats["pcp_requests"] == 1, "\(stats.filter { $0.key.hasPrefix("pcp_") })")
            let heard = bed.waitFor(5) {
                Self.lines(bed.log("announce-listener"), as: Answer.self).contains { $0.opcode == 0 && $0.result == 0 }
            }
            let announces = Self.lines(bed.log("announce-listener"), as: Answer.self).filter { $0.opcode == 0 }
            #expect(heard && announces.allSatisfy { ($0.epoch ?? 99) < 10 && $0.lifetime == 0 }, "\(bed.log("announce-listener"))")
        }
    }

    /// 60 s of random datagrams at UDP 5351 from the CPE: the daemon lives, the counters move,
    /// and a proper request is still answered.
    @Test func sixtySecondsOfRandomBytes() async throws {
        try await Testbed.with("pcpfuzz") { bed in
            let daemon = try Self.startConcentrator(bed, ["--pcp-rate-limit", "100000"])
            let fuzz = try bed.run(bed.cpe, ["python3", Testbed.tools + "/fuzz_sender.py", "--to", Self.serverA, "--ports", "5351",
                                             "--mode", "udp", "--duration", "60", "--rate", "500", "--seed", "16",
                                             "--from", Self.linkA], timeout: 90)
            #expect(fuzz.status == 0, "\(fuzz.output)")
            #expect(daemon.isRunning, "\(bed.log("concentrator"))")
            let stats = try bed.stats()
            #expect(stats["pcp_requests"] ?? 0 > 10_000 && stats["pcp_unparsable"] ?? 0 > 1000, "\(stats.filter { $0.key.hasPrefix("pcp_") })")
            #expect(try Self.single(bed, ["--internal-port", "8080"]).result == 0)
        }
    }
}
