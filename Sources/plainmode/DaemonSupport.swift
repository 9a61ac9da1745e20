import ArgumentParser
import ControlSocket
import Counters
import Logging
import MetricsEndpoint
import StreamPlane
import Syscalls

/// Flags and start-up steps both roles share.
struct DaemonOptions: ParsableArguments {
    @Option(help: "Relay event loops (one OS thread each); 0 means one per CPU core.")
    var threads = 0

    @Option(help: "Listen backlog; the TFO queue is set to the same length.")
    var backlog: Int32 = 4096

    @Option(help: "Seconds an upstream connect may take before the connection is aborted.")
    var connectTimeout: Double = 10

    @Option(help: ArgumentHelp("Milliseconds to wait, after accepting a connection whose MPTCP leg plainmode opens (the CPE's outbound connections with SYN data, the concentrator's inbound ones), for the client's first bytes, so they ride in the SYN with the PM block instead of one access round trip later. Clients that send first (HTTP, TLS) rarely wait at all; a server-first protocol (SMTP) waits this long once per connection. 0: never wait.", valueName: "ms"))
    var firstBytesWait: Double = 5

    @Option(help: "Seconds an established connection may stay idle (RFC 5382 asks at least 7440).")
    var idleTimeout: Double = 7440

    @Option(help: "Bytes per splice pipe, per direction (0: kernel default, 64 KiB).")
    var pipeSize: Int32 = 0

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("metrics-listen"),
            help: "Serve Prometheus metrics at http://ADDRESS:PORT/metrics (e.g. 127.0.0.1:9100): the ctl stats totals (events and bytes as counters, levels as gauges), the network namespace's MPTcpExt counters and MPTCP subflows per local address, read at scrape time; no per-subscriber labels. Off unless given: nothing listens. No TLS or authentication, so choose an address only your Prometheus reaches.")
    var metricsListen: String?

    func validate() throws {
        guard threads >= 0 && threads <= 1024 else { throw ValidationError("--threads must be 0...1024") }
        guard backlog > 0 else { throw ValidationError("--backlog must be positive") }
        guard connectTimeout > 0, idleTimeout > 0 else { throw ValidationError("timeouts must be positive") }
        guard firstBytesWait >= 0 && firstBytesWait <= 1000 else { throw ValidationError("--first-bytes-wait must be 0...1000 milliseconds") }
        guard pipeSize == 0 || pipeSize >= 4096 else { throw ValidationError("--pipe-size must be 0 or at least 4096") }
        if let metricsListen { _ = try parseSocketAddresses([metricsListen], flag: "--metrics-listen") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    var loopCount: Int { threads > 0 ? threads : max(1, Int(Glibc.sysconf(Int32(Glibc._SC_NPROCESSORS_ONLN)))) }

    func tuning() -> RelayTuning {
        var tuning = RelayTuning()
        tuning.connectTimeout = .milliseconds(Int64(connectTimeout * 1000))
        tuning.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
        tuning.pipeSize = pipeSize
        tuning.firstBytesWait = .microseconds(Int64(firstBytesWait * 1000))
        return tuning
    }

    func makeLogger(label: String) -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}

/// A start-up refusal: printed as "plainmode: <message>" with exit status 78 (EX_CONFIG).
struct StartupRefusal: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

enum StartupChecks {
    static func requireNetAdmin(role: String) throws(StartupRefusal) {
        guard Privileges.hasNetAdmin() else {
            throw StartupRefusal("the \(role) needs CAP_NET_ADMIN (transparent sockets): run it as root or grant the capability (systemd: AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW)")
        }
    }

    /// net.ipv4.tcp_fastopen must have `bit` set: 0x2 server (concentrator), 0x1 client (CPE).
    static func requireFastOpen(bit: Int, role: String) throws(StartupRefusal) {
        let value = Privileges.sysctl("net/ipv4/tcp_fastopen") ?? 0
        guard value & bit != 0 else {
            let needed = value | bit
            throw StartupRefusal("net.ipv4.tcp_fastopen is \(value) but the \(role) needs bit 0x\(String(bit, radix: 16)) (without it the PM block in the SYN is not delivered): run sysctl -w net.ipv4.tcp_fastopen=\(needed)")
        }
    }

    static func requireMPTCP() throws(StartupRefusal) {
        if let enabled = Privileges.sysctl("net/mptcp/enabled"), enabled == 0 {
            throw StartupRefusal("MPTCP is disabled: run sysctl -w net.mptcp.enabled=1")
        }
    }
}

/// Runs `start`, turning a `StartupRefusal` into "plainmode: <why>" and exit status 78 (EX_CONFIG).
func refusingToStart(_ start: () throws -> Void) throws {
    do { try start() } catch let refusal as StartupRefusal {
        printError("plainmode: \(refusal)")
        throw ExitCode(78)
    }
}

/// Opens a role's listeners, control socket and (with --metrics-listen) metrics server, runs its
/// loops until SIGINT/SIGTERM, then stops. `answer` replies to a control request ("stats json",
/// ...) and `metrics` takes a scrape's snapshot, each with the plane at hand.
func serve(_ role: RelayRole, listen: [SocketAddress], inbound: [SocketAddress] = [], daemon: DaemonOptions, tuning: RelayTuning, logger: Logger,
           controlSocket: String, banner: String, onHangUp: () -> Void = {},
           metrics: @escaping @Sendable (StreamPlaneService) -> MetricsSnapshot,
           answer: @escaping @Sendable (StreamPlaneService, String) -> String) throws {
    let plane: StreamPlaneService
    do {
        plane = try StreamPlaneService(role: role, listen: listen, inbound: inbound, loopCount: daemon.loopCount,
                                       backlog: daemon.backlog, tuning: tuning, logger: logger)
    } catch { throw StartupRefusal(error.description) }
    let control: ControlServer
    do {
        control = try ControlServer(path: controlSocket) { answer(plane, $0) }
    } catch {
        plane.stop()
        throw StartupRefusal(error.description)
    }
    let metricsServer: MetricsServer?
    do {
        let address = try daemon.metricsListen.map { try parseSocketAddresses([$0], flag: "--metrics-listen")[0] }
        metricsServer = try DaemonMetrics.start(address) { metrics(plane) }
    } catch {
        control.stop()
        plane.stop()
        throw error
    }
    plane.start()
    logger.notice("\(banner); \(daemon.loopCount) loops; control \(controlSocket)\(metricsServer.map { "; metrics http://\($0.boundAddress)/metrics" } ?? "")")
    let signal = Signals.waitForTermination(onHangUp: onHangUp)
    logger.notice("signal \(signal): stopping")
    metricsServer?.stop()
    control.stop()
    plane.stop()
}

import Glibc

func parseSocketAddresses(_ texts: [String], flag: String) throws -> [SocketAddress] {
    try texts.map { text in
        guard let address = SocketAddress(parsing: text) else {
            throw ValidationError("\(flag) \(text): expected ADDRESS:PORT, e.g. 198.51.100.1:5000 or [2001:db8::1]:5000")
        }
        return address
    }
}

/// Renders `ctl stats` from counter totals plus role-specific lines.
func renderStats(_ totals: [StatTotal], json: Bool) -> String {
    if json {
        return "{" + totals.map { "\"\($0.name)\":\($0.value)" }.joined(separator: ",") + "}\n"
    }
    let width = totals.map(\.name.count).max() ?? 0
    return totals.map { $0.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  \($0.value)" }
        .joined(separator: "\n") + "\n"
}

extension String {
    func padding(toLength length: Int, withPad pad: String, startingAt: Int) -> String {
        count >= length ? self : self + String(repeating: pad, count: length - count)
    }

    /// JSON string literal.
    var jsonQuoted: String {
        var out = "\""
        for scalar in unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where scalar.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
