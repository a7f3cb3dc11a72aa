import LockboxProto
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// An async client for the Lockbox RPC protocol.
///
/// One TCP connection carries any number of concurrent calls. The connection
/// is opened on first use and opened again after it closes or the server says
/// GOAWAY; a call in flight when its connection drops fails with UNAVAILABLE
/// and is not retried (it may not be idempotent). Every failure is an
/// ``RPCError`` carrying a gRPC status.
public final class RPCClient: Sendable {
    public let configuration: RPCClientConfiguration
    private let group: any EventLoopGroup
    private let state = NIOLockedValueBox<ConnectionState>(.idle)

    private enum ConnectionState {
        case idle
        case connecting(EventLoopFuture<ClientConnection>)
        case connected(ClientConnection)
        case closed
    }

    public init(
        configuration: RPCClientConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
    }

    /// Closes the connection; calls in flight fail with UNAVAILABLE. Later calls fail with CANCELLED.
    public func close() async {
        let previous = state.withLockedValue { state in
            defer { state = .closed }
            return state
        }
        switch previous {
        case .connected(let connection):
            try? await connection.channel.close()
        case .connecting(let future):
            if let connection = try? await future.get() { try? await connection.channel.close() }
        case .idle, .closed:
            break
        }
    }

    /// Makes a unary call.
    public func unary<Request, Response>(
        _ method: UnaryMethod<Request, Response>,
        _ request: Request,
        options: CallOptions = CallOptions()
    ) async throws(RPCError) -> Response {
        let connection = try await connection()
        let frame: ResponseFrame
        do {
            frame = try await connection.unary(
                header(method.name, options),
                payload: request.encode(),
                timeout: timeout(options)
            )
            .get()
        } catch {
            throw Self.rpcError(error)
        }
        let status = frame.end?.status ?? Status(code: .internal, message: "response without status")
        guard status.code == .ok else { throw RPCError(status.code, status.message) }
        do {
            return try Response(decoding: frame.payload)
        } catch {
            throw RPCError(.internal, "cannot decode response: \(error)")
        }
    }

    /// Makes a server-streaming call. The stream ends normally on an OK status
    /// and throws an ``RPCError`` otherwise.
    public func serverStream<Request, Response>(
        _ method: ServerStreamingMethod<Request, Response>,
        _ request: Request,
        options: CallOptions = CallOptions()
    ) -> AsyncThrowingStream<Response, any Error> {
        let (stream, continuation) = AsyncThrowingStream<Response, any Error>.makeStream()
        // Set once the call is sent: how a consumer that stops early ends it on the server too.
        let cancelCall = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)
        let task = Task {
            do {
                let connection = try await self.connection()
                let cancel = connection.stream(
                    header(method.name, options),
                    payload: request.encode(),
                    timeout: options.timeout,
                    onMessage: { bytes in
                        do {
                            continuation.yield(try Response(decoding: bytes))
                        } catch {
                            continuation.finish(throwing: RPCError(.internal, "cannot decode response: \(error)"))
                        }
                    },
                    onEnd: { error in continuation.finish(throwing: error) }
                )
                cancelCall.withLockedValue { $0 = cancel }
                // The consumer may have stopped while the call was being sent.
                if Task.isCancelled { cancel() }
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { termination in
            task.cancel()
            // The consumer stopped before the stream ended: the server stops too.
            if case .cancelled = termination { cancelCall.withLockedValue { $0 }?() }
        }
        return stream
    }

    private func header(_ method: String, _ options: CallOptions) -> RequestHeader {
        var header = RequestHeader(method: method, authToken: options.authToken, idempotencyKey: options.idempotencyKey)
        if let timeout = timeout(options) {
            let millis = max(
                1,
                timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
            )
            header.timeoutMs = UInt32(clamping: millis)
        }
        return header
    }

    private func timeout(_ options: CallOptions) -> Duration? { options.timeout ?? configuration.defaultTimeout }

    static func rpcError(_ error: any Error) -> RPCError {
        switch error {
        case let error as RPCError: error
        case is CancellationError: RPCError(.cancelled, "call cancelled")
        default: RPCError(.unavailable, "connection failed: \(error)")
        }
    }

    private func connection() async throws(RPCError) -> ClientConnection {
        enum Next {
            case use(ClientConnection)
            case wait(EventLoopFuture<ClientConnection>)
            case closed
        }
        let next: Next = state.withLockedValue { state in
            switch state {
            case .connected(let connection) where connection.isUsable:
                return .use(connection)
            case .connecting(let future):
                return .wait(future)
            case .closed:
                return .closed
            case .idle, .connected:
                let future = connect()
                state = .connecting(future)
                return .wait(future)
            }
        }
        switch next {
        case .use(let connection):
            return connection
        case .closed:
            throw RPCError(.cancelled, "client is closed")
        case .wait(let future):
            do {
                let connection = try await future.get()
                state.withLockedValue { state in
                    if case .connecting = state { state = .connected(connection) }
                }
                return connection
            } catch {
                state.withLockedValue { state in
                    if case .connecting = state { state = .idle }
                }
                throw RPCError(.unavailable, "cannot connect to \(configuration.host):\(configuration.port)")
            }
        }
    }

    private func connect() -> EventLoopFuture<ClientConnection> {
        let maxFrameSize = configuration.maxFrameSize
        let tls = configuration.tls
        let host = configuration.host
        return ClientBootstrap(group: group)
            .connectTimeout(configuration.connectTimeout.timeAmount)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        // A name is sent as SNI and checked against the certificate's DNS
                        // entries; an IP address is never sent, and the address connected to
                        // is checked against its IP entries.
                        let name = tls.serverName ?? host
                        let isAddress = (try? SocketAddress(ipAddress: name, port: 0)) != nil
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls.context, serverHostname: isAddress ? nil : name)
                        )
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)),
                        ClientConnectionHandler(awaitingTLSHandshake: tls != nil)
                    )
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .flatMap { channel in
                channel.pipeline.handler(type: ClientConnectionHandler.self).map { handler in
                    ClientConnection(
                        channel: channel,
                        handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
                        goAwayReceived: handler.goAwayReceived
                    )
                }
            }
    }
}
