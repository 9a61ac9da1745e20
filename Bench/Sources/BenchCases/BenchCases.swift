// The benchmark cases: one loop per case and language. The timing suite (Benchmarks/) and the
// callgrind driver (bench-callgrind) both call `BenchFixture.run`, so they measure the same code.
//
// Every loop does one operation per iteration and passes its whole result to `bench_sink`, a
// do-nothing C function in its own translation unit that neither compiler can see through, so
// both languages must build the complete result in memory and nothing is optimised away.

import CBaseline
import PlainMode
import WireFormat

public enum BenchLanguage: String, CaseIterable, Sendable {
    case swift
    case c
}

public enum BenchCase: String, CaseIterable, Sendable {
    /// Parse the 60-byte IPv4+TCP SYN (ParsedPacket.parse).
    case parseIPv4TCP = "parse-ipv4-tcp"
    /// Rewrite the source address and port of the parsed SYN, as a NAT does, with RFC 1624
    /// updates of the IP header and TCP checksums (rewriteIPv4Address + rewritePort).
    case checksumRewrite = "checksum-rewrite"
    /// Parse, then the same two rewrites: a NAT's whole per-packet job.
    case parseAndRewrite = "parse+rewrite"
    /// Parse the 45-byte PM block: two IPv6 options with ports, then EOL.
    case pmBlockIPv6 = "pm-block-ipv6"
    /// Parse the 11-byte PM block: one IPv4 destination option with port, then EOL.
    case pmBlockIPv4 = "pm-block-ipv4"
    /// Decode a stream of 32 records of 100-byte datagrams given in one read.
    case udpDecode = "udp-decode-32x100"
    /// The same stream in 1448-byte reads: two records straddle reads and are gathered.
    case udpDecodeSplit = "udp-decode-32x100-split1448"

    /// What one operation is, for reports.
    public var operation: String {
        switch self {
        case .parseIPv4TCP: "one packet parsed"
        case .checksumRewrite: "address + port rewritten, 3 checksum updates"
        case .parseAndRewrite: "one packet parsed and rewritten"
        case .pmBlockIPv6, .pmBlockIPv4: "one block parsed and validated"
        case .udpDecode: "3264-byte stream decoded (32 datagrams)"
        case .udpDecodeSplit: "3264-byte stream decoded from 3 reads (32 datagrams)"
        }
    }
}

/// The inputs, copied once from the C definitions (cbaseline.h) into buffers both languages use.
public final class BenchFixture: @unchecked Sendable {
    public let syn: UnsafeRawBufferPointer
    public let pmIPv6: UnsafeRawBufferPointer
    public let pmIPv4: UnsafeRawBufferPointer
    public let udpStream: UnsafeRawBufferPointer
    /// Rewrite targets, one per language (each loop first copies `syn` into its own).
    let swiftWork: UnsafeMutableRawBufferPointer
    let cWork: UnsafeMutableRawBufferPointer

    public init() {
        syn = Self.copy { cb_input_syn($0) }
        pmIPv6 = Self.copy { cb_input_pm_ipv6($0) }
        pmIPv4 = Self.copy { cb_input_pm_ipv4($0) }
        let stream = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(CB_UDP_STREAM_BYTES), alignment: 16)
        cb_make_udp_stream(stream.baseAddress!.assumingMemoryBound(to: UInt8.self))
        udpStream = UnsafeRawBufferPointer(stream)
        swiftWork = .allocate(byteCount: syn.count, alignment: 16)
        cWork = .allocate(byteCount: syn.count, alignment: 16)
    }

    deinit {
        syn.deallocate()
        pmIPv6.deallocate()
        pmIPv4.deallocate()
        udpStream.deallocate()
        swiftWork.deallocate()
        cWork.deallocate()
    }

    private static func copy(_ input: (UnsafeMutablePointer<Int>) -> UnsafePointer<UInt8>?) -> UnsafeRawBufferPointer {
        var length = 0
        let source = withUnsafeMutablePointer(to: &length) { input($0) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 16)
        buffer.copyMemory(from: UnsafeRawBufferPointer(start: source, count: length))
        return UnsafeRawBufferPointer(buffer)
    }

    /// Runs `iterations` operations of `benchCase` in `language`; returns the failed operations
    /// (0 on these inputs).
    @discardableResult
    public func run(_ benchCase: BenchCase, _ language: BenchLanguage, iterations: Int) -> Int {
        switch (benchCase, language) {
        case (.parseIPv4TCP, .swift):
            return swiftParse(syn, iterations: iterations)
        case (.parseIPv4TCP, .c):
            return cb_run_parse(u8(syn), syn.count, iterations)
        case (.checksumRewrite, .swift):
            return swiftRewrite(original: syn, work: swiftWork, iterations: iterations)
        case (.checksumRewrite, .c):
            return cb_run_rewrite(u8(syn), cWork.baseAddress!.assumingMemoryBound(to: UInt8.self), syn.count, iterations)
        case (.parseAndRewrite, .swift):
            return swiftParseAndRewrite(original: syn, work: swiftWork, iterations: iterations)
        case (.parseAndRewrite, .c):
            return cb_run_parse_rewrite(u8(syn), cWork.baseAddress!.assumingMemoryBound(to: UInt8.self), syn.count, iterations)
        case (.pmBlockIPv6, .swift):
            return swiftPMBlockParse(pmIPv6, iterations: iterations)
        case (.pmBlockIPv6, .c):
            return cb_run_pm_parse(u8(pmIPv6), pmIPv6.count, iterations)
        case (.pmBlockIPv4, .swift):
            return swiftPMBlockParse(pmIPv4, iterations: iterations)
        case (.pmBlockIPv4, .c):
            return cb_run_pm_parse(u8(pmIPv4), pmIPv4.count, iterations)
        case (.udpDecode, .swift):
            return swiftUDPDecode(udpStream, readSize: udpStream.count, iterations: iterations)
        case (.udpDecode, .c):
            return cb_run_udp_decode(u8(udpStream), udpStream.count, udpStream.count, iterations)
        case (.udpDecodeSplit, .swift):
            return swiftUDPDecode(udpStream, readSize: Int(CB_UDP_READ_SIZE), iterations: iterations)
        case (.udpDecodeSplit, .c):
            return cb_run_udp_decode(u8(udpStream), udpStream.count, Int(CB_UDP_READ_SIZE), iterations)
        }
    }

    /// The rewrite target of `language` (tests compare the two after the same operations).
    public func work(_ language: BenchLanguage) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(language == .swift ? swiftWork : cWork)
    }
}

