import LockboxProto
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Where an ``RPCClient`` connects and how long it waits.
public struct RPCClientConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// How long to wait for the TCP connection.
    public var connectTimeout: Duration
    /// Deadline for calls that do not set one in ``CallOptions``; nil for none.
    public var defaultTimeout: Duration?
    /// Largest response frame accepted.
    public var maxFrameSize: Int

    public init(
        host: String = "127.0.0.1",
        port: Int = 7443,
        connectTimeout: Duration = .seconds(5),
        defaultTimeout: Duration? = .seconds(30),
        maxFrameSize: Int = Framing.defaultMaxFrameSize
    ) {
        self.host = host
        self.port = port
        self.connectTimeout = connectTimeout
        self.defaultTimeout = defaultTimeout
        self.maxFrameSize = maxFrameSize
    }
}

/// Per-call settings.
public struct CallOptions: Sendable {
    /// Deadline, sent to the server as a relative timeout; nil uses the client's default.
    public var timeout: Duration?
    public var authToken: String
    public var idempotencyKey: String

    public init(timeout: Duration? = nil, authToken: String = "", idempotencyKey: String = "") {
        self.timeout = timeout
        self.authToken = authToken
        self.idempotencyKey = idempotencyKey
    }
}

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
    public func unary<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: String,
        _ request: Request,
        as response: Response.Type = Response.self,
        options: CallOptions = CallOptions()
    ) async throws(RPCError) -> Response {
        let connection = try await connection()
        let frame: ResponseFrame
        do {
            frame = try await connection.unary(header(method, options), payload: request.encode(), timeout: timeout(options))
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
    public func serverStream<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: String,
        _ request: Request,
        as response: Response.Type = Response.self,
        options: CallOptions = CallOptions()
    ) -> AsyncThrowingStream<Response, any Error> {
        let (stream, continuation) = AsyncThrowingStream<Response, any Error>.makeStream()
        let task = Task {
            do {
                let connection = try await self.connection()
                connection.stream(
                    header(method, options),
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
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func header(_ method: String, _ options: CallOptions) -> RequestHeader {
        var header = RequestHeader(method: method, authToken: options.authToken, idempotencyKey: options.idempotencyKey)
        if let timeout = timeout(options) {
            let millis = max(1, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
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
        return ClientBootstrap(group: group)
            .connectTimeout(configuration.connectTimeout.timeAmount)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)),
                        ClientConnectionHandler()
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

/// One open connection of an ``RPCClient``.
final class ClientConnection: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<ClientConnectionHandler>
    private let goAwayReceived: NIOLockedValueBox<Bool>

    init(channel: any Channel, handler: NIOLoopBound<ClientConnectionHandler>, goAwayReceived: NIOLockedValueBox<Bool>) {
        self.channel = channel
        self.handler = handler
        self.goAwayReceived = goAwayReceived
    }

    var isUsable: Bool { channel.isActive && !goAwayReceived.withLockedValue { $0 } }

    func unary(_ header: RequestHeader, payload: [UInt8], timeout: Duration?) -> EventLoopFuture<ResponseFrame> {
        let promise = channel.eventLoop.makePromise(of: ResponseFrame.self)
        let handler = self.handler
        channel.eventLoop.execute {
            handler.value.start(
                header,
                payload: payload,
                timeout: timeout,
                onFrame: { frame in
                    guard frame.end != nil else { return false }
                    promise.succeed(frame)
                    return true
                },
                onFailure: { promise.fail($0) }
            )
        }
        return promise.futureResult
    }

    func stream(
        _ header: RequestHeader,
        payload: [UInt8],
        timeout: Duration?,
        onMessage: @escaping @Sendable ([UInt8]) -> Void,
        onEnd: @escaping @Sendable (RPCError?) -> Void
    ) {
        let handler = self.handler
        channel.eventLoop.execute {
            handler.value.start(
                header,
                payload: payload,
                timeout: timeout,
                onFrame: { frame in
                    if let end = frame.end {
                        let status = end.status ?? Status(code: .internal, message: "stream end without status")
                        onEnd(status.code == .ok ? nil : RPCError(status.code, status.message))
                        return true
                    }
                    onMessage(frame.payload)
                    return false
                },
                onFailure: { onEnd($0) }
            )
        }
    }
}

/// Routes response frames to the calls that wait for them, by call id.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct PendingCall {
        /// Returns true when the frame ended the call.
        var onFrame: (ResponseFrame) -> Bool
        var onFailure: (RPCError) -> Void
        var timer: Scheduled<Void>?
    }

    private var pending: [UInt64: PendingCall] = [:]
    private var nextCallID: UInt64 = 1
    private var context: ChannelHandlerContext?
    /// The status of the last connection-level error frame (call id 0), used to fail calls when the server closes.
    private var connectionStatus: Status?
    let goAwayReceived = NIOLockedValueBox(false)

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func start(
        _ header: RequestHeader,
        payload: [UInt8],
        timeout: Duration?,
        onFrame: @escaping (ResponseFrame) -> Bool,
        onFailure: @escaping (RPCError) -> Void
    ) {
        guard let context, context.channel.isActive else {
            onFailure(RPCError(.unavailable, "connection closed"))
            return
        }
        var header = header
        let callID = nextCallID
        nextCallID &+= 1
        header.callID = callID
        var call = PendingCall(onFrame: onFrame, onFailure: onFailure)
        if let timeout {
            call.timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout.timeAmount) { [self] in
                // The server normally answers DEADLINE_EXCEEDED first; this covers a server that went silent.
                pending.removeValue(forKey: callID)?.onFailure(RPCError(.deadlineExceeded, "deadline exceeded"))
            }
        }
        pending[callID] = call
        let frame = RequestFrame(header: header, payload: payload)
        context.writeAndFlush(
            NIOAny(Framing.frame(frame.encode(), allocator: context.channel.allocator)),
            promise: nil
        )
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard let frame = try? buffer.withUnsafeReadableBytes({ try ResponseFrame(decoding: $0) }) else {
            context.close(promise: nil)
            return
        }
        if frame.callID == 0 {
            if frame.goaway { goAwayReceived.withLockedValue { $0 = true } }
            if let status = frame.end?.status, status.code != .ok { connectionStatus = status }
            return
        }
        guard let call = pending[frame.callID] else { return }
        if call.onFrame(frame) {
            call.timer?.cancel()
            pending.removeValue(forKey: frame.callID)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error: RPCError
        if let status = connectionStatus {
            error = RPCError(status.code, status.message)
        } else {
            error = RPCError(.unavailable, "connection closed")
        }
        let calls = pending
        pending.removeAll()
        for (_, call) in calls {
            call.timer?.cancel()
            call.onFailure(error)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
