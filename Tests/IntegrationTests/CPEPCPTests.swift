import Foundation
import Testing

/// The CPE's PCP side (issue 16): its LAN-facing server (`--pcp-listen`, an RFC 7648 proxy to the
/// concentrator's PCP server) under 60 s of random bytes from a LAN host: the CPE lives, its
/// counters move, and a proper request from the LAN is still granted through the concentrator.
@Suite(.serialized) struct CPEPCPTests {
    @Test func sixtySecondsOfRandomBytesAtTheCPE() async throws {
        try await Testbed.with("cpepcpfz") { bed in
            try bed.cpeNetForInbound()
            try bed.startConcentrator(["--pcp-listen", "198.51.100.1", "--pcp-rate-limit", "100"])
            let cpe = try bed.startCPE(Testbed.inboundCPEArguments(forwards: [], pcp: true) + ["--pcp-listen", "192.0.2.1"])
            let fuzz = try bed.run(bed.lan, ["python3", Testbed.tools + "/fuzz_sender.py", "--to", "192.0.2.1", "--ports", "5351",
                                             "--mode", "udp", "--duration", "60", "--rate", "500", "--seed", "1616",
                                             "--from", "192.0.2.2"], timeout: 90)
            #expect(fuzz.status == 0, "\(fuzz.output)")
            #expect(cpe.isRunning, "\(bed.log("cpe"))")
            let stats = try bed.stats(concentrator: false)
            #expect(stats["pcp_lan_requests"] ?? 0 > 20_000 && stats["pcp_lan_answers"] ?? 0 > 1000,
                    "\(stats.filter { $0.key.hasPrefix("pcp_") })")
            let asked = try bed.run(bed.lan, ["python3", "\(Testbed.tools)/pcp_client.py", "map", "--server", "192.0.2.1", "--bind", "192.0.2.2",
                                              "--protocol", "6", "--internal-port", "9090", "--lifetime", "600", "--wait", "5"], timeout: 20)
            let answer = PCPServerTests.lines(asked.output, as: PCPServerTests.Answer.self).first
            #expect(answer?.result == 0 && answer?.external_address?.hasPrefix("192.0.2.1") == true, "\(asked.output)")
            let mappings = try ConcentratorInboundTests.ctlMappings(bed, concentrator: true)["mappings"] as? [[String: Any]] ?? []
            #expect(mappings.contains { $0["first_port"] as? Int == answer?.external_port }, "\(mappings)")
        }
    }
}
