import Foundation
import Testing

/// Issue 15, IPFIX: the concentrator's own export during a run with two subscribers, received by
/// Debian's nfcapd and read back with nfdump, and decoded by tshark with nothing malformed.
@Suite(.serialized) struct IPFIXExportTests {
    /// Foundation's Process starts children with signals blocked: cleared before exec, so nfcapd
    /// and tshark hear the SIGTERM/SIGINT that make them write their files.
    static let unblocked = ["python3", "-c",
                            "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execvp(sys.argv[1], sys.argv[1:])"]

    /// `nfdump -o raw`: one dictionary of `key = value` lines per NAT event record.
    static func nfdumpRecords(_ output: String) -> [[String: String]] {
        output.components(separatedBy: "\n\n").compactMap { block in
            var fields: [String: String] = [:]
            for line in block.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                fields[line[..<equals].trimmingCharacters(in: .whitespaces)] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            }
            return fields["nat event"] == nil ? nil : fields
        }
    }

    @Test func nfcapdAndTsharkReadTheConcentratorsExport() async throws {
        try await Testbed.with("ipfix", rate: nil) { bed in try Self.export(bed) }
    }

    static func export(_ bed: Testbed) throws {
        let directory = bed.directory.appendingPathComponent("nfcapd").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let capture = bed.directory.appendingPathComponent("ipfix.pcap").path
        let tshark = try bed.spawn("tshark", in: bed.conc, unblocked + ["tshark", "-i", "lo", "-f", "udp port 4739", "-w", capture])
        let nfcapd = try bed.spawn("nfcapd", in: bed.conc, unblocked + ["nfcapd", "-w", directory, "-p", "4739", "-b", "203.0.113.1",
                                                                        "-t", "3600"])
        try #require(bed.waitFor(15) { bed.log("tshark").contains("Capturing on") }, "tshark: \(bed.log("tshark"))")
        try #require(bed.waitFor(15) { bed.log("nfcapd").contains("Startup") }, "nfcapd: \(bed.log("nfcapd"))")

        try bed.startServer(port: 8086, arguments: ["--mode", "echo"])
        let subscribers = bed.directory.appendingPathComponent("subscribers").path
        try "cust-a 198.51.100.2/32\ncust-b 198.51.100.6/32\n".write(toFile: subscribers, atomically: true, encoding: .utf8)
        let json = bed.directory.appendingPathComponent("allocation.jsonl").path
        let started = Int(Date().timeIntervalSince1970 * 1000)
        try bed.startConcentrator(["--subscribers", subscribers, "--log-ipfix", "203.0.113.1:4739", "--log-json", json,
                                   "--log-sessions", "--lease-hold", "1", "--pcp-listen", "198.51.100.1"])
        for source in ["198.51.100.2", "198.51.100.6"] { _ = try SubscriberLeaseTests.portSet(bed, from: source) }
        // A PCP mapping of 4 ports for cust-a, made and deleted: 4 NAT44 BIB creates (8) and 4 deletes (9).
        let mapped = try PCPServerTests.single(bed, ["--protocol", "17", "--internal-port", "6000", "--port-set", "4", "--lifetime", "300"])
        let mappedPort = try #require(mapped.external_port, "\(mapped)")
        #expect(mapped.result == 0 && mapped.port_set?.size == 4, "\(mapped)")
        #expect(try PCPServerTests.single(bed, ["--protocol", "17", "--internal-port", "6000", "--port-set", "4", "--lifetime", "0"]).result == 0)
        let leases = try bed.run(bed.conc, [Testbed.binary, "ctl", "leases", "--json", "--control-socket", bed.concentratorSocket], timeout: 10)
        let leaseList = ((try? JSONSerialization.jsonObject(with: Data(leases.output.utf8))) as? [String: Any])?["leases"] as? [[String: Any]] ?? []
        try #require(leaseList.count == 2, "\(leases.output)")
        _ = bed.waitFor(10) { AllocationLogTests.jsonLines(json).filter { $0["event"] as? String == "lease_released" }.count == 2 }
        let ended = Int(Date().timeIntervalSince1970 * 1000)
        kill(nfcapd.processIdentifier, SIGTERM)
        kill(tshark.processIdentifier, SIGINT)
        #expect(bed.waitFor(10) { !nfcapd.isRunning && !tshark.isRunning }, "collectors did not stop")

        // nfdump: per lease 63 port block allocations (a=6: 63 blocks of 16 ports) and 63 de-allocations
        // from the lease's pool address, times inside the run; the sessions (4/5) too.
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("nfcapd.") }
        try #require(files.count == 1, "nfcapd wrote \(files)")
        let dump = try bed.run(nil, ["nfdump", "-r", "\(directory)/\(files[0])", "-o", "raw"], timeout: 30)
        let records = Self.nfdumpRecords(dump.output)
        func event(_ record: [String: String]) -> Int? { record["nat event"].flatMap { Int($0.prefix { $0 != ":" }) } }
        for lease in leaseList {
            let address = try #require(lease["address"] as? String)
            let cpe = lease["subscriber"] as? String == "cust-a" ? "198.51.100.2" : "198.51.100.6"
            for (kind, name) in [(16, "allocation"), (17, "de-allocation")] {
                let blocks = records.filter { event($0) == kind && $0["src xlt ip"] == address }
                #expect(blocks.count == 63, "\(address) port block \(name): \(blocks.count) records")
                #expect(blocks.allSatisfy { $0["src addr"] == cpe }, "\(address): CPE address \(blocks.first ?? [:])")
                let times = blocks.compactMap { $0["Event time"].flatMap { Int($0.prefix { $0 != " " }) } }
                #expect(times.count == blocks.count && times.allSatisfy { $0 >= started && $0 <= ended }, "\(times.prefix(3)) not in the run")
            }
        }
        #expect(records.filter { event($0) == 4 }.count == 2 && records.filter { event($0) == 5 }.count == 2, "sessions: \(records.count) records")
        for kind in [8, 9] {
            let bindings = records.filter { event($0) == kind }
            #expect(bindings.count == 4 && bindings.allSatisfy { $0["src addr"] == "198.51.100.2" }, "BIB \(kind): \(bindings)")
            let ports = Set(bindings.compactMap { $0["src xlt port"].flatMap { Int($0) } })
            #expect(ports == Set(mappedPort..<mappedPort + 4), "BIB \(kind) ports \(ports) for a mapping from \(mappedPort)")
        }

        // tshark: the port ranges of the allocations are exactly the leases' port sets; nothing malformed.
        let decode = ["tshark", "-r", capture, "-d", "udp.port==4739,cflow"]
        let fields = try bed.run(nil, decode + ["-T", "fields", "-E", "occurrence=a", "-e", "cflow.nat_event", "-e", "cflow.post_natsource_ipv4_address",
                                                "-e", "cflow.port_range_start", "-e", "cflow.port_range_end"], timeout: 30)
        var decodedRanges: [String: Set<String>] = [:]
        for line in fields.output.split(separator: "\n") {
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.split(separator: ",").map(String.init) }
            guard columns.count == 4, columns[2].count == columns[3].count else { continue }
            for (index, start) in columns[2].enumerated() where index < columns[1].count {
                decodedRanges[columns[1][index], default: []].insert("\(start)-\(columns[3][index])")
            }
        }
        for lease in leaseList {
            let address = try #require(lease["address"] as? String)
            let psid = try #require(lease["psid"] as? Int)
            let expected = Set((1...63).map { a in "\(a << 10 | psid << 4)-\(a << 10 | psid << 4 | 15)" })
            #expect(decodedRanges[address] == expected, "\(address) PSID \(psid): \(decodedRanges[address]?.sorted().prefix(3) ?? [])")
        }
        let malformed = try bed.run(nil, decode + ["-Y", "_ws.malformed || _ws.expert.severity >= \"warning\""], timeout: 30)
        // tshark warns on stderr when run as root; any other line is a packet the filter matched.
        let flagged = malformed.output.split(separator: "\n").filter { !$0.contains("Running as user") }
        #expect(malformed.status == 0 && flagged.isEmpty, "\(malformed.output)")
        let verbose = try bed.run(nil, decode + ["-V"], timeout: 30)
        for name in ["natEvent (230)", "observationTimeMilliseconds (323)", "postNATSourceIPv4Address (225)", "portRangeStart (361)",
                     "portRangeEnd (362)", "portRangeStepSize (363)", "portRangeNumPorts (364)"] {
            #expect(verbose.output.contains("Type: \(name)"), "tshark does not name \(name)")
        }
        #expect(verbose.output.contains("Nat Event: Port block allocation (16)"))
        #expect(verbose.output.contains("Nat Event: NAT44 BIB create (8)") && verbose.output.contains("Nat Event: NAT44 BIB delete (9)"),
                "\(verbose.output.split(separator: "\n").filter { $0.contains("Nat Event") }.prefix(20))")
    }
}
