/// What one scrape shows: the daemon fills it at scrape time from its counters and the kernel.
public struct MetricsSnapshot: Sendable {
    /// A value that only goes up (events, bytes); its full name ends in `_total`.
    public struct Counter: Sendable {
        public var name: String
        public var help: String
        public var value: Int

        public init(name: String, help: String, value: Int) {
            self.name = name
            self.help = help
            self.value = value
        }
    }

    /// A level read as it is now (connections open, leases held), with optional labels.
    public struct Gauge: Sendable {
        public var name: String
        public var help: String
        public var labels: [(String, String)]
        public var value: Int

        public init(name: String, help: String, labels: [(String, String)] = [], value: Int) {
            self.name = name
            self.help = help
            self.labels = labels
            self.value = value
        }
    }

    public var counters: [Counter]
    public var gauges: [Gauge]

    public init(counters: [Counter] = [], gauges: [Gauge] = []) {
        self.counters = counters
        self.gauges = gauges
    }
}
