import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore
import Logging
import NIOPosix

/// Settings of the Lockbox service itself (the RPC layer has its own).
public struct LockboxServiceConfiguration: Sendable {
    public var policy: Policy
    /// How often each sweeper looks for expired requests and finished grants.
    public var sweepInterval: Duration
    /// Requests a sweeper moves per transaction.
    public var sweepBatchSize: Int

    public init(policy: Policy = Policy(), sweepInterval: Duration = .seconds(5), sweepBatchSize: Int = 100) {
        self.policy = policy
        self.sweepInterval = sweepInterval
        self.sweepBatchSize = sweepBatchSize
    }
}

/// The Lockbox API over PostgreSQL: authenticates, authorizes and runs every call
/// as one transaction that includes its audit records.
public final class LockboxService: Sendable {
    let pool: PGPool
    let clock: any LockboxClock
    let configuration: LockboxServiceConfiguration
    let logger: Logger
    let notifier: RequestNotifier?

    /// - Parameter notifier: feeds WatchAccessRequests; without one that method answers UNAVAILABLE.
    public init(
        pool: PGPool,
        clock: any LockboxClock,
        configuration: LockboxServiceConfiguration,
        notifier: RequestNotifier? = nil,
        logger: Logger
    ) {
        self.pool = pool
        self.clock = clock
        self.configuration = configuration
        self.notifier = notifier
        self.logger = logger
    }

    var policy: Policy { configuration.policy }

    /// Every method of `service Lockbox` that this server implements, with its handler.
    public func makeRouter() -> RPCRouter {
        var router = RPCRouter()
        router.registerInline(LockboxMethod.ping, PingRequest.self, PingResponse.self) { [clock] _, _ in
            PingResponse(version: LockboxVersion.current, serverTimeMs: clock.nowMillis())
        }
        registerRequestMethods(&router)
        registerAdminMethods(&router)
        registerAuditMethods(&router)
        registerAccessMethods(&router)
        registerWatch(&router)
        return router
    }

    /// Authenticates a streaming call in a short transaction of its own and checks that some
    /// role grants `permission` (unary calls do this inside their transaction instead).
    func authenticated(_ context: RPCCallContext, _ permission: Permission) async throws -> Caller {
        try await pool.transaction { [clock] connection in
            try Authorizer.admit(context, permission, db: connection, nowMs: clock.nowMillis())
        }
    }

    /// Registers a unary method whose body runs inside one database transaction, after the
    /// caller was authenticated and found to hold `permission` somewhere. The body does the
    /// tenant-scoped check once it knows the tenant.
    func unary<Request: ProtoMessage, Response: ProtoMessage>(
        _ router: inout RPCRouter,
        _ method: String,
        _ permission: Permission,
        _ body: @escaping @Sendable (Request, CallEnvironment) throws -> Response
    ) {
        router.registerUnary(method, Request.self, Response.self) { [self] request, context in
            do {
                return try await pool.transaction { connection in
                    let now = self.clock.nowMillis()
                    let caller = try Authorizer.admit(context, permission, db: connection, nowMs: now)
                    let environment = CallEnvironment(
                        caller: caller,
                        db: connection,
                        nowMs: now,
                        idempotencyKey: context.idempotencyKey,
                        service: self
                    )
                    return try body(request, environment)
                }
            } catch {
                throw self.rpcError(error, method: method)
            }
        }
    }

    /// Maps any failure to a status that is safe to send: internals go to the log only.
    func rpcError(_ error: any Error, method: String) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as DomainError:
            switch error.code {
            case .invalidArgument: return RPCError(.invalidArgument, error.message)
            case .failedPrecondition: return RPCError(.failedPrecondition, error.message)
            default: return RPCError(.permissionDenied, error.message)
            }
        case is AuthError:
            return RPCError.unauthenticated()
        case let error as StoreError:
            switch error.code {
            case .unavailable, .retryable:
                logger.warning("database unavailable", metadata: ["call.method": "\(method)", "error": "\(error)"])
                return RPCError.unavailable("database unavailable; try again")
            default:
                logger.error("database error", metadata: ["call.method": "\(method)", "error": "\(error)"])
                return RPCError.internal()
            }
        case is NIOThreadPoolError.ThreadPoolInactive:
            return RPCError.unavailable("server is shutting down")
        case is CancellationError:
            return RPCError(.cancelled, "call cancelled")
        default:
            logger.error("unexpected error", metadata: ["call.method": "\(method)", "error": "\(String(reflecting: error))"])
            return RPCError.internal()
        }
    }
}

/// What a handler body gets: the caller, its transaction, and the server's clock reading for this call.
struct CallEnvironment {
    let caller: Caller
    let db: PGConnection
    let nowMs: Int64
    let idempotencyKey: String
    let service: LockboxService

    var policy: Policy { service.policy }

    func audit(
        tenant: String,
        activity: String,
        item: String = "",
        decision: AuditDecision = .none,
        details: [String: JSONValue] = [:]
    ) throws {
        try AuditLog.append(
            AuditEntry(
                tenantID: tenant,
                actorID: caller.id,
                actorDisplay: caller.displayName,
                actorIP: caller.ip,
                activity: activity,
                item: item,
                decision: decision,
                details: details
            ),
            nowMs: nowMs,
            db: db
        )
    }
}

/// The method names of `service Lockbox` in proto/lockbox.proto.
public enum LockboxMethod {
    public static let prefix = "lockbox.v1.Lockbox/"
    public static let ping = prefix + "Ping"
    public static let createAccessRequest = prefix + "CreateAccessRequest"
    public static let cancelAccessRequest = prefix + "CancelAccessRequest"
    public static let getAccessRequest = prefix + "GetAccessRequest"
    public static let listAccessRequests = prefix + "ListAccessRequests"
    public static let decideInternal = prefix + "DecideInternal"
    public static let decideCustomer = prefix + "DecideCustomer"
    public static let revokeAccess = prefix + "RevokeAccess"
    public static let createTenant = prefix + "CreateTenant"
    public static let getTenantSettings = prefix + "GetTenantSettings"
    public static let setTenantSettings = prefix + "SetTenantSettings"
    public static let createPrincipal = prefix + "CreatePrincipal"
    public static let listPrincipals = prefix + "ListPrincipals"
    public static let issueToken = prefix + "IssueToken"
    public static let revokeToken = prefix + "RevokeToken"
    public static let assignRole = prefix + "AssignRole"
    public static let removeRole = prefix + "RemoveRole"
    public static let listRoleAssignments = prefix + "ListRoleAssignments"
    public static let searchAudit = prefix + "SearchAudit"
    public static let exportAudit = prefix + "ExportAudit"
    public static let watchAccessRequests = prefix + "WatchAccessRequests"
    public static let checkAccess = prefix + "CheckAccess"
    public static let listGrants = prefix + "ListGrants"
    public static let listPreapprovedOperations = prefix + "ListPreapprovedOperations"
    public static let addPreapprovedOperation = prefix + "AddPreapprovedOperation"
    public static let removePreapprovedOperation = prefix + "RemovePreapprovedOperation"
}
