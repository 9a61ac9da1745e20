import Foundation
import Testing

/// Inbound UDP through the daemons (issue 16, draft 5.1.1/5.1.2): the CPE asks the concentrator's
/// PCP server for a --forward N/udp; an Internet host's first datagram to the granted pool address
/// and port finds no binding, so the queue worker parks it in a pending binding and a relay loop
/// opens an MPTCP connection to the CPE whose SYN carries the PM block (protocol 17) and the
/// datagram as a record; the CPE sends it to the LAN host from the Internet host's address and
/// port, and cpe-net.sh's socket rule brings the LAN host's replies back to that flow.
@Suite(.serialized) struct InboundUDPTests {
    static let lanPort = 9000
    static let internetSource = "203.0.113.2:40000"

    /// cpe-net.sh with bonded LAN UDP (its queue rule must leave the inbound flows' replies alone)
    /// and the inbound rules.
    static func cpeNet(_ bed: Testbed) throws {
        let result = try bed.run(bed.cpe, ["bash", Testbed.repository.appendingPathComponent("Deploy/cpe-net.sh").path,
                                           "--lan-if", "lan0", "--endpoint", "198.51.100.6@wanb", "--endpoint", "2001:db8:b::2@wanb",
                                           "--udp", "--inbound-port", "\(Testbed.cpeInboundPort)", "--queues", "0:1"])
        try #require(result.status == 0, "cpe-net.sh --udp --inbound-port: \(result.output)")
    }

    /// A UDP echo on the LAN host that prints each new peer ("peer IP:PORT") as it sees it.
    static func startLANEcho(_ bed: Testbed, port: Int) throws {
        try bed.spawn("lan-udp-\(port)", in: bed.lan, ["python3", "-c", """
            import socket, time
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.bind(("192.0.2.2", \(port)))
            s.settimeout(0.5)
            print("ready", flush=True)
            peers = set()
            end = time.monotonic() + 300
            while time.monotonic() < end:
                try: data, peer = s.recvfrom(65535)
                except socket.timeout: continue
                if peer not in peers:
                    peers.add(peer)
                    print("peer %s:%d" % peer, flush=True)
                s.sendto(data, peer)
            """])
        try #require(bed.waitFor(10) { bed.log("lan-udp-\(port)").contains("ready") }, "\(bed.log("lan-udp-\(port)"))")
    }

    /// The peers the LAN echo saw.
    static func lanPeers(_ bed: Testbed, port: Int) -> [String] {
        bed.log("lan-udp-\(port)").split(separator: "\n").filter { $0.hasPrefix("peer ") }.map { String($0.dropFirst(5)) }
    }

