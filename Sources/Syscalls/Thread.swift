import CSyscalls
import Glibc
import Synchronization
public import SystemPackage

/// Starts `body` on a new detached-from-Swift pthread (the relay loops and the control socket
/// each own one OS thread; no Swift concurrency runtime on the data path).
public final class OSThread: @unchecked Sendable {
    private var thread: pthread_t = 0
    private let body: @Sendable () -> Void

    private init(body: @escaping @Sendable () -> Void) { self.body = body }

    public static func start(name: String, _ body: @escaping @Sendable () -> Void) -> OSThread {
        let box = OSThread(body: body)
        let context = Unmanaged.passRetained(box).toOpaque()
        let result = pthread_create(&box.thread, nil, { raw in
            let box = Unmanaged<OSThread>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, context)
        precondition(result == 0, "pthread_create failed: \(result)")
        _ = plainmode_set_thread_name(box.thread, String(name.prefix(15)))
        return box
    }

    public func join() { _ = pthread_join(thread, nil) }
}

/// A flag set once from any thread (stop the loops, stop the control thread).
public final class StopFlag: Sendable {
    private let flag = Atomic(false)
    public init() {}
    public var isSet: Bool { flag.load(ordering: .relaxed) }
    public func set() { flag.store(true, ordering: .relaxed) }
}

/// Network namespaces are per thread: a worker moved into one makes its sockets there.
public enum NetworkNamespace {
    /// Moves the calling OS thread into the namespace at `path` (e.g. /var/run/netns/NAME).
    public static func enter(path: String) throws(Errno) {
        let fd = try retryingEINTR { open(path, O_RDONLY | O_CLOEXEC) }
        defer { _ = close(fd) }
        _ = try retryingEINTR { plainmode_enter_network_namespace(fd) }
    }
}
