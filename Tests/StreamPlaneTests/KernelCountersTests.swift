import Glibc
import StreamPlane
import SystemPackage
import Testing

@Suite struct KernelCountersTests {
    /// /proc/net/netstat of Linux 6.18, cut down: the counters' positions differ from the full file.
    static let sample = """
        TcpExt: SyncookiesSent ListenOverflows TCPFastOpenActive TCPFastOpenPassive TCPFastOpenPassiveFail TCPFastOpenListenOverflow TCPFastOpenCookieReqd
        TcpExt: 0 3 1 42 0 7 0
        IpExt: InNoRoutes InOctets OutOctets
        IpExt: 0 18446744073709551615 7224
        MPTcpExt: MPCapableSYNRX MPCapableSYNTX MPCapableSYNACKRX MPCapableACKRX MPCapableFallbackACK MPCapableFallbackSYNACK
        MPTcpExt: 40 0 0 38 2 0

        """

    @Test func parsesEveryGroupByName() {
        let groups = KernelCounters.parseNetstat(Self.sample)
        #expect(groups["TcpExt"]?["TCPFastOpenListenOverflow"] == 7)
        #expect(groups["TcpExt"]?["TCPFastOpenPassive"] == 42)
        #expect(groups["TcpExt"]?["ListenOverflows"] == 3)
        #expect(groups["MPTcpExt"]?["MPCapableFallbackACK"] == 2)
        #expect(groups["MPTcpExt"]?["MPCapableSYNRX"] == 40)
        #expect(groups["IpExt"]?["OutOctets"] == 7224)
        // Beyond Int: skipped, not wrapped or trapped.
        #expect(groups["IpExt"]?["InOctets"] == nil)
    }

    @Test func selectsTheReportedCountersInOrder() {
        let selected = KernelCounters.select(from: KernelCounters.parseNetstat(Self.sample))
        #expect(selected.map(\.name) == ["tfo_listen_overflow", "tfo_passive", "mptcp_capable_syn_rx", "mptcp_capable_fallback_ack"])
        #expect(selected.map(\.value) == [7, 42, 40, 2])
    }

    @Test func aKernelWithoutMPTCPCountersLeavesThemOut() {
        let tcpOnly = Self.sample.split(separator: "\n").prefix(2).joined(separator: "\n")
        let selected = KernelCounters.select(from: KernelCounters.parseNetstat(tcpOnly))
        #expect(selected.map(\.name) == ["tfo_listen_overflow", "tfo_passive"])
    }

    @Test func aHeaderWithoutValuesOrGarbageIsSkipped() {
        let text = "TcpExt: TCPFastOpenListenOverflow\nMPTcpExt: MPCapableSYNRX\nMPTcpExt: 5\nnot a line\n"
        let groups = KernelCounters.parseNetstat(text)
        #expect(groups["TcpExt"] == nil)
        #expect(groups["MPTcpExt"]?["MPCapableSYNRX"] == 5)
        #expect(KernelCounters.parseNetstat("").isEmpty)
    }

    @Test func readsAFileLongerThanOneRead() throws {
        let path = "/tmp/plainmode-netstat-\(getpid())"
        // Padding groups push the counters past the reader's 16 KiB chunk.
        let padding = (0..<400).map { "Pad\($0): " + String(repeating: "X", count: 40) + "\nPad\($0): 1\n" }.joined()
        let descriptor = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite)
        defer { _ = unlink(path) }
        _ = try descriptor.closeAfter { try descriptor.writeAll((padding + Self.sample).utf8) }
        let counters = KernelCounters.read(from: FilePath(path))
        #expect(counters.first { $0.name == "tfo_listen_overflow" }?.value == 7)
        #expect(counters.count == 4)
        #expect(KernelCounters.read(from: "/nonexistent/netstat").isEmpty)
    }

    @Test func thisKernelHasTheTFOCounters() {
        let names = KernelCounters.read().map(\.name)
        #expect(names.contains("tfo_listen_overflow"), "\(names)")
    }
}
