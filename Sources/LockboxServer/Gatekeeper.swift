import LockboxCore
import LockboxRPC
import LockboxStore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// What a handler body gets: the caller, its transaction, and the server's clock reading for this call.
struct Call {
    let caller: Caller
    let db: PGConnection
    let nowMs: Int64
    let idempotencyKey: String
}

/// What the body of a method without a token gets: its transaction, the server's clock
/// reading, and the peer IP the socket saw.
struct OpenCall {
    let db: PGConnection
    let nowMs: Int64
    let peerIP: String
}

/// Every call's way in, and the one place that authorizes it.
///
/// It authenticates the bearer token against the database (its principal and roles as they
/// are now), checks that some role grants the permission ``MethodPermissions`` names for the
/// method (deny by default), runs the body in one transaction with the server's clock
/// reading, and maps every failure to a status that is safe to send. Handlers then narrow
/// the check to the data they touch with ``Authorization``.
struct Gatekeeper: Sendable {
    let pool: PGPool
    let tokens = TokenStore()
    let clock: any LockboxClock
    let logger: Logger
    /// Token hashes that recently passed admission for a priority method.
    let proven = ProvenTokens()

    /// Runs a unary call's body in one transaction, after authenticating and admitting the caller.
    func unary<Value: Sendable>(
        _ context: RPCCallContext,
        _ body: @escaping @Sendable (Call) throws -> Value
    ) async throws(RPCError) -> Value {
        // A token that cannot be ours costs no database work.
        guard Credentials.isWellFormed(context.authToken) else { throw RPCError.unauthenticated() }
        let hash = Credentials.hash(context.authToken)
        // The reserved share serves a priority method only for a token that proved itself
        // recently; a stranger's tokens, however many, queue with everything else.
        let priority = MethodPermissions.priority.contains(context.method)
        let lane: PGLane = priority && proven.contains(hash) ? .priority : .standard
        return try await guarded(context) {
            try await pool.transaction(checkout: checkout(context, lane: lane)) { db in
                let now = clock.nowMillis()
                let caller = try admit(context, hash: hash, db: db, nowMs: now)
                if priority { proven.insert(hash) }
                return try body(Call(caller: caller, db: db, nowMs: now, idempotencyKey: context.idempotencyKey))
            }
        }
    }

    /// Runs the body of a method that takes no token (its request carries its own credential,
    /// as an enrollment code does) in one transaction. The body returns its refusal instead of
    /// throwing it, so that what it recorded of the refusal commits.
    func open<Value: Sendable>(
        _ context: RPCCallContext,
        _ body: @escaping @Sendable (OpenCall) throws -> Result<Value, DomainError>
    ) async throws(RPCError) -> Value {
        guard MethodPermissions.open.contains(context.method) else { throw RPCError.permissionDenied() }
        let outcome = try await guarded(context) {
            try await pool.transaction { db in
                try body(OpenCall(db: db, nowMs: clock.nowMillis(), peerIP: context.peerIP))
            }
        }
        return try guarded(context) { try outcome.get() }
    }

    /// Runs the body of a method that takes no token and needs no transaction (the public
    /// keys, served from memory).
    func openWithoutDatabase<Value: Sendable>(
        _ context: RPCCallContext,
        _ body: () async throws -> Value
    ) async throws(RPCError) -> Value {
        guard MethodPermissions.open.contains(context.method) else { throw RPCError.permissionDenied() }
        return try await guarded(context) { try await body() }
    }

    /// Authenticates and admits the caller in a transaction of its own: the start of a stream,
    /// and each time a stream checks again that its caller may still read.
    func admit(_ context: RPCCallContext) async throws(RPCError) -> Caller {
        guard Credentials.isWellFormed(context.authToken) else { throw RPCError.unauthenticated() }
        return try await guarded(context) {
            try await pool.transaction { db in
                try admit(context, hash: Credentials.hash(context.authToken), db: db, nowMs: clock.nowMillis())
            }
        }
    }

    /// Runs `body` on a connection of its own, outside any transaction (one page of an export).
    func read<Value: Sendable>(
        _ context: RPCCallContext,
        _ body: @escaping @Sendable (PGConnection) throws -> Value
    ) async throws(RPCError) -> Value {
        try await guarded(context) { try await pool.withConnection(checkout: checkout(context), body) }
    }

    /// How a call waits for a connection: in its lane, fairly against its peer's other calls,
    /// for as long as its deadline allows.
    func checkout(_ context: RPCCallContext, lane: PGLane = .standard) -> PGCheckout {
        let deadline = context.deadline.map { deadline in
            ContinuousClock.now.advanced(by: .nanoseconds((deadline - .now()).nanoseconds))
        }
        return PGCheckout(lane: lane, key: context.peerIP, deadline: deadline)
    }

