import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOPosix
import ServiceLifecycle

/// The Lockbox RPC server: listens on TCP and serves an ``RPCRouter``'s methods.
///
/// Run it as a `Service` in a `ServiceGroup`. On graceful shutdown it stops
/// accepting, sends every connection a GOAWAY frame, lets calls in flight
/// finish within ``RPCServerConfiguration/shutdownGracePeriod``, then returns.
public final class RPCServer: Service, Sendable {
    public let configuration: RPCServerConfiguration
    private let router: RPCRouter
    private let logger: Logger
    private let group: any EventLoopGroup
    private let boundAddress: EventLoopPromise<SocketAddress>

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
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
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
