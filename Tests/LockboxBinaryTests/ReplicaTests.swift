import Foundation
import LockboxProto
import LockboxRPC
import LockboxServer
@testable import LockboxStore
import LockboxTestSupport
import Testing

/// Two real `lockboxd` processes against one database.
@Suite(.serialized) struct ReplicaTests {
    static func startPair(_ url: String) async throws -> (Daemon, Daemon, API, API) {
        let arguments = ["serve", "--port", "0", "--database-url", url, "--sweep-interval", "50ms", "--pool-size", "4"]
        let first = try Daemon(arguments: arguments)
        let second = try Daemon(arguments: arguments)
        let firstPort = try await first.waitUntilListening()
        let secondPort = try await second.waitUntilListening()
        return (
            first, second,
            API(client: RPCClient(configuration: RPCClientConfiguration(port: firstPort))),
            API(client: RPCClient(configuration: RPCClientConfiguration(port: secondPort)))
        )
    }

    static func bootstrap(_ url: String) throws -> String {
        let output = try Binaries.run("lockboxd", ["bootstrap", "--database-url", url])
        guard output.status == 0,
            let line = output.stdout.split(separator: "\n").first(where: { $0.hasPrefix("token") })
        else {
            throw DaemonFailed(stderr: output.stderr)
        }
        return String(line.split(separator: " ").last!)
    }

