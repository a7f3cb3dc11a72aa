import Foundation
import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxServer
import LockboxStore
import Logging
import ServiceLifecycle
import Testing

let testLogger: Logger = {
    var logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()

/// The PostgreSQL that scripts/test starts. Each test gets a database of its own.
enum TestDatabase {
    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "LOCKBOX_TEST_DATABASE_URL is not set: run the tests with scripts/test, which starts PostgreSQL"
        }
    }

    static var serverURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["LOCKBOX_TEST_DATABASE_URL"], !url.isEmpty else {
                throw NotConfigured()
            }
            return url
        }
    }

    static let admin: PGPool? = {
        guard let url = try? serverURL else { return nil }
        return PGPool(configuration: PGPoolConfiguration(url: url, size: 2), logger: testLogger)
    }()

    /// Creates an empty database and returns its URL.
    static func create() async throws -> String {
        let server = try serverURL
        guard let admin else { throw NotConfigured() }
        // A name we generate from random hex: safe to splice, since CREATE DATABASE takes no parameters.
        let name = "lbx_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        try await admin.withConnection { connection in
            try connection.execute(script: "CREATE DATABASE \(name)")
        }
        guard let slash = server.lastIndex(of: "/") else { throw NotConfigured() }
        return server[..<slash] + "/" + name
    }

    static var migrations: [Migration] {
        get throws {
            var url = URL(fileURLWithPath: #filePath)
            while !FileManager.default.fileExists(atPath: url.appending(path: "Package.swift").path) {
                url.deleteLastPathComponent()
            }
            return try Migrator.load(directory: url.appending(path: "migrations").path)
        }
    }
}

/// An in-process Lockbox: real PostgreSQL, real sockets, a clock the test moves.
final class Harness: Sendable {
    static let start: Int64 = 1_800_000_000_000

    let databaseURL: String
    let pool: PGPool
    let clock: ManualClock
    let service: LockboxService
    let port: Int
    let client: RPCClient

    private init(databaseURL: String, pool: PGPool, clock: ManualClock, service: LockboxService, port: Int) {
        self.databaseURL = databaseURL
        self.pool = pool
        self.clock = clock
        self.service = service
        self.port = port
        client = RPCClient(configuration: RPCClientConfiguration(port: port, defaultTimeout: .seconds(30)))
    }

    var sweeper: Sweeper { Sweeper(service: service) }

    /// Runs `body` against a fresh database and server; tears both down after.
    static func with(
        databaseURL: String? = nil,
        poolSize: Int = 4,
        _ body: (Harness) async throws -> Void
    ) async throws {
        let url: String
        if let databaseURL {
            url = databaseURL
        } else {
            url = try await TestDatabase.create()
        }
        let pool = PGPool(configuration: PGPoolConfiguration(url: url, size: poolSize), logger: testLogger)
        try await Migrator.apply(try TestDatabase.migrations, pool: pool, logger: testLogger)
        let clock = ManualClock(millis: start)
        let notifier = RequestNotifier(databaseURL: url, logger: testLogger)
        let service = LockboxService(
            pool: pool,
            clock: clock,
            configuration: LockboxServiceConfiguration(),
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
            let harness = Harness(databaseURL: url, pool: pool, clock: clock, service: service, port: port)
            do {
                try await body(harness)
            } catch {
                await harness.client.close()
                await group.triggerGracefulShutdown()
                await pool.shutdown()
                throw error
            }
            await harness.client.close()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            await pool.shutdown()
        }
    }

    /// Runs SQL directly, for fixtures and for checking what the server stored.
    func sql(_ text: String, _ parameters: [String?] = []) async throws -> PGRows {
        try await pool.withConnection { try $0.query(text, parameters) }
    }

    var api: API { API(client: client) }

    func call<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: String,
        _ request: Request,
        as: Response.Type = Response.self,
        token: String,
        key: String = ""
    ) async throws(RPCError) -> Response {
        try await api.call(method, request, as: Response.self, token: token, key: key)
    }

    func status<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: String,
        _ request: Request,
        as: Response.Type = Response.self,
        token: String
    ) async -> StatusCode {
        await api.status(method, request, as: Response.self, token: token)
    }

    typealias World = API.World

    func makeWorld() async throws -> World {
        let admin = try await Bootstrap.createProviderAdmin(displayName: "Root", pool: pool, clock: clock).token
        return try await api.makeWorld(adminToken: admin)
    }

    func createRequest(
        _ world: World,
        tenant: String = "contoso",
        token: String? = nil,
        duration: Int64 = 3600,
        key: String = ""
    ) async throws -> AccessRequest {
        try await api.createRequest(world, tenant: tenant, token: token, duration: duration, key: key)
    }

    func approveInternally(_ world: World, _ id: String) async throws { try await api.approveInternally(world, id) }
    func approveByCustomer(_ world: World, _ id: String) async throws { try await api.approveByCustomer(world, id) }
    func get(_ id: String, token: String) async throws -> AccessRequest { try await api.get(id, token: token) }
}

