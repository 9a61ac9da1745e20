import Glibc
import MetricsEndpoint
import Testing

/// The renderer keeps counters monotonic across scrapes and drops vanished gauge series; the
/// server answers /metrics, 404 and 405 on loopback and stops without hanging.
@Suite struct MetricsEndpointTests {
    static func text(_ renderer: ScrapeRenderer, _ snapshot: MetricsSnapshot) -> String {
        String(decoding: renderer.render(snapshot), as: UTF8.self)
    }

    @Test func countersFollowTheTotalsAndGaugesTheirLevel() {
        let renderer = ScrapeRenderer()
        func snapshot(_ total: Int, _ open: Int, link: String) -> MetricsSnapshot {
            MetricsSnapshot(counters: [.init(name: "t_accepted_total", help: "accepted", value: total)],
                            gauges: [.init(name: "t_open", help: "open", value: open),
                                     .init(name: "t_links", help: "links", labels: [("local_address", link)], value: 1)])
        }
        let first = Self.text(renderer, snapshot(5, 3, link: "a"))
        #expect(first.contains("# TYPE t_accepted_total counter\n"))
        #expect(first.contains("t_accepted_total 5\n"))
        #expect(first.contains("t_open 3.0\n") || first.contains("t_open 3\n"), "\(first)")
        let second = Self.text(renderer, snapshot(9, 1, link: "b"))
        #expect(second.contains("t_accepted_total 9\n"), "\(second)")
        #expect(second.contains("local_address=\"b\""))
        #expect(!second.contains("local_address=\"a\""), "a vanished series stays: \(second)")
        // A total that went down (a kernel counter reset) starts its series again.
        #expect(Self.text(renderer, snapshot(2, 1, link: "b")).contains("t_accepted_total 2\n"))
    }

    @Test func aNameWithASecondKindIsLeftOutNotFatal() {
        let renderer = ScrapeRenderer()
        let text = Self.text(renderer, MetricsSnapshot(counters: [.init(name: "t_x", help: "x", value: 1)],
                                                       gauges: [.init(name: "t_x", help: "x", value: 2)]))
        #expect(text.contains("# TYPE t_x counter"))
        #expect(!text.contains("gauge"))
    }

    /// One request over a loopback TCP connection; the whole response.
    static func request(port: Int, _ text: String) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return "connect failed" }
        _ = text.withCString { send(fd, $0, strlen($0), 0) }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += chunk[..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }

    @Test func serverAnswersMetricsAndRefusesOtherPathsAndMethods() throws {
        let server = try MetricsServer(host: "127.0.0.1", port: 0) {
            MetricsSnapshot(counters: [.init(name: "t_scrapes_total", help: "scrapes", value: 7)])
        }
        defer { server.stop() }
        let port = try #require(Int(server.boundAddress.split(separator: ":").last ?? ""))
        let ok = Self.request(port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(ok.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(ok)")
        #expect(ok.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        #expect(ok.contains("t_scrapes_total 7\n"))
        #expect(Self.request(port: port, "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").hasPrefix("HTTP/1.1 404"))
        let post = Self.request(port: port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab")
        #expect(post.hasPrefix("HTTP/1.1 405"), "\(post)")
        let big = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + String(repeating: "a", count: 100_000)
        #expect(Self.request(port: port, big).hasPrefix("HTTP/1.1 413"))
    }

    @Test func anAddressInUseIsAnError() throws {
        let first = try MetricsServer(host: "127.0.0.1", port: 0) { MetricsSnapshot() }
        defer { first.stop() }
        let port = try #require(Int(first.boundAddress.split(separator: ":").last ?? ""))
        #expect(throws: MetricsServerError.self) { _ = try MetricsServer(host: "127.0.0.1", port: port) { MetricsSnapshot() } }
    }
}
