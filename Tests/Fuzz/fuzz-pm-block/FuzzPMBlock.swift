// libFuzzer target for the PM block decoders: PlainModeBlockParser (incremental), PlainModeBlock
// .parse (one shot), PlainModeOption.decode, and their encoders.
//
// Input layout: byte 0 picks the policy (see `policy(from:)`); the rest is the stream start.
// Invariants (each a `require`, so a violation is a crash libFuzzer saves):
//  - the incremental parser gives the same outcome (block, bytes used, or error) whether the
//    stream is fed whole, cut once at every position, byte by byte, or in pseudo-random pieces
//    (sizes from a hash of the input, empty reads included);
//  - a parsed block re-encodes to the bytes it came from (options may come back source first)
//    and re-parses to the same block; a decoded option re-encodes byte for byte.
//
// Fuzz run:     Tests/Fuzz/run-fuzzers.sh [RUNS] pm-block   (builds with --sanitize=fuzzer,
//               --sanitize=address, -DFUZZING and, for release, an explicit -sanitize-coverage)
// Replay build: swift run --scratch-path .build-fuzz fuzz-pm-block Tests/Fuzz/corpus/pm-block

import FuzzSupport
import TestSupport
import PlainMode
import WireFormat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let policy = policy(from: data[0])
    let stream = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    checkOptionDecode(stream, policy: policy)
    checkBlock(stream, policy: policy)
    return 0
}

/// Byte 0: bits 0-1 subtype (0, 1: 0xE, the default; 2: 0x0; 3: 0xF), bit 2 requiresSource,
/// bit 3 clears requiresDestination, bit 4 enables every protocol, bits 5-7 the block cap
/// (0-3: the default 45; 4: 8; 5: 16; 6: 22; 7: 64).
func policy(from byte: UInt8) -> PlainModePolicy {
    let subtypes: [UInt8] = [PlainMode.defaultSubtype, PlainMode.defaultSubtype, 0x0, 0xF]
    let caps = [PlainModePolicy.longestLegalBlock, PlainModePolicy.longestLegalBlock,
                PlainModePolicy.longestLegalBlock, PlainModePolicy.longestLegalBlock, 8, 16, 22, 64]
    var protocols: ProtocolSet = [IPProtocolNumber.tcp, IPProtocolNumber.udp]
    if byte & 0x10 != 0 { for p in 0...255 { protocols.insert(UInt8(p)) } }
    return PlainModePolicy(
        subtype: subtypes[Int(byte & 3)],
        enabledProtocols: protocols,
        requiresDestination: byte & 0x08 == 0,
        requiresSource: byte & 0x04 != 0,
        maximumBlockLength: caps[Int(byte >> 5)]
    )
}

// MARK: - Helpers

func equal(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
    a.count == b.count && a.elementsEqual(b)
}

// MARK: - Options

func checkOptionDecode(_ stream: UnsafeRawBufferPointer, policy: PlainModePolicy) {
    let option: PlainModeOption
    do throws(PlainModeError) {
        option = try PlainModeOption.decode(stream, subtype: policy.subtype)
    } catch {
        _ = error.description
        return
    }
    let length = option.encodedLength
    require(length <= stream.count, "decoded an option of \(length) bytes from \(stream.count)")
    require(Int(stream[1]) == length, "Length byte \(stream[1]) but encodedLength \(length)")
    require(option.subtype == policy.subtype)
    let encoded = option.encoded()
    require(equal(UnsafeRawBufferPointer(rebasing: stream[0..<length]), encoded),
                 "option does not re-encode to its bytes: \(option)")
    let result: Result<PlainModeOption, PlainModeError> = encoded.withUnsafeBytes { raw in
        do throws(PlainModeError) { return .success(try PlainModeOption.decode(raw, subtype: policy.subtype)) } catch { return .failure(error) }
    }
    guard case .success(let again) = result else { fatalError("re-encoded option does not decode: \(result)") }
    require(again == option, "option round trip: \(option) -> \(again)")
}

// MARK: - Blocks

/// What feeding a stream achieved: a block and the stream bytes it used, an error, or not
/// enough bytes (the EOL never came).
enum Outcome: Equatable, CustomStringConvertible {
    case complete(PlainModeBlock, length: Int)
    case failed(PlainModeError)
    case needMoreBytes

    var description: String {
        switch self {
        case let .complete(block, length): "complete(\(block), length: \(length))"
        case .failed(let error): "failed(\(error))"
        case .needMoreBytes: "needMoreBytes"
        }
    }
}

