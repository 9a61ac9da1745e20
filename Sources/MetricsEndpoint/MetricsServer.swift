import NIOCore
import NIOHTTP1
import NIOPosix

/// The `--metrics-listen` HTTP/1.1 server: one event-loop thread of its own, so a scrape never
/// runs on a relay loop; each GET /metrics asks the daemon for a snapshot and renders it then.
public final class MetricsServer: Sendable {
    /// Where it listens, as the kernel bound it (port 0 resolved).
    public let boundAddress: String
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// Binds and starts serving; an address in use (or not local) is thrown, nothing left running.
    public init(host: String, port: Int, snapshot: @escaping @Sendable () -> MetricsSnapshot) throws(MetricsServerError) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let renderer = ScrapeRenderer()
        let scrape: @Sendable () -> [UInt8] = { renderer.render(snapshot()) }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    // A client that sends nothing for this long is dropped, so idle sockets cannot pile up.
                    try pipeline.addHandler(IdleStateHandler(readTimeout: .seconds(30)))
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    try pipeline.addHandler(MetricsRequestHandler(scrape: scrape))
                }
            }
        do {
            channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw MetricsServerError.cannotListen(address: Self.text(host: host, port: port), reason: "\(error)")
        }
        self.group = group
        boundAddress = channel.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? Self.text(host: host, port: port)
    }

    /// Closes the listener and every open scrape connection, and joins the event-loop thread.
    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    private static func text(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// Why the metrics server did not start.
public enum MetricsServerError: Error, CustomStringConvertible {
    case cannotListen(address: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotListen(address, reason): "--metrics-listen \(address): cannot listen: \(reason)"
        }
    }
}
