import Foundation
import LockboxProto
import LockboxRPC
@testable import LockboxStore
import LockboxTestSupport
import NIOConcurrencyHelpers
import Testing

/// PostgreSQL's own replication under the real lockboxd: a streaming standby made with
/// pg_basebackup, promoted under load; and audit reads served from a standby.
@Suite(.serialized) struct FailoverTests {
    /// A private primary, migrated, with a streaming standby.
    static func pair(synchronous: Bool) async throws -> (PrivatePostgres, PrivateStandby) {
        let primary = try PrivatePostgres()
        let migrate = try Binaries.run(
            "lockboxd",
            ["migrate", "--database-url", primary.urls.owner, "--runtime-role", TestDatabase.runtimeRole]
        )
        try #require(migrate.status == 0, "\(migrate.stderr)")
        // The standby is made first, so that it does not inherit the primary's synchronous settings:
        // promoted, it would wait forever for a standby of its own.
        let standby = try PrivateStandby(of: primary)
        let superuser = try PGConnection(url: primary.urls.superuser)
        if synchronous {
            // A commit returns once the standby has it: none that a client was told of is lost.
            try superuser.execute(script: "ALTER SYSTEM SET synchronous_commit = on")
            try superuser.execute(script: "ALTER SYSTEM SET synchronous_standby_names = '*'")
            try superuser.execute(script: "SELECT pg_reload_conf()")
        }
        try await eventually {
            let rows = try superuser.query("SELECT count(*) AS n FROM pg_stat_replication WHERE state = 'streaming'")
            return try rows.first?.decode("n", as: Int64.self) == 1
        }
        return (primary, standby)
    }

