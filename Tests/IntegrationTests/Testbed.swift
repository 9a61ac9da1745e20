import Foundation
import Testing

/// A network-namespace testbed (Deploy/testbed.sh): LAN host, CPE with two links, concentrator,
/// Internet server, each in its own namespace named after a per-test prefix. Everything it
/// starts is killed and the namespaces are deleted in `tearDown`, which `withTestbed` always runs.
final class Testbed: @unchecked Sendable {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("plainmode").path
    static let delayLine = URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("delay-line").path
    static let tools = repository.appendingPathComponent("Tests/IntegrationTests/tools").path
    static let script = repository.appendingPathComponent("Deploy/testbed.sh").path

    // Addresses fixed by Deploy/testbed.sh.
    static let serviceV4 = "198.51.100.1:5000"
    static let serviceV6 = "[2001:db8:a::1]:5000"
    static let serverV4 = "203.0.113.2"
    static let serverV6 = "2001:db8:3::2"
    static let pool = "192.0.2.128/27"
    static let lanHostV6 = "2001:db8:1:1::2"

    let prefix: String
    let directory: URL
    private var processes: [(name: String, process: Process)] = []
    private let lock = NSLock()

    var lan: String { "\(prefix)-lan" }
    var cpe: String { "\(prefix)-cpe" }
    var conc: String { "\(prefix)-conc" }
    var srv: String { "\(prefix)-srv" }
    var concentratorSocket: String { directory.appendingPathComponent("conc.sock").path }
    var cpeSocket: String { directory.appendingPathComponent("cpe.sock").path }
    /// The concentrator's --state-dir (lease database), inside the test's directory.
    var stateDirectory: String { directory.appendingPathComponent("state").path }