/// Typed calls to any Lockbox server, in-process or a real lockboxd.
struct API: Sendable {
    let client: RPCClient

    func call<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: String,
        _ request: Request,
        as: Response.Type = Response.self,
        token: String,
        key: String = ""
    ) async throws(RPCError) -> Response {
        try await client.unary(
            method,
            request,
            as: Response.self,
            options: CallOptions(authToken: token, idempotencyKey: key)
        )
    }

    /// The status code of a call: .ok or the error's.
    func status<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: String,
        _ request: Request,
        as: Response.Type = Response.self,
        token: String
    ) async -> StatusCode {
        do {
            _ = try await call(method, request, as: Response.self, token: token)
            return .ok
        } catch {
            return error.code
        }
    }

    // MARK: A world of principals

    struct World: Sendable {
        var providerAdmin: String
        var operatorToken: String
        var operatorID: String
        var operator2Token: String
        var operator2ID: String
        var managerToken: String
        var managerID: String
        /// Holds both operator and support_manager: may file, never approve its own.
        var dualToken: String
        var dualID: String
        var auditorToken: String
        var serviceToken: String
        var contosoAdmin: String
        var contosoAdminID: String
        var contosoApprover: String
        var contosoApproverID: String
        var fabrikamAdmin: String
        var fabrikamApprover: String
    }

    /// Creates a principal with roles (in `tenant`, or a provider one) and issues its token,
    /// acting as `admin`. Returns the token's secret and the principal's id.
    func principal(_ name: String, tenant: String = "", roles: [LockboxProto.Role], by admin: String) async throws
        -> (token: String, id: String)
    {
        let principal = try await call(
            LockboxMethod.createPrincipal,
            CreatePrincipalRequest(
                displayName: name,
                tenantID: tenant,
                roles: roles.map { RoleAssignment(role: $0, tenantID: tenant) }
            ),
            as: Principal.self,
            token: admin
        )
        let token = try await call(
            LockboxMethod.issueToken,
            IssueTokenRequest(principalID: principal.id),
            as: IssuedToken.self,
            token: admin
        )
        return (token.secret, principal.id)
    }

    func makeWorld(adminToken admin: String) async throws -> World {
        func provider(_ name: String, _ roles: [LockboxProto.Role]) async throws -> (String, String) {
            try await principal(name, roles: roles, by: admin)
        }
        let (operatorToken, operatorID) = try await provider("Olivia Operator", [.operator])
        let (operator2Token, operator2ID) = try await provider("Oscar Operator", [.operator])
        let (managerToken, managerID) = try await provider("Mia Manager", [.supportManager])
        let (dualToken, dualID) = try await provider("Dana Dual", [.operator, .supportManager])
        let (auditorToken, _) = try await provider("Ada Auditor", [.auditor])
        let (serviceToken, _) = try await provider("Mail Store", [.service])

        func tenant(_ id: String) async throws -> (admin: String, adminID: String, approver: String, approverID: String) {
            let created = try await call(
                LockboxMethod.createTenant,
                CreateTenantRequest(tenantID: id, displayName: id.capitalized, adminDisplayName: "\(id) admin"),
                as: CreateTenantResponse.self,
                token: admin
            )
            let adminToken = created.adminToken!.secret
            let approver = try await principal("\(id) approver", tenant: id, roles: [.lockboxApprover], by: adminToken)
            return (adminToken, created.admin!.id, approver.token, approver.id)
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

    func createRequest(
        _ world: World,
        tenant: String = "contoso",
        token: String? = nil,
        duration: Int64 = 3600,
        key: String = ""
    ) async throws -> AccessRequest {
        try await call(
            LockboxMethod.createAccessRequest,
            CreateAccessRequestRequest(
                tenantID: tenant,
                service: .exchange,
                ticketNumber: "SR-1001",
                justification: "mailbox fails to sync",
                requestedDurationSeconds: duration
            ),
            as: AccessRequest.self,
            token: token ?? world.operatorToken,
            key: key
        )
    }

    func approveInternally(_ world: World, _ id: String) async throws {
        _ = try await call(
            LockboxMethod.decideInternal,
            InternalDecision(requestID: id, approve: true, comment: "ok"),
            as: AccessRequest.self,
            token: world.managerToken
        )
    }

    func approveByCustomer(_ world: World, _ id: String) async throws {
        _ = try await call(
            LockboxMethod.decideCustomer,
            CustomerDecision(requestID: id, decision: .approve, comment: "go ahead"),
            as: AccessRequest.self,
            token: world.contosoApprover
        )
    }

    func get(_ id: String, token: String) async throws -> AccessRequest {
        try await call(LockboxMethod.getAccessRequest, GetAccessRequestRequest(requestID: id), as: AccessRequest.self, token: token)
    }
}
