public import SystemPackage
import CSyscalls
import Glibc

/// A non-blocking pipe used as the kernel-side buffer of a `splice` relay.
public struct Pipe: Sendable {
    public let readEnd: Int32
    public let writeEnd: Int32

    public init() throws(Errno) {
        var fds: (Int32, Int32) = (-1, -1)
        _ = try withUnsafeMutableBytes(of: &fds) { (raw) throws(Errno) in
            try retryingEINTR { plainmode_pipe2(raw.baseAddress!.assumingMemoryBound(to: Int32.self), O_NONBLOCK | O_CLOEXEC) }
        }
        readEnd = fds.0
        writeEnd = fds.1
    }

    /// Resizes the pipe (F_SETPIPE_SZ); returns the size the kernel granted.
    @discardableResult
    public func resize(to bytes: Int32) throws(Errno) -> Int32 {
        try retryingEINTR { plainmode_set_pipe_size(writeEnd, bytes) }
    }

    public func close() {
        _ = Glibc.close(readEnd)
        _ = Glibc.close(writeEnd)
    }
}

/// splice(2) without offsets, non-blocking: bytes moved, nil when either side would block,
/// 0 at end of stream on the input.
@inline(__always)
public func splice(from input: Int32, to output: Int32, maximum: Int) throws(Errno) -> Int? {
    try retryingEINTRUnlessWouldBlock {
        plainmode_splice(input, output, maximum, PLAINMODE_SPLICE_F_MOVE | PLAINMODE_SPLICE_F_NONBLOCK)
    }
}

