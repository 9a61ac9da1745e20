// Timing suite: "<case>/swift" and "<case>/c" for every case, registered in pairs so both
// languages are measured in the same run, under the same machine load. Each sample runs
// `scalingFactor` operations through the same loop functions the callgrind driver uses.
import Benchmark
import BenchCases

let benchmarks: @Sendable () -> Void = {
    let fixture = BenchFixture()
    for benchCase in BenchCase.allCases {
        for language in BenchLanguage.allCases {
            Benchmark(
                "\(benchCase.rawValue)/\(language.rawValue)",
                configuration: .init(
                    metrics: [.wallClock, .throughput],
                    timeUnits: .nanoseconds,
                    warmupIterations: 10,
                    scalingFactor: .kilo,
                    maxDuration: .seconds(2),
                    maxIterations: 1_000_000
                )
            ) { benchmark in
                blackHole(fixture.run(benchCase, language, iterations: benchmark.scaledIterations.count))
            }
        }
    }
}
