import Glibc
public import SystemPackage
public import Syscalls
import WireFormat

/// `--log-syslog local|udp://HOST:PORT`: RFC 5424 messages, one per datagram, to the local
/// syslog socket (/dev/log) or a collector over UDP (RFC 5426), each record's fields as
/// structured data under the SD-ID `plainmode@32473` (32473: the documentation enterprise
/// number of RFC 5612, until the project has its own).
public final class SyslogOutput: LogOutput {
    public let name = "syslog"
    /// Where messages go, as given (for messages).
    public let target: String
    private let socket: Socket
    /// " HOST plainmode PID ", between the time and the MSGID of every message.
    private let hostAndProcess: [UInt8]
    /// The message being sent, reused from record to record.
    private var message: [UInt8] = []

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
        let hostname = gethostname(&name, name.count) == 0 ? String(cString: name) : "-"
        hostAndProcess = Array(" \(hostname) plainmode \(getpid()) ".utf8)
    }

    deinit { socket.close() }

    public func write(_ records: [LogRecord], renderer: LogRenderer) -> Bool {
        var ok = true
        for record in records {
            message.removeAll(keepingCapacity: true)
            appendMessage(record, renderer: renderer)
            do throws(Errno) {
                if try socket.send(message, from: 0) == nil { ok = false }  // full: dropped
            } catch {
                ok = false
            }
        }
        return ok
    }

    /// `<134>1 TIME HOST plainmode PID MSGID [plainmode@32473 k="v" ...] event`.
    private func appendMessage(_ record: LogRecord, renderer: LogRenderer) {
        message.append(UInt8(ascii: "<"))
        message.append(decimal: Int64(Self.priority))
        message.append(ascii: ">1 ")
        renderer.appendDate(record.time, to: &message)
        message.append(contentsOf: hostAndProcess)
        appendMessageID(record.eventName)
        message.append(ascii: " [")
        message.append(contentsOf: Self.structuredDataID.utf8)
        message.append(ascii: " event=\"")
        message.append(ascii: record.eventName)
        message.append(UInt8(ascii: "\""))
        renderer.appendFields(of: record, as: SyslogSyntax.self, to: &message)
        message.append(ascii: "] ")
        message.append(ascii: record.eventName)
    }

    /// "lease_allocated" -> "LEASE-ALLOCATED" (MSGID: printable, no spaces, at most 32).
    private func appendMessageID(_ event: StaticString) {
        event.withUTF8Buffer { name in
            for byte in name.prefix(32) {
                switch byte {
                case UInt8(ascii: "_"): message.append(UInt8(ascii: "-"))
                case UInt8(ascii: "a")...UInt8(ascii: "z"): message.append(byte - 0x20)
                default: message.append(byte)
                }
            }
        }
    }
}
