import Logging
import LockboxProto
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The Lockbox RPC server: listens on TCP and serves an ``RPCRouter``'s methods.
///
/// Run it as a `Service` in a `ServiceGroup`. On graceful shutdown it stops
/// accepting, sends every connection a GOAWAY frame, lets calls in flight
/// finish within ``RPCServerConfiguration/shutdownGracePeriod``, then returns.
public final class RPCServer: ServiceLifecycle.Service, Sendable {
    public let configuration: RPCServerConfiguration
    private let router: RPCRouter
    private let logger: Logger
    private let group: any EventLoopGroup
    private let boundAddress: EventLoopPromise<SocketAddress>
    private let connections = ConnectionCounter()

    /// Connections refused since start because ``RPCServerConfiguration/maxConnections`` were open.
    public var refusedConnections: Int { connections.refused }
    /// Connections open now.
    public var openConnections: Int { connections.open }

    public init(
        configuration: RPCServerConfiguration,
        router: RPCRouter,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.router = router
        self.group = eventLoopGroup
        self.logger = logger
        self.boundAddress = eventLoopGroup.any().makePromise(of: SocketAddress.self)
    }

    /// The address the server listens on, once it does (useful with port 0).
    public var localAddress: SocketAddress {
        get async throws { try await boundAddress.futureResult.get() }
    }

    public func run() async throws {
        let quiesce = ServerQuiescingHelper(group: group)
        let configuration = self.configuration
        let router = self.router
        let logger = self.logger
        let connections = self.connections
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            quiesce.makeServerChannelHandler(channel: channel)
                        )
                    }
                }
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.autoRead, value: true)
                // One read per turn, of a bounded size: a flood on one connection waits its turn.
                .childChannelOption(.maxMessagesPerRead, value: 1)
                .childChannelOption(
                    .recvAllocator,
                    value: AdaptiveRecvByteBufferAllocator(
                        minimum: 1024,
                        initial: min(8192, configuration.maxReadSize),
                        maximum: configuration.maxReadSize
                    )
                )
                .childChannelOption(
                    .writeBufferWaterMark,
                    value: .init(low: configuration.outboundWaterMarks.low, high: configuration.outboundWaterMarks.high)
                )
                .childChannelInitializer { channel in
                    let address = channel.remoteAddress?.ipAddress ?? ""
                    guard
                        connections.admit(
                            address: address,
                            max: configuration.maxConnections,
                            perAddress: configuration.maxConnectionsPerAddress
                        )
                    else {
                        if connections.shouldLogRefusal() {
                            logger.warning(
                                "refusing connections: the server's or an address's limit is reached",
                                metadata: [
                                    "connections.max": "\(configuration.maxConnections)",
                                    "connections.refused": "\(connections.refused)",
                                ]
                            )
                        }
                        // Over TLS a refusal frame would need a handshake first: just close.
                        if configuration.tls != nil {
                            return channel.eventLoop.makeCompletedFuture { channel.close(promise: nil) }
                        }
                        return channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(RefuseConnectionHandler())
                        }
                    }
                    channel.closeFuture.whenComplete { _ in connections.release(address: address) }
                    return channel.eventLoop.makeCompletedFuture {
                        if let tls = configuration.tls {
                            try channel.pipeline.syncOperations.addHandlers(
                                NIOSSLServerHandler(context: tls.current),
                                TLSHandshakeDeadline(timeout: configuration.frameReadTimeout.timeAmount)
                            )
                        }
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(FrameDecoder(maxFrameSize: configuration.maxFrameSize)),
                            ServerConnectionHandler(router: router, configuration: configuration, logger: logger)
                        )
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            boundAddress.fail(error)
            throw error
        }
        boundAddress.succeed(channel.localAddress!)
        logger.info("listening", metadata: ["address": "\(channel.localAddress!)"])

        let drained = group.any().makePromise(of: Void.self)
        let draining = NIOLockedValueBox(false)
        try await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
            // The listening socket closed without a shutdown request: drain all the same, so
            // that run() returns instead of waiting for a shutdown that will not come.
            let startDraining = draining.withLockedValue { was in
                defer { was = true }
                return !was
            }
            if startDraining {
                logger.error("listening socket closed unexpectedly; draining connections")
                quiesce.initiateShutdown(promise: drained)
            }
            try await drained.futureResult.get()
        } onGracefulShutdown: {
            let startDraining = draining.withLockedValue { was in
                defer { was = true }
                return !was
            }
            guard startDraining else { return }
            logger.info("draining connections")
            quiesce.initiateShutdown(promise: drained)
        }
        logger.info("server stopped")
    }
}

/// Counts open connections against the server's limit and each address's, and the ones refused.
final class ConnectionCounter: Sendable {
    private struct State {
        var open = 0
        var byAddress: [String: Int] = [:]
        var refused = 0
        var lastLogged = NIODeadline.distantPast
    }

    private let state = NIOLockedValueBox(State())

    var open: Int { state.withLockedValue { $0.open } }
    var refused: Int { state.withLockedValue { $0.refused } }

    /// Takes a place for a new connection from `address`, unless `max` are open, or
    /// `perAddress` from that address.
    func admit(address: String, max: Int, perAddress: Int) -> Bool {
        let admitted = state.withLockedValue { state in
            guard state.open < max, state.byAddress[address, default: 0] < perAddress else {
                state.refused += 1
                return false
            }
            state.open += 1
            state.byAddress[address, default: 0] += 1
            return true
        }
        if admitted {
            RPCMetrics.connections.increment()
        } else {
            RPCMetrics.refusedConnections.increment()
        }
        return admitted
    }

    func release(address: String) {
        state.withLockedValue { state in
            state.open -= 1
            state.byAddress[address, default: 1] -= 1
            if state.byAddress[address] == 0 { state.byAddress[address] = nil }
        }
        RPCMetrics.connections.decrement()
    }

    /// At most one log line every ten seconds about refusals, however many there are.
    func shouldLogRefusal() -> Bool {
        state.withLockedValue { state in
            let now = NIODeadline.now()
            guard now - state.lastLogged >= .seconds(10) else { return false }
            state.lastLogged = now
            return true
        }
    }
}

/// The whole pipeline of a connection over the server's limit: once active, it is told
/// RESOURCE_EXHAUSTED on call id 0 and closed, having read nothing.
private final class RefuseConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    func channelActive(context: ChannelHandlerContext) {
        let status = Status(
            code: .resourceExhausted,
            message: "too many connections to the server, or from this address; try again later"
        )
        let frame = Framing.frame(
            ResponseFrame(callID: 0, end: StreamEnd(status: status)).encode(),
            allocator: context.channel.allocator
        )
        context.writeAndFlush(NIOAny(frame)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