    /// Runs `body` and maps whatever it throws to a status that is safe to send.
    /// What it logs goes to the call's logger, which carries the call's id and method.
    func guarded<Value>(_ context: RPCCallContext, _ body: () async throws -> Value) async throws(RPCError) -> Value {
        do {
            return try await body()
        } catch {
            throw rpcError(error, context.logger)
        }
    }

    func guarded<Value>(_ context: RPCCallContext, _ body: () throws -> Value) throws(RPCError) -> Value {
        do {
            return try body()
        } catch {
            throw rpcError(error, context.logger)
        }
    }

    /// The caller behind the call's token, provided some role of theirs grants the method's
    /// permission; UNAUTHENTICATED or PERMISSION_DENIED otherwise.
    private func admit(_ context: RPCCallContext, hash: [UInt8], db: PGConnection, nowMs: Int64) throws -> Caller {
        guard
            let caller = try tokens.authenticate(
                secretHash: hash,
                ip: context.peerIP,
                nowMs: nowMs,
                db
            )
        else { throw RPCError.unauthenticated() }
        // A principal bound to its client certificate: its token alone is not enough.
        if let bound = caller.certificateSHA256, bound != context.peerCertificateSHA256 {
            context.logger.notice("token refused: its principal is bound to another client certificate")
            throw RPCError(.unauthenticated, "this principal's tokens need its bound client certificate (mutual TLS)")
        }
        guard let permission = MethodPermissions.table[context.method] else {
            context.logger.error("method has no permission; refused")
            throw RPCError.permissionDenied()
        }
        guard Authorization.admits(caller, permission) else { throw RPCError.permissionDenied() }
        return caller
    }

    /// Maps any failure to a status that is safe to send: internals go to the log only.
    func rpcError(_ error: any Error, _ logger: Logger) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as DomainError:
            switch error.code {
            case .invalidArgument: return RPCError(.invalidArgument, error.message)
            case .failedPrecondition: return RPCError(.failedPrecondition, error.message)
            case .notFound: return RPCError(.notFound, error.message)
            case .alreadyExists: return RPCError(.alreadyExists, error.message)
            case .unauthenticated: return RPCError(.unauthenticated, error.message)
            case .outOfRange: return RPCError(.outOfRange, error.message)
            default: return RPCError(.permissionDenied, error.message)
            }
        case let error as StoreError:
            switch error.code {
            case .unavailable, .retryable:
                logger.warning("database unavailable", metadata: ["error": "\(error)"])
                return RPCError.unavailable("database unavailable; try again")
            case .commitUnknown:
                logger.warning("commit outcome unknown", metadata: ["error": "\(error)"])
                return RPCError.unavailable(
                    "the database went away during commit: the call may or may not have taken effect; "
                        + "retry with the same idempotency key, or read the state before acting again"
                )
            case .timedOut:
                logger.warning("database timed out", metadata: ["error": "\(error)"])
                return RPCError.unavailable("the database did not answer in time; try again")
            case .overloaded:
                logger.debug("pool queue full")
                return RPCError.unavailable("server is overloaded; try again later")
            default:
                logger.error("database error", metadata: ["error": "\(error)"])
                return RPCError.internal()
            }
        case is NIOThreadPoolError.ThreadPoolInactive:
            return RPCError.unavailable("server is shutting down")
        case is CancellationError:
            return RPCError(.cancelled, "call cancelled")
        default:
            logger.error(
                "unexpected error",
                metadata: ["error": "\(String(reflecting: error))"]
            )
            return RPCError.internal()
        }
    }
}

/// Hashes of tokens that recently passed admission for a priority method, each remembered
/// for ``lifetime``. Bounded: when full, expired entries go, and if none has, all do (the
/// tokens then prove themselves again on their next call).
final class ProvenTokens: Sendable {
    static let capacity = 10_000
    static let lifetime: Duration = .seconds(600)
    private let entries = NIOLockedValueBox<[[UInt8]: ContinuousClock.Instant]>([:])

    func contains(_ hash: [UInt8]) -> Bool {
        let now = ContinuousClock.now
        return entries.withLockedValue { entries in entries[hash].map { now < $0 } ?? false }
    }

    func insert(_ hash: [UInt8]) {
        let now = ContinuousClock.now
        entries.withLockedValue { entries in
            if entries[hash] == nil, entries.count >= Self.capacity {
                entries = entries.filter { now < $0.value }
                if entries.count >= Self.capacity { entries.removeAll() }
            }
            entries[hash] = now.advanced(by: Self.lifetime)
        }
    }
}

extension RPCRouter {
    /// Registers a unary method whose body runs behind the gate: the caller authenticated and
    /// admitted, one transaction, every failure mapped to a safe status.
    mutating func register<Request, Response>(
        _ method: UnaryMethod<Request, Response>,
        gate: Gatekeeper,
        _ body: @escaping @Sendable (Request, Call) throws -> Response
    ) {
        register(method) { request, context in try await gate.unary(context) { call in try body(request, call) } }
    }
}
