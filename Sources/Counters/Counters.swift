/// Counters: the one counter store every plane uses. Each plane names its events in an enum;
/// `AtomicCounters` keeps one relaxed atomic per event, written by one thread and read by the
/// control socket, with no lock and no allocation after start-up.
import Synchronization

/// An enum of counted events; `name` is its `ctl stats` key.
public protocol CounterName: CaseIterable, Sendable {
    var rawValue: Int { get }
    var name: String { get }
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
