import Foundation
import IPFIX
import Testing

/// The exporter against real collectors: Debian's nfcapd (nfdump 1.7) and tshark, in a network
/// namespace the test makes. `ipfix-send` sends a fixed set of NAT events for two subscribers;
/// the test reads them back with nfdump and tshark and compares them with what it printed.
@Suite("IPFIX export read back by nfcapd/nfdump and tshark", .serialized)
struct CollectorTests {
    static let port = 4739
    static let sender = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("ipfix-send").path

    @Test("nfdump reads natEvent, CPE and pool addresses, session ports and event times; tshark decodes every field, nothing malformed")
    func collectorsReadTheExport() throws {
        try #require(geteuid() == 0, "needs root for network namespaces; run as .ci/run does")
        for tool in ["nfcapd", "nfdump", "tshark"] {
            try #require(Shell.which(tool), "\(tool) missing: run Deploy/setup-debian.sh")
        }
        let namespace = "pmipfix-\(getpid())"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(namespace).path
        var started: [Process] = []
        defer {
            for process in started where process.isRunning { process.terminate() }
            for process in started { Shell.wait(process, seconds: 5, orKill: true) }
            // Whatever the test started inside the namespace and is still there (a killed timeout's child).
            _ = try? Shell.run(["sh", "-c", "ip netns pids \(namespace) | xargs -r kill -9"])
            _ = try? Shell.run(["ip", "netns", "del", namespace])
            try? FileManager.default.removeItem(atPath: directory)
        }
        _ = try? Shell.run(["ip", "netns", "del", namespace])
        try Shell.run(["ip", "netns", "add", namespace])
        try Shell.run(["ip", "-n", namespace, "link", "set", "lo", "up"])
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let capture = "\(directory)/export.pcapng"
        let inNamespace = ["ip", "netns", "exec", namespace, "timeout", "60"]

        // The capture and the collector, each bounded by timeout(1), both ready before anything is sent.
        let tshark = try Shell.start(inNamespace + ["tshark", "-i", "lo", "-f", "udp port \(Self.port)", "-w", capture],
                                     log: "\(directory)/tshark.log")
        started.append(tshark)
        let nfcapd = try Shell.start(inNamespace + ["nfcapd", "-w", directory, "-p", "\(Self.port)", "-b", "127.0.0.1", "-t", "3600"],
                                     log: "\(directory)/nfcapd.log")
        started.append(nfcapd)
        try #require(Shell.waitFor("Capturing on", in: "\(directory)/tshark.log", seconds: 15), "tshark did not start")
        try #require(Shell.waitFor("Startup", in: "\(directory)/nfcapd.log", seconds: 15), "nfcapd did not start")

        let base = UInt64(Date().timeIntervalSince1970 * 1000)
        let sent = try Shell.run(["ip", "netns", "exec", namespace, "timeout", "20", Self.sender,
                                  "127.0.0.1:\(Self.port)", "\(base)"])
        let lines = sent.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.last?.first == "sent")
        let records = lines.filter { $0.first != "sent" }
        #expect(records.count == 134)

