public import Counters
public import SystemPackage
public import Logging
public import NetfilterQueue
public import Syscalls
public import UDPRelay
public import WireFormat
import Synchronization

/// The CPE's UDP settings (flags of `plainmode cpe`).
public struct CPEUDPSettings: Sendable {
    public var concentratorIPv4: SocketAddress?
    public var concentratorIPv6: SocketAddress?
    /// Whether the PM block names the LAN host, per destination family: IPv6 for source
    /// preservation, IPv4 as the key of the concentrator's endpoint-independent mapping.
    public var includeSourceIPv4: Bool
    public var includeSourceIPv6: Bool
    public var subtype: UInt8
    /// Only these destinations are bonded (empty: every destination).
    public var destinations: [IPPrefix]
    /// Only these destination ports are bonded (empty: every port).
    public var ports: [ClosedRange<UInt16>]
    /// Path MTU towards the concentrator: a datagram whose record would not fit one segment is
    /// not bonded (draft 5.3, fragmentation disabled) and takes the ordinary route.
    public var pathMTU: Int
    /// Open each flow with its PM block and first record as SYN data (draft 5.1).
    public var synData: Bool
    public var idleTimeout: Duration
    public var connectTimeout: Duration
    public var backlogLimit: Int
    /// Congestion control and socket buffers of the flows' connections.
    public var connectionTuning: UDPConnectionTuning
    /// Deliver to the LAN through a UDP socket per flow with UDP GSO (else the raw socket).
    public var segmentation: Bool
    /// Where the flows' LAN endpoints are announced while they live (the inbound listener asks,
    /// for a new remote under the concentrator's endpoint-independent filtering); nil: nowhere.
    public var lanEndpoints: UDPLANEndpoints? = nil

    public init(concentratorIPv4: SocketAddress?, concentratorIPv6: SocketAddress?, includeSourceIPv4: Bool = true,
                includeSourceIPv6: Bool = true, subtype: UInt8, destinations: [IPPrefix] = [],
                ports: [ClosedRange<UInt16>] = [], pathMTU: Int = 1500, synData: Bool = true,
                idleTimeout: Duration = .seconds(300), connectTimeout: Duration = .seconds(10), backlogLimit: Int = 32768,
                connectionTuning: UDPConnectionTuning = UDPConnectionTuning(), segmentation: Bool = true) {
        self.connectionTuning = connectionTuning
        self.segmentation = segmentation
        self.concentratorIPv4 = concentratorIPv4
        self.concentratorIPv6 = concentratorIPv6
        self.includeSourceIPv4 = includeSourceIPv4
        self.includeSourceIPv6 = includeSourceIPv6
        self.subtype = subtype
        self.destinations = destinations
        self.ports = ports
        self.pathMTU = pathMTU
        self.synData = synData
        self.idleTimeout = idleTimeout
        self.connectTimeout = connectTimeout
        self.backlogLimit = backlogLimit
    }

    /// TCP header with the options an MPTCP data segment carries (timestamps, DSS) and the
    /// record's length prefix: what a datagram's UDP header turns into on the way.
    static let recordOverhead = 20 + 32 + 2

    /// Largest datagram payload bonded towards `concentrator`.
    func largestBondedPayload(to concentrator: SocketAddress) -> Int {
        pathMTU - (concentrator.address.isIPv4 ? 20 : 40) - Self.recordOverhead
    }

    func bonds(_ destination: IPAddress, port: UInt16) -> Bool {
        (destinations.isEmpty || destinations.contains { $0.contains(destination) })
            && (ports.isEmpty || ports.contains { $0.contains(port) })
    }
}

/// UDP at the CPE: LAN datagrams queued by cpe-net.sh --udp. One worker thread per queue owns
/// the flows whose datagrams the kernel hashes to it (`--queue-balance` hashes addresses, so a
/// flow stays on one queue): no lock anywhere on this path.
public final class CPEDatagramService: Sendable {
    private let workers: [CPEDatagramWorker]
    private let threads = Mutex<[OSThread]>([])
    private let stopping = StopFlag()

    /// Binds every queue and opens the raw sockets now, so start-up fails rather than later.
    public init(settings: CPEUDPSettings, queues: ClosedRange<UInt16>, template: NetfilterQueueConfiguration,
                logger: Logger) throws(CPEDatagramError) {
        var workers: [CPEDatagramWorker] = []
        do throws(CPEDatagramError) {
            for number in queues {
                var configuration = template
                configuration.queue = number
                let queue: NetfilterQueue
                do throws(NetfilterQueueError) { queue = try NetfilterQueue(configuration) } catch { throw .queue(error) }
                do throws(Errno) {
                    workers.append(try CPEDatagramWorker(queue: queue, settings: settings, logger: logger))
                } catch {
                    queue.close()
                    throw .system(error)
                }
            }
        } catch {
            for worker in workers { worker.close() }
            throw error
        }
        self.workers = workers
    }

    public func start() {
        let stopping = self.stopping
        threads.withLock { threads in
            for worker in workers {
                threads.append(OSThread.start(name: "cpe-udp-\(worker.queue.configuration.queue)") {
                    worker.run(stopping: stopping)
                })
            }
        }
    }

    /// Stops the workers (each notices within its wait timeout), closes their flows and queues.
    public func stop() {
        stopping.set()
        for thread in threads.withLock({ $0 }) { thread.join() }
        for worker in workers { worker.close() }
    }

    /// UDP and queue counters summed over the workers, in declaration order.
    public func counterTotals() -> [StatTotal] {
        UDPCounter.allCases.map { StatTotal($0, sum: workers.lazy.map(\.counters)) }
            + NetfilterQueueCounter.allCases.map { StatTotal($0, sum: workers.lazy.map(\.queue.counters)) }
    }
}

public enum CPEDatagramError: Error, CustomStringConvertible {
    case queue(NetfilterQueueError)
    case system(Errno)

    public var description: String {
        switch self {
        case .queue(let error): "\(error)"
        case .system(let error): "raw socket or epoll: \(error) (needs CAP_NET_RAW)"
        }
    }
}
