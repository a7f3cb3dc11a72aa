import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import LockboxCore
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxServer
@testable import LockboxStore
import Logging
import ServiceLifecycle

/// An in-process Lockbox: real PostgreSQL, real sockets, a clock the test moves.
package final class Harness: Sendable {
    package static let start: Int64 = 1_800_000_000_000

    package let databaseURL: String
    /// The server's pool, as the runtime role.
    package let pool: PGPool
    /// The schema owner's pool, for fixtures and for checking what the server stored.
    package let ownerPool: PGPool
    package let clock: ManualClock
    package let service: LockboxService
    package let port: Int
    package let client: RPCClient
    package let notifier: RequestNotifier
    /// Seals the audit chains and signs; the tests call it directly rather than wait for its timer.
    package let integrity: AuditIntegrity
    /// The signing key this server was given.
    package let signer: Signer
    /// Delivers email and webhooks when a test says so (``deliverNotifications()``).
    package let dispatcher: NotificationDispatcher

    package let database: TestDatabaseURLs

    private init(
        database: TestDatabaseURLs,
        pool: PGPool,
        ownerPool: PGPool,
        clock: ManualClock,
        service: LockboxService,
        notifier: RequestNotifier,
        integrity: AuditIntegrity,
        signer: Signer,
        dispatcher: NotificationDispatcher,
        port: Int
    ) {
        self.dispatcher = dispatcher
        self.notifier = notifier
        self.integrity = integrity
        self.signer = signer
        self.database = database
        self.databaseURL = database.runtime
        self.pool = pool
        self.ownerPool = ownerPool
        self.clock = clock
        self.service = service
        self.port = port
        client = RPCClient(configuration: RPCClientConfiguration(port: port, defaultTimeout: .seconds(30)))
    }

    package var sweeper: Sweeper { Sweeper(pool: pool, clock: clock, logger: testLogger) }

    /// Sequences the events that committed, then queues and makes every delivery due by the
    /// harness clock: one turn of the dispatcher's loop, now.
    package func deliverNotifications() async throws {
        try await pool.withConnection { [dispatcher] db in
            // Until this call holds the sequencer itself: then everything committed before it is placed.
            while try db.transaction({ db in try EventStore().sequence(limit: 10_000, db) }) == nil {
                usleep(5000)
            }
            try dispatcher.work(db)
        }
    }

    /// Runs `body` against a server on a fresh database (or `database`, as a second replica
    /// would), migrated by the owner and served as the runtime role; tears both down after.
    package static func with(
        database: TestDatabaseURLs? = nil,
        poolSize: Int = 4,
        watches: WatchConfiguration = WatchConfiguration(),
        statements: PGStatementObserver? = nil,
        observeFeed: Bool = true,
        budgets: BudgetConfiguration = BudgetConfiguration(),
        signer: Signer? = nil,
        notifications: NotificationConfiguration = NotificationConfiguration(),
        _ body: (Harness) async throws -> Void
    ) async throws {
        let urls: TestDatabaseURLs
        if let database {
            urls = database
        } else {
            urls = try await TestDatabase.create()
        }
        try await TestDatabase.migrate(urls)
        // The server's connections, each seen by `statements` when a test counts them.
        var settings = PGConnectionSettings()
        settings.observer = statements
        let pool = PGPool(
            configuration: PGPoolConfiguration(url: urls.runtime, size: poolSize, connection: settings),
            logger: testLogger
        )
        let ownerPool = PGPool(configuration: PGPoolConfiguration(url: urls.owner, size: 2), logger: testLogger)
        let clock = ManualClock(millis: start)
        // The feed's follower runs on its own timer: a test counting only what calls cost
        // leaves it out.
        var feedSettings = settings
        if !observeFeed { feedSettings.observer = nil }
        let notifier = RequestNotifier(
            databaseURL: urls.runtime,
            settings: feedSettings,
            configuration: watches,
            logger: testLogger
        )
        let signer = try signer ?? Signer(seed: Signer.newSeed())
        // The timer seals now and then; tests that need the chain current call integrity.seal.
        let integrity = AuditIntegrity(
            pool: pool,
            signer: signer,
            clock: clock,
            configuration: IntegrityConfiguration(sealInterval: .seconds(3600), checkpointInterval: .seconds(3600)),
            logger: testLogger
        )
        // Introduced by the owner role, as lockboxd keys add does.
        try await TestDatabase.introduce(signer.publicKey, owner: ownerPool)
        try await integrity.requireTrustedKey()
        let dispatcher = NotificationDispatcher(
            databaseURL: urls.runtime,
            clock: clock,
            configuration: notifications,
            logger: testLogger
        )
        var configuration = LockboxServiceConfiguration()
        configuration.budgets = budgets
        let service = LockboxService(
            pool: pool,
            clock: clock,
            integrity: integrity,
            configuration: configuration,
            notifier: notifier,
            logger: testLogger
        )
        let server = RPCServer(
            configuration: RPCServerConfiguration(host: "127.0.0.1", port: 0),
            router: service.makeRouter(),
            logger: testLogger
        )
        let group = ServiceGroup(services: [server, notifier], logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try await server.localAddress.port!
            let harness = Harness(
                database: urls,
                pool: pool,
                ownerPool: ownerPool,
                clock: clock,
                service: service,
                notifier: notifier,
                integrity: integrity,
                signer: signer,
                dispatcher: dispatcher,
                port: port
            )
            do {
                try await body(harness)
            } catch {
                await harness.client.close()
                await group.triggerGracefulShutdown()
                await pool.shutdown()
                await ownerPool.shutdown()
                throw error
            }
            await harness.client.close()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            await pool.shutdown()
            await ownerPool.shutdown()
        }
    }

    /// Runs SQL directly, for fixtures and for checking what the server stored.
    package func sql(_ query: PGQuery) async throws -> PGRows { try await ownerPool.sql(query) }

    package var api: API { API(client: client) }

    package func call<Request, Response>(
        _ method: UnaryMethod<Request, Response>,
        _ request: Request,
        token: String,
        key: String = ""
    ) async throws(RPCError) -> Response {
        try await api.call(method, request, token: token, key: key)
    }

    package func status<Request, Response>(
        _ method: UnaryMethod<Request, Response>,
        _ request: Request,
        token: String
    ) async -> StatusCode {
        await api.status(method, request, token: token)
    }

    package typealias World = API.World

    package func makeWorld() async throws -> World {
        let admin = try await Bootstrap.createProviderAdmin(displayName: "Root", pool: pool, clock: clock).token
        return try await api.makeWorld(adminToken: admin)
    }

    package func createRequest(
        _ world: World,
        tenant: String = "contoso",
        token: String? = nil,
        duration: Int64 = 3600,
        key: String = ""
    ) async throws -> AccessRequest {
        try await api.createRequest(world, tenant: tenant, token: token, duration: duration, key: key)
    }

    package func approveInternally(_ world: World, _ id: String) async throws {
        try await api.approveInternally(world, id)
    }
    package func approveByCustomer(_ world: World, _ id: String) async throws {
        try await api.approveByCustomer(world, id)
    }
    package func get(_ id: String, token: String) async throws -> AccessRequest { try await api.get(id, token: token) }
}

