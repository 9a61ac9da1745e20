import Foundation
import Testing

/// The daemon refuses to start, with a message naming the fix, on each misconfiguration.
@Suite struct StartupTests {
    static func plainmode(_ arguments: [String], prefix: [String] = []) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = prefix + [Testbed.binary] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs `body` with the `ip netns exec` prefix of a namespace made for it (TFO sysctl
    /// `fastOpen`), deleted afterwards even when the body throws.
    static func inNamespace(_ label: String, fastOpen: Int, _ body: ([String]) throws -> Void) throws {
        try #require(geteuid() == 0, "needs root for a network namespace")
        let namespace = "pm\(label)\(getpid() % 100000)"
        _ = try plainmode([], prefix: ["ip", "netns", "add", namespace])
        defer { _ = try? plainmode([], prefix: ["ip", "netns", "del", namespace]) }
        let exec = ["ip", "netns", "exec", namespace]
        _ = try plainmode([], prefix: exec + ["sysctl", "-qw", "net.ipv4.tcp_fastopen=\(fastOpen)"])
        try body(exec)
    }

    static let common = ["concentrator", "--listen", "127.0.0.1:5999", "--control-socket", "/tmp/plainmode-startup-test.sock",
                         "--allow", "198.51.100.0/24", "--ephemeral-leases"]

    /// Closed by default: without --allow the concentrator serves nobody and says which flag is missing.
    @Test func withoutAllowTheConcentratorRefusesToStart() throws {
        let result = try Self.plainmode(["concentrator", "--listen", "127.0.0.1:5999", "--pool", "192.0.2.128/27",
                                         "--control-socket", "/tmp/plainmode-startup-test.sock"])
        #expect(result.status == 78, "\(result.output)")
        #expect(result.output.contains("no --allow") && result.output.contains("--allow any"), "\(result.output)")
        let mixed = try Self.plainmode(Self.common + ["--pool", "192.0.2.128/27", "--allow", "any"])
        #expect(mixed.status == 64, "\(mixed.output)")
        #expect(mixed.output.contains("--allow any cannot be combined"), "\(mixed.output)")
    }

    @Test(arguments: [
        (["--pool", "192.0.2.129/27"], "host bits"),
        (["--pool", "192.0.2.0/33"], "/33"),
        (["--pool", "banana"], "--pool banana"),
        (["--pool", "192.0.2.128/27", "--psid-offset", "10", "--psid-length", "7"], "PSID geometry"),
        (["--pool", "192.0.2.128/32", "--psid-length", "2", "--min-port-sets", "100"], "--min-port-sets 100"),
        ([], "no --pool"),
    ])
    func configurationIsRefused(arguments: [String], expected: String) throws {
        let result = try Self.plainmode(Self.common + arguments)
        #expect(result.status == 78, "\(result.output)")
        #expect(result.output.contains(expected), "\(result.output)")
    }

    /// Out-of-range UDP tuning flags are usage errors (status 64) in both roles, before any set-up.
    @Test(arguments: [
        (["--udp-send-buffer", "10"], "--udp-send-buffer must be 0"),
        (["--udp-receive-buffer=-1"], "--udp-receive-buffer must be 0"),
        (["--udp-receive-buffer", "2000000000"], "got 2000000000"),
        (["--udp-backlog", "99999999"], "--udp-backlog must be"),
    ])
    func udpTuningOutOfRangeIsAUsageError(arguments: [String], expected: String) throws {
        for role in [Self.common + ["--pool", "192.0.2.128/27"], ["cpe", "--concentrator", "127.0.0.1:5999"]] {
            let result = try Self.plainmode(role + arguments)
            #expect(result.status == 64, "\(result.output)")
            #expect(result.output.contains(expected), "\(result.output)")
        }
    }

    /// A wildcard PCP address would answer from whichever address routing picks, which PCP
    /// clients drop: both roles refuse it as a usage error naming the flag.
    @Test(arguments: [
        (Self.common + ["--pool", "192.0.2.128/27", "--pcp-listen", "0.0.0.0"], "--pcp-listen 0.0.0.0: a wildcard"),
        (Self.common + ["--pool", "192.0.2.128/27", "--pcp-listen", "[::]:5351"], "--pcp-listen [::]:5351: a wildcard"),
        (["cpe", "--concentrator", "127.0.0.1:5999", "--inbound-listen", "127.0.0.1:7600", "--pcp-listen", "0.0.0.0:5351"],
         "--pcp-listen 0.0.0.0:5351: a wildcard"),
        (["cpe", "--concentrator", "127.0.0.1:5999", "--inbound-listen", "127.0.0.1:7600", "--forward", "8080/tcp=192.0.2.2:8080",
          "--pcp-server", "::"], "--pcp-server ::: a wildcard"),
    ])
    func wildcardPCPAddressIsAUsageError(arguments: [String], expected: String) throws {
        let result = try Self.plainmode(arguments)
        #expect(result.status == 64, "\(result.output)")
        #expect(result.output.contains(expected), "\(result.output)")
    }

    @Test func withoutNetAdminTheDaemonRefuses() throws {
        try #require(geteuid() == 0, "needs root to drop a capability")
        let result = try Self.plainmode(Self.common + ["--pool", "192.0.2.128/27"],
                                        prefix: ["setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin", "--"])
        #expect(result.status == 78, "\(result.output)")
        #expect(result.output.contains("CAP_NET_ADMIN"), "\(result.output)")
    }

    /// UDP bindings send through raw sockets: without CAP_NET_RAW the concentrator refuses at
    /// start-up instead of failing every binding later (in a namespace of its own).
    @Test func withoutNetRawTheConcentratorRefusesUDP() throws {
        try Self.inNamespace("raw", fastOpen: 3) { exec in
            let result = try Self.plainmode(Self.common + ["--pool", "192.0.2.128/27", "--no-syn-gate"],
                                            prefix: exec + ["setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw", "--"])
            #expect(result.status == 78, "\(result.output)")
            #expect(result.output.contains("CAP_NET_RAW") && result.output.contains("--no-udp"), "\(result.output)")
        }
    }

    @Test func withoutTheFastOpenServerBitTheConcentratorRefuses() throws {
        try Self.inNamespace("tfo", fastOpen: 1) { exec in
            let concentrator = try Self.plainmode(Self.common + ["--pool", "192.0.2.128/27"], prefix: exec)
            #expect(concentrator.status == 78, "\(concentrator.output)")
            #expect(concentrator.output.contains("net.ipv4.tcp_fastopen=3"), "\(concentrator.output)")
            _ = try Self.plainmode([], prefix: exec + ["sysctl", "-qw", "net.ipv4.tcp_fastopen=2"])
            let cpe = try Self.plainmode(["cpe", "--concentrator", "198.51.100.1:5000", "--control-socket", "/tmp/plainmode-startup-cpe.sock"],
                                         prefix: exec)
            #expect(cpe.status == 78, "\(cpe.output)")
            #expect(cpe.output.contains("net.ipv4.tcp_fastopen=3"), "\(cpe.output)")
        }
    }
}
