import Foundation
import Testing

/// Bonded UDP on real kernels (issue 4): cpe-net.sh --udp queues the LAN's datagrams to
/// `plainmode cpe`, which carries each flow as length-framed records on its own MPTCP connection;
/// concentrator-net.sh --udp queues the Internet's datagrams to the pool to `plainmode
/// concentrator`, which frames them back. Both daemons run on queues 0:1 of their namespaces.
@Suite(.serialized) struct UDPTests {
    static let echoPort = 7
    static let dnsPort = 53

    /// The UDP rules of both scripts (the testbed's return path, gate and endpoints unchanged) and both
    /// daemons; `concentrator` and `cpe` are extra flags.
    static func startBondedUDP(_ bed: Testbed, concentrator: [String] = [], cpe: [String] = [], cpeNet: [String] = []) throws {
        try bed.concentratorNet(["--udp"])
        let cpeRules = try bed.run(bed.cpe, ["bash", Testbed.repository.appendingPathComponent("Deploy/cpe-net.sh").path,
                                             "--lan-if", "lan0", "--endpoint", "198.51.100.6@wanb",
                                             "--endpoint", "2001:db8:b::2@wanb", "--udp", "--queues", "0:1"] + cpeNet)
        try #require(cpeRules.status == 0, "cpe-net.sh --udp: \(cpeRules.output)")
        try bed.startConcentrator(["--queues", "0:1"] + concentrator)
        try bed.startCPE(["--queues", "0:1"] + cpe)
    }

    /// `udp_echo.py` on the Internet host (echo, or with `dns` a small DNS responder).
    static func startEcho(_ bed: Testbed, port: Int, dns: Bool = false) throws {
        let name = "udp-echo-\(port)"
        try bed.spawn(name, in: bed.srv, ["python3", "\(Testbed.tools)/udp_echo.py", "--port", "\(port)", "--duration", "300"]
                      + (dns ? ["--dns"] : []))
        let ready = bed.waitFor(10) { bed.log(name).contains("ready") }
        try #require(ready, "udp_echo.py did not start: \(bed.log(name))")
    }

    /// `udp_check.py` from the LAN host; its JSON summary.
    static func check(_ bed: Testbed, to address: String, arguments: [String], timeout: Double = 150) throws -> [String: Any] {
        let result = try bed.run(bed.lan, ["python3", "\(Testbed.tools)/udp_check.py", "--to", address,
                                           "--port", "\(echoPort)"] + arguments, timeout: timeout)
        let line = result.output.split(separator: "\n").last.map(String.init) ?? ""
        let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        return try #require(object, "udp_check.py gave no summary: \(result.output)")
    }

    static func moved(_ before: [String: Int], _ after: [String: Int], _ name: String) -> Int {
        (after[name] ?? 0) - (before[name] ?? 0)
    }

