import Syscalls

/// One formatted log record: when, what, and its fields in a fixed order. Built once on the
/// logging thread; each output renders it its own way.
public struct LogEntry: Sendable {
    /// A field's value: text, a number, or a list of texts (a CPE's prefixes, a port set's ranges).
    public enum Value: Sendable, Equatable {
        case text(String)
        case number(Int64)
        case list([String])
    }

    /// UTC milliseconds since the Unix epoch.
    public var time: Int64
    /// "lease_allocated", "lease_renewed", "lease_released", "lease_held", "pool_exhausted",
    /// "port_set_exhausted", "session_created", "session_deleted", "mapping_created", "mapping_renewed",
    /// "mapping_deleted", "mapping_expired".
    public var event: String
    public var fields: [(name: String, value: Value)]
    /// The record it was made from, for outputs that encode fields themselves (IPFIX).
    public var record: LogRecord?

    public init(time: Int64, event: String, fields: [(name: String, value: Value)], record: LogRecord? = nil) {
        self.time = time
        self.event = event
        self.fields = fields
        self.record = record
    }

    /// The record alone, without text fields, for outputs that encode records themselves.
    public static func unformatted(_ record: LogRecord) -> LogEntry {
        LogEntry(time: record.time, event: "", fields: [], record: record)
    }

    /// The field called `name`, if present.
    public func value(_ name: String) -> Value? {
        fields.first { $0.name == name }?.value
    }
}

extension LogEntry {
    /// One JSON object on one line: {"time":"...","time_ms":...,"event":"...",...}.
    public var jsonLine: String {
        var parts = ["\"time\":\(Self.quoted(WallClock.text(milliseconds: time)))", "\"time_ms\":\(time)",
                     "\"event\":\(Self.quoted(event))"]
        for (name, value) in fields {
            let rendered: String = switch value {
            case .text(let text): Self.quoted(text)
            case .number(let number): String(number)
            case .list(let items): "[" + items.map(Self.quoted).joined(separator: ",") + "]"
            }
            parts.append("\(Self.quoted(name)):\(rendered)")
        }
        return "{" + parts.joined(separator: ",") + "}\n"
    }

    /// A JSON string literal (RFC 8259 escapes).
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
