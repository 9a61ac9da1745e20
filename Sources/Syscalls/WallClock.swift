import Glibc

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
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(Int(parts.tm_year) + 1900, 4))-\(padded(Int(parts.tm_mon) + 1, 2))-\(padded(Int(parts.tm_mday), 2))"
            + "T\(padded(Int(parts.tm_hour), 2)):\(padded(Int(parts.tm_min), 2)):\(padded(Int(parts.tm_sec), 2))"
            + ".\(padded(Int(milliseconds % 1000), 3))Z"
    }
}