    private init(prefix: String) throws {
        self.prefix = prefix
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("plainmode-\(prefix)")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Builds a testbed, runs `body`, and tears everything down even when `body` throws.
    /// `profile` is a testbed.sh link profile (rates and one-way delays, e.g. "dsl-lte"),
    /// `internetDelay` a one-way delay between concentrator and server; with `directPath` the
    /// CPE's WAN addresses also reach the server natively (the reference path).
    static func with<R>(_ name: String, rate: String? = nil, profile: String? = nil, internetDelay: String? = nil,
                        directPath: Bool = false, _ body: (Testbed) async throws -> R) async throws -> R {
        try #require(geteuid() == 0, "integration tests need root (network namespaces); run them as .ci/run does")
        let prefix = "pm\(name.prefix(6))\(getpid() % 10000)"
        let bed = try Testbed(prefix: prefix)
        defer { bed.tearDown() }
        var arguments = ["up"]
        if profile != nil || internetDelay != nil { arguments += ["--delay-line", Self.delayLine] }
        if let profile { arguments += ["--profile", profile] }
        if let rate { arguments += ["--rate", rate] } else if profile == nil { arguments += ["--no-shaping"] }
        if let internetDelay { arguments += ["--delay-internet", internetDelay] }
        if directPath { arguments.append("--direct-path") }
        let up = try bed.run(nil, ["/bin/bash", script] + arguments, environment: ["PREFIX": prefix], timeout: 60)
        try #require(up.status == 0, "testbed up failed: \(up.output)")
        return try await body(bed)
    }

    func tearDown() {
        lock.lock()
        let all = processes
        processes.removeAll()
        lock.unlock()
        for (_, process) in all where process.isRunning {
            process.interrupt()
        }
        for (_, process) in all { Self.waitOrKill(process, seconds: 5) }
        _ = try? run(nil, ["/bin/bash", Self.script, "down"], environment: ["PREFIX": prefix], timeout: 60)
    }

    private static func waitOrKill(_ process: Process, seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    // MARK: processes

    /// Runs a command (in namespace `namespace` if given) to completion, bounded by `timeout`.
    @discardableResult
    func run(_ namespace: String?, _ command: [String], environment: [String: String] = [:], input: String? = nil,
             timeout: Double = 60) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = environment.map { "\($0.key)=\($0.value)" }
        if let namespace { arguments = ["ip", "netns", "exec", namespace] + (arguments.isEmpty ? [] : ["env"] + arguments) }
        process.arguments = arguments + command
        let outputFile = directory.appendingPathComponent("run-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: outputFile)
        process.standardOutput = handle
        process.standardError = handle
        if let input {
            let pipe = Pipe()
            process.standardInput = pipe
            try process.run()
            pipe.fileHandleForWriting.write(Data(input.utf8))
            try pipe.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        let timedOut = process.isRunning
        if timedOut {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try handle.close()
        let output = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        return (timedOut ? -1 : process.terminationStatus, output + (timedOut ? "\n[timed out after \(timeout) s]" : ""))
    }

    /// Starts a long-running command in a namespace; its output goes to `<name>.log`.
    @discardableResult
    func spawn(_ name: String, in namespace: String, _ command: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", namespace] + command
        let log = directory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        lock.lock()
        processes.append((name, process))
        lock.unlock()
        return process
    }

    /// SIGTERM, then SIGKILL after 5 s; the concentrator's control socket is removed, so the next
    /// `startConcentrator` waits for its own.
    func stop(_ process: Process) throws {
        kill(process.processIdentifier, SIGTERM)
        if !waitFor(5, { !process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: concentratorSocket)
    }

    func log(_ name: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
    }

    /// Polls `condition` every 50 ms for at most `seconds`.
    func waitFor(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if try condition() { return true }
            usleep(50_000)
        } while Date() < deadline
        return false
    }

    // MARK: roles

    /// Runs Deploy/concentrator-net.sh in the concentrator again, as testbed.sh does (both pools,
    /// the SYN gate of both listeners on queues 0:1), plus `extra` (each run rewrites the chains).
    func concentratorNet(_ extra: [String] = []) throws {
        let result = try run(conc, ["bash", Self.repository.appendingPathComponent("Deploy/concentrator-net.sh").path,
                                    "--pool", Self.pool, "--pool", "2001:db8:1::/48", "--gate", Self.serviceV4,
                                    "--gate", Self.serviceV6, "--queues", "0:1"] + extra)
        try #require(result.status == 0, "concentrator-net.sh \(extra): \(result.output)")
    }

    /// The CPE's WAN prefixes, link A and link B, both families: the concentrator's --allow.
    static let allowCPE = ["--allow", "198.51.100.0/30", "--allow", "198.51.100.4/30",
                           "--allow", "2001:db8:a::/64", "--allow", "2001:db8:b::/64"]

    /// `wrapper` runs before the binary in the namespace (e.g. `prlimit --nofile=N:N --`). The
    /// queues are 0:1, those of the testbed's gate rules, unless `extra` names others; the
    /// allow-list is the CPE's WAN prefixes unless `extra` has an --allow, the pool the testbed's
    /// /27 unless `extra` has a --pool; leases are kept in `stateDirectory` unless `extra` says otherwise.
    @discardableResult
    func startConcentrator(_ extra: [String] = [], wrapper: [String] = []) throws -> Process {
        let keepsLeases = extra.contains("--state-dir") || extra.contains("--ephemeral-leases")
        let queues = (extra.contains("--queues") ? [] : ["--queues", "0:1"]) + (extra.contains("--allow") ? [] : Self.allowCPE)
            + (keepsLeases ? [] : ["--state-dir", stateDirectory]) + (extra.contains("--pool") ? [] : ["--pool", Self.pool])
        let process = try spawn("concentrator", in: conc, wrapper + [
            Self.binary, "concentrator", "--listen", Self.serviceV4, "--listen", Self.serviceV6,
            "--delegated-prefix", "2001:db8:a::/64=2001:db8:1::/48",
            "--control-socket", concentratorSocket, "--threads", "2",
        ] + queues + extra)
        let up = waitFor(10) { FileManager.default.fileExists(atPath: concentratorSocket) }
        try #require(up, "concentrator did not start: \(log("concentrator"))")
        return process
    }

    @discardableResult
    func startCPE(_ extra: [String] = []) throws -> Process {
        let process = try spawn("cpe", in: cpe, [Self.binary, "cpe", "--concentrator", Self.serviceV4, "--concentrator6", Self.serviceV6,
                                   "--control-socket", cpeSocket, "--threads", "2"] + extra)
        let up = waitFor(10) { FileManager.default.fileExists(atPath: cpeSocket) }
        try #require(up, "CPE did not start: \(log("cpe"))")
        return process
    }

    /// `peer.py serve` on the Internet host.
    func startServer(port: Int, family6: Bool = false, arguments: [String] = []) throws {
        let name = "server-\(port)\(family6 ? "-v6" : "")"
        try spawn(name, in: srv, ["python3", "\(Self.tools)/peer.py", "serve", "--listen", family6 ? Self.serverV6 : Self.serverV4,
                                  "--port", "\(port)"] + arguments)
        let ready = waitFor(10) { log(name).contains("READY") }
        try #require(ready, "server did not start: \(log(name))")
    }

    func serverLog(port: Int, family6: Bool = false) -> String { log("server-\(port)\(family6 ? "-v6" : "")") }

    /// `plainmode ctl stats --json` of a role, as a dictionary.
    func stats(concentrator: Bool = true) throws -> [String: Int] {
        let result = try run(concentrator ? conc : cpe, [Self.binary, "ctl", "stats", "--json", "--control-socket",
                                                         concentrator ? concentratorSocket : cpeSocket], timeout: 10)
        try #require(result.status == 0, "ctl stats failed: \(result.output)")
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Int]
        return try #require(object)
    }

    func bindingsJSON() throws -> [String: Any] {
        let result = try run(conc, [Self.binary, "ctl", "bindings", "--json", "--control-socket", concentratorSocket], timeout: 10)
        try #require(result.status == 0, "ctl bindings failed: \(result.output)")
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        return try #require(object)
    }

    /// A kernel counter from `nstat -az` in a namespace (its own history file).
    func nstat(_ namespace: String, _ name: String) throws -> Int {
        let result = try run(namespace, ["nstat", "-az", name], environment: ["NSTAT_HISTORY": directory.appendingPathComponent("nstat-\(namespace)").path], timeout: 10)
        for line in result.output.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2 && fields[0] == name { return Int(fields[1]) ?? 0 }
        }
        return 0
    }

    /// A namespace's non-zero kernel counters (nstat) whose names contain one of `words`, for
    /// failure messages of faults that do not come back on demand.
    func kernelCounters(_ namespace: String, containing words: [String]) -> String {
        let history = directory.appendingPathComponent("nstat-all-\(namespace)").path
        let output = (try? run(namespace, ["nstat", "-a"], environment: ["NSTAT_HISTORY": history], timeout: 10))?.output ?? ""
        let lines = output.split(separator: "\n").filter { line in words.contains { line.contains($0) } }
        return "\(namespace): " + lines.map { $0.split(separator: " ").prefix(2).joined(separator: " ") }.joined(separator: ", ")
    }

    /// Bytes sent on an interface (ip -s link).
    func txBytes(_ namespace: String, _ interface: String) throws -> Int {
        let result = try run(namespace, ["cat", "/sys/class/net/\(interface)/statistics/tx_bytes"], timeout: 10)
        return Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }
}

/// One JSON line printed by peer.py or pm_client.py.
struct PeerRecord: Decodable {
    var peer: String?
    var local: String?
    var sent: Int?
    var sent_sha256: String?
    var received: Int?
    var received_sha256: String?
    var seconds: Double?
    var error: String?
    /// With `serve --mark`: bytes received at the mark, and seconds from then to the end.
    var mark_bytes: Int?
    var mark_seconds: Double?
    /// With `serve --verify`: where the bytes received first differ from the stream.
    var first_difference: FirstDifference?

    struct FirstDifference: Decodable, CustomStringConvertible {
        var offset: Int
        var received_hex: String
        var expected_hex: String
        /// Where the received bytes occur in the stream's first MB (a shifted or repeated stretch).
        var received_is_expected_at: Int?
        /// From the first difference on: runs of [received offset, stream offset, length].
        var stretches: [[Int?]]?

        var description: String {
            "offset \(offset): received \(received_hex) (at \(received_is_expected_at.map(String.init) ?? "nowhere") in the stream), expected \(expected_hex)"
                + "; runs (received at, stream at, length): \((stretches ?? []).map { $0.map { $0.map(String.init) ?? "?" }.joined(separator: " ") })"
        }
    }

    static func parse(_ output: String) -> [PeerRecord] {
        output.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{") else { return nil }
            return try? JSONDecoder().decode(PeerRecord.self, from: Data(line.utf8))
        }
    }
}
