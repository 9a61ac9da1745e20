import Foundation
import Testing

/// Endpoint-independent mapping (RFC 4787 REQ-1, issue 16) on real kernels: a STUN-like reflector
/// on two Internet addresses tells each LAN socket which external address and port it saw. The
/// CPE names the LAN endpoint in every UDP flow's PM block (`--source-option auto`), and the
/// concentrator gives all flows of that endpoint one external endpoint of the subscriber's port set.
@Suite(.serialized) struct UDPMappingTests {
    static let lanSockets = ["192.0.2.2:41000", "192.0.2.2:41001"]
    static let remotes = ["203.0.113.2:3478", "203.0.113.3:3478"]
    /// A third Internet endpoint that no LAN socket has talked to.
    static let stranger = "203.0.113.4:3478"

    /// Bonded UDP in both roles, two more server addresses and the reflector on the first two.
    static func start(_ bed: Testbed, concentrator: [String] = [], cpe: [String] = [], cpeNet: [String] = []) throws {
        try UDPTests.startBondedUDP(bed, concentrator: concentrator, cpe: cpe, cpeNet: cpeNet)
        for address in ["203.0.113.3/24", "203.0.113.4/24"] {
            let added = try bed.run(bed.srv, ["ip", "address", "add", address, "dev", "up0"])
            try #require(added.status == 0, "\(address): \(added.output)")
        }
        try bed.spawn("reflector", in: bed.srv, ["python3", "\(Testbed.tools)/udp_mapping.py", "reflect", "--duration", "300"]
                      + remotes.flatMap { ["--listen", $0] })
        let ready = bed.waitFor(10) { bed.log("reflector").contains("ready") }
        try #require(ready, "reflector did not start: \(bed.log("reflector"))")
    }

    /// What the probe saw: the external endpoint per (LAN socket index, remote), and the process,
    /// which keeps reading its sockets for `linger` seconds.
    struct Probe {
        var external: [String: String]
        var process: Process

        func external(_ socket: Int, _ remote: String) -> String? { external["\(socket)>\(remote)"] }
    }

    /// LAN socket 0 asks both remotes, socket 1 the first one.
    static func probe(_ bed: Testbed, linger: Double, name: String = "probe", answerStrays: Bool = false) throws -> Probe {
        let process = try bed.spawn(name, in: bed.lan, [
            "python3", "\(Testbed.tools)/udp_mapping.py", "probe", "--socket", lanSockets[0], "--socket", lanSockets[1],
            "--ask", "0=\(remotes[0])", "--ask", "0=\(remotes[1])", "--ask", "1=\(remotes[0])", "--linger", "\(linger)",
        ] + (answerStrays ? ["--answer-strays"] : []))
        var seen: [[String: Any]]?
        _ = bed.waitFor(30) {
            seen = Self.jsonLines(bed.log(name)).compactMap { $0["seen"] as? [[String: Any]] }.first
            return seen != nil
        }
        let items = try #require(seen, "the probe gave no answer: \(bed.log(name))")
        var external: [String: String] = [:]
        for item in items {
            if let socket = item["socket"] as? Int, let remote = item["remote"] as? String, let seen = item["external"] as? String {
                external["\(socket)>\(remote)"] = seen
            }
        }
        return Probe(external: external, process: process)
    }

    /// Three datagrams from the stranger to `external` (the mapping of LAN socket 0); the sources
    /// of the replies it got within `awaitReplies` seconds (each "reply ..." from the LAN socket).
    @discardableResult
    static func sendFromStranger(_ bed: Testbed, to external: String, awaitReplies: Double = 0) throws -> [String] {
        let target = external.split(separator: ":")
        let from = stranger.split(separator: ":")
        let send = try bed.run(bed.srv, ["python3", "-c", """
            import socket, time
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("\(from[0])", \(from[1])))
            for i in range(3): s.sendto(b"stranger", ("\(target[0])", \(target[1])))
            end = time.monotonic() + \(awaitReplies)
            replies = 0
            while replies < 3 and time.monotonic() < end:
                s.settimeout(max(0.01, end - time.monotonic()))
                try: data, source = s.recvfrom(2048)
                except socket.timeout: break
                if data.startswith(b"reply "):
                    replies += 1
                    print("reply-from %s:%d" % source, flush=True)
            """], timeout: 10 + awaitReplies)
        try #require(send.status == 0, "\(send.output)")
        return send.output.split(separator: "\n").filter { $0.hasPrefix("reply-from ") }.map { String($0.dropFirst(11)) }
    }

    /// The datagrams the LAN sockets got besides their answers, once the probe has ended.
    static func strays(_ bed: Testbed, _ probe: Probe) throws -> [[String: Any]] {
        let ended = bed.waitFor(30) { !probe.process.isRunning }
        try #require(ended, "the probe did not end: \(bed.log("probe"))")
        let line = jsonLines(bed.log("probe")).first { $0["stray"] != nil }
        return try #require(line?["stray"] as? [[String: Any]], "no stray line: \(bed.log("probe"))")
    }

