// Runs one benchmark case in one language for a given number of iterations, so valgrind's
// callgrind can count its instructions:
//
//   bench-callgrind <case> <swift|c> <iterations>
//   bench-callgrind list                    # the case names
//   bench-callgrind selftest [rounds]       # C baseline == Swift on the inputs and fuzzed ones
//
// The run script computes instructions/op as (I(N2) - I(N1)) / (N2 - N1), which cancels the
// process start-up and the per-run setup.
import BenchCases

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    print(message)
    exit(2)
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "list":
    for benchCase in BenchCase.allCases { print(benchCase.rawValue) }
case "selftest":
    let rounds = arguments.dropFirst().first.flatMap { Int($0) } ?? 50_000
    let report = runSelfTest(rounds: rounds)
    for failure in report.failures { print("FAIL: \(failure)") }
    for (outcome, count) in report.outcomes.sorted(by: { $0.key < $1.key }) { print("  \(outcome): \(count)") }
    print("selftest: \(report.checks) checks, \(report.failures.count) failed")
    exit(report.passed ? 0 : 1)
case let name?:
    let rest = Array(arguments.dropFirst())
    guard let benchCase = BenchCase(rawValue: name) else { fail("unknown case \(name); try `list`") }
    guard rest.count == 2, let language = BenchLanguage(rawValue: rest[0]), let iterations = Int(rest[1]), iterations >= 0 else {
        fail("usage: bench-callgrind <case> <swift|c> <iterations>")
    }
    let fixture = BenchFixture()
    let failures = fixture.run(benchCase, language, iterations: iterations)
    if failures != 0 { fail("\(failures) operations failed") }
case nil:
    fail("usage: bench-callgrind <case> <swift|c> <iterations> | list | selftest [rounds]")
}
