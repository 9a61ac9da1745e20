import Prometheus
import Synchronization

/// Turns snapshots into Prometheus text through swift-prometheus's registry, one scrape at a time.
///
/// The registry's counters only go up, and the daemon's totals are already running sums, so each
/// scrape adds what a total gained since the last one. A total that went down (a counter the
/// kernel reset) starts its series again from that value, which Prometheus reads as a reset.
public final class ScrapeRenderer: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let state = Mutex(State())

    private struct State {
        /// The last value added per counter series, so the next scrape adds the difference.
        var counters: [String: (counter: Counter, value: Int)] = [:]
        /// Gauges shown in the last scrape, by name and labels, so vanished series are dropped.
        var gauges: [String: Gauge] = [:]
        /// The kind and help each name was first registered with: the registry stops the process
        /// on a second kind or help text for one name, so such a sample is left out instead.
        var families: [String: (isCounter: Bool, help: String)] = [:]
    }

    public init() {}

    /// The exposition text (format 0.0.4) of `snapshot`.
    public func render(_ snapshot: MetricsSnapshot) -> [UInt8] {
        state.withLock { state in
            for sample in snapshot.counters where admits(sample.name, isCounter: true, help: sample.help, &state) {
                let series = state.counters[sample.name]
                    ?? (registry.makeCounter(descriptor: Self.descriptor(sample.name, sample.help)), 0)
                if sample.value >= series.value {
                    series.counter.increment(by: Int64(sample.value - series.value))
                } else {
                    series.counter.reset()
                    series.counter.increment(by: Int64(sample.value))
                }
                state.counters[sample.name] = (series.counter, sample.value)
            }
            var shown: [String: Gauge] = [:]
            for sample in snapshot.gauges where admits(sample.name, isCounter: false, help: sample.help, &state) {
                let key = sample.name + "{" + sample.labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
                let gauge = state.gauges[key] ?? shown[key]
                    ?? registry.makeGauge(descriptor: Self.descriptor(sample.name, sample.help), labels: sample.labels)
                gauge.set(Double(sample.value))
                shown[key] = gauge
            }
            for (key, gauge) in state.gauges where shown[key] == nil { registry.unregisterGauge(gauge) }
            state.gauges = shown
        }
        return registry.emitToBuffer()
    }

    private func admits(_ name: String, isCounter: Bool, help: String, _ state: inout State) -> Bool {
        guard let family = state.families[name] else {
            state.families[name] = (isCounter, help)
            return true
        }
        return family.isCounter == isCounter && family.help == help
    }

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