@inline(__always)
func u8(_ buffer: UnsafeRawBufferPointer) -> UnsafePointer<UInt8> {
    buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
}

/// Hands the whole of `value` to the opaque C sink.
@inline(__always)
func sink<T>(_ value: inout T) {
    withUnsafeBytes(of: &value) { bench_sink($0.baseAddress, $0.count) }
}

// MARK: - The Swift loops (mirrored one to one by the cb_run_* loops in CBaseline)

@inline(never)
func swiftParse(_ packet: UnsafeRawBufferPointer, iterations: Int) -> Int {
    var failures = 0
    for _ in 0..<iterations {
        do {
            var parsed = try ParsedPacket.parse(packet)
            sink(&parsed)
        } catch {
            failures &+= 1
        }
    }
    return failures
}

@inline(never)
func swiftRewrite(original: UnsafeRawBufferPointer, work: UnsafeMutableRawBufferPointer, iterations: Int) -> Int {
    work.copyMemory(from: original)
    guard var parsed = try? ParsedPacket.parse(UnsafeRawBufferPointer(work)),
          case .tcp(let tcp) = parsed.transport, case .v4(let originalAddress) = parsed.source
    else { return iterations }
    let originalPort = tcp.sourcePort
    let natAddress = IPv4Address(CB_NAT_ADDRESS)
    let natPort = UInt16(CB_NAT_PORT)
    for i in 0..<iterations {
        let toNAT = i & 1 == 0
        parsed.rewriteIPv4Address(.source, to: toNAT ? natAddress : originalAddress, in: work)
        parsed.rewritePort(.source, to: toNAT ? natPort : originalPort, in: work)
        sink(&parsed)
    }
    return 0
}

@inline(never)
func swiftParseAndRewrite(original: UnsafeRawBufferPointer, work: UnsafeMutableRawBufferPointer, iterations: Int) -> Int {
    work.copyMemory(from: original)
    guard let first = try? ParsedPacket.parse(UnsafeRawBufferPointer(work)),
          case .tcp(let tcp) = first.transport, case .v4(let originalAddress) = first.source
    else { return iterations }
    let originalPort = tcp.sourcePort
    let natAddress = IPv4Address(CB_NAT_ADDRESS)
    let natPort = UInt16(CB_NAT_PORT)
    var failures = 0
    for i in 0..<iterations {
        do {
            var parsed = try ParsedPacket.parse(UnsafeRawBufferPointer(work))
            let toNAT = i & 1 == 0
            parsed.rewriteIPv4Address(.source, to: toNAT ? natAddress : originalAddress, in: work)
            parsed.rewritePort(.source, to: toNAT ? natPort : originalPort, in: work)
            sink(&parsed)
        } catch {
            failures &+= 1
        }
    }
    return failures
}

@inline(never)
func swiftPMBlockParse(_ block: UnsafeRawBufferPointer, iterations: Int) -> Int {
    let policy = PlainModePolicy()
    var failures = 0
    for _ in 0..<iterations {
        do {
            var result = try PlainModeBlock.parse(block, policy: policy)
            sink(&result)
        } catch {
            failures &+= 1
        }
    }
    return failures
}

@inline(never)
func swiftUDPDecode(_ stream: UnsafeRawBufferPointer, readSize: Int, iterations: Int) -> Int {
    var decoder = UDPFrameDecoder()
    var failures = 0
    let count = stream.count
    for _ in 0..<iterations {
        var total = 0
        var offset = 0
        while offset < count {
            let n = min(readSize, count - offset)
            do {
                try decoder.decode(UnsafeRawBufferPointer(rebasing: stream[offset..<offset + n])) { total &+= $0.count }
            } catch {
                failures &+= 1
                break
            }
            offset += n
        }
        sink(&total)
    }
    return failures
}
