import Foundation
import Testing

/// Inbound connections (issue 16, draft 4.4.2) at the CPE: an MPTCP connection from the
/// concentrator whose PM block names the Internet host (source) and the mapped port
/// (destination) reaches the LAN host the port is forwarded to, from the Internet host's own
/// address. Here a Python MPTCP client in the concentrator's namespace plays the concentrator.
@Suite(.serialized) struct InboundTests {
    static let tenMegabytes = 10_000_000
    /// A documentation address of the Internet side, not the server's: the CPE binds to it.
    static let remote = "203.0.113.9"
    static let pooledExternal = "192.0.2.130"

    /// The concentrator's part, as a third-party client: block (remote as source) and the first
    /// 1000 bytes as SYN data to the CPE's inbound listener, then `bytes` more; the LAN host echoes.
    static func connectAsConcentrator(_ bed: Testbed, to cpe: String = "198.51.100.2", externalPort: Int, source: String? = remote,
                                      sourcePort: Int = 40000, bytes: Int, bind: String? = nil,
                                      timeout: Double = 60) throws -> (status: Int32, output: String, record: [String: Any]?) {
        var arguments = ["python3", "\(Testbed.tools)/pm_client.py", "--concentrator", cpe, "\(Testbed.cpeInboundPort)",
                         "--dest", pooledExternal, "\(externalPort)", "--send", "\(bytes)", "--timeout", "\(Int(timeout))"]
        if let source { arguments += ["--source", source, "--source-port", "\(sourcePort)"] }
        if let bind { arguments += ["--bind", bind] }
        let result = try bed.run(bed.conc, arguments, timeout: timeout + 10)
        let line = result.output.split(separator: "\n").first { $0.hasPrefix("{") }
        let record = line.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        return (result.status, result.output, record)
    }

    /// 10 MB echoed through the CPE on the delayed links: intact both ways, the LAN host sees the
    /// Internet host's address and port, both links carry the connection (the concentrator's
    /// extra subflow joins the address cpe-net.sh announces), and the CPE lowered the SYN's window
    /// (else Linux 6.18 overruns the concentrator on two subflows and the echo crawls, FACTS.md 7).
    @Test func forwardedConnectionReachesTheLANHostFromTheInternetHostsAddress() async throws {
        try await Testbed.with("inb", profile: "dsl-lte") { bed in
            try bed.cpeNetForInbound()
            try bed.startCPE(Testbed.inboundCPEArguments(forwards: ["8080/tcp=192.0.2.2:8080"]))
            try bed.startLANServer(port: 8080, arguments: ["--mode", "echo"])
            let joinsBefore = try bed.nstat(bed.conc, "MPTcpExtMPJoinSynAckRx")
            let result = try Self.connectAsConcentrator(bed, externalPort: 8080, bytes: Self.tenMegabytes)
            #expect(result.status == 0, "pm_client: \(result.output)")
            let record = try #require(result.record, "\(result.output)")
            #expect(record["received"] as? Int == Self.tenMegabytes)
            #expect(record["received_sha256"] as? String == record["sent_sha256"] as? String)
            #expect(record["mptcp"] as? Bool == true)
            #expect(record["max_subflows"] as? Int == 2, "the inbound connection used one link: \(record)")
            #expect(try bed.nstat(bed.conc, "MPTcpExtMPJoinSynAckRx") > joinsBefore)
            // Fast, not one retransmitted chunk per MPTCP timeout: 20 MB over 2 x 20 Mbit/s is ~5 s.
            let seconds = try #require(record["seconds"] as? Double)
            print("inbound 10 MB echo over dsl-lte: \(seconds) s, \(record["max_subflows"] ?? "-") subflows")
            #expect(seconds < 20, "the echo took \(seconds) s")

            let lan = try #require(PeerRecord.parse(bed.log("lan-8080")).first, "\(bed.log("lan-8080"))")
            #expect(lan.peer == "\(Self.remote):40000", "the LAN host saw \(lan.peer ?? "nothing")")
            #expect(lan.received == Self.tenMegabytes)
            let expected = try bed.run(nil, ["python3", "\(Testbed.tools)/peer.py", "expected", "\(Self.tenMegabytes)"])
            #expect(lan.received_sha256 == expected.output.trimmingCharacters(in: .whitespacesAndNewlines))

            let stats = try bed.stats(concentrator: false)
            #expect(stats["inbound_accepted"] == 1)
            #expect(stats["inbound_connected"] == 1)
            #expect(stats["closed_normally"] == 1)
            #expect(stats["bytes_to_downstream"] ?? 0 >= Self.tenMegabytes)
            #expect(stats["nfq_rewritten"] ?? 0 >= 1, "the inbound SYN's window was not lowered")
        }
    }