    /// The acceptance: 1000 datagrams of random sizes from the Internet host to the mapped pool
    /// address and port, one at a time, each echoed by the LAN host and checked byte for byte (so
    /// in order); the LAN host saw only the Internet host's own address and port, and the first
    /// datagram rode in the SYN of the one inbound connection. Datagrams to a pool port nobody
    /// mapped are dropped and counted.
    @Test(arguments: [nil, "dsl-lte"])
    func aMappedUDPPortEchoesAThousandDatagramsFromTheInternet(profile: String?) async throws {
        try await Testbed.with(profile == nil ? "inbudp" : "inbudpd", profile: profile) { bed in
            try Self.cpeNet(bed)
            try bed.concentratorNet(["--udp"])
            try bed.startConcentrator(["--pcp-listen", "198.51.100.1", "--pcp-rate-limit", "100"])
            try bed.startCPE(Testbed.inboundCPEArguments(forwards: ["\(Self.lanPort)/udp=192.0.2.2:\(Self.lanPort)"], pcp: true))
            try Self.startLANEcho(bed, port: Self.lanPort)

            var forwarded: [[String: Any]] = []
            let granted = try bed.waitFor(15) {
                forwarded = try ConcentratorInboundTests.ctlMappings(bed, concentrator: false)["forwards"] as? [[String: Any]] ?? []
                return forwarded.count == 1
            }
            try #require(granted, "the CPE's UDP forward was not granted: \(bed.log("cpe"))")
            let port = try #require(forwarded[0]["first_port"] as? Int)
            let mappings = try #require(try ConcentratorInboundTests.ctlMappings(bed, concentrator: true)["mappings"] as? [[String: Any]])
            let pool = try #require(mappings.first { $0["first_port"] as? Int == port }?["external_address"] as? String, "\(mappings)")
            let before = try bed.stats()
            let cpeBefore = try bed.stats(concentrator: false)

            let check = try bed.run(bed.srv, ["python3", "\(Testbed.tools)/udp_check.py", "--to", pool, "--port", "\(port)",
                                              "--count", "1000", "--min", "1", "--max", "1200", "--window", "1", "--seed", "16",
                                              "--timeout", "3", "--deadline", "100", "--bind", Self.internetSource], timeout: 120)
            #expect(check.status == 0, "udp_check: \(check.output)")
            let line = try #require(check.output.split(separator: "\n").first { $0.hasPrefix("{") }, "\(check.output)")
            let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(record["received"] as? Int == 1000 && record["lost"] as? Int == 0 && record["mismatched"] as? Int == 0
                    && record["foreign"] as? Int == 0, "\(record)")
            print("inbound UDP, 1000 datagrams echoed one at a time (\(profile ?? "unshaped")): \(record["elapsed_s"] ?? "-") s, median RTT \(record["rtt_median_us"] ?? "-") us")
            #expect(Self.lanPeers(bed, port: Self.lanPort) == [Self.internetSource], "the LAN host saw \(Self.lanPeers(bed, port: Self.lanPort))")

            let stats = try bed.stats()
            #expect(UDPTests.moved(before, stats, "inbound_udp_inbound_opens") == 1, "\(stats)")
            #expect(UDPTests.moved(before, stats, "udp_inbound_bindings_opened") == 1, "\(stats)")
            #expect(UDPTests.moved(before, stats, "inbound_connected") == 1, "\(stats)")
            #expect(UDPTests.moved(before, stats, "syn_data_connections") == 1, "the first datagram did not ride in the SYN: \(stats)")
            #expect(UDPTests.moved(before, stats, "udp_records_received") == 1000, "\(stats)")
            #expect(stats["udp_bindings_open"] == 1, "\(stats)")
            let cpe = try bed.stats(concentrator: false)
            #expect(UDPTests.moved(cpeBefore, cpe, "inbound_connected") == 1, "\(cpe)")
            #expect(UDPTests.moved(cpeBefore, cpe, "inbound_udp_records_received") == 1000, "\(cpe)")
            #expect(UDPTests.moved(cpeBefore, cpe, "inbound_udp_records_written") == 1000, "the LAN host's replies were not all carried back: \(cpe)")
            #expect(UDPTests.moved(cpeBefore, cpe, "inbound_udp_bindings_opened") == 1, "\(cpe)")
            // The replies reached the flow's socket, never the queues as a new outbound flow.
            #expect(UDPTests.moved(cpeBefore, cpe, "udp_datagrams_queued") == 0 && UDPTests.moved(cpeBefore, cpe, "udp_bindings_opened") == 0,
                    "\(cpe)")

            // A pool port nobody mapped: dropped and counted, no connection opened.
            let unmapped = port == 65535 ? port - 1 : port + 1
            let send = try bed.run(bed.srv, ["python3", "-c", """
                import socket
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                for i in range(5): s.sendto(b"nobody", ("\(pool)", \(unmapped)))
                """], timeout: 10)
            try #require(send.status == 0, "\(send.output)")
            let dropped = try bed.waitFor(5) { UDPTests.moved(stats, try bed.stats(), "inbound_udp_dropped_no_binding") == 5 }
            let after = try bed.stats()
            #expect(dropped, "\(after)")
            #expect(UDPTests.moved(stats, after, "inbound_udp_inbound_opens") == 0, "\(after)")
        }
    }
}
