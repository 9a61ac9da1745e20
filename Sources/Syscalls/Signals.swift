import Glibc

/// Process-wide signal set-up for a daemon whose threads never take signals.
public enum Signals {
    /// Ignores SIGPIPE (splice into a reset socket raises it) and blocks SIGINT/SIGTERM, so
    /// threads started afterwards inherit the mask and only `waitForTermination` sees them.
    public static func prepareDaemon() {
        _ = signal(SIGPIPE, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        _ = pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Blocks until SIGINT or SIGTERM; returns the signal number.
    public static func waitForTermination() -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }
}
