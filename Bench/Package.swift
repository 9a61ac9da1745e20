// swift-tools-version:6.1
// Micro-benchmarks of plainmode's wire-format hot paths, side by side with a plain C baseline,
// and of the allocation log's throughput (LogBenchmarks).
// A separate package, so the main package never builds ordo-one/benchmark and its dependencies.
// Run everything with ./run-wire-benchmarks.sh (see README.md).
import PackageDescription

// The root package is a path dependency; its identity is the name of its directory, which is
// not fixed (a clone may live anywhere), so derive it instead of hard-coding it.
let rootPackage = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "plainmode"

let package = Package(
    name: "plainmode-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        // MallocInterposer only: the default traits also pull in the Linux runtime interposer,
        // which the offline mirror does not carry.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The C baseline. `-O2` explicitly (unsafeFlags are allowed in a root package); the run
        // script checks the compile commands for it.
        .target(
            name: "CBaseline",
            cSettings: [.unsafeFlags(["-O2"])]
        ),
        // Inputs and one loop per case and language, shared by the timing benchmarks and the
        // callgrind driver so both measure exactly the same code.
        .target(
            name: "BenchCases",
            dependencies: [
                "CBaseline",
                .product(name: "WireFormat", package: rootPackage),
                .product(name: "PlainMode", package: rootPackage),
            ]
        ),
        // `bench-callgrind <case> <swift|c> <iterations>`: one case in one language, for
        // instruction counts under valgrind; `bench-callgrind selftest` checks Swift == C.
        .executableTarget(
            name: "bench-callgrind",
            dependencies: ["BenchCases"]
        ),
        // ordo-one/benchmark timing suite: "<case>/swift" and "<case>/c" for every case.
        .executableTarget(
            name: "WireBenchmarks",
            dependencies: [
                "BenchCases",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/WireBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
        // ordo-one/benchmark: lease (and session) events per second through the daemon's own
        // AllocationLogger with a JSONLinesOutput (issue 15); see README.md, Allocation log.
        .executableTarget(
            name: "LogBenchmarks",
            dependencies: [
                .product(name: "AllocationLog", package: rootPackage),
                .product(name: "BindingState", package: rootPackage),
                .product(name: "PortSets", package: rootPackage),
                .product(name: "WireFormat", package: rootPackage),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/LogBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ]
)