/// Feeds `stream` to a fresh parser in pieces whose sizes come from `nextSize` (0 allowed).
func feed(_ stream: UnsafeRawBufferPointer, policy: PlainModePolicy, nextSize: (Int) -> Int) -> Outcome {
    var parser = PlainModeBlockParser(policy: policy)
    var offset = 0
    var reads = 0
    while true {
        let remaining = stream.count - offset
        let size = remaining == 0 ? 0 : min(nextSize(remaining), remaining)
        let piece = UnsafeRawBufferPointer(rebasing: stream[offset..<offset + size])
        do throws(PlainModeError) {
            switch try parser.consume(piece) {
            case .needMoreBytes:
                offset += size
                // bytesConsumed counts accepted options plus the whole Length of an option whose
                // Length byte has come (not a lone kind byte), and never passes the cap.
                let consumed = parser.bytesConsumed
                require(consumed >= offset - 1 && consumed <= offset + 20 && consumed <= policy.maximumBlockLength,
                        "bytesConsumed \(consumed) after \(offset) bytes fed (cap \(policy.maximumBlockLength))")
            case let .complete(block, consumed):
                require(consumed >= 1 && consumed <= size, "consumed \(consumed) of a \(size)-byte read")
                require(parser.bytesConsumed == offset + consumed, "bytesConsumed disagrees with consumed")
                return .complete(block, length: offset + consumed)
            }
        } catch {
            return .failed(error)
        }
        reads += 1
        // Stop after the input is used up (one extra empty read is part of the test).
        if remaining == 0 || reads > 4 * stream.count + 8 { return .needMoreBytes }
    }
}

func checkBlock(_ stream: UnsafeRawBufferPointer, policy: PlainModePolicy) {
    // One shot.
    let whole: Outcome
    do throws(PlainModeError) {
        let (block, length) = try PlainModeBlock.parse(stream, policy: policy)
        whole = .complete(block, length: length)
    } catch {
        whole = error == .truncated ? .needMoreBytes : .failed(error)
    }

    // The same through the parser in one read.
    let oneRead = feed(stream, policy: policy) { $0 }
    require(oneRead == whole, "one read \(oneRead) != PlainModeBlock.parse \(whole)")

    // The parser decides within the cap plus one option, so later cuts add nothing.
    let relevant = min(stream.count, policy.maximumBlockLength + 23)

    // Every single cut.
    for cut in 0...relevant {
        var first = true
        let outcome = feed(stream, policy: policy) { remaining in
            defer { first = false }
            return first ? cut : remaining
        }
        require(outcome == whole, "cut at \(cut): \(outcome) != whole \(whole)")
    }

    // Byte by byte.
    let bytewise = feed(stream, policy: policy) { _ in 1 }
    require(bytewise == whole, "byte by byte: \(bytewise) != whole \(whole)")

    // Pseudo-random pieces (empty reads included), from a hash of the input.
    var rng = SplitMix64(seed: fnv1a(stream))
    for round in 0..<3 {
        let random = feed(stream, policy: policy) { remaining in
            let r = rng.next()
            switch r & 7 {
            case 0: return 0
            case 1, 2, 3: return 1 + Int((r >> 8) % 3)
            default: return 1 + Int((r >> 8) % UInt64(max(remaining, 1)))
            }
        }
        require(random == whole, "random pieces (round \(round)): \(random) != whole \(whole)")
    }

    guard case let .complete(block, length) = whole else { return }
    checkRoundTrip(block, length: length, stream: stream, policy: policy)
}

func checkRoundTrip(_ block: PlainModeBlock, length: Int, stream: UnsafeRawBufferPointer, policy: PlainModePolicy) {
    require(length <= stream.count && length <= policy.maximumBlockLength)
    require(stream[length - 1] == PlainMode.endOfOptions, "block does not end with EOL")
    require(block.encodedLength == length, "encodedLength \(block.encodedLength) != parsed length \(length)")
    if policy.requiresDestination { require(block.destination != nil) }
    if policy.requiresSource { require(block.source != nil) }
    for option in [block.source, block.destination] {
        guard let option else { continue }
        require(option.subtype == policy.subtype)
        require(option.address.forbiddenKind == nil, "forbidden address accepted: \(option)")
        require(policy.enabledProtocols.contains(option.protocolNumber), "disabled protocol accepted")
    }
    if let source = block.source { require(source.direction == .source) }
    if let destination = block.destination { require(destination.direction == .destination) }

    // encode(decode(x)): the same bytes, with the options in either order.
    let encoded = block.encoded()
    let original = UnsafeRawBufferPointer(rebasing: stream[0..<length])
    if !equal(original, encoded) {
        guard let source = block.source, let destination = block.destination else {
            fatalError("single-option block does not re-encode to its bytes: \(block)")
        }
        require(equal(original, destination.encoded() + source.encoded() + [PlainMode.endOfOptions]),
                     "block does not re-encode to its bytes (in either option order): \(block)")
    }

    // decode(encode(x)) == x, with the same policy.
    let again: (block: PlainModeBlock, length: Int)
    do throws(PlainModeError) {
        again = try PlainModeBlock.parse(encoded, policy: policy)
    } catch {
        fatalError("re-encoded block does not parse: \(error) (\(block))")
    }
    require(again.block == block && again.length == length, "block round trip: \(block) -> \(again)")
}

// MARK: - Replay main for normal builds

#if !FUZZING
/// In a normal build this target replays corpus files: `fuzz-pm-block Tests/Fuzz/corpus/pm-block`.
@main
enum FuzzPMBlockReplay {
    static func main() { replayCorpus(name: "fuzz-pm-block", entry: fuzz) }
}
#endif