    static func stop(_ daemons: Daemon...) async throws {
        for daemon in daemons { daemon.terminate() }
        for daemon in daemons { #expect(try await daemon.waitForExit() == 0, "\(daemon.stderr)") }
    }

    @Test func migratingTogetherOnAnEmptyDatabaseMigratesOnceAndServersWaitForIt() async throws {
        let database = try await TestDatabase.create()
        // The servers start first, and wait for the schema.
        let servers = ["serve", "--port", "0", "--database-url", database.runtime, "--pool-size", "2"]
        let first = try Daemon(arguments: servers)
        let second = try Daemon(arguments: servers)
        let migrate = ["migrate", "--database-url", database.owner, "--runtime-role", TestDatabase.runtimeRole]
        async let one = Task.detached { try Binaries.run("lockboxd", migrate) }.value
        async let two = Task.detached { try Binaries.run("lockboxd", migrate) }.value
        let outputs = try await [one, two]
        #expect(outputs.allSatisfy { $0.status == 0 }, "\(outputs.map(\.stderr))")
        let migrations = try TestDatabase.migrations
        let applied = outputs.map { $0.stderr.components(separatedBy: "applied migration").count - 1 }
        #expect(applied.reduce(0, +) == migrations.count, "each migration applied by exactly one process")
        let a = API(
            client: RPCClient(configuration: RPCClientConfiguration(port: try await first.waitUntilListening()))
        )
        let b = API(
            client: RPCClient(configuration: RPCClientConfiguration(port: try await second.waitUntilListening()))
        )
        let pool = PGPool(configuration: PGPoolConfiguration(url: database.owner, size: 1), logger: testLogger)
        let rows = try await pool.sql("SELECT version FROM schema_migrations ORDER BY version")
        #expect(try rows.rows.map { Int(try $0.int64("version")) } == migrations.map(\.version))
        await pool.shutdown()
        // Both serve.
        #expect(try await a.client.unary(LockboxMethods.ping, PingRequest()).version == LockboxVersion.current)
        #expect(try await b.client.unary(LockboxMethods.ping, PingRequest()).version == LockboxVersion.current)
        await a.client.close()
        await b.client.close()
        try await Self.stop(first, second)
    }

    @Test func conflictingDecisionsOnTwoReplicasHaveOneWinner() async throws {
        let url = try await TestDatabase.migratedURLs().runtime
        let (first, second, a, b) = try await Self.startPair(url)
        let world = try await a.makeWorld(adminToken: try Self.bootstrap(url))
        for round in 0..<5 {
            let id = try await a.createRequest(world).id
            try await b.approveInternally(world, id)
            let codes = await withTaskGroup(of: StatusCode.self) { group in
                for index in 0..<10 {
                    let api = index % 2 == 0 ? a : b
                    group.addTask {
                        await api.decideStatus(
                            world,
                            CustomerDecision(requestID: id, decision: index % 4 < 2 ? .approve : .deny),
                            token: index % 3 == 0 ? world.contosoAdmin : world.contosoApprover
                        )
                    }
                }
                return await group.reduce(into: [StatusCode]()) { $0.append($1) }
            }
            #expect(codes.filter { $0 == .ok }.count == 1, "round \(round): \(codes)")
            #expect(codes.filter { $0 == .failedPrecondition }.count == 9, "round \(round)")
        }
        await a.client.close()
        await b.client.close()
        try await Self.stop(first, second)
    }

    @Test func sweepersOnTwoReplicasAuditEachExpiryOnce() async throws {
        let url = try await TestDatabase.migratedURLs().runtime
        let (first, second, a, b) = try await Self.startPair(url)
        let world = try await a.makeWorld(adminToken: try Self.bootstrap(url))
        let pool = PGPool(configuration: PGPoolConfiguration(url: url, size: 1), logger: testLogger)
        // Requests whose customer deadline already passed, and grants that already ended.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try await pool.transaction { (db: PGConnection) throws in
            for index in 0..<60 {
                let approved = index % 3 == 0
                try db.query(
                    """
                    INSERT INTO access_requests (tenant_id, request_id, service, ticket_number, justification,
                        requested_duration_seconds, requester_id, status, created_at_ms, updated_at_ms, customer_deadline_ms)
                    VALUES ('contoso', \("req_fixture_\(index)"), 'exchange', 'T', 'j', 600, \(world.operatorID),
                            \(approved ? "APPROVED" : "PENDING_CUSTOMER"), \(now - 100_000), \(now - 100_000), \(now - 1000))
                    """
                )
                if approved {
                    try db.query(
                        """
                        INSERT INTO grants (tenant_id, request_id, operator_id, service, starts_at_ms, ends_at_ms,
                                            operations)
                        VALUES ('contoso', \("req_fixture_\(index)"), \(world.operatorID), 'exchange', \(now - 700_000),
                                \(now - 100_000), ARRAY['get-mailbox'])
                        """
                    )
                }
            }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        while clock.now < deadline {
            let left = try await pool.withConnection {
                try $0.query(
                    "SELECT count(*) AS n FROM access_requests WHERE status IN ('PENDING_CUSTOMER', 'APPROVED')"
                )
            }
            if try left.first?.int64("n") == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let audits = try await pool.withConnection {
            try $0.query(
                """
                SELECT r.request_id, r.status, count(a.audit_id) AS n
                FROM access_requests r
                LEFT JOIN audit_records a ON a.item = r.request_id AND a.activity IN ('RequestExpired', 'GrantCompleted')
                WHERE r.request_id LIKE 'req_fixture_%'
                GROUP BY r.request_id, r.status
                """
            )
        }
        #expect(audits.count == 60)
        for row in audits.rows {
            let id = try row.string("request_id")
            #expect(try row.int64("n") == 1, "\(id) audited more or less than once")
            #expect(try ["EXPIRED", "COMPLETED"].contains(row.string("status")))
        }
        await pool.shutdown()
        await a.client.close()
        await b.client.close()
        try await Self.stop(first, second)
    }

    @Test func aChangedMigrationStopsMigrateAndServe() async throws {
        let database = try await TestDatabase.migratedURLs()
        let pool = PGPool(configuration: PGPoolConfiguration(url: database.owner, size: 1), logger: testLogger)
        _ = try await pool.sql("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1")
        await pool.shutdown()
        let output = try Binaries.run("lockboxd", ["migrate", "--database-url", database.owner])
        #expect(output.status != 0)
        #expect(output.stderr.contains("migration 0001_initial.sql was changed after it was applied"))
        let serve = try Binaries.run("lockboxd", ["serve", "--port", "0", "--database-url", database.runtime])
        #expect(serve.status == 3)
        #expect(serve.stderr.contains("run lockboxd migrate"))
    }
}
