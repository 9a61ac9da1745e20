public import BindingState
import Synchronization
public import Syscalls
public import SystemPackage
public import WireFormat

/// What an inbound UDP binding connects to the CPE for: the binding's key, the CPE, and the PM
/// destination the CPE finds the LAN host by.
public struct UDPInboundRequest: Sendable, Hashable {
    public enum Target: Sendable, Hashable {
        /// A PCP mapping: the destination is the mapped pool endpoint, which the CPE forwards by port.
        case mapping(SubscriberID)
        /// A new remote of an endpoint-independent mapping (`--udp-filtering endpoint`): the
        /// destination is the LAN endpoint, which the CPE has a live UDP flow of.
        case endpointMapping
    }

    public var key: UDPChannelKey
    public var cpe: IPAddress
    public var destination: Endpoint
    public var target: Target

    public init(key: UDPChannelKey, cpe: IPAddress, destination: Endpoint, target: Target) {
        self.key = key
        self.cpe = cpe
        self.destination = destination
        self.target = target
    }
}

/// The hand-off between the queue workers, which see an inbound datagram first, and the relay
/// loops, which own the MPTCP connections of UDP bindings: the worker inserts a pending binding
/// holding the datagram (`UDPChannelTable.insertPending`) and queues an open request for one loop
/// (bounded; a full queue drops the datagram, which the worker counts), whose eventfd wakes it; the loop opens the
/// connection and attaches it. One queue and eventfd per relay loop.
public final class InboundUDPHandOff: UDPInboundOpener {
    public let channels: UDPChannelTable
    /// Open requests a loop may have waiting; beyond that a new inbound flow is dropped.
    public let queueLimit: Int
    private let queues: [RequestQueue]
    private let wakes: [EventFD]

    public init(channels: UDPChannelTable, loops: Int, queueLimit: Int = 1024) throws(Errno) {
        self.channels = channels
        self.queueLimit = queueLimit
        var wakes: [EventFD] = []
        do throws(Errno) {
            for _ in 0..<max(1, loops) { wakes.append(try EventFD()) }
        } catch {
            for wake in wakes { wake.close() }
            throw error
        }
        self.wakes = wakes
        queues = wakes.map { _ in RequestQueue() }
    }

    deinit {
        for wake in wakes { wake.close() }
    }

    public var loopCount: Int { wakes.count }

    /// The eventfd that tells loop `index` it has requests.
    public func wake(forLoop index: Int) -> EventFD { wakes[index % wakes.count] }

    public func open(_ payload: UnsafeRawBufferPointer, _ request: UDPInboundRequest, now: ContinuousClock.Instant) -> Bool {
        guard channels.insertPending(request.key, first: payload, route: nil, now: now) else { return false }
        let index = (request.key.hashValue & Int.max) % wakes.count
        let queued = queues[index].requests.withLock { queue -> Bool in
            guard queue.count < queueLimit else { return false }
            queue.append(request)
            return true
        }
        guard queued else {
            channels.remove(request.key)
            return false
        }
        wakes[index].signal()
        return true
    }

    /// Loop `index`'s waiting requests, swapped into `requests` (emptied first, its capacity kept).
    public func take(forLoop index: Int, into requests: inout [UDPInboundRequest]) {
        requests.removeAll(keepingCapacity: true)
        guard index < wakes.count else { return }
        queues[index].requests.withLock { swap(&$0, &requests) }
    }
}

/// One loop's waiting open requests (a class: a `Mutex` cannot be copied into an array).
private final class RequestQueue: Sendable {
    let requests = Mutex<[UDPInboundRequest]>([])
}
