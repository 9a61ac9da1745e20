/// Counters: the one counter store every plane uses. Each plane names its events in an enum;
/// `AtomicCounters` keeps one relaxed atomic per event, written by one thread and read by the
/// control socket, with no lock and no allocation after start-up.
import Synchronization

/// An enum of counted events; `name` is its `ctl stats` key.
public protocol CounterName: CaseIterable, Sendable {
    var rawValue: Int { get }
    var name: String { get }
    /// The metric's HELP text: one sentence saying what moves the number and, for a refusal or a
    /// drop, what became of the packet or connection. No default, so no counter comes without one.
    var help: String { get }
    /// What the number is, so metrics export events as counters and levels as gauges.
    var kind: TotalKind { get }
}

extension CounterName {
    /// Most counters count events.
    public var kind: TotalKind { .events }
}

/// What a total measures: Prometheus counters (events, bytes) only go up, gauges (levels) also go down.
public enum TotalKind: Sendable {
    /// Events since start-up.
    case events
    /// Bytes since start-up.
    case bytes
    /// A level as it is now (connections open, leases held).
    case level
}

/// One line of `ctl stats`, and one metric of `--metrics-listen`: a named total, its kind and
/// what it counts.
public struct StatTotal: Sendable {
    public var name: String
    public var value: Int
    public var kind: TotalKind
    /// The metric's HELP text; `ctl stats` shows only name and value.
    public var help: String

    public init(_ name: String, _ value: Int, kind: TotalKind = .events, help: String) {
        self.name = name
        self.value = value
        self.kind = kind
        self.help = help
    }

    /// `counter` at `value`, with the counter's name, kind and help.
    public init<Name: CounterName>(_ counter: Name, _ value: Int) {
        self.init(counter.name, value, kind: counter.kind, help: counter.help)
    }

    /// The total of `counter` in `counters`, summed over its writers.
    public init<Name: CounterName>(_ counter: Name, sum counters: some Sequence<AtomicCounters<Name>>) {
        self.init(counter, counters.reduce(0) { $0 + $1[counter] })
    }
}

/// One writer's counters (a relay loop, a queue worker): relaxed atomics, summed by readers.
public final class AtomicCounters<Name: CounterName>: Sendable {
    public static var capacity: Int { 64 }
    private let values: InlineArray<64, Atomic<Int>>

    public init() {
        precondition(Name.allCases.count <= Self.capacity, "more than \(Self.capacity) counters in \(Name.self)")
        values = InlineArray { _ in Atomic(0) }
    }

    @inline(__always)
    public func add(_ counter: Name, _ amount: Int = 1) {
        values[counter.rawValue].wrappingAdd(amount, ordering: .relaxed)
    }

    public subscript(counter: Name) -> Int { values[counter.rawValue].load(ordering: .relaxed) }
}
