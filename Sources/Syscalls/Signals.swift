import Glibc

/// Process-wide signal set-up for a daemon whose threads never take signals.
public enum Signals {
    /// Ignores SIGPIPE (splice into a reset socket raises it) and blocks SIGINT/SIGTERM/SIGHUP, so
    /// threads started afterwards inherit the mask and only `waitForTermination` sees them.
    public static func prepareDaemon() {
        _ = signal(SIGPIPE, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGHUP)
        _ = pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Blocks until SIGINT or SIGTERM and returns the signal number; each SIGHUP meanwhile calls
    /// `onHangUp` (a configuration reload) on this thread.
    public static func waitForTermination(onHangUp: () -> Void = {}) -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGHUP)
        while true {
            var received: Int32 = 0
            while sigwait(&set, &received) != 0 {}
            guard received == SIGHUP else { return received }
            onHangUp()
        }
    }
}