/// Typed calls to any Lockbox server, in-process or a real lockboxd.
package struct API: Sendable {
    package let client: RPCClient

    package init(client: RPCClient) { self.client = client }

    package func call<Request, Response>(
        _ method: UnaryMethod<Request, Response>,
        _ request: Request,
        token: String,
        key: String = ""
    ) async throws(RPCError) -> Response {
        try await client.unary(method, request, options: CallOptions(authToken: token, idempotencyKey: key))
    }

    /// The status code of a call: .ok or the error's.
    package func status<Request, Response>(
        _ method: UnaryMethod<Request, Response>,
        _ request: Request,
        token: String
    ) async -> StatusCode {
        do {
            _ = try await call(method, request, token: token)
            return .ok
        } catch {
            return error.code
        }
    }

    // MARK: A world of principals

    package struct World: Sendable {
        package var providerAdmin: String
        package var operatorToken: String
        package var operatorID: String
        package var operator2Token: String
        package var operator2ID: String
        package var managerToken: String
        package var managerID: String
        /// Holds both operator and support_manager: may file, never approve its own.
        package var dualToken: String
        package var dualID: String
        package var auditorToken: String
        package var serviceToken: String
        package var contosoAdmin: String
        package var contosoAdminID: String
        package var contosoApprover: String
        package var contosoApproverID: String
        package var fabrikamAdmin: String
        package var fabrikamApprover: String
    }

    /// Creates a principal with roles (in `tenant`, or a provider one) and issues its token,
    /// acting as `admin`. Returns the token's secret and the principal's id.
    package func principal(_ name: String, tenant: String = "", roles: [LockboxProto.Role], by admin: String)
        async throws
        -> (token: String, id: String)
    {
        let principal = try await call(
            LockboxMethods.createPrincipal,
            CreatePrincipalRequest(
                displayName: name,
                tenantID: tenant,
                roles: roles.map { RoleAssignment(role: $0, tenantID: tenant) }
            ),
            token: admin
        )
        let token = try await call(
            LockboxMethods.issueToken,
            IssueTokenRequest(principalID: principal.id),
            token: admin
        )
        return (token.secret, principal.id)
    }

    /// Creates a tenant as the provider admin, and enrolls its first global admin with the code,
    /// as the customer would.
    package func createTenant(_ id: String, by admin: String) async throws -> EnrollTenantAdminResponse {
        let created = try await call(
            LockboxMethods.createTenant,
            CreateTenantRequest(tenantID: id, displayName: id.capitalized),
            token: admin
        )
        return try await call(
            LockboxMethods.enrollTenantAdmin,
            EnrollTenantAdminRequest(tenantID: id, code: created.enrollment!.code, displayName: "\(id) admin"),
            token: ""
        )
    }

    package func makeWorld(adminToken admin: String) async throws -> World {
        func provider(_ name: String, _ roles: [LockboxProto.Role]) async throws -> (String, String) {
            try await principal(name, roles: roles, by: admin)
        }
        let (operatorToken, operatorID) = try await provider("Olivia Operator", [.operator])
        let (operator2Token, operator2ID) = try await provider("Oscar Operator", [.operator])
        let (managerToken, managerID) = try await provider("Mia Manager", [.supportManager])
        let (dualToken, dualID) = try await provider("Dana Dual", [.operator, .supportManager])
        let (auditorToken, _) = try await provider("Ada Auditor", [.auditor])
        let (serviceToken, _) = try await provider("Mail Store", [.service])

        func tenant(_ id: String) async throws -> (admin: String, adminID: String, approver: String, approverID: String)
        {
            let enrolled = try await createTenant(id, by: admin)
            let adminToken = enrolled.token!.secret
            let approver = try await principal("\(id) approver", tenant: id, roles: [.lockboxApprover], by: adminToken)
            return (adminToken, enrolled.admin!.id, approver.token, approver.id)
        }
        let contoso = try await tenant("contoso")
        let fabrikam = try await tenant("fabrikam")
        return World(
            providerAdmin: admin,
            operatorToken: operatorToken,
            operatorID: operatorID,
            operator2Token: operator2Token,
            operator2ID: operator2ID,
            managerToken: managerToken,
            managerID: managerID,
            dualToken: dualToken,
            dualID: dualID,
            auditorToken: auditorToken,
            serviceToken: serviceToken,
            contosoAdmin: contoso.admin,
            contosoAdminID: contoso.adminID,
            contosoApprover: contoso.approver,
            contosoApproverID: contoso.approverID,
            fabrikamAdmin: fabrikam.admin,
            fabrikamApprover: fabrikam.approver
        )
    }

    package func createRequest(
        _ world: World,
        tenant: String = "contoso",
        token: String? = nil,
        duration: Int64 = 3600,
        key: String = ""
    ) async throws -> AccessRequest {
        try await call(
            LockboxMethods.createAccessRequest,
            CreateAccessRequestRequest(
                tenantID: tenant,
                service: .exchange,
                ticketNumber: "SR-1001",
                justification: "mailbox fails to sync",
                requestedDurationSeconds: duration
            ),
            token: token ?? world.operatorToken,
            key: key
        )
    }

    package func approveInternally(_ world: World, _ id: String) async throws {
        _ = try await call(
            LockboxMethods.decideInternal,
            InternalDecision(requestID: id, approve: true, comment: "ok"),
            token: world.managerToken
        )
    }

    package func approveByCustomer(_ world: World, _ id: String) async throws {
        _ = try await call(
            LockboxMethods.decideCustomer,
            CustomerDecision(requestID: id, decision: .approve, comment: "go ahead"),
            token: world.contosoApprover
        )
    }

    package func get(_ id: String, token: String) async throws -> AccessRequest {
        try await call(LockboxMethods.getAccessRequest, GetAccessRequestRequest(requestID: id), token: token)
    }
}
