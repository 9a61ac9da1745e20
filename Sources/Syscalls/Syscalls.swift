/// Syscalls: thin typed wrappers over the Linux calls the stream and packet planes use (sockets,
/// epoll, pipes, splice, threads, capabilities). It owns every raw pointer handed to the kernel;
/// callers see descriptors, `SocketAddress` values and `Errno`. Calls retry EINTR and never allocate.
import SystemPackage
import Glibc

/// Runs a call that returns -1 and sets errno on failure, retrying EINTR.
@inline(__always)
func retryingEINTR<Result: FixedWidthInteger>(_ call: () -> Result) throws(Errno) -> Result {
    while true {
        let result = call()
        if result != -1 { return result }
        let code = errno
        if code != EINTR { throw Errno(rawValue: code) }
    }
}

/// Like `retryingEINTR`, but EAGAIN comes back as nil: the non-blocking "not now".
@inline(__always)
func retryingEINTRUnlessWouldBlock<Result: FixedWidthInteger>(_ call: () -> Result) throws(Errno) -> Result? {
    while true {
        let result = call()
        if result != -1 { return result }
        let code = errno
        if code == EAGAIN || code == EWOULDBLOCK { return nil }
        if code != EINTR { throw Errno(rawValue: code) }
    }
}
