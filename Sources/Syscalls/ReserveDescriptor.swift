public import SystemPackage
import Glibc

/// One descriptor held back for when the process runs out (EMFILE): releasing it lets a listener
/// accept one pending connection and abort it, so the listener stops being readable and the
/// client is told at once instead of waiting in the backlog.
public struct ReserveDescriptor: ~Copyable {
    private var descriptor: Int32 = -1

    public init() throws(Errno) {
        try restore()
    }

    /// Frees the held descriptor (no-op when already free).
    public mutating func release() {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
        descriptor = -1
    }

    /// Takes a descriptor again (no-op when held); throws while the process is still out of them.
    public mutating func restore() throws(Errno) {
        guard descriptor < 0 else { return }
        descriptor = try retryingEINTR { open("/dev/null", O_RDONLY | O_CLOEXEC) }
    }

    deinit { if descriptor >= 0 { _ = Glibc.close(descriptor) } }
}
