import CSyscalls
import Glibc

/// Start-up checks on what the process may do and how the kernel is configured.
public enum Privileges {
    /// Whether the effective capability set holds CAP_NET_ADMIN (read from /proc/self/status).
    public static func hasNetAdmin() -> Bool {
        guard let status = readSmallFile("/proc/self/status") else { return geteuid() == 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = line.dropFirst("CapEff:".count).trimmingPrefixWhitespace()
            guard let mask = UInt64(hex, radix: 16) else { return false }
            return mask >> UInt64(PLAINMODE_CAP_NET_ADMIN) & 1 == 1
        }
        return false
    }

    /// An integer sysctl, e.g. "net/ipv4/tcp_fastopen"; nil when absent.
    public static func sysctl(_ path: String) -> Int? {
        guard let text = readSmallFile("/proc/sys/" + path) else { return nil }
        return Int(text.split(whereSeparator: { $0 == "\n" || $0 == "\t" || $0 == " " }).first ?? "")
    }

    /// Raises RLIMIT_NOFILE's soft limit to its hard limit (each relayed connection holds six descriptors).
    @discardableResult
    public static func raiseDescriptorLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return UInt64(limit.rlim_cur)
    }

    /// Reads up to 16 KiB of a /proc file.
    public static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = close(fd) }
        var bytes = [UInt8](repeating: 0, count: 16384)
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { return nil }
        return String(decoding: bytes[..<count], as: UTF8.self)
    }
}

extension Substring {
    fileprivate func trimmingPrefixWhitespace() -> Substring { drop(while: { $0 == " " || $0 == "\t" }) }
}