    /// 10 000 datagrams of random sizes (1..1400 bytes) over IPv4 and over IPv6, eight in flight,
    /// each reply checked byte for byte: no loss on an unshaped testbed, and every one of them
    /// went through both packet planes (not the ordinary route). Both daemons run with
    /// --udp-congestion-control reno and non-default socket buffers, which every subflow of both
    /// connections must show.
    @Test func tenThousandDatagramsEchoByteExactOverIPv4AndIPv6() async throws {
        try await Testbed.with("udpecho") { bed in
            let tuning = ["--udp-congestion-control", "reno", "--udp-send-buffer", "3000000", "--udp-receive-buffer", "5000000"]
            try Self.startBondedUDP(bed, concentrator: tuning, cpe: tuning)
            try Self.startEcho(bed, port: Self.echoPort)
            for (index, address) in [Testbed.serverV4, Testbed.serverV6].enumerated() {
                let cpeBefore = try bed.stats(concentrator: false)
                let concBefore = try bed.stats()
                let summary = try Self.check(bed, to: address, arguments: ["--count", "10000", "--min", "1", "--max", "1400",
                                                                          "--window", "8", "--timeout", "2", "--seed", "\(index + 1)"])
                #expect(summary["received"] as? Int == 10000, "\(address): \(summary)")
                #expect(summary["lost"] as? Int == 0 && summary["mismatched"] as? Int == 0 && summary["duplicates"] as? Int == 0,
                        "\(address): \(summary)")
                let cpeAfter = try bed.stats(concentrator: false)
                let concAfter = try bed.stats()
                #expect(Self.moved(cpeBefore, cpeAfter, "udp_datagrams_queued") == 10000, "\(address): \(cpeAfter)")
                #expect(Self.moved(cpeBefore, cpeAfter, "udp_datagrams_sent") == 10000, "\(address): \(cpeAfter)")
                #expect(Self.moved(concBefore, concAfter, "udp_datagrams_sent") == 10000, "\(address): \(concAfter)")
                #expect(Self.moved(concBefore, concAfter, "inbound_udp_datagrams_queued") == 10000, "\(address): \(concAfter)")
                #expect(Self.moved(cpeBefore, cpeAfter, "udp_bindings_opened") == 1, "\(address): one flow, one connection")
                #expect(cpeAfter["udp_records_dropped_backlog_full"] == 0 && concAfter["inbound_udp_records_dropped_backlog_full"] == 0)
            }
            // Every subflow of the two flows (IPv4, IPv6), at both ends, runs the chosen algorithm
            // and has the fixed buffers (the kernel doubles the bytes asked for).
            for namespace in [bed.conc, bed.cpe] {
                let ss = try bed.run(namespace, ["ss", "-timnH", "state", "established", "( sport = :5000 or dport = :5000 )"])
                let words = ss.output.split(whereSeparator: \.isWhitespace)
                let algorithms = words.filter { ["reno", "cubic", "bbr"].contains($0) }
                #expect(algorithms.count >= 2 && algorithms.allSatisfy { $0 == "reno" }, "\(namespace): \(ss.output)")
                let memory = words.filter { $0.hasPrefix("skmem:(") }
                #expect(memory.count >= 2 && memory.allSatisfy { $0.contains(",rb10000000,") && $0.contains(",tb6000000,") },
                        "\(namespace): \(ss.output)")
            }
            for concentrator in [true, false] {
                let stats = try bed.stats(concentrator: concentrator)
                #expect(stats["udp_congestion_control_errors"] == 0 && stats["udp_socket_buffer_errors"] == 0, "\(stats)")
            }
            // The CPE delivered through each flow's own UDP socket (the default), never refused.
            let cpeStats = try bed.stats(concentrator: false)
            #expect(cpeStats["udp_delivery_socket_errors"] == 0 && cpeStats["udp_segmentation_refused"] == 0, "\(cpeStats)")
            print("CPE segmented sends: \(cpeStats["udp_segmented_sends"] ?? -1)")
            // The IPv4 flow left from the CPE's port set on a pool address.
            let bindings = try bed.bindingsJSON()["bindings"] as? [[String: Any]] ?? []
            let udp = bindings.filter { $0["protocol"] as? String == "udp" }
            #expect(udp.contains { ($0["external"] as? String)?.hasPrefix("192.0.2.1") == true }, "\(bindings)")
        }
    }

    /// --no-udp-segmentation: the CPE builds every datagram to the LAN in place and sends it
    /// through its raw socket; 2 000 random sizes each way still echo byte for byte.
    @Test func rawDeliveryAtTheCPEEchoesByteExact() async throws {
        try await Testbed.with("udpraw") { bed in
            try Self.startBondedUDP(bed, cpe: ["--no-udp-segmentation"])
            try Self.startEcho(bed, port: Self.echoPort)
            for (index, address) in [Testbed.serverV4, Testbed.serverV6].enumerated() {
                let before = try bed.stats(concentrator: false)
                let summary = try Self.check(bed, to: address, arguments: ["--count", "2000", "--min", "1", "--max", "1400",
                                                                          "--window", "8", "--timeout", "2", "--seed", "\(index + 7)"])
                #expect(summary["received"] as? Int == 2000 && summary["lost"] as? Int == 0
                        && summary["mismatched"] as? Int == 0, "\(address): \(summary)")
                let after = try bed.stats(concentrator: false)
                #expect(Self.moved(before, after, "udp_datagrams_sent") == 2000, "\(address): \(after)")
            }
            let stats = try bed.stats(concentrator: false)
            #expect(stats["udp_segmented_sends"] == 0 && stats["udp_delivery_socket_errors"] == 0, "\(stats)")
        }
    }

    /// A real resolver client: dig asks A and AAAA of a small DNS responder through the bond,
    /// with each flow opened the draft's way (the default: PM block and query in the SYN).
    @Test func digResolvesThroughTheBondedPath() async throws {
        try await Testbed.with("udpdns") { bed in
            try Self.startBondedUDP(bed)
            try Self.startEcho(bed, port: Self.dnsPort, dns: true)
            let before = try bed.stats(concentrator: false)
            let concBefore = try bed.stats()
            for (server, type, answer) in [(Testbed.serverV4, "A", "203.0.113.53"), (Testbed.serverV6, "AAAA", "2001:db8::53")] {
                let dig = try bed.run(bed.lan, ["dig", "@\(server)", "-p", "\(Self.dnsPort)", "www.example.test", type,
                                                "+tries=1", "+time=3", "+short"], timeout: 20)
                #expect(dig.status == 0 && dig.output.contains(answer), "dig \(type) @\(server): \(dig.output)")
            }
            let after = try bed.stats(concentrator: false)
            #expect(Self.moved(before, after, "udp_bindings_opened") == 2, "both queries were bonded: \(after)")
            #expect(Self.moved(before, after, "udp_datagrams_sent") == 2, "\(after)")
            // The kernel took each query as SYN data (TFO without cookie at the listener).
            let concAfter = try bed.stats()
            #expect(Self.moved(concBefore, concAfter, "tfo_passive") == 2, "\(concAfter)")
        }
    }

    /// Draft 5.1.1 and RFC 4787: a datagram to a pool port with no binding is dropped and counted;
    /// one to a bound port from another remote is dropped under the default filtering. Under
    /// --udp-filtering endpoint it opens an inbound connection to the CPE instead (it carries the
    /// remote as the source), which this CPE, without --inbound-listen, refuses: counted, and never
    /// delivered as if the first remote had sent it.
    @Test func unboundAndFilteredDatagramsAreDroppedAndCounted() async throws {
        try await Testbed.with("udpfilter") { bed in
            try Self.startBondedUDP(bed)
            try Self.startEcho(bed, port: Self.echoPort)
            let before = try bed.stats()
            let unbound = try bed.run(bed.srv, ["python3", "-c", """
                import socket
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                for i in range(5): s.sendto(b"unbound", ("192.0.2.130", 40000 + i))
                """], timeout: 10)
            try #require(unbound.status == 0, "\(unbound.output)")
            let dropped = try bed.waitFor(5) { Self.moved(before, try bed.stats(), "inbound_udp_dropped_no_binding") == 5 }
            let stats = try bed.stats()
            #expect(dropped, "\(stats)")

            let (unexpected, filtered, noInbound) = try Self.strangerReply(bed)
            #expect(unexpected == 0, "a datagram from another remote reached the LAN host under address-and-port filtering")
            #expect(filtered == 3 && noInbound == 0, "inbound_udp_dropped_filtered_remote moved by \(filtered), no_inbound \(noInbound)")
        }
        try await Testbed.with("udpeif") { bed in
            try Self.startBondedUDP(bed, concentrator: ["--udp-filtering", "endpoint"])
            try Self.startEcho(bed, port: Self.echoPort)
            let before = try bed.stats()
            let (unexpected, filtered, noInbound) = try Self.strangerReply(bed)
            #expect(unexpected == 0, "endpoint-independent filtering delivered \(unexpected) of 3 with the wrong source")
            #expect(filtered == 0 && noInbound == 0, "filtered \(filtered), inbound_udp_dropped_new_remote_no_inbound \(noInbound)")
            // Three datagrams sent back to back: the first opens the connection, the others wait in
            // its pending binding (or, if the refusal was quicker, open one of their own).
            var after = before
            let refused = try bed.waitFor(5) {
                after = try bed.stats()
                let opens = Self.moved(before, after, "inbound_udp_inbound_opens")
                return opens >= 1 && Self.moved(before, after, "inbound_connect_failed") == opens
            }
            #expect(refused, "\(after)")
        }
    }

    /// The LAN host pings the echo server once and keeps listening; meanwhile the server sends
    /// three datagrams from another port to the binding's external endpoint. Returns how many
    /// datagrams the LAN host got that were not the echo, how many the concentrator filtered, and
    /// how many it dropped for want of an inbound connection. Records carry no source, so a
    /// stranger's datagram put into the binding would reach the LAN host as if from the original
    /// remote (udp_check: mismatched).
    static func strangerReply(_ bed: Testbed) throws -> (unexpected: Int, filtered: Int, noInbound: Int) {
        let before = try bed.stats()
        let client = try bed.spawn("stranger-client", in: bed.lan, [
            "python3", "\(Testbed.tools)/udp_check.py", "--to", Testbed.serverV4, "--port", "\(echoPort)",
            "--count", "1", "--bind", "192.0.2.2:41000", "--linger", "4", "--deadline", "20",
        ])
        var external: String?
        _ = try bed.waitFor(5) {
            let bindings = try bed.bindingsJSON()["bindings"] as? [[String: Any]] ?? []
            external = bindings.first { $0["protocol"] as? String == "udp" }?["external"] as? String
            return external != nil
        }
        let endpoint = try #require(external, "no UDP binding appeared")
        let parts = endpoint.split(separator: ":")
        let send = try bed.run(bed.srv, ["python3", "-c", """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("\(Testbed.serverV4)", 9998))
            for i in range(3): s.sendto(b"stranger", ("\(parts[0])", \(parts[1])))
            """], timeout: 10)
        try #require(send.status == 0, "\(send.output)")
        client.waitUntilExit()
        let line = bed.log("stranger-client").split(separator: "\n").last.map(String.init) ?? ""
        let summary = try #require((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                                   "udp_check.py: \(bed.log("stranger-client"))")
        #expect(summary["received"] as? Int == 1, "the echo itself came back: \(summary)")
        let unexpected = (summary["foreign"] as? Int ?? 0) + (summary["mismatched"] as? Int ?? 0)
        let after = try bed.stats()
        return (unexpected, moved(before, after, "inbound_udp_dropped_filtered_remote"),
                moved(before, after, "inbound_udp_dropped_new_remote_no_inbound"))
    }

    /// An idle binding is closed with MP_FASTCLOSE (--udp-idle-timeout) and the CPE's flow goes
    /// with it; an oversized datagram (record over the path MTU) is not bonded and is counted.
    @Test func idleBindingsCloseAndOversizedDatagramsAreNotBonded() async throws {
        try await Testbed.with("udpidle") { bed in
            try Self.startBondedUDP(bed, concentrator: ["--udp-idle-timeout", "2"], cpe: ["--udp-path-mtu", "1000"])
            try Self.startEcho(bed, port: Self.echoPort)
            let summary = try Self.check(bed, to: Testbed.serverV4, arguments: ["--count", "20", "--min", "1", "--max", "900"])
            #expect(summary["received"] as? Int == 20, "\(summary)")
            let open = try bed.stats(concentrator: false)["udp_bindings_open"]
            #expect(open == 1)
            let closed = try bed.waitFor(8) {
                try bed.stats()["udp_binding_idle_timeouts"] == 1 && bed.stats(concentrator: false)["udp_bindings_open"] == 0
            }
            let conc = try bed.stats()
            let cpeStats = try bed.stats(concentrator: false)
            #expect(closed, "conc \(conc); cpe \(cpeStats)")
            #expect(conc["udp_bindings_open"] == 0)

            // 1000 - 20 (IPv4) - 54 (TCP header, options, length) = 926 bytes is the largest bonded.
            let before = try bed.stats(concentrator: false)
            _ = try Self.check(bed, to: Testbed.serverV4, arguments: ["--count", "3", "--min", "927", "--max", "1200",
                                                                      "--timeout", "0.5"])
            let after = try bed.stats(concentrator: false)
            #expect(Self.moved(before, after, "udp_oversized_not_bonded") == 3, "\(after)")
            #expect(Self.moved(before, after, "udp_bindings_opened") == 0, "\(after)")
        }
    }

    /// 60 s of random bytes at every queued port of both roles (UDP to the pool and from the LAN,
    /// SYNs with random options and payloads at the listener, raw packets with broken transport
    /// headers): both daemons keep running, their counters move, and bonded UDP still works after.
    @Test func bothRolesSurviveSixtySecondsOfRandomBytes() async throws {
        try await Testbed.with("udpfuzz") { bed in
            // Random LAN ports open thousands of flows, more than the CPE's 1008-port set holds
            // at once: short-lived bindings give the ports back for the check at the end.
            try Self.startBondedUDP(bed, concentrator: ["--udp-idle-timeout", "5"])
            try Self.startEcho(bed, port: Self.echoPort)
            let fuzzer = "\(Testbed.tools)/fuzz_sender.py"
            let senders = try [
                bed.spawn("fuzz-pool", in: bed.srv, ["python3", fuzzer, "--to", "192.0.2.128", "--ports", "1-65535",
                                                     "--mode", "udp,raw", "--from", Testbed.serverV4, "--duration", "60",
                                                     "--rate", "1500", "--seed", "1"]),
                bed.spawn("fuzz-lan", in: bed.lan, ["python3", fuzzer, "--to", Testbed.serverV4, "--ports", "1-65535",
                                                    "--mode", "udp,raw", "--from", "192.0.2.2", "--duration", "60",
                                                    "--rate", "300", "--seed", "2"]),
                bed.spawn("fuzz-syn", in: bed.cpe, ["python3", fuzzer, "--to", "198.51.100.1", "--ports", "5000",
                                                    "--mode", "syn,raw", "--from", "198.51.100.2", "--duration", "60",
                                                    "--rate", "500", "--seed", "3"]),
            ]
            for sender in senders { sender.waitUntilExit() }
            for name in ["fuzz-pool", "fuzz-lan", "fuzz-syn"] {
                #expect(bed.log(name).contains("\"sent\""), "\(name): \(bed.log(name).suffix(400))")
            }
            let conc = try bed.stats()
            let cpe = try bed.stats(concentrator: false)
            #expect((conc["inbound_udp_dropped_no_binding"] ?? 0) > 1000, "\(conc)")
            #expect((conc["gate_drop_malformed_packet"] ?? 0) + (conc["gate_drop_bad_pm"] ?? 0) > 100, "\(conc)")
            #expect((cpe["udp_bindings_opened"] ?? 0) > 100, "\(cpe)")
            let drained = try bed.waitFor(20) { try bed.stats()["udp_bindings_open"] == 0 }
            let afterDrain = try bed.stats()
            #expect(drained, "\(afterDrain)")
            let summary = try Self.check(bed, to: Testbed.serverV4, arguments: ["--count", "500", "--window", "4"])
            #expect(summary["received"] as? Int == 500, "bonded UDP after the fuzzing: \(summary)")
        }
    }
}
