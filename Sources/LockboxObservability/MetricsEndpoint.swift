import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// Where the metrics endpoint listens, and how it tells whether the server is ready.
package struct MetricsEndpointConfiguration: Sendable {
    package var host: String
    /// 0 picks a free port (see ``MetricsEndpoint/localAddress``).
    package var port: Int
    /// Whether the server can serve: the database answers and its migrations match.
    /// Answered by `/readyz`; `/healthz` only says the process is up.
    package var readiness: @Sendable () async -> Bool

    package init(host: String = "127.0.0.1", port: Int, readiness: @escaping @Sendable () async -> Bool) {
        self.host = host
        self.port = port
        self.readiness = readiness
    }
}

/// The HTTP port operators and load balancers use, apart from the RPC port:
/// `GET /metrics` (Prometheus text format), `GET /healthz` (200 while the process runs) and
/// `GET /readyz` (200 when the database answers and the schema matches, else 503).
/// Anything else is 404; only GET is answered.
package final class MetricsEndpoint: Service, Sendable {
    package let configuration: MetricsEndpointConfiguration
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let bound: EventLoopPromise<SocketAddress>

    /// - Parameter registry: the registry `MetricsSystem` was bootstrapped with (``bootstrapMetrics()``).
    package init(configuration: MetricsEndpointConfiguration, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        bound = group.any().makePromise(of: SocketAddress.self)
    }

    /// Bootstraps swift-metrics with a Prometheus registry, once per process, and returns it.
    package static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Calls take milliseconds; the default buckets start too high to tell them apart.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }

    package var localAddress: SocketAddress {
        get async throws { try await bound.futureResult.get() }
    }

    /// Scrapers and health checks are few: more connections than this are closed at once.
    static let maxConnections = 64

    package func run() async throws {
        let registry = self.registry
        let readiness = ReadinessCache(check: configuration.readiness)
        let open = NIOLockedValueBox(0)
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    let admitted = open.withLockedValue { count in
                        guard count < Self.maxConnections else { return false }
                        count += 1
                        return true
                    }
                    guard admitted else { return channel.eventLoop.makeCompletedFuture { channel.close(promise: nil) } }
                    channel.closeFuture.whenComplete { _ in open.withLockedValue { $0 -= 1 } }
                    return channel.eventLoop.makeCompletedFuture {
                        // A connection that sends nothing for 10 s is closed: no slow client holds one.
                        try channel.pipeline.syncOperations.addHandler(
                            IdleStateHandler(allTimeout: .seconds(10))
                        )
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandlers(
                            IdleCloser(),
                            HTTPEndpointHandler(registry: registry, readiness: readiness)
                        )
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            bound.fail(error)
            throw error
        }
        bound.succeed(channel.localAddress!)
        logger.info("metrics endpoint listening", metadata: ["address": "\(channel.localAddress!)"])
        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
        try? await group.shutdownGracefully()
    }
}

/// One request at a time per connection; each answered and the connection kept alive as HTTP/1.1 says.
final class HTTPEndpointHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let registry: PrometheusCollectorRegistry
    let readiness: ReadinessCache
    private var head: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry, readiness: ReadinessCache) {
        self.registry = registry
        self.readiness = readiness
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            respond(to: request, context: context)
        }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        guard request.method == .GET || request.method == .HEAD else {
            write(.methodNotAllowed, "only GET\n", request: request, context: context)
            return
        }
        switch path {
        case "/metrics":
            let body = registry.emitToBuffer()
            write(
                .ok,
                body,
                contentType: "text/plain; version=0.0.4; charset=utf-8",
                request: request,
                context: context
            )
        case "/healthz":
            write(.ok, "ok\n", request: request, context: context)
        case "/readyz":
            let readiness = self.readiness
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            Task {
                let ready = await readiness.ready()
                loop.execute {
                    let (handler, context) = bound.value
                    handler.write(
                        ready ? .ok : .serviceUnavailable,
                        ready ? "ready\n" : "not ready: the database does not answer or its schema does not match\n",
                        request: request,
                        context: context
                    )
                }
            }
        default:
            write(.notFound, "not found\n", request: request, context: context)
        }
    }

    private func write(
        _ status: HTTPResponseStatus,
        _ text: String,
        request: HTTPRequestHead,
        context: ChannelHandlerContext
    ) {
        write(status, Array(text.utf8), contentType: "text/plain; charset=utf-8", request: request, context: context)
    }

    private func write(
        _ status: HTTPResponseStatus,
        _ body: [UInt8],
        contentType: String,
        request: HTTPRequestHead,
        context: ChannelHandlerContext
    ) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
            promise: nil
        )
        if request.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }
}

/// Closes a connection the idle handler says has gone quiet.
final class IdleCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// One readiness check at a time, its answer kept for a second: however often load balancers
/// ask, the database sees at most one check a second from here.
final class ReadinessCache: Sendable {
    private let check: @Sendable () async -> Bool
    private let state = NIOLockedValueBox<(answer: Bool, at: ContinuousClock.Instant)?>(nil)
    private let running = NIOLockedValueBox<Task<Bool, Never>?>(nil)

    init(check: @escaping @Sendable () async -> Bool) { self.check = check }

    func ready() async -> Bool {
        if let cached = state.withLockedValue({ $0 }), ContinuousClock.now - cached.at < .seconds(1) {
            return cached.answer
        }
        let task = running.withLockedValue { running -> Task<Bool, Never> in
            if let running { return running }
            let check = self.check
            let state = self.state
            let fresh = Task {
                let answer = await check()
                state.withLockedValue { $0 = (answer, ContinuousClock.now) }
                return answer
            }
            running = fresh
            return fresh
        }
        let answer = await task.value
        running.withLockedValue { if $0 == task { $0 = nil } }
        return answer
    }
}
