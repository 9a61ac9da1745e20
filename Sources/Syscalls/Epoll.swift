public import SystemPackage
import CSyscalls
import Glibc

/// An epoll instance. Each registration carries a 64-bit token the loop decodes itself.
public struct Epoll: Sendable {
    public let rawValue: Int32

    /// Interest and readiness bits.
    public struct Events: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let readable = Events(rawValue: PLAINMODE_EPOLLIN)
        public static let writable = Events(rawValue: PLAINMODE_EPOLLOUT)
        public static let error = Events(rawValue: PLAINMODE_EPOLLERR)
        public static let hangUp = Events(rawValue: PLAINMODE_EPOLLHUP)
        public static let readHangUp = Events(rawValue: PLAINMODE_EPOLLRDHUP)
        public static let edgeTriggered = Events(rawValue: PLAINMODE_EPOLLET)
        /// Wake one of the loops waiting on a shared listener, not all of them.
        public static let exclusive = Events(rawValue: PLAINMODE_EPOLLEXCLUSIVE)
    }

    public init() throws(Errno) {
        rawValue = try retryingEINTR { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    }

    public func add(_ fd: Int32, events: Events, token: UInt64) throws(Errno) {
        var event = epoll_event()
        event.events = events.rawValue
        event.data.u64 = token
        _ = try retryingEINTR { epoll_ctl(rawValue, EPOLL_CTL_ADD, fd, &event) }
    }

    /// Stops watching `fd` (EPOLLEXCLUSIVE registrations cannot be modified, only removed and re-added).
    public func remove(_ fd: Int32) throws(Errno) {
        var event = epoll_event()
        _ = try retryingEINTR { epoll_ctl(rawValue, EPOLL_CTL_DEL, fd, &event) }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and fills `events`; returns how many fired.
    public func wait(into events: EpollEventBuffer, timeoutMilliseconds: Int32) throws(Errno) -> Int {
        let count = epoll_wait(rawValue, events.storage, Int32(events.capacity), timeoutMilliseconds)
        if count >= 0 { return Int(count) }
        let code = errno
        if code == EINTR { return 0 }
        throw Errno(rawValue: code)
    }

    public func close() { _ = Glibc.close(rawValue) }
}

/// A fixed array of `epoll_event`, allocated once per loop.
public final class EpollEventBuffer {
    let storage: UnsafeMutablePointer<epoll_event>
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
        storage.initialize(repeating: epoll_event(), count: capacity)
    }

    deinit { storage.deallocate() }

    /// The token and readiness of the `index`th fired event.
    public subscript(index: Int) -> (token: UInt64, events: Epoll.Events) {
        (storage[index].data.u64, Epoll.Events(rawValue: storage[index].events))
    }
}

/// An eventfd, used to wake a loop from another thread (shutdown).
public struct EventFD: Sendable {
    public let rawValue: Int32

    public init() throws(Errno) {
        rawValue = try retryingEINTR { eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)) }
    }

    public func signal() {
        var one: UInt64 = 1
        _ = Glibc.write(rawValue, &one, 8)
    }

    public func drain() {
        var value: UInt64 = 0
        _ = Glibc.read(rawValue, &value, 8)
    }

    public func close() { _ = Glibc.close(rawValue) }
}