    static func jsonLines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }

    static func inPool(_ endpoint: String?) -> Bool { endpoint?.hasPrefix("192.0.2.1") == true }

    /// The STUN-like check: both remotes see LAN socket 0 at one external address and port; socket 1
    /// gets another port on the same pool address (paired pooling). A third remote's datagrams to
    /// socket 0's external endpoint are filtered (address-and-port-dependent filtering, the
    /// default), counted, and never reach the LAN. Idle bindings close and the last one of each
    /// mapping gives its port back.
    @Test func oneLANSocketLeavesFromOneExternalEndpointForEveryRemote() async throws {
        try await Testbed.with("udpeim") { bed in
            try Self.start(bed, concentrator: ["--udp-idle-timeout", "8"])
            let before = try bed.stats()
            let probe = try Self.probe(bed, linger: 4)
            let first = probe.external(0, Self.remotes[0]), second = probe.external(0, Self.remotes[1])
            let other = probe.external(1, Self.remotes[0])
            #expect(Self.inPool(first) && first == second, "socket 0 seen as \(String(describing: first)) and \(String(describing: second))")
            #expect(Self.inPool(other) && other != first, "socket 1 seen as \(String(describing: other)), socket 0 as \(String(describing: first))")
            #expect(other?.split(separator: ":").first == first?.split(separator: ":").first, "one pool address per subscriber")

            let stats = try bed.stats()
            #expect(stats["udp_mappings_open"] == 2 && UDPTests.moved(before, stats, "udp_mappings_reused") == 1, "\(stats)")
            #expect(stats["udp_bindings_open"] == 3 && stats["udp_ports_in_use"] == 2, "\(stats)")
            let bindings = (try bed.bindingsJSON()["bindings"] as? [[String: Any]] ?? []).filter { $0["protocol"] as? String == "udp" }
            let externals = bindings.compactMap { $0["external"] as? String }
            #expect(externals.count == 3 && externals.filter { $0 == first }.count == 2, "\(bindings)")

            let external = try #require(first)
            try Self.sendFromStranger(bed, to: external)
            let filtered = try bed.waitFor(5) { UDPTests.moved(before, try bed.stats(), "inbound_udp_dropped_filtered_remote") == 3 }
            let afterStranger = try bed.stats()
            #expect(filtered, "\(afterStranger)")
            #expect(UDPTests.moved(before, afterStranger, "inbound_udp_dropped_new_remote_no_inbound") == 0, "\(afterStranger)")
            let strays = try Self.strays(bed, probe)
            #expect(strays.isEmpty, "the LAN got datagrams it never asked for: \(strays)")

            let drained = try bed.waitFor(25) {
                let stats = try bed.stats()
                return stats["udp_mappings_open"] == 0 && stats["udp_bindings_open"] == 0 && stats["udp_ports_in_use"] == 0
            }
            let end = try bed.stats()
            #expect(drained, "the mappings did not end with their bindings: \(end)")
        }
    }

    /// `--udp-filtering endpoint`: a third remote may send to the shared external endpoint. Records
    /// carry no source, so its datagrams travel on an inbound connection of their own (draft 5.1.2)
    /// whose PM block names it and the LAN endpoint: the LAN socket gets them from the stranger's own
    /// address and port, in order, never as if one of its two remotes had sent them, and its replies
    /// reach the stranger from the same external endpoint the other remotes see.
    @Test func underEndpointFilteringANewRemoteReachesTheLANSocketWithItsOwnSource() async throws {
        try await Testbed.with("udpeimef") { bed in
            let inbound = ["--inbound-listen", "198.51.100.2:\(Testbed.cpeInboundPort)",
                           "--inbound-listen", "198.51.100.6:\(Testbed.cpeInboundPort)"]
            try Self.start(bed, concentrator: ["--udp-filtering", "endpoint"], cpe: inbound,
                           cpeNet: ["--inbound-port", "\(Testbed.cpeInboundPort)"])
            let before = try bed.stats()
            let cpeBefore = try bed.stats(concentrator: false)
            let probe = try Self.probe(bed, linger: 6, answerStrays: true)
            let first = probe.external(0, Self.remotes[0])
            #expect(Self.inPool(first) && first == probe.external(0, Self.remotes[1]), "\(probe.external)")
            let external = try #require(first)
            let replies = try Self.sendFromStranger(bed, to: external, awaitReplies: 5)
            #expect(replies == [external, external, external], "the stranger's replies came from \(replies), not \(external)")
            let stats = try bed.stats()
            #expect(UDPTests.moved(before, stats, "inbound_udp_inbound_opens") == 1, "\(stats)")
            #expect(UDPTests.moved(before, stats, "udp_inbound_bindings_opened") == 1, "\(stats)")
            #expect(UDPTests.moved(before, stats, "inbound_udp_dropped_new_remote_no_inbound") == 0, "\(stats)")
            #expect(UDPTests.moved(before, stats, "inbound_udp_dropped_filtered_remote") == 0, "\(stats)")
            #expect(UDPTests.moved(cpeBefore, try bed.stats(concentrator: false), "inbound_connected") == 1)
            let strays = try Self.strays(bed, probe)
            let fromStranger = strays.filter { $0["from"] as? String == Self.stranger }
            #expect(fromStranger.count == 3 && strays.count == 3, "the LAN got \(strays)")
            #expect(fromStranger.allSatisfy { $0["socket"] as? Int == 0 && $0["payload"] as? String == "stranger" }, "\(strays)")
        }
    }

    /// A CPE that names no LAN endpoint (`--source-option never`, or one older than the mapping)
    /// still works: each flow gets its own external port, as before.
    @Test func withoutASourceOptionEachFlowGetsItsOwnPort() async throws {
        try await Testbed.with("udpnoeim") { bed in
            try Self.start(bed, cpe: ["--source-option", "never"])
            let probe = try Self.probe(bed, linger: 0)
            let first = probe.external(0, Self.remotes[0]), second = probe.external(0, Self.remotes[1])
            #expect(Self.inPool(first) && Self.inPool(second) && first != second,
                    "socket 0 seen as \(String(describing: first)) and \(String(describing: second))")
            let stats = try bed.stats()
            #expect(stats["udp_mappings_open"] == 0 && stats["udp_mappings_reused"] == 0, "\(stats)")
            #expect(stats["udp_bindings_open"] == 3 && stats["udp_ports_in_use"] == 3, "\(stats)")
            #expect(try Self.strays(bed, probe).isEmpty)
        }
    }

    /// A CPE that dies without closing its connections (a power cut: simulated by dropping the old
    /// connections' packets before killing it) comes back while the concentrator still holds the
    /// old bindings of each LAN endpoint and remote: the new flows must still work, each with a
    /// port of its own until the old bindings idle out (`udp_mapping_conflict_fallbacks`).
    @Test func aRestartedCPEsFlowsWorkWhileTheOldBindingsLinger() async throws {
        try await Testbed.with("udpeimre") { bed in
            try bed.concentratorNet(["--udp"])
            let rules = try bed.run(bed.cpe, ["bash", Testbed.repository.appendingPathComponent("Deploy/cpe-net.sh").path,
                                              "--lan-if", "lan0", "--endpoint", "198.51.100.6@wanb", "--udp", "--queues", "0:1"])
            try #require(rules.status == 0, "\(rules.output)")
            for address in ["203.0.113.3/24"] { _ = try bed.run(bed.srv, ["ip", "address", "add", address, "dev", "up0"]) }
            try bed.spawn("reflector", in: bed.srv, ["python3", "\(Testbed.tools)/udp_mapping.py", "reflect", "--duration", "300"]
                          + Self.remotes.flatMap { ["--listen", $0] })
            #expect(bed.waitFor(10) { bed.log("reflector").contains("ready") })
            try bed.startConcentrator(["--queues", "0:1"])
            let firstCPE = try bed.startCPE(["--queues", "0:1"])
            let before = try Self.probe(bed, linger: 0)
            #expect(Self.inPool(before.external(0, Self.remotes[0])), "\(before.external)")
            // The old connections' packets never leave again: no FIN, no RST reaches the concentrator.
            let listing = try bed.run(bed.cpe, ["ss", "-Htn", "state", "established", "( dport = :5000 )"])
            let ports = Set(listing.output.split(separator: "\n").compactMap { line -> String? in
                line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first?.split(separator: ":").last.map(String.init)
            })
            try #require(!ports.isEmpty, "no CPE connections to the concentrator: \(listing.output)")
            for port in ports {
                let drop = try bed.run(bed.cpe, ["iptables", "-I", "OUTPUT", "-p", "tcp", "--sport", port, "-j", "DROP"])
                try #require(drop.status == 0, "\(drop.output)")
            }
            kill(firstCPE.processIdentifier, SIGKILL)
            firstCPE.waitUntilExit()
            try? FileManager.default.removeItem(atPath: bed.cpeSocket)
            let bindingsBefore = try bed.stats()["udp_bindings_open"]
            #expect(bindingsBefore == 3, "the concentrator should still hold the old bindings")
            try bed.startCPE(["--queues", "0:1"])
            let after = try Self.probe(bed, linger: 0, name: "probe-after")
            for (socket, remote) in [(0, Self.remotes[0]), (0, Self.remotes[1]), (1, Self.remotes[0])] {
                #expect(Self.inPool(after.external(socket, remote)), "socket \(socket) to \(remote) got no answer: \(after.external)")
            }
            let stats = try bed.stats()
            #expect(stats["udp_mapping_conflict_fallbacks"] == 3 && stats["udp_bindings_open"] == 6, "\(stats)")
        }
    }
}