    /// Each refusal resets the connection and moves its counter: a source that is not the
    /// concentrator, plain TCP, a block without the Internet host, a port with no forward, a LAN
    /// host that refuses. A good connection still works afterwards.
    @Test func refusalsAreResetAndCounted() async throws {
        try await Testbed.with("inbref") { bed in
            try bed.cpeNetForInbound()
            try bed.startCPE(Testbed.inboundCPEArguments(forwards: ["8080/tcp=192.0.2.2:8080", "8081/tcp=192.0.2.2:8081"]))
            try bed.startLANServer(port: 8080, arguments: ["--mode", "echo"])

            // The concentrator's other address is not its --concentrator address.
            let stranger = try Self.connectAsConcentrator(bed, to: "198.51.100.6", externalPort: 8080, bytes: 10_000, bind: "198.51.100.5",
                                                          timeout: 10)
            #expect(stranger.status != 0, "a source other than the concentrator was served: \(stranger.output)")
            let plain = try bed.run(bed.conc, ["python3", "\(Testbed.tools)/peer.py", "client", "--connect", "198.51.100.2",
                                               "--port", "\(Testbed.cpeInboundPort)", "--send", "100", "--timeout", "10"], timeout: 20)
            #expect(plain.status != 0, "plain TCP was served: \(plain.output)")
            let anonymous = try Self.connectAsConcentrator(bed, externalPort: 8080, source: nil, bytes: 10_000, timeout: 10)
            #expect(anonymous.status != 0, "a block without the Internet host was served: \(anonymous.output)")
            let unmapped = try Self.connectAsConcentrator(bed, externalPort: 9999, bytes: 10_000, timeout: 10)
            #expect(unmapped.status != 0, "a port with no forward was served: \(unmapped.output)")
            let closed = try Self.connectAsConcentrator(bed, externalPort: 8081, bytes: 10_000, timeout: 10)
            #expect(closed.status != 0, "nothing listens on the LAN host's 8081: \(closed.output)")

            let good = try Self.connectAsConcentrator(bed, externalPort: 8080, sourcePort: 40001, bytes: 100_000, timeout: 20)
            #expect(good.status == 0, "\(good.output)")
            #expect(good.record?["received"] as? Int == 100_000)

            let stats = try bed.stats(concentrator: false)
            #expect(stats["inbound_refused_source"] == 1)
            #expect(stats["inbound_refused_not_mptcp"] == 1)
            #expect(stats["pm_reject_missing_source"] == 1)
            #expect(stats["inbound_refused_no_forward"] == 1)
            #expect(stats["inbound_connect_failed"] == 1)
            #expect(stats["upstream_refused"] == 1)
            #expect(stats["inbound_accepted"] == 4, "admission refusals are not accepted connections")
            #expect(stats["inbound_connected"] == 1)
            #expect(stats["closed_normally"] == 1)
        }
    }

    /// Ending rules as for outbound connections: the LAN host's RST becomes an MP_FASTCLOSE towards
    /// the concentrator; the LAN host's half-close (FIN while the concentrator's side still sends)
    /// reaches the concentrator's side after all the LAN host's bytes, and its bytes still arrive.
    @Test func resetAndHalfCloseCrossTheCPE() async throws {
        try await Testbed.with("inbend") { bed in
            try bed.cpeNetForInbound()
            try bed.startCPE(Testbed.inboundCPEArguments(forwards: ["8082/tcp=192.0.2.2:8082", "8083/tcp=192.0.2.2:8083"]))
            try bed.startLANServer(port: 8082, arguments: ["--mode", "rst"])
            try bed.startLANServer(port: 8083, arguments: ["--mode", "fin-after", "100000", "--send", "2000000"])
            let fastClosesBefore = try bed.nstat(bed.cpe, "MPTcpExtMPFastcloseTx")
            let reset = try Self.connectAsConcentrator(bed, externalPort: 8082, bytes: 100_000, timeout: 10)
            #expect(reset.status != 0, "the LAN host's reset did not reach the concentrator's side: \(reset.output)")
            #expect(try bed.nstat(bed.cpe, "MPTcpExtMPFastcloseTx") > fastClosesBefore)

            let halfClosed = try Self.connectAsConcentrator(bed, externalPort: 8083, sourcePort: 40002, bytes: 1_000_000, timeout: 20)
            #expect(halfClosed.status == 0, "\(halfClosed.output)")
            #expect(halfClosed.record?["received"] as? Int == 2_000_000)
            let lan = try #require(PeerRecord.parse(bed.log("lan-8083")).first, "\(bed.log("lan-8083"))")
            #expect(lan.received == 1_000_000, "the LAN host did not get everything after its half-close")

            let stats = try bed.stats(concentrator: false)
            #expect(stats["reset_by_upstream"] == 1)
            #expect(stats["aborts_sent_downstream"] ?? 0 >= 1)
            #expect(stats["closed_normally"] == 1)
        }
    }

