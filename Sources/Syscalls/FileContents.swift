import Glibc
public import SystemPackage

/// Whole-file reads for configuration files (the subscribers file), with a size limit.
public enum FileContents {
    /// The file's bytes as UTF-8 text; `.fileTooLarge` beyond `limit` bytes.
    public static func text(atPath path: String, limit: Int) throws(Errno) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        defer { _ = close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Errno(rawValue: errno)
            }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= limit else { throw .fileTooLarge }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
