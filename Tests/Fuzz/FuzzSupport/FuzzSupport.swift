/// FuzzSupport owns what the libFuzzer targets share: invariant checks that survive -O builds,
/// a hash to derive split points from an input, byte comparison, and the corpus replayer that a
/// target's `main` becomes in normal (non-FUZZING) builds.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A precondition whose message survives -O builds (precondition's does not), so that a crash
/// found by a release fuzz build says which invariant broke.
@inline(__always)
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "invariant violated",
                    file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}

/// FNV-1a of the input: seeds the split points, so a saved crash replays the same splits.
public func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return h
}

/// Byte-for-byte equality of two buffers, through memcmp: a Swift loop here would be
/// instrumented for coverage and comparisons, and was the bulk of fuzz-udp-framing's cost.
public func same(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
}

/// The fuzz entry point's shape (`LLVMFuzzerTestOneInput`).
public typealias FuzzEntry = (UnsafePointer<UInt8>, Int) -> CInt

/// Replays files (or every file in directories, sorted) given on the command line through
/// `entry`, so a normal build regression-tests the corpus: `fuzz-pcp Tests/Fuzz/corpus/pcp`.
public func replayCorpus(name: String, entry: FuzzEntry) {
    let paths = CommandLine.arguments.dropFirst()
    guard !paths.isEmpty else { fail("usage: \(name) FILE_OR_DIR...", status: 2) }
    var count = 0
    for path in paths { count += replay(path, name: name, entry: entry) }
    print("\(name): replayed \(count) inputs without a crash")
}

private func fail(_ message: String, status: Int32) -> Never {
    let line = message + "\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    exit(status)
}

private func replay(_ path: String, name: String, entry: FuzzEntry) -> Int {
    if let dir = opendir(path) {
        var names: [String] = []
        while let item = readdir(dir) {
            let file = withUnsafeBytes(of: item.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
            if !file.hasPrefix(".") { names.append(file) }
        }
        closedir(dir)
        return names.sorted().reduce(0) { $0 + replay(path + "/" + $1, name: name, entry: entry) }
    }
    guard let file = fopen(path, "rb") else { fail("\(name): cannot open \(path)", status: 1) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    fclose(file)
    // An exact-size heap copy, as libFuzzer passes it, so overreads are caught the same way.
    let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
    defer { copy.deallocate() }
    copy.initialize(from: bytes, count: bytes.count)
    _ = entry(copy, bytes.count)
    return 1
}
