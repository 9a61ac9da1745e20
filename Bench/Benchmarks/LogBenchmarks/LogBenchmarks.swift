// The allocation log's throughput (issue 15: "the lease events per second the logger sustains"):
// the daemon's own AllocationLogger, LogFormatter and JSONLinesOutput, fed as the allocator feeds
// them. Each sample starts a logger, records EVENTS events from this thread through
// `record(_:)` (the allocator's call), then `flush()`es, so the sample's time is until the last
// record is formatted and written. Per sample the benchmark reports, besides the wall clock:
//   events_per_s           EVENTS / (first record() to flush() returning)
//   enqueue_ns_per_event   the producer's cost: time in record() per event (what the relay pays)
//   dropped                log_records_dropped (0 unless the queue is smaller than the burst)
//   written                log_records_written (EVENTS when nothing was dropped)
// Cases (EVENTS = 100 000, distinct named subscribers, pool 100.64.0.0/..., PSID a=6, k=6: 64
// port sets of 1008 ports per address, so every lease record lists 63 port ranges):
//   lease-allocated/json-devnull        queue = EVENTS, JSON lines to /dev/null (formatting alone)
//   lease-allocated/json-file           queue = EVENTS, JSON lines appended to a file on disk
//                                       ($LOG_BENCH_DIR, default /var/tmp; removed after each sample)
//   lease-allocated/json-devnull-q65536 the daemon's default --log-queue-size: a burst larger
//                                       than the queue drops the rest, and says how many
//   session-created/json-devnull        --log-sessions records (one per relayed flow) for comparison
import AllocationLog
import Benchmark
import BindingState
import Glibc
import PortSets
import WireFormat

let eventCount = 100_000
let geometry = try! PSIDGeometry(offset: 6, psidLength: 6)
let psidsPerAddress = 1 << 6

/// Subscriber i: "sub-i" with the link prefix 10.x.y.z/32 (i + 1 as the host part).
func subscriberID(_ index: Int) -> SubscriberID { SubscriberID("sub-\(index)") }
func cpeAddress(_ index: Int) -> IPv4Address { IPv4Address(0x0A00_0000 + UInt32(index) + 1) }
/// Port set i: pool address 100.64.0.0 + i / 64, PSID i % 64.
func poolAddress(_ index: Int) -> IPv4Address { IPv4Address(0x6440_0000 + UInt32(index / psidsPerAddress)) }

let directory: SubscriberDirectory = {
    let subscribers = (0..<eventCount).map { index in
        Subscriber(id: subscriberID(index), links: [try! IPPrefix(network: .v4(cpeAddress(index)), length: 32)])
    }
    return try! SubscriberDirectory(subscribers)
}()
let formatter = LogFormatter(subscribers: SubscriberRegistry(directory), geometry: geometry)

let leaseEvents = (0..<eventCount).map { index in
    LeaseEvent(.allocated, subscriber: subscriberID(index), address: poolAddress(index), psid: UInt16(index % psidsPerAddress))
}
let sessionEvents = (0..<eventCount).map { index in
    SessionEvent(.created, transport: .tcp, subscriber: subscriberID(index),
                 cpe: Endpoint(address: .v4(cpeAddress(index)), port: 40000 + UInt16(index % 20000)),
                 external: Endpoint(address: .v4(poolAddress(index)), port: 1024 + UInt16(index % 1008)),
                 remote: Endpoint(address: .v4(IPv4Address(203, 0, 113, 2)), port: 443))
}

let fileDirectory: String = {
    guard let pointer = getenv("LOG_BENCH_DIR") else { return "/var/tmp" }
    return String(cString: pointer)
}()

enum Sink {
    case devNull
    case file

    var path: String {
        switch self {
        case .devNull: "/dev/null"
        case .file: "\(fileDirectory)/plainmode-log-bench-\(getpid()).jsonl"
        }
    }
}

let eventsPerSecond = BenchmarkMetric.custom("events_per_s", polarity: .prefersLarger, useScalingFactor: false)
let enqueueNanoseconds = BenchmarkMetric.custom("enqueue_ns_per_event", polarity: .prefersSmaller, useScalingFactor: false)
let dropped = BenchmarkMetric.custom("dropped", polarity: .prefersSmaller, useScalingFactor: false)
let written = BenchmarkMetric.custom("written", polarity: .prefersLarger, useScalingFactor: false)

func nanoseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9
}

/// One sample: a fresh logger with the output, every event through `record`, then `flush`.
func logSample(_ benchmark: Benchmark, sink: Sink, capacity: Int, feed: (AllocationLogger) -> Void) {
    let path = sink.path
    let logger = AllocationLogger(formatter: formatter, outputs: [try! JSONLinesOutput(path: path)], capacity: capacity)
    logger.start(heldLeases: { [] })
    let clock = ContinuousClock()
    benchmark.startMeasurement()
    let start = clock.now
    feed(logger)
    let enqueued = clock.now
    logger.flush()
    let done = clock.now
    benchmark.stopMeasurement()
    logger.close()
    if sink == .file { unlink(path) }
    benchmark.measurement(eventsPerSecond, Int(Double(eventCount) * 1e9 / nanoseconds(done - start)))
    benchmark.measurement(enqueueNanoseconds, Int(nanoseconds(enqueued - start) / Double(eventCount)))
    benchmark.measurement(dropped, logger.counters[.recordsDropped])
    benchmark.measurement(written, logger.counters[.recordsWritten])
}

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, eventsPerSecond, enqueueNanoseconds, dropped, written],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(20),
        maxIterations: 10
    )
    let cases: [(String, Sink, Int)] = [
        ("json-devnull", .devNull, eventCount),
        ("json-file", .file, eventCount),
        ("json-devnull-q65536", .devNull, 65536),
    ]
    for (name, sink, capacity) in cases {
        Benchmark("lease-allocated/\(name)", configuration: configuration) { benchmark in
            logSample(benchmark, sink: sink, capacity: capacity) { logger in
                for event in leaseEvents { logger.record(event) }
            }
        }
    }
    Benchmark("session-created/json-devnull", configuration: configuration) { benchmark in
        logSample(benchmark, sink: .devNull, capacity: eventCount) { logger in
            for event in sessionEvents { logger.record(event) }
        }
    }
}