    /// An Internet host connects natively to the LAN host's own IPv6 address (routed through the
    /// concentrator and the CPE, no plainmode on the way): the LAN host's replies cross the CPE's
    /// TPROXY chain and must be routed, not diverted to plainmode's listener (only new outbound
    /// SYNs are). Before, the SYN-ACK was TPROXY'd and the connection never came up.
    @Test func nativelyRoutedInboundConnectionIsNotDiverted() async throws {
        try await Testbed.with("inbnat", directPath: true) { bed in
            try bed.startCPE()
            try bed.spawn("lan6-8095", in: bed.lan, ["python3", "\(Testbed.tools)/peer.py", "serve", "--listen", Testbed.lanHostV6,
                                                   "--port", "8095", "--mode", "echo"])
            try #require(bed.waitFor(10) { bed.log("lan6-8095").contains("READY") }, "\(bed.log("lan6-8095"))")
            let client = try bed.run(bed.srv, ["python3", "\(Testbed.tools)/peer.py", "client", "--connect", Testbed.lanHostV6,
                                               "--port", "8095", "--send", "1000000", "--timeout", "20"], timeout: 30)
            #expect(client.status == 0, "native inbound IPv6: \(client.output)")
            #expect(PeerRecord.parse(client.output).first?.received == 1_000_000)
            let lan = try #require(PeerRecord.parse(bed.log("lan6-8095")).first, "\(bed.log("lan6-8095"))")
            #expect(lan.peer?.hasPrefix("[\(Testbed.serverV6)]:") == true, "the LAN host saw \(lan.peer ?? "nothing")")
            #expect(try bed.stats(concentrator: false)["accepted"] == 0, "the CPE intercepted a native connection")
        }
    }
}

extension Testbed {
    /// plainmode cpe --inbound-listen's port, the concentrator's default --cpe-inbound-port.
    static let cpeInboundPort = 7600

    /// cpe-net.sh as testbed.sh runs it, with --inbound-port (queues 0:1, the CPE's on two cores).
    func cpeNetForInbound() throws {
        let result = try run(cpe, ["bash", Self.repository.appendingPathComponent("Deploy/cpe-net.sh").path, "--lan-if", "lan0",
                                   "--endpoint", "198.51.100.6@wanb", "--endpoint", "2001:db8:b::2@wanb",
                                   "--inbound-port", "\(Self.cpeInboundPort)", "--queues", "0:1"])
        try #require(result.status == 0, "cpe-net.sh --inbound-port: \(result.output)")
    }

    /// Inbound listeners on both WAN addresses (the second one takes the concentrator's subflow).
    /// Without `pcp` the forwards are used as given (`--no-pcp`: the tests that play the
    /// concentrator themselves); with it they are asked for at the concentrator's PCP server.
    static func inboundCPEArguments(forwards: [String], pcp: Bool = false) -> [String] {
        ["--queues", "0:1", "--inbound-listen", "198.51.100.2:\(cpeInboundPort)", "--inbound-listen", "198.51.100.6:\(cpeInboundPort)"]
            + forwards.flatMap { ["--forward", $0] } + (pcp ? [] : ["--no-pcp"])
    }

    /// `peer.py serve` on the LAN host (192.0.2.2), logged as lan-PORT.
    func startLANServer(port: Int, arguments: [String] = []) throws {
        try spawn("lan-\(port)", in: lan, ["python3", "\(Self.tools)/peer.py", "serve", "--listen", "192.0.2.2", "--port", "\(port)"]
                  + arguments)
        try #require(waitFor(10) { log("lan-\(port)").contains("READY") }, "LAN server did not start: \(log("lan-\(port)"))")
    }
}
