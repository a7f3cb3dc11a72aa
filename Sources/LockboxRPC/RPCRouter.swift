import Logging
import LockboxProto
import NIOCore

/// What a handler knows about the call it serves.
public struct RPCCallContext: Sendable {
    public let callID: UInt64
    /// Full method name, "lockbox.v1.Lockbox/Ping".
    public let method: String
    /// When the call must be answered by, on the server's clock; nil for none.
    public let deadline: NIODeadline?
    /// Bearer token from the request header ("" when none).
    public let authToken: String
    /// Idempotency key from the request header ("" when none).
    public let idempotencyKey: String
    /// The peer's IP address as the server's socket sees it (never taken from the client's payload).
    public let peerIP: String
    /// SHA-256 of the client certificate's DER bytes, when the connection is mutual TLS.
    public let peerCertificateSHA256: [UInt8]?
    public let logger: Logger

    public init(
        callID: UInt64,
        method: String,
        deadline: NIODeadline?,
        authToken: String,
        idempotencyKey: String,
        peerIP: String,
        peerCertificateSHA256: [UInt8]? = nil,
        logger: Logger
    ) {
        self.callID = callID
        self.method = method
        self.deadline = deadline
        self.authToken = authToken
        self.idempotencyKey = idempotencyKey
        self.peerIP = peerIP
        self.peerCertificateSHA256 = peerCertificateSHA256
        self.logger = logger
    }
}

/// Sends the messages of a server-streaming call.
public struct RPCStreamWriter<Message: ProtoMessage>: Sendable {
    let sendBytes: @Sendable ([UInt8]) async throws -> Void

    /// Sends one message; returns once it is written to the socket, so a slow
    /// reader slows the producer instead of filling memory.
    public func send(_ message: Message) async throws {
        try await sendBytes(message.encode())
    }
}

/// Maps method names to handlers. Anything not registered is UNIMPLEMENTED.
public struct RPCRouter: Sendable {
    enum Handler: Sendable {
        /// Runs on the event loop itself, with no task: only for handlers that never block
        /// and never wait (a health check). Everything else is `.unary`.
        case inline(@Sendable ([UInt8], RPCCallContext) throws -> [UInt8])
        case unary(@Sendable ([UInt8], RPCCallContext) async throws -> [UInt8])
        case serverStreaming(
            @Sendable ([UInt8], RPCCallContext, @escaping @Sendable ([UInt8]) async throws -> Void) async throws -> Void
        )
    }

    private(set) var handlers: [String: Handler] = [:]
    /// The priority of each method's task; `.medium` when not set.
    private(set) var priorities: [String: TaskPriority] = [:]

    public init() {}

    /// Runs the method's calls in tasks of this priority: the executor runs a waiting task of
    /// higher priority first, so under load these calls do not queue behind the others.
    public mutating func setPriority(_ priority: TaskPriority, for method: String) {
        priorities[method] = priority
    }

    func priority(for method: String) -> TaskPriority { priorities[method] ?? .medium }

    public var methods: [String] { handlers.keys.sorted() }

    /// Whether `method` is served here.
    public func handles(_ method: String) -> Bool { handlers[method] != nil }

    func handler(for method: String) -> Handler? { handlers[method] }

    /// Registers a unary method. Its handler runs in a task of its own, off the event loop.
    public mutating func register<Request, Response>(
        _ method: UnaryMethod<Request, Response>,
        handler: @escaping @Sendable (Request, RPCCallContext) async throws -> Response
    ) {
        handlers[method.name] = .unary { payload, context in
            let request = try Self.decode(Request.self, payload)
            return try await handler(request, context).encode()
        }
    }

    /// Registers a unary method that answers at once on the event loop, without a task.
    /// Its handler must not block or do I/O: it holds up every connection on its loop.
    public mutating func registerInline<Request, Response>(
        _ method: UnaryMethod<Request, Response>,
        handler: @escaping @Sendable (Request, RPCCallContext) throws -> Response
    ) {
        handlers[method.name] = .inline { payload, context in
            let request = try Self.decode(Request.self, payload)
            return try handler(request, context).encode()
        }
    }

    /// Registers a server-streaming method.
    public mutating func register<Request, Response>(
        _ method: ServerStreamingMethod<Request, Response>,
        handler: @escaping @Sendable (Request, RPCCallContext, RPCStreamWriter<Response>) async throws -> Void
    ) {
        handlers[method.name] = .serverStreaming { payload, context, send in
            let request = try Self.decode(Request.self, payload)
            try await handler(request, context, RPCStreamWriter(sendBytes: send))
        }
    }

    private static func decode<Request: ProtoMessage>(_ type: Request.Type, _ payload: [UInt8]) throws(RPCError)
        -> Request
    {
        do {
            return try Request(decoding: payload)
        } catch {
            throw RPCError(.invalidArgument, error.description)
        }
    }
}
