import LockboxCore
import LockboxRPC
import LockboxStore
import Logging
import Metrics
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
/// Before any database work it refuses what cannot be a caller: an address past its budget of
/// failed authentications, a token whose checksum fails (``Credentials``), a token of the
/// old form whose hash no replica knows. It then knows the caller from its ``TokenCache`` (or
/// reads it once), and so the lane and the fair queue the call waits in for a connection. In
/// the call's one transaction it confirms the caller against the database as it is now (a
/// revocation, a suspension or a removed role takes effect at once, on every replica), checks
/// that some role grants the permission ``MethodPermissions`` names for the method (deny by
/// default), runs the body with the server's clock reading, and maps every failure to a
/// status that is safe to send. Handlers then narrow the check to the data they touch with
/// ``Authorization``.
struct Gatekeeper: Sendable {
    let pool: PGPool
    let tokens = TokenStore()
    let audit = AuditStore()
    let clock: any LockboxClock
    let logger: Logger
    let budgets: BudgetConfiguration
    let cache = TokenCache()
    let keyring = Keyring()
    let spent = Budgets()

    init(pool: PGPool, clock: any LockboxClock, logger: Logger, budgets: BudgetConfiguration = BudgetConfiguration()) {
        self.pool = pool
        self.clock = clock
        self.logger = logger
        self.budgets = budgets
    }

    /// A caller known before its transaction: who, from which token, and whether from the cache.
    struct Identified: Sendable {
        var token: AuthenticatedToken
        var hash: [UInt8]
        var caller: Caller { token.caller }
    }

