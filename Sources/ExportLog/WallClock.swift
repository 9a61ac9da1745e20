import Glibc

/// Wall-clock UTC time (CLOCK_REALTIME), as IPFIX stamps it.
public enum WallClock {
    /// Milliseconds since the Unix epoch (observationTimeMilliseconds).
    public static func unixMilliseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(time.tv_sec) * 1000 + UInt64(time.tv_nsec / 1_000_000)
    }

    /// Seconds since the Unix epoch (the message header's Export Time), mod 2^32.
    public static func unixSeconds() -> UInt32 {
        UInt32(truncatingIfNeeded: unixMilliseconds() / 1000)
    }
}