    @Test func lockboxdFollowsAPromotedStandbyAndLosesNothingItAcknowledged() async throws {
        let (primary, standby) = try await Self.pair(synchronous: true)
        defer {
            standby.destroy()
            primary.destroy()
        }
        let both = PrivatePostgres.url(
            primary.urls.runtime,
            hosts: [("127.0.0.1", primary.port), ("127.0.0.1", standby.port)],
            options: "target_session_attrs=read-write"
        )
        let daemon = try Daemon(arguments: [
            "serve", "--port", "0", "--database-url", both, "--pool-size", "4",
            "--db-connect-timeout", "2s", "--db-statement-timeout", "2s", "--db-reply-timeout", "3s",
        ])
        let port = try await daemon.waitUntilListening()
        let api = API(client: RPCClient(configuration: RPCClientConfiguration(port: port, defaultTimeout: .seconds(5))))
        let admin = try ReplicaTests.bootstrap(both)
        let world = try await api.makeWorld(adminToken: admin)

        // Workers file requests, each under its own idempotency key, retrying a key until it is
        // answered OK: what a careful client does across a failover.
        let acknowledged = NIOLockedValueBox([String: String]())  // key → request id
        let failedOver = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
        let firstAfter = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
        let unknownOutcomes = NIOLockedValueBox(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for index in 0..<25 {
                        let key = "w\(worker)-\(index)"
                        let deadline = ContinuousClock.now + .seconds(40)
                        while ContinuousClock.now < deadline {
                            do {
                                let created = try await api.call(
                                    LockboxMethods.createAccessRequest,
                                    CreateAccessRequestRequest(
                                        tenantID: "contoso",
                                        service: .exchange,
                                        ticketNumber: key,
                                        justification: "failover",
                                        requestedDurationSeconds: 600
                                    ),
                                    token: world.operatorToken,
                                    key: key
                                )
                                acknowledged.withLockedValue { $0[key] = created.id }
                                // Decisions and checks run beside the creates; across the
                                // failover they may fail UNAVAILABLE, and that is all.
                                _ = await api.status(
                                    LockboxMethods.decideInternal,
                                    InternalDecision(requestID: created.id, approve: true),
                                    token: world.managerToken
                                )
                                _ = await api.status(
                                    LockboxMethods.checkAccess,
                                    CheckAccessRequest(
                                        tenantID: "contoso",
                                        service: .exchange,
                                        operatorID: world.operatorID,
                                        operation: "Get-Mailbox",
                                        clientIP: "203.0.113.7"
                                    ),
                                    token: world.serviceToken
                                )
                                if failedOver.withLockedValue({ $0 }) != nil {
                                    firstAfter.withLockedValue { $0 = $0 ?? ContinuousClock.now }
                                }
                                break
                            } catch let error as RPCError {
                                #expect(
                                    error.code == .unavailable || error.code == .deadlineExceeded,
                                    "\(key): \(error)"
                                )
                                if error.message.contains("may or may not have taken effect") {
                                    unknownOutcomes.withLockedValue { $0 += 1 }
                                }
                                try await Task.sleep(for: .milliseconds(200))
                            }
                        }
                    }
                }
            }
            group.addTask {
                // The primary is lost a moment into the load, and the standby promoted.
                while acknowledged.withLockedValue({ $0.count }) < 20 { try await Task.sleep(for: .milliseconds(20)) }
                try primary.stop()
                try standby.promote()
                failedOver.withLockedValue { $0 = ContinuousClock.now }
            }
            try await group.waitForAll()
        }
        let acks = acknowledged.withLockedValue { $0 }
        #expect(acks.count == 100, "every key was answered OK in the end")
        let outage = try #require(firstAfter.withLockedValue { $0 }) - (try #require(failedOver.withLockedValue { $0 }))
        #expect(outage < .seconds(30), "lockboxd served again \(outage) after the promotion, without a restart")
        print(
            "failover: served again \(outage) after the promotion; \(unknownOutcomes.withLockedValue { $0 }) unknown commit outcomes reported"
        )

        // On the new primary: every acknowledged request, and one request per key.
        let promoted = try PGConnection(url: standby.urls.superuser)
        let rows = try promoted.query(
            """
            SELECT idempotency_key, count(*) AS n, min(request_id) AS id FROM access_requests
            WHERE idempotency_key IS NOT NULL GROUP BY idempotency_key
            """
        ).rows
        var stored: [String: String] = [:]
        for row in rows {
            let key: String = try row.decode("idempotency_key")
            #expect(try row.decode("n", as: Int64.self) == 1, "key \(key) filed twice")
            stored[key] = try row.decode("id")
        }
        #expect(stored == acks, "every request answered OK is on the promoted standby, and nothing else")
        await api.client.close()
        daemon.terminate()
        #expect(try await daemon.waitForExit() == 0, "\(daemon.stderr)")
    }

    /// With --read-database-url, audit searches and exports read the standby: while its replay
    /// is paused, a record the primary has is not yet in them; once it resumes, it is.
    @Test func auditReadsComeFromTheStandby() async throws {
        let (primary, standby) = try await Self.pair(synchronous: false)
        defer {
            standby.destroy()
            primary.destroy()
        }
        let daemon = try Daemon(arguments: [
            "serve", "--port", "0", "--database-url", primary.urls.runtime,
            "--read-database-url", standby.urls.runtime,
        ])
        let port = try await daemon.waitUntilListening()
        let api = API(client: RPCClient(configuration: RPCClientConfiguration(port: port)))
        let admin = try ReplicaTests.bootstrap(primary.urls.runtime)
        let world = try await api.makeWorld(adminToken: admin)
        func search(_ item: String) async throws -> Int {
            try await api.call(
                LockboxMethods.searchAudit,
                SearchAuditRequest(tenantID: "contoso", item: item),
                token: world.auditorToken
            ).records.count
        }
        func exported(_ item: String) async throws -> Bool {
            var text = ""
            for try await chunk in api.client.serverStream(
                LockboxMethods.exportAudit,
                ExportAuditRequest(tenantID: "contoso", format: .jsonLines),
                options: CallOptions(authToken: world.auditorToken)
            ) { text += String(decoding: chunk.data, as: UTF8.self) }
            return text.contains(item)
        }
        let standbySuperuser = try PGConnection(url: standby.urls.superuser)
        try standbySuperuser.execute(script: "SELECT pg_wal_replay_pause()")
        let id = try await api.createRequest(world).id
        let onPrimary = try PGConnection(url: primary.urls.superuser).query(
            "SELECT count(*) AS n FROM audit_records WHERE item = \(id)"
        )
        #expect(try onPrimary.first?.decode("n", as: Int64.self) == 1)
        #expect(try await search(id) == 0, "the search read the paused standby")
        #expect(try await exported(id) == false, "the export read the paused standby")
        try standbySuperuser.execute(script: "SELECT pg_wal_replay_resume()")
        #expect(try await eventually { try await search(id) == 1 })
        #expect(try await exported(id))
        await api.client.close()
        daemon.terminate()
        #expect(try await daemon.waitForExit() == 0, "\(daemon.stderr)")
    }
}
