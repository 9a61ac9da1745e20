import Glibc
public import SystemPackage
import Syscalls
import WireFormat

/// A destination of the allocation log. Called on the logging thread only; may block briefly
/// (a file write) but never for long (sockets are non-blocking: a full one is a failed write).
public protocol LogOutput: AnyObject {
    /// For messages and counters: "json", "syslog", "ipfix".
    var name: String { get }
    /// Writes the records (rendered with `renderer`, if the output writes text); false when the
    /// destination failed (the records are lost for it).
    func write(_ records: [LogRecord], renderer: LogRenderer) -> Bool
    /// Called about once a second, records or not (IPFIX re-sends its templates on a timer).
    func tick()
}

extension LogOutput {
    public func tick() {}
}

/// `--log-json PATH` (`-` for standard output): one JSON object per line, appended.
public final class JSONLinesOutput: LogOutput {
    public let name = "json"
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    /// The lines not yet written, reused from batch to batch.
    private var lines: [UInt8] = []
    private static let writeSize = 64 * 1024

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

    public func write(_ records: [LogRecord], renderer: LogRenderer) -> Bool {
        defer { lines.removeAll(keepingCapacity: true) }
        for record in records {
            appendLine(record, renderer: renderer)
            // Whole lines at a time, and a bounded buffer however large the batch.
            if lines.count >= Self.writeSize, !writeLines() { return false }
        }
        return writeLines()
    }

    /// {"time":"...","time_ms":...,"event":"...",...}
    private func appendLine(_ record: LogRecord, renderer: LogRenderer) {
        lines.append(ascii: "{\"time\":\"")
        renderer.appendDate(record.time, to: &lines)
        lines.append(ascii: "\",\"time_ms\":")
        lines.append(decimal: record.time)
        lines.append(ascii: ",\"event\":\"")
        lines.append(ascii: record.eventName)
        lines.append(UInt8(ascii: "\""))
        renderer.appendFields(of: record, as: JSONSyntax.self, to: &lines)
        lines.append(ascii: "}\n")
    }

    private func writeLines() -> Bool {
        var offset = 0
        while offset < lines.count {
            let written = lines.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        lines.removeAll(keepingCapacity: true)
        return true
    }
}
