import Glibc
import WireFormat

/// Wall-clock time (CLOCK_REALTIME) as the lease store, the allocation log and IPFIX carry it:
/// UTC milliseconds since the Unix epoch, seconds for IPFIX headers, and RFC 3339 text.
public enum WallClock {
    /// Now (CLOCK_REALTIME), in milliseconds.
    public static func nowMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }

    /// Seconds since the Unix epoch, mod 2^32 (an IPFIX message header's Export Time).
    public static func unixSeconds() -> UInt32 {
        UInt32(truncatingIfNeeded: nowMilliseconds() / 1000)
    }

    /// "2026-12-07T01:02:03.456Z" (RFC 3339, as RFC 5424 timestamps want it).
    public static func text(milliseconds: Int64) -> String {
        var bytes: [UInt8] = []
        appendSecondText(milliseconds: milliseconds, to: &bytes)
        appendMillisecondText(milliseconds: milliseconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// "2026-12-07T01:02:03.": the part of the text every millisecond of a second shares, so a
    /// writer can render it once per second.
    public static func appendSecondText(milliseconds: Int64, to bytes: inout [UInt8]) {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        bytes.append(decimal: Int64(parts.tm_year) + 1900, width: 4)
        bytes.append(UInt8(ascii: "-"))
        bytes.append(decimal: Int64(parts.tm_mon) + 1, width: 2)
        bytes.append(UInt8(ascii: "-"))
        bytes.append(decimal: Int64(parts.tm_mday), width: 2)
        bytes.append(UInt8(ascii: "T"))
        bytes.append(decimal: Int64(parts.tm_hour), width: 2)
        bytes.append(UInt8(ascii: ":"))
        bytes.append(decimal: Int64(parts.tm_min), width: 2)
        bytes.append(UInt8(ascii: ":"))
        bytes.append(decimal: Int64(parts.tm_sec), width: 2)
        bytes.append(UInt8(ascii: "."))
    }

    /// "456Z": the rest of the text after `appendSecondText`.
    public static func appendMillisecondText(milliseconds: Int64, to bytes: inout [UInt8]) {
        bytes.append(decimal: milliseconds % 1000, width: 3)
        bytes.append(UInt8(ascii: "Z"))
    }
}
