import BindingState
import Foundation
import Logging
import PlainMode
import StreamPlane
import Synchronization
import Syscalls
import Testing
import WireFormat

/// Inbound connections through the concentrator (issue 16, draft 4.4.2): an Internet host connects
/// to a mapped pool address and port; concentrator-net.sh --inbound hands the SYN to the
/// concentrator's transparent listener (TPROXY), which opens an MPTCP connection to the CPE with
/// the Internet host in its PM block; the CPE connects to the LAN host from the Internet host's
/// address. Most tests run the concentrator's stream plane inside this test process, in the
/// testbed's concentrator namespace, with a fixed `InboundMappingLookup`, to reach cases the
/// daemon's PCP server would not make; `endToEndThroughTheDaemons` is the path an operator runs:
/// both daemons, mappings made over PCP by the CPE's --forward and by a LAN host through the CPE.
@Suite(.serialized) struct ConcentratorInboundTests {
    static let tenMegabytes = 10_000_000
    static let external = "192.0.2.130"
    /// The testbed concentrator's transparent listener for inbound connections.
    static let inboundListen = "127.0.0.1:7601"

    /// 10 MB echoed between the Internet host and the LAN host over the delayed links: intact, the
    /// LAN host sees the Internet host's own address and port, the MPTCP leg uses both links; an
    /// unmapped port is reset and counted; the concentrator's own outbound traffic still works
    /// (replies to its pool-bound upstream sockets are not TPROXY'd).
    @Test func internetHostReachesTheLANHostThroughTheConcentrator() async throws {
        try await Testbed.with("inbconc", profile: "dsl-lte") { bed in
            try bed.cpeNetForInbound()
            try bed.concentratorNet(["--inbound", Self.inboundListen])
            try bed.startCPE(Testbed.inboundCPEArguments(forwards: ["8080/tcp=192.0.2.2:8080"]))
            try bed.startLANServer(port: 8080, arguments: ["--mode", "echo"])
            try bed.startConcentrator()  // the daemon, for outbound connections alongside
            try bed.startServer(port: 8090, arguments: ["--mode", "echo"])
            let mappings = FixedMappings([
                InboundRoute(subscriber: SubscriberID("198.51.100.2"), cpeAddress: IPAddress("198.51.100.2")!,
                             external: Endpoint(address: IPAddress(Self.external)!, port: 8080),
                             internal: Endpoint(address: IPAddress("192.0.2.2")!, port: 8080)),
            ])
            let sessions = RecordedSessions()
            let plane = try Self.startConcentratorPlane(in: bed.conc, mappings: mappings, sessions: sessions)
            defer { plane.stop() }

            let client = try bed.run(bed.srv, ["python3", "\(Testbed.tools)/peer.py", "client", "--connect", Self.external,
                                               "--port", "8080", "--send", "\(Self.tenMegabytes)", "--timeout", "60"], timeout: 70)
            #expect(client.status == 0, "Internet host: \(client.output)")
            let record = try #require(PeerRecord.parse(client.output).first, "\(client.output)")
            #expect(record.received == Self.tenMegabytes)
            #expect(record.received_sha256 == record.sent_sha256)
            print("inbound 10 MB echo through the concentrator over dsl-lte: \(record.seconds ?? -1) s")
            let lan = try #require(PeerRecord.parse(bed.log("lan-8080")).first, "\(bed.log("lan-8080"))")
            let clientPort = try #require(record.local.flatMap { splitHostPort($0)?.1 })
            #expect(lan.peer == "\(Testbed.serverV4):\(clientPort)", "the LAN host saw \(lan.peer ?? "nothing")")
            #expect(lan.received == Self.tenMegabytes)
            #expect(try bed.nstat(bed.conc, "MPTcpExtMPJoinSynAckRx") >= 1, "the concentrator added no subflow to the CPE")

            try Self.expectUnmappedResetAndOutboundServed(bed, unmappedPort: 8081)

            let stats = Dictionary(uniqueKeysWithValues: plane.counterTotals().map { ($0.name, $0.value) })
            #expect(stats["inbound_accepted"] == 2)
            #expect(stats["inbound_refused_unmapped"] == 1)
            #expect(stats["inbound_connected"] == 1)
            #expect(stats["syn_data_connections"] == 1, "the PM block did not ride in the SYN")
            #expect(stats["closed_normally"] == 1)
            #expect(stats["mptcp_fallback"] == 0)
            // Logged as the subscriber's session (--log-sessions), created and deleted; the refused one not.
            let events = sessions.events
            #expect(events.map(\.kind) == [.created, .deleted])
            #expect(events.allSatisfy { $0.subscriber == SubscriberID("198.51.100.2") && $0.external.port == 8080
                    && $0.remote.port == clientPort && $0.cpe.port == UInt16(Testbed.cpeInboundPort) })
            let cpe = try bed.stats(concentrator: false)
            #expect(cpe["inbound_connected"] == 1)
            #expect(cpe["nfq_rewritten"] ?? 0 >= 1)
        }
    }

    /// Set-up time of inbound connections (issue 16's Bench item): the median time from connect()
    /// to the first reply byte of 20 100-byte exchanges from the Internet host, through the
    /// concentrator and the CPE to the LAN host, against the same exchange with a server on the
    /// CPE's link A address reached natively (--direct-path). The concentrator accepts at once
    /// (the Internet side has no delay here) and its PM block rides in the SYN, so the inbound
    /// path needs no access round trip more than the direct one.
    @Test func inboundSetUpTimeAgainstADirectConnection() async throws {
        try await Testbed.with("inbttfb", profile: "dsl-lte", directPath: true) { bed in
            try bed.cpeNetForInbound()
            try bed.concentratorNet(["--inbound", Self.inboundListen])
            try bed.startCPE(Testbed.inboundCPEArguments(forwards: ["8092/tcp=192.0.2.2:8092"]))
            try Self.startExchangeServer(bed, in: bed.lan, address: "192.0.2.2", port: 8092)
            try Self.startExchangeServer(bed, in: bed.cpe, address: "198.51.100.2", port: 8093)
            let plane = try Self.startConcentratorPlane(in: bed.conc, mappings: FixedMappings([
                InboundRoute(subscriber: SubscriberID("198.51.100.2"), cpeAddress: IPAddress("198.51.100.2")!,
                             external: Endpoint(address: IPAddress(Self.external)!, port: 8092),
                             internal: Endpoint(address: IPAddress("192.0.2.2")!, port: 8092)),
            ]))
            defer { plane.stop() }
            let direct = try Self.timeToFirstByte(bed, connect: "198.51.100.2", port: 8093)
            let inbound = try Self.timeToFirstByte(bed, connect: Self.external, port: 8092)
            print("inbound set-up, time to first byte, median of 20: through the concentrator \(inbound) ms, direct over link A \(direct) ms")
            #expect(inbound <= direct + 5, "through the concentrator \(inbound) ms, direct \(direct) ms: an extra round trip")
            let stats = Dictionary(uniqueKeysWithValues: plane.counterTotals().map { ($0.name, $0.value) })
            #expect(stats["inbound_connected"] == 20)
            #expect(stats["syn_data_connections"] == 20)
            print("requests in the SYN: \((stats["first_bytes_with_block"] ?? 0) / 100) of 20, waited for: \(stats["first_bytes_waits"] ?? 0)")
            #expect(stats["first_bytes_with_block"] == 20 * 100, "the requests did not ride in the SYN with the block: \(stats)")
        }
    }

    /// A lost SYN on the concentrator's MPTCP leg to the CPE: resent without its data, the
    /// handshake falls back to plain TCP, which the CPE refuses; the concentrator opens the leg
    /// once more with the same block and bytes. Every other SYN carrying data to the CPE is dropped
    /// (73 bytes and more: an MP_CAPABLE SYN without data has 64, an MP_JOIN SYN 72).
    @Test func aLostSYNTowardsTheCPECostsAResendNotTheConnection() async throws {
        try await Testbed.with("inbsynloss", profile: "dsl-lte") { bed in
            try bed.cpeNetForInbound()
            try bed.concentratorNet(["--inbound", Self.inboundListen])
            try bed.startCPE(Testbed.inboundCPEArguments(forwards: ["8094/tcp=192.0.2.2:8094"]))
            try bed.startLANServer(port: 8094, arguments: ["--mode", "echo"])
            let plane = try Self.startConcentratorPlane(in: bed.conc, mappings: FixedMappings([
                InboundRoute(subscriber: SubscriberID("198.51.100.2"), cpeAddress: IPAddress("198.51.100.2")!,
                             external: Endpoint(address: IPAddress(Self.external)!, port: 8094),
                             internal: Endpoint(address: IPAddress("192.0.2.2")!, port: 8094)),
            ]))
            defer { plane.stop() }
            let added = try bed.run(bed.cpe, ["iptables", "-A", "INPUT", "-p", "tcp", "--dport", "\(Testbed.cpeInboundPort)",
                                              "--tcp-flags", "SYN,ACK", "SYN", "-m", "length", "--length", "73:65535",
                                              "-m", "statistic", "--mode", "nth", "--every", "2", "--packet", "0", "-j", "DROP"], timeout: 10)
            try #require(added.status == 0, "iptables: \(added.output)")
            for _ in 0..<4 {
                try Self.exchange(bed, address: Self.external, port: 8094, lanPort: 8094, bytes: 100_000)
            }
            let stats = Dictionary(uniqueKeysWithValues: plane.counterTotals().map { ($0.name, $0.value) })
            #expect(stats["mptcp_leg_retries"] == 4, "\(stats.filter { $0.value != 0 })")
            #expect(stats["mptcp_leg_fallbacks"] == 0 && stats["inbound_connected"] == 4 && stats["closed_normally"] == 4)
            #expect(try bed.stats(concentrator: false)["inbound_refused_not_mptcp"] == 4)
        }
    }

    /// `ttfb.py serve` (100-byte request, 100-byte reply) in `namespace`.
    static func startExchangeServer(_ bed: Testbed, in namespace: String, address: String, port: Int) throws {
        try bed.spawn("ttfb-\(port)", in: namespace, ["python3", "\(Testbed.tools)/ttfb.py", "serve", "--listen", address,
                                                      "--port", "\(port)", "--request", "100", "--reply", "100", "--lifetime", "300"])
        try #require(bed.waitFor(10) { bed.log("ttfb-\(port)").contains("READY") }, "\(bed.log("ttfb-\(port)"))")
    }

    /// Median milliseconds to the first reply byte of 20 exchanges from the Internet host.
    static func timeToFirstByte(_ bed: Testbed, connect address: String, port: Int) throws -> Double {
        let result = try bed.run(bed.srv, ["python3", "\(Testbed.tools)/ttfb.py", "client", "--connect", address, "--port", "\(port)",
                                           "--count", "20", "--request", "100", "--reply", "100", "--timeout", "5", "--budget", "60"],
                                 timeout: 70)
        try #require(result.status == 0, "ttfb.py client: \(result.output)")
        let line = try #require(result.output.split(separator: "\n").first { $0.hasPrefix("{") })
        let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return try #require(record["median_ms"] as? Double)
    }

    /// An Internet host's connection to a pool port nobody mapped is reset at once; a LAN host's
    /// outbound connection through the daemon (echo server on port 8090) is served beside the
    /// inbound rule: its upstream socket is bound to a pool address, and the replies must reach it,
    /// not the inbound listener.
    static func expectUnmappedResetAndOutboundServed(_ bed: Testbed, unmappedPort: Int) throws {
        let unmapped = try bed.run(bed.srv, ["python3", "\(Testbed.tools)/peer.py", "client", "--connect", external,
                                             "--port", "\(unmappedPort)", "--send", "1000", "--timeout", "10"], timeout: 20)
        #expect(unmapped.status != 0 && unmapped.output.contains("reset"), "\(unmapped.output)")
        let outbound = try bed.run(bed.lan, ["python3", "\(Testbed.tools)/peer.py", "client", "--connect", Testbed.serverV4,
                                             "--port", "8090", "--send", "1000000", "--timeout", "30"], timeout: 40)
        #expect(outbound.status == 0, "outbound beside the inbound rule: \(outbound.output)")
        #expect(PeerRecord.parse(outbound.output).first?.received == 1_000_000)
    }

    /// The daemon with --inbound-listen and no mapping (no PCP server yet): an Internet host's
    /// connection to a pool port is reset at once and counted; outbound connections still work.
    @Test func daemonResetsUnmappedInboundConnections() async throws {
        try await Testbed.with("inbrst") { bed in
            try bed.concentratorNet(["--inbound", Self.inboundListen])
            try bed.startConcentrator(["--inbound-listen", Self.inboundListen])
            try bed.startCPE()
            try bed.startServer(port: 8090, arguments: ["--mode", "echo"])
            try Self.expectUnmappedResetAndOutboundServed(bed, unmappedPort: 8080)
            let stats = try bed.stats()
            #expect(stats["inbound_accepted"] == 1)
            #expect(stats["inbound_refused_unmapped"] == 1)
            #expect(stats["closed_normally"] == 1)
            #expect(bed.log("concentrator").contains("inbound on \(Self.inboundListen)"))
        }
    }

    /// The whole path through the daemons, as an operator runs it (the issue's acceptance): a LAN
    /// host maps a TCP and a UDP port through the CPE's PCP proxy with a client written from the
    /// RFCs, and the CPE asks for its own --forward; an Internet host exchanges 10 MB with the LAN
    /// host through the mapped pool address and TCP port and 1000 datagrams are echoed through the
    /// UDP one, on the delayed links, the LAN host seeing the Internet host's address. After the
    /// concentrator is killed and restarted, the stored mappings still reach the LAN host.
    @Test func endToEndThroughTheDaemons() async throws {
        try await Testbed.with("inbe2e", profile: "dsl-lte") { bed in
            try InboundUDPTests.cpeNet(bed)
            try bed.concentratorNet(["--inbound", Self.inboundListen, "--udp"])
            let arguments = ["--inbound-listen", Self.inboundListen, "--pcp-listen", "198.51.100.1", "--pcp-rate-limit", "100"]
            let first = try bed.startConcentrator(arguments)
            try bed.startCPE(Testbed.inboundCPEArguments(forwards: ["8080/tcp=192.0.2.2:8080"], pcp: true) + ["--pcp-listen", "192.0.2.1"])
            try bed.startLANServer(port: 8080, arguments: ["--mode", "echo"])
            try bed.startLANServer(port: 9090, arguments: ["--mode", "echo"])
            try InboundUDPTests.startLANEcho(bed, port: 9000)

            // The static forward, granted over PCP: the CPE forwards the port the concentrator chose.
            var forwarded: [[String: Any]] = []
            let granted = try bed.waitFor(15) {
                forwarded = try Self.ctlMappings(bed, concentrator: false)["forwards"] as? [[String: Any]] ?? []
                return forwarded.count == 1
            }
            try #require(granted, "the CPE's forward was not granted: \(bed.log("cpe"))")
            let forwardPort = try #require(forwarded[0]["first_port"] as? Int)
            #expect(forwarded[0]["internal"] as? String == "192.0.2.2:8080", "\(forwarded)")
            let mappings = try #require(try Self.ctlMappings(bed, concentrator: true)["mappings"] as? [[String: Any]])
            let pool = try #require(mappings.first { $0["first_port"] as? Int == forwardPort }?["external_address"] as? String, "\(mappings)")
            try Self.exchange(bed, address: pool, port: forwardPort, lanPort: 8080, bytes: 1_000_000)

            // The LAN host's own MAPs, TCP and UDP, through the CPE's PCP proxy.
            func lanMap(_ protocolNumber: Int, _ internalPort: Int) throws -> Int {
                let asked = try bed.run(bed.lan, ["python3", "\(Testbed.tools)/pcp_client.py", "map", "--server", "192.0.2.1", "--bind", "192.0.2.2",
                                                  "--protocol", "\(protocolNumber)", "--internal-port", "\(internalPort)", "--lifetime", "600",
                                                  "--wait", "5"], timeout: 20)
                let answer = try #require(PCPServerTests.lines(asked.output, as: PCPServerTests.Answer.self).first, "\(asked.output)")
                #expect(answer.result == 0 && answer.external_address == pool, "\(asked.output)")
                return try #require(answer.external_port)
            }
            let tcpPort = try lanMap(6, 9090)
            let udpPort = try lanMap(17, 9000)
            try Self.exchange(bed, address: pool, port: tcpPort, lanPort: 9090, bytes: Self.tenMegabytes)
            try Self.echoThousandDatagrams(bed, address: pool, port: udpPort)
            #expect(try bed.stats()["inbound_connected"] == 3)

            // Killed and restarted: the stored mappings answer at once (the CPE only renews later).
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()
            try? FileManager.default.removeItem(atPath: bed.concentratorSocket)
            try bed.startConcentrator(arguments)
            try Self.exchange(bed, address: pool, port: forwardPort, lanPort: 8080, bytes: 1_000_000)
            try Self.exchange(bed, address: pool, port: tcpPort, lanPort: 9090, bytes: 1_000_000)
        }
    }

    /// FILTER is a firewall instruction (RFC 6887 s13.3): a LAN host maps a TCP port through the
    /// CPE's proxy for one peer only (203.0.113.9); the Internet host from another address is reset
    /// at the concentrator and counted, and from the filtered address it gets through.
    @Test func aFilteredMappingAdmitsOnlyItsPeer() async throws {
        try await Testbed.with("inbfilt") { bed in
            try bed.cpeNetForInbound()
            try bed.concentratorNet(["--inbound", Self.inboundListen])
            try bed.startConcentrator(["--inbound-listen", Self.inboundListen, "--pcp-listen", "198.51.100.1"])
            try bed.startCPE(Testbed.inboundCPEArguments(forwards: [], pcp: true) + ["--pcp-listen", "192.0.2.1"])
            try bed.startLANServer(port: 9090, arguments: ["--mode", "echo"])
            let added = try bed.run(bed.srv, ["ip", "address", "add", "203.0.113.9/24", "dev", "up0"])
            try #require(added.status == 0, "\(added.output)")
            let asked = try bed.run(bed.lan, ["python3", "\(Testbed.tools)/pcp_client.py", "map", "--server", "192.0.2.1", "--bind", "192.0.2.2",
                                              "--protocol", "6", "--internal-port", "9090", "--lifetime", "600", "--filter", "203.0.113.9/32",
                                              "--wait", "5"], timeout: 20)
            let answer = try #require(PCPServerTests.lines(asked.output, as: PCPServerTests.Answer.self).first, "\(asked.output)")
            #expect(answer.result == 0, "\(asked.output)")
            let pool = try #require(answer.external_address), port = try #require(answer.external_port)
            let before = try bed.stats()
            let stranger = try bed.run(bed.srv, ["python3", "\(Testbed.tools)/peer.py", "client", "--connect", pool, "--port", "\(port)",
                                                 "--send", "1000", "--timeout", "10", "--bind", Testbed.serverV4], timeout: 20)
            #expect(PeerRecord.parse(stranger.output).first?.received ?? 0 == 0, "the filtered-out peer got through: \(stranger.output)")
            #expect(UDPTests.moved(before, try bed.stats(), "inbound_refused_unmapped") == 1)
            let peer = try bed.run(bed.srv, ["python3", "\(Testbed.tools)/peer.py", "client", "--connect", pool, "--port", "\(port)",
                                             "--send", "100000", "--timeout", "20", "--bind", "203.0.113.9"], timeout: 30)
            let record = try #require(PeerRecord.parse(peer.output).first, "\(peer.output)")
            #expect(record.received == 100_000 && record.received_sha256 == record.sent_sha256, "\(peer.output)")
            #expect(PeerRecord.parse(bed.log("lan-9090")).contains { $0.peer?.hasPrefix("203.0.113.9:") == true }, "\(bed.log("lan-9090"))")
        }
    }

    /// 1000 datagrams of 1 to 1200 bytes from the Internet host to `address`:`port`, each echoed by
    /// the LAN host's echo on 9000 and checked byte for byte; the LAN host saw only the Internet host.
    static func echoThousandDatagrams(_ bed: Testbed, address: String, port: Int) throws {
        let check = try bed.run(bed.srv, ["python3", "\(Testbed.tools)/udp_check.py", "--to", address, "--port", "\(port)",
                                          "--count", "1000", "--min", "1", "--max", "1200", "--window", "1", "--seed", "17",
                                          "--timeout", "3", "--deadline", "100", "--bind", InboundUDPTests.internetSource], timeout: 120)
        let line = try #require(check.output.split(separator: "\n").first { $0.hasPrefix("{") }, "\(check.output)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(record["received"] as? Int == 1000 && record["lost"] as? Int == 0 && record["mismatched"] as? Int == 0, "\(record)")
        #expect(InboundUDPTests.lanPeers(bed, port: 9000) == [InboundUDPTests.internetSource], "\(InboundUDPTests.lanPeers(bed, port: 9000))")
    }

    /// `ctl mappings --json` of the concentrator or the CPE.
    static func ctlMappings(_ bed: Testbed, concentrator: Bool) throws -> [String: Any] {
        let result = try bed.run(concentrator ? bed.conc : bed.cpe, [Testbed.binary, "ctl", "mappings", "--json", "--control-socket",
                                                                     concentrator ? bed.concentratorSocket : bed.cpeSocket], timeout: 10)
        try #require(result.status == 0, "ctl mappings: \(result.output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
    }

    /// `bytes` echoed between the Internet host and the LAN host's server on `lanPort` through
    /// `address`:`port`: intact, and the LAN host saw the Internet host's address.
    static func exchange(_ bed: Testbed, address: String, port: Int, lanPort: Int, bytes: Int) throws {
        let client = try bed.run(bed.srv, ["python3", "\(Testbed.tools)/peer.py", "client", "--connect", address,
                                           "--port", "\(port)", "--send", "\(bytes)", "--timeout", "60"], timeout: 70)
        #expect(client.status == 0, "Internet host to \(address):\(port): \(client.output)")
        let record = try #require(PeerRecord.parse(client.output).first, "\(client.output)")
        #expect(record.received == bytes && record.received_sha256 == record.sent_sha256, "\(client.output)")
        let clientPort = try #require(record.local.flatMap { splitHostPort($0)?.1 })
        let seen = PeerRecord.parse(bed.log("lan-\(lanPort)")).map(\.peer)
        #expect(seen.contains("\(Testbed.serverV4):\(clientPort)"), "the LAN host saw \(seen)")
    }

    /// The concentrator's stream plane (no outbound listener, one inbound listener), its sockets
    /// and relay threads made inside `namespace`.
    static func startConcentratorPlane(in namespace: String, mappings: FixedMappings,
                                       sessions: RecordedSessions? = nil) throws -> StreamPlaneService {
        let box = PlaneBox()
        let thread = OSThread.start(name: "pm-inbound-test") {
            box.result = Result {
                try NetworkNamespace.enter(path: "/var/run/netns/\(namespace)")
                var settings = ConcentratorSettings(policy: PlainModePolicy(), allocator: nil, bindings: try BindingTable(),
                                                    preserveIPv4Source: true,
                                                    subscribers: SubscriberRegistry(try SubscriberDirectory([])), sessions: sessions)
                settings.inboundMappings = mappings
                let plane = try StreamPlaneService(role: .concentrator(settings), listen: [],
                                                   inbound: [try #require(SocketAddress(parsing: inboundListen))], loopCount: 2,
                                                   backlog: 128, tuning: RelayTuning(), logger: Logger(label: "inbound-test"))
                plane.start()  // the relay threads inherit this thread's namespace
                return plane
            }
        }
        thread.join()
        return try box.result!.get()
    }
}

/// The mappings a PCP server would hold, fixed for the test.
final class FixedMappings: InboundMappingLookup {
    let routes: [Endpoint: InboundRoute]

    init(_ routes: [InboundRoute]) {
        self.routes = Dictionary(uniqueKeysWithValues: routes.map { ($0.external, $0) })
    }

    func inboundRoute(_ transport: TransportProtocol, to external: Endpoint, from remote: Endpoint) -> InboundRoute? {
        transport == .tcp ? routes[external] : nil
    }
}

/// The session log's events, kept for the test.
final class RecordedSessions: SessionEventSink {
    private let recorded = Mutex<[SessionEvent]>([])

    func record(_ event: SessionEvent) { recorded.withLock { $0.append(event) } }
    var events: [SessionEvent] { recorded.withLock { $0 } }
}

/// Carries the namespace thread's result back; written once before `join`, read after.
final class PlaneBox: @unchecked Sendable {
    var result: Result<StreamPlaneService, any Error>?
}
