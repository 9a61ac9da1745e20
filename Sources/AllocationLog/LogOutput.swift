import Glibc
public import SystemPackage
import Syscalls

/// A destination of the allocation log. Called on the logging thread only; may block briefly
/// (a file write) but never for long (sockets are non-blocking: a full one is a failed write).
public protocol LogOutput: AnyObject {
    /// For messages and counters: "json", "syslog", "ipfix".
    var name: String { get }
    /// Writes the entries; false when the destination failed (the entries are lost for it).
    func write(_ entries: [LogEntry]) -> Bool
    /// Called about once a second, records or not (IPFIX re-sends its templates on a timer).
    func tick()
    /// Whether it reads the entries' text fields; an output that encodes the records itself
    /// (IPFIX) spares the logging thread the formatting when it is the only one.
    var readsText: Bool { get }
}

extension LogOutput {
    public func tick() {}
    public var readsText: Bool { true }
}

/// `--log-json PATH` (`-` for standard output): one JSON object per line, appended.
public final class JSONLinesOutput: LogOutput {
    public let name = "json"
    private let descriptor: Int32
    private let ownsDescriptor: Bool

    public init(path: String) throws(Errno) {
        if path == "-" {
            descriptor = 1
            ownsDescriptor = false
        } else {
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw Errno(rawValue: errno) }
            descriptor = fd
            ownsDescriptor = true
        }
    }

    deinit {
        if ownsDescriptor { _ = close(descriptor) }
    }

    public func write(_ entries: [LogEntry]) -> Bool {
        var bytes = Array(entries.map(\.jsonLine).joined().utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        bytes.removeAll()
        return true
    }
}