        // Flush: nfcapd writes its file on SIGTERM; tshark closes its capture on SIGINT (timeout(1) passes both on).
        Thread.sleep(forTimeInterval: 0.5)
        nfcapd.terminate()
        tshark.interrupt()
        #expect(Shell.wait(nfcapd, seconds: 10, orKill: true))
        #expect(Shell.wait(tshark, seconds: 10, orKill: true))

        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("nfcapd.") && !$0.hasSuffix(".log") }
        try #require(files.count == 1, "nfcapd wrote \(files)")
        let flows = NfdumpRecord.parse(try Shell.run(["nfdump", "-r", "\(directory)/\(files[0])", "-o", "raw"]))
        try #require(flows.count == records.count)
        for (flow, record) in zip(flows, records) {
            let event = try #require(Int(record[0]))
            #expect(flow.natEvent == event)
            #expect(flow.eventTime == record.last.flatMap { UInt64($0) })
            switch event {
            case 16, 17:  // natEvent cpe pool start end step ports time
                #expect(flow["src addr"] == record[1])
                #expect(flow["src xlt ip"] == record[2])
            case 4, 5:  // natEvent protocol cpe cpePort pool poolPort destination destinationPort time
                #expect(flow["proto"]?.hasPrefix(record[1] + " ") == true)
                #expect(flow["src port"] == record[3])
                #expect(flow["src xlt ip"] == record[4])
                #expect(flow["src xlt port"] == record[5])
                #expect(flow["dst port"] == record[7])
                if record[2].contains(":") {
                    // nfdump 1.7.1 keeps one address family per record: an IPv6 source with an IPv4
                    // destination comes back as src "::", dst "::198.51.100.8"; tshark checks these below.
                    #expect(flow["dst addr"] == "::" + record[6])
                } else {
                    #expect(flow["src addr"] == record[2])
                    #expect(flow["dst addr"] == record[6])
                }
            case 13:  // natEvent cpe pool protocol ports time
                #expect(flow["src addr"] == record[1])
                #expect(flow["src xlt ip"] == record[2])
                #expect(flow["proto"]?.hasPrefix(record[3] + " ") == true)
            case 12:  // natEvent pool protocol time
                #expect(flow["src xlt ip"] == record[1])
                #expect(flow["proto"]?.hasPrefix(record[2] + " ") == true)
            default:
                #expect(event == 3)
            }
        }

        // tshark: every natEvent and every port range field, in order, exactly as sent.
        let decode = ["tshark", "-r", capture, "-d", "udp.port==\(Self.port),cflow"]
        let fields = try Shell.run(decode + ["-T", "fields", "-e", "cflow.nat_event", "-e", "cflow.port_range_start",
                                             "-e", "cflow.port_range_end", "-e", "cflow.port_range_step_size",
                                             "-e", "cflow.port_range_num_ports", "-e", "cflow.nat_pool_id",
                                             "-e", "cflow.max_entries_per_user"])
        let columns = Self.columns(fields, count: 7)
        #expect(columns[0] == records.map { $0[0] })
        let blocks = records.filter { $0[0] == "16" || $0[0] == "17" }
        for (index, field) in [3, 4, 5, 6].enumerated() {
            #expect(columns[index + 1] == blocks.map { $0[field] })
        }
        #expect(columns[5] == ["1"])
        #expect(columns[6] == ["256"])
        let addresses = Self.columns(try Shell.run(decode + ["-T", "fields", "-e", "cflow.srcaddrv6", "-e", "cflow.dstaddr"]), count: 2)
        #expect(addresses[0] == records.filter { $0.contains("2001:db8::20") }.map { _ in "2001:db8::20" })
        #expect(addresses[1] == records.filter { $0[0] == "4" || $0[0] == "5" }.map { $0[6] })

        // Template fields decode by name: IANA's for the NAT elements (>= 128); tshark names 4, 7,
        // 8, 11, 12 and 27 with their NetFlow v9 names (PROTOCOL, IP_SRC_ADDR, ...).
        let verbose = try Shell.run(decode + ["-V"])
        for element in IPFIXTemplate.all.flatMap(\.fields) {
            let named = verbose.contains("Type: \(element.name) (\(element.id))")
            let v9Named = element.id < 128 && verbose.range(of: "Type: [A-Z0-9_]+ \\(\(element.id)\\)", options: .regularExpression) != nil
            #expect(named || v9Named, "tshark does not name IE \(element.id) \(element.name)")
        }
        #expect(!verbose.contains("Unknown"))
        let malformed = try Shell.run(decode + ["-Y", "_ws.malformed || _ws.expert.severity >= \"warning\""])
        #expect(malformed.isEmpty, "\(malformed)")
        let expert = try Shell.run(decode + ["-q", "-z", "expert"])
        #expect(!expert.contains("Malformed") && !expert.contains("Error"), "\(expert)")
    }

    /// tshark `-T fields` output as one list per field across all packets (occurrences are comma-separated).
    static func columns(_ output: String, count: Int) -> [[String]] {
        var columns = Array(repeating: [String](), count: count)
        for line in output.split(separator: "\n", omittingEmptySubsequences: true) {
            for (index, value) in line.split(separator: "\t", omittingEmptySubsequences: false).enumerated() where index < count {
                columns[index] += value.split(separator: ",").map(String.init)
            }
        }
        return columns
    }
}

/// One record of `nfdump -o raw`: its `key = value` lines.
struct NfdumpRecord {
    var fields: [String: String]

    subscript(key: String) -> String? { fields[key] }

    /// The number before "16: ..." in `nat event`.
    var natEvent: Int? { fields["nat event"].flatMap { Int($0.prefix { $0 != ":" }) } }
    /// The milliseconds before " [date]" in `Event time`.
    var eventTime: UInt64? { fields["Event time"].flatMap { UInt64($0.prefix { $0 != " " }) } }

    static func parse(_ output: String) -> [NfdumpRecord] {
        output.components(separatedBy: "\n\n").compactMap { block in
            var fields: [String: String] = [:]
            for line in block.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                let key = line[..<equals].trimmingCharacters(in: .whitespaces)
                fields[key] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            }
            return fields["nat event"] == nil ? nil : NfdumpRecord(fields: fields)
        }
    }
}

/// Processes for the test, every wait bounded.
enum Shell {
    /// Foundation's Process starts children with nearly every signal blocked, so timeout(1)'s alarm and
    /// SIGTERM/SIGINT would never arrive; this prefix clears the mask before exec'ing the command.
    static let unblockingSignals = ["python3", "-c",
                                    "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execvp(sys.argv[1], sys.argv[1:])"]

    static func which(_ tool: String) -> Bool {
        (try? run(["sh", "-c", "command -v \(tool)"])) != nil
    }

    /// Runs to completion (the commands given are themselves bounded) and returns stdout; throws on a non-zero exit.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = unblockingSignals + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ShellError.failed(arguments.joined(separator: " "), process.terminationStatus) }
        return String(decoding: data, as: UTF8.self)
    }

    /// Starts a background process with stdout and stderr in `log`.
    static func start(_ arguments: [String], log: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = unblockingSignals + arguments
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Whether `text` appeared in `file` within `seconds`.
    static func waitFor(_ text: String, in file: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let contents = try? String(contentsOfFile: file, encoding: .utf8), contents.contains(text) { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    /// Whether `process` ended within `seconds`; if not and `orKill`, SIGKILL and reap it.
    @discardableResult
    static func wait(_ process: Process, seconds: Double, orKill: Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        guard process.isRunning else { return true }
        if orKill {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        return false
    }
}

enum ShellError: Error {
    case failed(String, Int32)
}
