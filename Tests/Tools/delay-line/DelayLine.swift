/// delay-line: holds every packet of one NFQUEUE queue for a fixed time, then accepts it, in
/// arrival order. The testbed's stand-in for netem, which this kernel lacks (FACTS.md section 7):
/// put on the receiving side of an access link (`iptables -t raw -A PREROUTING -i LINK -j NFQUEUE`)
/// it gives that link direction a one-way delay without throttling the sender. Built on the
/// project's NetfilterQueue engine: packets are held (`.hold`) and released with one batch
/// verdict for every packet that is due.
import Glibc
import NetfilterQueue

struct DelayLineOptions {
    var queue: UInt16 = 0
    var delay: Duration = .zero
    var capacity = 16384

    static let usage = """
        usage: delay-line --queue N --delay MS [--capacity PACKETS]
          --queue N         the NFQUEUE number to bind (0-65535)
          --delay MS        one-way delay in milliseconds (decimals allowed, 0-10000)
          --capacity N      packets held at most (the kernel queue length; default 16384); a
                            packet beyond it is accepted at once (fail-open) and counted
        Stops on SIGINT or SIGTERM and prints its counters.
        """

    static func parse(_ arguments: [String]) -> DelayLineOptions? {
        var options = DelayLineOptions()
        var sawQueue = false, sawDelay = false
        var index = 0
        while index < arguments.count {
            let flag = arguments[index]
            guard index + 1 < arguments.count else { return nil }
            let value = arguments[index + 1]
            switch flag {
            case "--queue":
                guard let number = UInt16(value) else { return nil }
                options.queue = number
                sawQueue = true
            case "--delay":
                guard let milliseconds = Double(value), milliseconds >= 0, milliseconds <= 10_000 else { return nil }
                options.delay = .microseconds(Int64(milliseconds * 1000))
                sawDelay = true
            case "--capacity":
                guard let count = Int(value), count >= 16, count <= 1 << 20 else { return nil }
                options.capacity = count
            default:
                return nil
            }
            index += 2
        }
        return sawQueue && sawDelay ? options : nil
    }
}

/// The held packets, oldest first: their ids and when each is due. A fixed ring, no allocation.
struct HeldPackets {
    private var ids: [UInt32]
    private var due: [ContinuousClock.Instant]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        ids = Array(repeating: 0, count: capacity)
        due = Array(repeating: .now, count: capacity)
    }

    var isFull: Bool { count == ids.count }
    var nextDue: ContinuousClock.Instant? { count == 0 ? nil : due[head] }

    mutating func append(id: UInt32, due instant: ContinuousClock.Instant) {
        let tail = (head + count) % ids.count
        ids[tail] = id
        due[tail] = instant
        count += 1
    }

    /// Removes every packet due by `now`; returns the id of the last one removed.
    mutating func removeDue(by now: ContinuousClock.Instant) -> UInt32? {
        var last: UInt32?
        while count > 0 && due[head] <= now {
            last = ids[head]
            head = (head + 1) % ids.count
            count -= 1
        }
        return last
    }

    /// Removes the oldest packet (to make room); returns its id.
    mutating func removeOldest() -> UInt32 {
        let id = ids[head]
        head = (head + 1) % ids.count
        count -= 1
        return id
    }
}

nonisolated(unsafe) var stopRequested: sig_atomic_t = 0

/// One line to a descriptor, unbuffered (the testbed reads the log while we run).
func say(_ line: String, to descriptor: Int32 = 1) {
    var text = line + "\n"
    text.withUTF8 { _ = write(descriptor, $0.baseAddress, $0.count) }
}

@main
struct DelayLine {
    static func main() {
        guard let options = DelayLineOptions.parse(Array(CommandLine.arguments.dropFirst())) else {
            say(DelayLineOptions.usage, to: 2)
            exit(64)
        }
        // Started in the background by testbed.sh: drop whatever descriptors the starter's
        // parent left open (a test runner waits for its child's pipes to close).
        for descriptor in 3..<Int32(clamping: min(sysconf(Int32(_SC_OPEN_MAX)), 65536)) { close(descriptor) }
        signal(SIGINT) { _ in stopRequested = 1 }
        signal(SIGTERM) { _ in stopRequested = 1 }
        var configuration = NetfilterQueueConfiguration(queue: options.queue)
        configuration.copyRange = 64  // only the id is needed, never the packet
        configuration.maxLength = UInt32(options.capacity)
        let queue: NetfilterQueue
        do { queue = try NetfilterQueue(configuration) } catch {
            say("delay-line: cannot bind queue \(options.queue): \(error)", to: 2)
            exit(78)
        }
        var held = HeldPackets(capacity: options.capacity)
        var releasedEarly = 0
        say("delay-line: queue \(options.queue), delay \(options.delay), READY")
        while stopRequested == 0 {
            let now = ContinuousClock.now
            var timeout: Int32 = 250
            if let due = held.nextDue {
                // poll() counts whole milliseconds: round up, so nothing leaves early.
                let wait = due - now
                timeout = wait <= .zero ? 0 : Int32(min(250, (wait / .microseconds(1000)).rounded(.up)))
            }
            queue.processBurst(timeoutMilliseconds: timeout) { packet in
                if held.isFull {
                    queue.acceptHeld(through: held.removeOldest())
                    releasedEarly += 1
                }
                held.append(id: packet.id, due: ContinuousClock.now + options.delay)
                return .hold
            }
            if let last = held.removeDue(by: .now) { queue.acceptHeld(through: last) }
        }
        if let last = held.removeDue(by: .now + .seconds(3600)) { queue.acceptHeld(through: last) }
        queue.close()
        say("delay-line: queue \(options.queue) held \(queue.counters[.held]), released early \(releasedEarly), "
              + "overruns \(queue.counters[.receiveOverruns]), verdict errors \(queue.counters[.verdictErrors])")
    }
}