    /// Runs a unary call's body in one transaction, after authenticating and admitting the caller.
    func unary<Value: Sendable>(
        _ context: RPCCallContext,
        _ body: @escaping @Sendable (Call) throws -> Value
    ) async throws(RPCError) -> Value {
        let identified = try await identify(context)
        let lane: PGLane =
            MethodPermissions.priority.contains(context.method) && identified.caller.roles.contains(.service)
            ? .priority : .standard
        return try await guarded(context) {
            try await pool.transaction(checkout: checkout(context, lane: lane, key: identified.caller.id)) { db in
                let now = clock.nowMillis()
                let caller = try confirm(identified, context, db: db, nowMs: now)
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
            try await pool.transaction(checkout: checkout(context)) { db in
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

    /// Authenticates and admits the caller, confirmed in a transaction of its own: the start of
    /// a stream, and each time a stream checks again that its caller may still read.
    func admit(_ context: RPCCallContext) async throws(RPCError) -> Caller {
        let identified = try await identify(context)
        return try await guarded(context) {
            try await pool.transaction(checkout: checkout(context, key: identified.caller.id)) { db in
                try confirm(identified, context, db: db, nowMs: clock.nowMillis())
            }
        }
    }

    /// The enrollment budget of an address and of a tenant: spent by every attempt, so that
    /// guessing costs the guesser, and is refused without any work past it.
    func spendEnrollmentAttempt(tenantID: String, peerIP: String) throws(RPCError) {
        let now = clock.nowMillis()
        let perSecond = budgets.enrollmentPerMinute / 60
        let byAddress = spent.spend(
            "enroll@" + peerIP,
            capacity: budgets.enrollmentBurst,
            perSecond: perSecond,
            nowMs: now
        )
        let byTenant = spent.spend(
            "enroll#" + tenantID,
            capacity: budgets.enrollmentBurst,
            perSecond: perSecond,
            nowMs: now
        )
        guard byAddress && byTenant else {
            Counter(label: "lockbox_auth_refused_total", dimensions: [("reason", "enrollment_budget")]).increment()
            throw RPCError(.resourceExhausted, "too many enrollment attempts; wait a minute and try again")
        }
    }

    /// The deployment's credential key, read once.
    func credentialKey(_ context: RPCCallContext) async throws(RPCError) -> [UInt8] {
        try await keys(context).key
    }

    private func keys(_ context: RPCCallContext) async throws(RPCError) -> Keyring.Keys {
        try await guarded(context) {
            try await keyring.current {
                try await pool.withConnection(checkout: checkout(context, lane: .priority)) { [tokens, clock] db in
                    Keyring.Keys(
                        key: try tokens.credentialKey(db),
                        legacy: Set(try tokens.legacyHashes(nowMs: clock.nowMillis(), db))
                    )
                }
            }
        }
    }

    /// Who calls, known without the database when it can be: the refusals that cost nothing,
    /// then the cache, then one short read (on the priority lane, since a token that reaches it
    /// passed its checksum and is most likely a data plane's first check).
    func identify(_ context: RPCCallContext) async throws(RPCError) -> Identified {
        let now = clock.nowMillis()
        let address = "auth@" + context.peerIP
        guard spent.allows(address, nowMs: now) else {
            Counter(label: "lockbox_auth_refused_total", dimensions: [("reason", "address_budget")]).increment()
            throw RPCError(.resourceExhausted, "too many failed authentications from this address; wait and try again")
        }
        let keys = try await keys(context)
        let hash = Credentials.hash(context.authToken)
        let judged = Credentials.judge(context.authToken, key: keys.key)
        guard judged == .checksummed || (judged == .legacy && keys.legacy.contains(hash)) else {
            // Cost nothing, so charged nothing: an address that shares its clients (a NAT)
            // does not lose its budget to one of them typing a token wrong.
            Counter(label: "lockbox_auth_refused_total", dimensions: [("reason", "not_ours")]).increment()
            throw RPCError.unauthenticated()
        }
        // A caller the cache refused reads itself again in its own fair queue, not on the
        // priority lane: refused calls from a valid token must not crowd out data planes.
        var checkout = checkout(context, lane: .priority)
        if let cached = cache.get(hash) {
            if cached.expiresAtMs.map({ $0 > now }) ?? true {
                var identified = Identified(token: cached, hash: hash)
                identified.token.caller.ip = context.peerIP
                do {
                    try admits(identified.caller, context)
                    return identified
                } catch {
                    // A refusal is never judged on memory alone: what was cached may have
                    // changed (a certificate unbound, a role given back, the token revoked).
                    checkout = self.checkout(context, key: cached.caller.id)
                }
            }
            cache.forget(hash)
        }
        let token = try await guarded(context) { [checkout] in
            try await pool.withConnection(checkout: checkout) { [tokens] db in
                try tokens.authenticated(secretHash: hash, ip: context.peerIP, nowMs: now, db)
            }
        }
        guard let token else { throw refuse(context, address: address, reason: "unknown") }
        cache.put(hash, token)
        var identified = Identified(token: token, hash: hash)
        identified.token.caller.ip = context.peerIP
        try admits(identified.caller, context)
        return identified
    }

    /// Confirms, in the call's transaction, that what was known of the caller still holds;
    /// reads it again when it does not. The caller as the database has it now. A group of
    /// calls (``CheckGroup``) reads `stillValid` with its facts, in one flight, and passes it.
    func confirm(
        _ identified: Identified,
        _ context: RPCCallContext,
        db: PGConnection,
        nowMs: Int64,
        stillValid: Bool? = nil
    ) throws -> Caller {
        let valid = try stillValid ?? tokens.stillValid(identified.token, nowMs: nowMs, db)
        if valid { return identified.caller }
        cache.forget(identified.hash)
        guard var fresh = try tokens.authenticated(secretHash: identified.hash, ip: context.peerIP, nowMs: nowMs, db)
        else { throw RPCError.unauthenticated() }
        cache.put(identified.hash, fresh)
        fresh.caller.ip = context.peerIP
        try admits(fresh.caller, context)
        try audit.attribute(to: AuditActor(fresh.caller), db)
        return fresh.caller
    }

    /// Whether the caller may call this method at all: its bound certificate, and some role
    /// granting the method's permission.
    private func admits(_ caller: Caller, _ context: RPCCallContext) throws(RPCError) {
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
    }

    /// A failed authentication that took a database read: the address pays for it, and the
    /// caller hears UNAUTHENTICATED.
    private func refuse(_ context: RPCCallContext, address: String, reason: String) -> RPCError {
        Counter(label: "lockbox_auth_refused_total", dimensions: [("reason", reason)]).increment()
        spent.spend(
            address,
            capacity: budgets.unauthenticatedBurst,
            perSecond: budgets.unauthenticatedPerSecond,
            nowMs: clock.nowMillis()
        )
        return RPCError.unauthenticated()
    }

    /// Runs `body` on a connection of its own, outside any transaction (one page of an export).
    func read<Value: Sendable>(
        _ context: RPCCallContext,
        _ body: @escaping @Sendable (PGConnection) throws -> Value
    ) async throws(RPCError) -> Value {
        try await guarded(context) { try await pool.withConnection(checkout: checkout(context), body) }
    }

    /// How a call waits for a connection: in its lane, fairly against the other calls of its
    /// key (its principal; before it is known, its address), for as long as its deadline allows.
    func checkout(_ context: RPCCallContext, lane: PGLane = .standard, key: String? = nil) -> PGCheckout {
        let deadline = context.deadline.map { deadline in
            ContinuousClock.now.advanced(by: .nanoseconds((deadline - .now()).nanoseconds))
        }
        return PGCheckout(lane: lane, key: key ?? "@" + context.peerIP, deadline: deadline)
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
