import Glibc
public import SystemPackage
public import Syscalls

/// `--log-syslog local|udp://HOST:PORT`: RFC 5424 messages, one per datagram, to the local
/// syslog socket (/dev/log) or a collector over UDP (RFC 5426), each record's fields as
/// structured data under the SD-ID `plainmode@32473` (32473: the documentation enterprise
/// number of RFC 5612, until the project has its own).
public final class SyslogOutput: LogOutput {
    public let name = "syslog"
    /// Where messages go, as given (for messages).
    public let target: String
    private let socket: Socket
    private let hostname: String
    private let processID: String

    /// local0.info: allocation logs are routine records, routed by facility.
    static let priority = 16 * 8 + 6
    static let structuredDataID = "plainmode@32473"

    public init(target: String) throws(Errno) {
        self.target = target
        if target == "local" {
            socket = try Socket.datagram(family: AF_UNIX)
            do { try socket.connectUnix(path: "/dev/log") } catch {
                socket.close()
                throw error
            }
        } else {
            guard target.hasPrefix("udp://"), let address = SocketAddress(parsing: String(target.dropFirst(6))) else {
                throw .invalidArgument
            }
            socket = try Socket.datagram(family: address.family)
            do { _ = try socket.connect(to: address) } catch {
                socket.close()
                throw error
            }
        }
        var name = [CChar](repeating: 0, count: 256)
        hostname = gethostname(&name, name.count) == 0 ? String(cString: name) : "-"
        processID = String(getpid())
    }

    deinit { socket.close() }

    public func write(_ entries: [LogEntry]) -> Bool {
        var ok = true
        for entry in entries {
            let message = Array(format(entry).utf8)
            do throws(Errno) {
                if try socket.send(message, from: 0) == nil { ok = false }  // full: dropped
            } catch {
                ok = false
            }
        }
        return ok
    }

    /// `<134>1 TIME HOST plainmode PID MSGID [plainmode@32473 k="v" ...] event`.
    func format(_ entry: LogEntry) -> String {
        var parameters = ["event=\"\(Self.escaped(entry.event))\""]
        for (name, value) in entry.fields {
            let text: String = switch value {
            case .text(let text): text
            case .number(let number): String(number)
            case .list(let items): items.joined(separator: " ")
            }
            parameters.append("\(name)=\"\(Self.escaped(text))\"")
        }
        let messageID = entry.event.uppercased().replacingUnderscores()
        return "<\(Self.priority)>1 \(WallClock.text(milliseconds: entry.time)) \(hostname) plainmode \(processID) \(messageID) "
            + "[\(Self.structuredDataID) \(parameters.joined(separator: " "))] \(entry.event)"
    }

    /// RFC 5424 section 6.3.3: '"', '\' and ']' are escaped with a backslash in PARAM-VALUE.
    static func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            if character == "\"" || character == "\\" || character == "]" { result.append("\\") }
            result.append(character)
        }
        return result
    }
}

extension String {
    /// "LEASE_ALLOCATED" -> "LEASE-ALLOCATED" (MSGID: printable, no spaces, at most 32).
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? "-" : $0 }.prefix(32))
    }
}
