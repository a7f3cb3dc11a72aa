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
import LockboxTrust
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
    ///
    /// At most ``HarnessSlots/limit`` harnesses run at once (a second replica inside one shares
    /// its slot): each holds a dozen PostgreSQL connections, and the test cluster has 200.
    package static func with(
        database: TestDatabaseURLs? = nil,
        poolSize: Int = 4,
        watches: WatchConfiguration = WatchConfiguration(),
        statements: PGStatementObserver? = nil,
        observeFeed: Bool = true,
        budgets: BudgetConfiguration = BudgetConfiguration(),
        signer: Signer? = nil,
        notifications: NotificationConfiguration = NotificationConfiguration(),
        policy: Policy = Policy(),
        _ body: (Harness) async throws -> Void
    ) async throws {
        try await withoutActuallyEscaping(body) { body in
            let run = { () async throws -> Void in
                try await Self.run(
                    database: database,
                    poolSize: poolSize,
                    watches: watches,
                    statements: statements,
                    observeFeed: observeFeed,
                    budgets: budgets,
                    signer: signer,
                    notifications: notifications,
                    policy: policy,
                    body
                )
            }
            if HarnessSlots.holding { return try await run() }
            await HarnessSlots.shared.acquire()
            do {
                try await HarnessSlots.$holding.withValue(true) { try await run() }
            } catch {
                await HarnessSlots.shared.release()
                throw error
            }
            await HarnessSlots.shared.release()
        }
    }

    private static func run(
        database: TestDatabaseURLs?,
        poolSize: Int,
        watches: WatchConfiguration,
        statements: PGStatementObserver?,
        observeFeed: Bool,
        budgets: BudgetConfiguration,
        signer: Signer?,
        notifications: NotificationConfiguration,
        policy: Policy,
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
        configuration.policy = policy
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

    /// A one-hour Exchange grant of `requestID` for the world's operator, inserted with SQL as the
    /// owner: what someone with the database, not lockboxd, would write.
    package func writeGrantBehindLockboxdsBack(_ world: World, _ requestID: String) async throws {
        let now = clock.nowMillis()
        _ = try await sql(
            """
            INSERT INTO grants (tenant_id, request_id, operator_id, service, starts_at_ms, ends_at_ms, operations)
            VALUES ('contoso', \(requestID), \(world.operatorID), 'exchange', \(now), \(now + 3_600_000),
                    ARRAY['get-mailbox'])
            """
        )
    }

    /// CheckAccess as the world's service asks it, for the world's operator on contoso's Exchange.
    package func checkAccess(_ world: World, operation: String = "Get-Mailbox", evidence: Bool = false) async throws
        -> CheckAccessResponse
    {
        try await call(
            LockboxMethods.checkAccess,
            CheckAccessRequest(
                tenantID: "contoso",
                service: .exchange,
                operatorID: world.operatorID,
                operation: operation,
                clientIP: "10.0.0.1",
                includeEvidence: evidence
            ),
            token: world.serviceToken
        )
    }

    package func approveInternally(_ world: World, _ id: String) async throws {
        try await api.approveInternally(world, id)
    }
    package func approveByCustomer(_ world: World, _ id: String) async throws {
        try await api.approveByCustomer(world, id)
    }
    package func get(_ id: String, token: String) async throws -> AccessRequest { try await api.get(id, token: token) }

    /// A customer's decision, signed with the key of the principal holding `token` when it has one.
    package func decide(_ world: World, _ decision: CustomerDecision, token: String) async throws(RPCError)
        -> AccessRequest
    {
        try await api.decideCustomer(world, decision, token: token)
    }

    /// The status of ``decide(_:_:token:)``.
    package func decideStatus(_ world: World, _ decision: CustomerDecision, token: String) async -> StatusCode {
        await api.decideStatus(world, decision, token: token)
    }
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
        /// Each tenant's root, and the keys it certified to its admin (to decide and administer)
        /// and its approver (to decide).
        package var roots: [String: TenantSigner]
        package var keys: [String: TenantSigner]

        /// The key the principal holding `token` decides with, if it has one.
        package func signer(for token: String) -> TenantSigner? { keys[token] }
    }

    /// A new Ed25519 tenant key.
    package static func newKey() -> TenantSigner { try! TenantSigner(seed: TenantSigner.newSeed()) }

    /// The enrollment of a tenant's first admin, with `root` as the tenant's root.
    package static func enrollment(
        _ tenantID: String,
        code: String,
        displayName: String,
        root: TenantSigner
    ) -> EnrollTenantAdminRequest {
        let statement = TenantRootStatement(tenantID: tenantID, publicKey: root.publicKey, previousKeyID: "")
        return EnrollTenantAdminRequest(
            tenantID: tenantID,
            code: code,
            displayName: displayName,
            rootPublicKey: root.publicKey,
            rootSignature: root.signature(over: statement.canonicalBytes)
        )
    }

    /// Certifies `key` to `principalID` of `tenantID`, signed by `issuer`, as the admin holding `token`.
    package func certify(
        _ key: TenantSigner,
        to principalID: String,
        of tenantID: String,
        may capabilities: Capabilities,
        by issuer: TenantSigner,
        token: String,
        validMs: Int64 = 365 * 86_400_000
    ) async throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let certificate = KeyCertificate(
            tenantID: tenantID,
            principalID: principalID,
            algorithm: .ed25519,
            publicKey: key.publicKey,
            capabilities: capabilities,
            notBeforeMs: now - 86_400_000,
            notAfterMs: now + validMs,
            issuerKeyID: issuer.keyID
        )
        let signed = issuer.sign(certificate)
        _ = try await call(
            LockboxMethods.certifyKey,
            SignedStatementRequest(
                tenantID: tenantID,
                statement: signed.statement,
                issuerKeyID: issuer.keyID,
                signature: signed.signature
            ),
            token: token
        )
    }

    /// A customer's decision as the principal holding `token` makes it: signed with its key
    /// when it has one (the statement lockboxd prepared; an approval's end brought forward for
    /// a shorter `approvedDurationSeconds`), unsigned otherwise.
    package func decideCustomer(_ world: World, _ decision: CustomerDecision, token: String) async throws(RPCError)
        -> AccessRequest
    {
        var decision = decision
        if decision.decision != .cancel, decision.signedDecision == nil, let signer = world.signer(for: token) {
            let request = try await call(
                LockboxMethods.getAccessRequest,
                GetAccessRequestRequest(requestID: decision.requestID, signingKeyID: signer.keyID),
                token: token
            )
            var bytes = decision.decision == .approve ? request.approveStatement : request.denyStatement
            if decision.approvedDurationSeconds > 0, var statement = try? DecisionStatement(canonicalBytes: bytes) {
                statement.endsAtMs = min(
                    statement.endsAtMs,
                    statement.startsAtMs + decision.approvedDurationSeconds * 1000
                )
                bytes = statement.canonicalBytes
            }
            if !bytes.isEmpty {
                decision.signedDecision = SignedDecision(
                    statement: bytes,
                    keyID: signer.keyID,
                    signature: signer.signature(over: bytes)
                )
            }
        }
        return try await call(LockboxMethods.decideCustomer, decision, token: token)
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

    /// Creates a tenant as the provider admin, and enrolls its first global admin with the code
    /// and `root` as the tenant's root, as the customer would.
    package func createTenant(_ id: String, by admin: String, root: TenantSigner = API.newKey()) async throws
        -> EnrollTenantAdminResponse
    {
        let created = try await call(
            LockboxMethods.createTenant,
            CreateTenantRequest(tenantID: id, displayName: id.capitalized),
            token: admin
        )
        return try await call(
            LockboxMethods.enrollTenantAdmin,
            Self.enrollment(id, code: created.enrollment!.code, displayName: "\(id) admin", root: root),
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

        var roots: [String: TenantSigner] = [:]
        var keys: [String: TenantSigner] = [:]
        func tenant(_ id: String) async throws -> (admin: String, adminID: String, approver: String, approverID: String)
        {
            let root = Self.newKey()
            let enrolled = try await createTenant(id, by: admin, root: root)
            let adminToken = enrolled.token!.secret
            let approver = try await principal("\(id) approver", tenant: id, roles: [.lockboxApprover], by: adminToken)
            let adminKey = Self.newKey()
            let approverKey = Self.newKey()
            try await certify(
                adminKey,
                to: enrolled.admin!.id,
                of: id,
                may: [.decide, .administer],
                by: root,
                token: adminToken
            )
            try await certify(approverKey, to: approver.id, of: id, may: .decide, by: root, token: adminToken)
            roots[id] = root
            keys[adminToken] = adminKey
            keys[approver.token] = approverKey
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
            fabrikamApprover: fabrikam.approver,
            roots: roots,
            keys: keys
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

    /// Switches a tenant's lockbox with a policy signed by the key of the admin holding `token`.
    @discardableResult
    package func setLockbox(_ world: World, tenant: String = "contoso", enabled: Bool, token: String) async throws
        -> TenantPolicyRecord
    {
        guard let signer = world.signer(for: token) else { throw RPCError(.permissionDenied, "no key for that token") }
        let current = try await call(
            LockboxMethods.getTenantTrust,
            GetTenantTrustRequest(tenantID: tenant),
            token: token
        )
        let signed = signer.sign(
            TenantPolicy(
                tenantID: tenant,
                version: (current.policy?.version ?? 0) + 1,
                lockboxEnabled: enabled,
                issuerKeyID: signer.keyID
            )
        )
        return try await call(
            LockboxMethods.setTenantPolicy,
            SignedStatementRequest(
                tenantID: tenant,
                statement: signed.statement,
                issuerKeyID: signer.keyID,
                signature: signed.signature
            ),
            token: token
        )
    }

    /// The status of ``decideCustomer(_:_:token:)``.
    package func decideStatus(_ world: World, _ decision: CustomerDecision, token: String) async -> StatusCode {
        do {
            _ = try await decideCustomer(world, decision, token: token)
            return .ok
        } catch {
            return error.code
        }
    }

    package func approveByCustomer(_ world: World, _ id: String) async throws {
        _ = try await decideCustomer(
            world,
            CustomerDecision(requestID: id, decision: .approve, comment: "go ahead"),
            token: world.contosoApprover
        )
    }

    package func get(_ id: String, token: String) async throws -> AccessRequest {
        try await call(LockboxMethods.getAccessRequest, GetAccessRequestRequest(requestID: id), token: token)
    }
}

/// How many harnesses may run at once, and who waits for a slot.
package actor HarnessSlots {
    package static let shared = HarnessSlots(limit: 12)
    /// Whether the current task holds a slot already (a harness inside a harness).
    @TaskLocal package static var holding = false

    private var available: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { available = limit }

    func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            available += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
