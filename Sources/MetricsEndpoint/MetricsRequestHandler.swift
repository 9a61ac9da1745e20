import NIOCore
import NIOHTTP1

/// Answers one HTTP/1.1 connection: GET (or HEAD) /metrics with the exposition text, 404 for any
/// other path, 405 for any other method, 413 for a request body over `maximumBodyBytes`.
final class MetricsRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// A scrape carries no body; a little is tolerated, a large one is refused and the connection closed.
    static let maximumBodyBytes = 4096
    /// The Content-Type of Prometheus text exposition format 0.0.4.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let scrape: @Sendable () -> [UInt8]
    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    /// Set once a refusal closed the connection: what the client still sends is ignored.
    private var closing = false

    init(scrape: @escaping @Sendable () -> [UInt8]) {
        self.scrape = scrape
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            bodyBytes = 0
        case .body(let chunk):
            bodyBytes += chunk.readableBytes
            if bodyBytes > Self.maximumBodyBytes {
                closing = true
                respond(context, status: .payloadTooLarge, body: Array("request body too large\n".utf8), keepAlive: false)
            }
        case .end:
            guard let requestHead = head else { return }
            head = nil
            answer(requestHead, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func answer(_ request: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == "/metrics" else {
            return respond(context, status: .notFound, body: Array("not found: try /metrics\n".utf8), keepAlive: request.isKeepAlive)
        }
        guard request.method == .GET || request.method == .HEAD else {
            return respond(context, status: .methodNotAllowed, body: Array("only GET and HEAD\n".utf8),
                           keepAlive: request.isKeepAlive, extraHeaders: [("Allow", "GET, HEAD")])
        }
        let text = scrape()
        respond(context, status: .ok, body: text, keepAlive: request.isKeepAlive, contentType: Self.contentType,
                omitBody: request.method == .HEAD)
    }

    private func respond(_ context: ChannelHandlerContext, status: HTTPResponseStatus, body: [UInt8], keepAlive: Bool,
                         contentType: String = "text/plain; charset=utf-8", extraHeaders: [(String, String)] = [],
                         omitBody: Bool = false) {
        var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", "\(body.count)")] + extraHeaders)
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !omitBody {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
