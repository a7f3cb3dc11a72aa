import Foundation
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxTestSupport
import Testing

/// Nothing changes behind the audit log's back (docs/security.md, "Whoever holds the database
/// role"). Each test is an attack made with `psql` as lockboxd's own runtime role, against the
/// real server: what the role does straight in the database is recorded in the chains the
/// customer reads, or refused.
@Suite(.serialized) struct BehindTheLogTests {
    struct Server {
        let database: TestDatabaseURLs
        let daemon: Daemon
        let port: Int
        let api: API
        let world: API.World

        static func start() async throws -> Server {
            let database = try await TestDatabase.migratedURLs()
            let daemon = try Daemon(arguments: [
                "serve", "--port", "0", "--database-url", database.runtime, "--seal-interval", "100ms",
            ])
            let port = try await daemon.waitUntilListening()
            let admin = try ReplicaTests.bootstrap(database.runtime)
            let api = API(client: RPCClient(configuration: RPCClientConfiguration(port: port)))
            let world = try await api.makeWorld(adminToken: admin)
            return Server(database: database, daemon: daemon, port: port, api: api, world: world)
        }

        /// SQL as lockboxd's runtime role; it must succeed.
        func runtime(_ sql: String) throws {
            let output = try Psql.run(database.runtime, sql)
            try #require(output.status == 0, "\(sql): \(output.stderr)")
        }

        /// SQL as lockboxd's runtime role that the database must refuse; its error.
        func refused(_ sql: String) throws -> String {
            let output = try Psql.run(database.runtime, sql)
            #expect(output.status != 0, "the database accepted: \(sql)")
            return output.stderr
        }

        func lockbox(_ arguments: [String], token: String) throws -> Binaries.Output {
            try Binaries.run(
                "lockbox",
                arguments,
                environment: ["LOCKBOX_SERVER": "127.0.0.1:\(port)", "LOCKBOX_TOKEN": token]
            )
        }

        /// `lockbox audit verify --online` of a chain: it must verify; its notices.
        func verifiedNotices(token: String, tenant: String? = nil) throws -> [String] {
            let output = try lockbox(["audit", "verify"] + (tenant.map { ["--tenant", $0] } ?? []), token: token)
            #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
            #expect(output.stdout.hasPrefix("ok: the server's chain"), "\(output.stdout)")
            return output.stdout.split(separator: "\n").filter { $0.hasPrefix("  notice: ") }.map(String.init)
        }

        /// The records of a chain, from an integrity export.
        func chain(token: String, tenant: String? = nil) throws -> AuditExport {
            let output = try lockbox(
                ["audit", "export", "--integrity"] + (tenant.map { ["--tenant", $0] } ?? []),
                token: token
            )
            try #require(output.status == 0, "\(output.stderr)")
            return try AuditExport.parse(output.stdout)
        }

        func stop() async throws {
            await api.client.close()
            daemon.terminate()
            #expect(try await daemon.waitForExit() == 0, "\(daemon.stderr)")
        }
    }

    /// The runtime role changes who may do what straight in the database: every change is in
    /// the tenant's chain, marked as made outside lockboxd, and `lockbox audit verify` says so.
    @Test func directChangesToAuthorityAreRecordedInTheChainsCustomersRead() async throws {
        let server = try await Server.start()
        let approver = server.world.contosoApproverID
        let changes: [(sql: String, activity: String)] = [
            ("UPDATE tenants SET lockbox_enabled = false WHERE tenant_id = 'contoso'", "LockboxDisabled"),
            ("UPDATE tenants SET approval_window_seconds = 7200 WHERE tenant_id = 'contoso'", "TenantSettingsChanged"),
            (
                "INSERT INTO principals (principal_id, tenant_id, display_name, created_at_ms) "
                    + "VALUES ('p_rogue', 'contoso', 'Rogue', 0)",
                "PrincipalCreated"
            ),
            (
                "INSERT INTO role_assignments (principal_id, role, tenant_id, assigned_by, assigned_at_ms) "
                    + "VALUES ('p_rogue', 'lockbox_approver', 'contoso', 'x', 0)",
                "RoleAssigned"
            ),
            (
                "INSERT INTO api_tokens (token_id, principal_id, tenant_id, token_hash, created_at_ms) "
                    + "VALUES ('tok_rogue', 'p_rogue', 'contoso', sha256('rogue'), 0)",
                "TokenIssued"
            ),
            ("UPDATE api_tokens SET expires_at_ms = 99999999999999 WHERE token_id = 'tok_rogue'", "TokenChanged"),
            ("DELETE FROM role_assignments WHERE principal_id = 'p_rogue'", "RoleRemoved"),
            (
                "UPDATE principals SET email = 'attacker@evil.example' WHERE principal_id = '\(approver)'",
                "PrincipalEmailSet"
            ),
            (
                "UPDATE principals SET certificate_sha256 = sha256('cert') WHERE principal_id = '\(approver)'",
                "PrincipalCertificateBound"
            ),
            (
                "UPDATE principals SET certificate_sha256 = NULL WHERE principal_id = '\(approver)'",
                "PrincipalCertificateUnbound"
            ),
            (
                "UPDATE principals SET display_name = 'Contoso Security' WHERE principal_id = 'p_rogue'",
                "PrincipalChanged"
            ),
            ("UPDATE principals SET suspended_at_ms = 1 WHERE principal_id = 'p_rogue'", "PrincipalSuspended"),
            (
                "UPDATE enrollment_codes SET expires_at_ms = expires_at_ms + 1 WHERE tenant_id = 'contoso'",
                "EnrollmentCodeChanged"
            ),
        ]
        for change in changes { try server.runtime(change.sql) }
        let notices = try server.verifiedNotices(token: server.world.contosoAdmin)
        for change in changes {
            #expect(
                notices.contains {
                    $0.contains(": \(change.activity) was made outside lockboxd, by the database role")
                },
                "\(change.activity) not reported: \(notices)"
            )
        }
        let export = try server.chain(token: server.world.contosoAdmin)
        let outside = export.records.filter { $0.details.contains("\"unattributed\": true") }
        #expect(outside.count >= changes.count)
        #expect(outside.allSatisfy { $0.actorID == "database:\(TestDatabase.runtimeRole)" })
        // The address is masked in the record, as ListNotifications masks it.
        let email = try #require(export.records.last { $0.activity == "PrincipalEmailSet" })
        #expect(email.details.contains("\"email\": \"a***@evil.example\""), "\(email.details)")
        #expect(!export.records.contains { $0.details.contains("attacker@evil.example") })
        try await server.stop()
    }

    /// lockboxd's own calls write through the same triggers: one record per change, naming the
    /// caller, its token and its reason.
    @Test func lockboxdsOwnChangesAreRecordedOnceWithTheirCaller() async throws {
        let server = try await Server.start()
        _ = try await server.api.call(
            LockboxMethods.suspendPrincipal,
            SuspendPrincipalRequest(principalID: server.world.contosoApproverID, reason: "on leave"),
            token: server.world.contosoAdmin
        )
        let export = try server.chain(token: server.world.contosoAdmin)
        let suspended = export.records.filter { $0.activity == "PrincipalSuspended" }
        #expect(suspended.count == 1)
        #expect(suspended.first?.actorID == server.world.contosoAdminID)
        #expect(suspended.first?.details.contains("\"reason\": \"on leave\"") == true)
        #expect(suspended.first?.details.contains("\"token_id\": \"tok_") == true)
        #expect(try server.verifiedNotices(token: server.world.contosoAdmin).allSatisfy { !$0.contains("outside") })
        try await server.stop()
    }

    /// A key the runtime role adds is never trusted, and a server with an untrusted key does
    /// not start; rotation by cross-signature keeps working, and every key's arrival is in
    /// every chain.
    @Test func onlyKeysTheOwnerIntroducedOrATrustedKeySignedAreTrusted() async throws {
        let server = try await Server.start()
        let stranger = try Signer(seed: Signer.newSeed())
        let refusal = try server.refused(
            """
            INSERT INTO signing_keys (key_id, public_key, first_seen_at_ms)
            VALUES ('\(stranger.keyID)', '\\x\(stranger.publicKey.publicKey.hex)', 0)
            """
        )
        #expect(refusal.contains("signing_keys_attested"), "\(refusal)")
        // With a made-up cross-signature the row goes in, and counts for nothing.
        try server.runtime(
            """
            INSERT INTO signing_keys (key_id, public_key, first_seen_at_ms, attested_by, attestation)
            VALUES ('\(stranger.keyID)', '\\x\(stranger.publicKey.publicKey.hex)', 0,
                    '\(try TestDatabase.daemonKey.keyID)', '\\x00')
            """
        )
        let keys = try server.lockbox(["audit", "keys"], token: "")
        #expect(keys.status == 0 && !keys.stdout.contains(stranger.keyID), "\(keys.stdout)")
        #expect(keys.stdout.contains(try TestDatabase.daemonKey.keyID))
        // Its arrival is in the customer's chain all the same.
        let notices = try server.verifiedNotices(token: server.world.contosoAdmin)
        #expect(notices.contains { $0.contains("server key \(stranger.keyID) introduced cross-signed by") })
        let daemonKey = try TestDatabase.daemonKey.keyID
        #expect(notices.contains { $0.contains("server key \(daemonKey) introduced by the database's owner role") })
        // A second lockboxd with a key of its own does not start.
        let seed = Data(Signer.newSeed()).base64EncodedString()
        let second = try Daemon(
            arguments: ["serve", "--port", "0", "--database-url", server.database.runtime],
            environment: ["LOCKBOX_SIGNING_KEY": seed]
        )
        #expect(try await second.waitForExit() == 3)
        #expect(second.stderr.contains("is not trusted by the database"), "\(second.stderr)")
        // Nor may the runtime role introduce it with lockboxd keys add.
        let newKey = try Signer(seed: Array(Data(base64Encoded: seed)!))
        let added = try Binaries.run(
            "lockboxd",
            ["keys", "add", "--database-url", server.database.runtime, "--public-key", newKey.publicKey.publicKey.hex]
        )
        #expect(added.status == 5, "\(added.stdout)\(added.stderr)")
        #expect(added.stderr.contains("only its owner role may add a key"), "\(added.stderr)")
        // Rotation: the trusted key cross-signs the new one, which then serves.
        let work = FileManager.default.temporaryDirectory.appending(path: "keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let newKeyFile = work.appending(path: "new.key").path
        #expect(
            FileManager.default.createFile(
                atPath: newKeyFile,
                contents: Data((seed + "\n").utf8),
                attributes: [.posixPermissions: 0o600]
            )
        )
        let crossSigned = try Binaries.run(
            "lockboxd",
            ["keys", "cross-sign", "--database-url", server.database.runtime, "--new-key-file", newKeyFile]
        )
        #expect(crossSigned.status == 0, "\(crossSigned.stderr)")
        #expect(crossSigned.stdout.contains("introduced \(newKey.keyID)"))
        let rotated = try Daemon(
            arguments: ["serve", "--port", "0", "--database-url", server.database.runtime],
            environment: ["LOCKBOX_SIGNING_KEY": seed]
        )
        let rotatedPort = try await rotated.waitUntilListening()
        let after = try Binaries.run(
            "lockbox",
            ["audit", "keys"],
            environment: ["LOCKBOX_SERVER": "127.0.0.1:\(rotatedPort)", "LOCKBOX_TOKEN": ""]
        )
        #expect(after.stdout.contains(newKey.keyID) && !after.stdout.contains(stranger.keyID), "\(after.stdout)")
        rotated.terminate()
        #expect(try await rotated.waitForExit() == 0)
        try await server.stop()
    }

    /// The runtime role cannot choose an audit record's id or time, nor a seal's time; a
    /// checkpoint it forges stops nothing, and the customer's verifier reports it.
    @Test func theDatabaseStampsAuditIdsAndTimesAndAForgedCheckpointIsReported() async throws {
        let server = try await Server.start()
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        // A backdated record with an id of the inserter's choosing: the database gives it its own
        // id and time, and queues it for the chain (the runtime role may not write the queue).
        try server.runtime(
            """
            INSERT INTO audit_records (audit_id, tenant_id, recorded_at_ms, kind, actor_id, actor_display, activity)
            OVERRIDING SYSTEM VALUE VALUES (1, 'contoso', 1, 'lifecycle', 'someone', 'Someone', 'CustomerApprove')
            """
        )
        let stamped = try #require(
            try server.chain(token: server.world.contosoAdmin).records.last { $0.actorID == "someone" }
        )
        #expect(stamped.timeMs >= before, "backdated to \(stamped.timeMs)")
        #expect(stamped.auditID != 1)
        let queue = try server.refused("INSERT INTO audit_unsealed (tenant_id, audit_id) VALUES ('contoso', 1)")
        #expect(queue.contains("permission denied"), "\(queue)")
        let sealTime = try server.refused(
            """
            INSERT INTO audit_seals (tenant_id, seq, audit_id, hash, sealed_at_ms)
            VALUES ('contoso', 100000, \(stamped.auditID), '\\x00', 1)
            """
        )
        #expect(sealTime.contains("stamped with the database's time"), "\(sealTime)")
        // An unsigned "latest" checkpoint: lockboxd passes over it and keeps signing.
        try server.runtime(
            """
            INSERT INTO audit_checkpoints (tenant_id, seq, hash, signed_at_ms, key_id, signature)
            VALUES ('contoso', 1, '\\x00', 0, 'ed25519:forged', '\\x00')
            """
        )
        _ = try await server.api.call(
            LockboxMethods.setTenantSettings,
            SetTenantSettingsRequest(tenantID: "contoso", approvalWindowSeconds: Int64Value(value: 7200)),
            token: server.world.contosoAdmin
        )
        let export = try server.chain(token: server.world.contosoAdmin)
        let last = try #require(export.checkpoints.last)
        let daemonKey = try TestDatabase.daemonKey
        #expect(last.statement.seq == export.records.last?.seq && last.verifies(with: [daemonKey]))
        let verified = try server.lockbox(["audit", "verify"], token: server.world.contosoAdmin)
        #expect(verified.status == 1)
        #expect(
            verified.stdout.contains("ed25519:forged) is signed with a key that is not among the trusted keys"),
            "\(verified.stdout)"
        )
        try await server.stop()
    }

    /// A pre-approved operation the runtime role adds while a grant is live does not widen it;
    /// the addition is in every tenant's chain.
    @Test func aLiveGrantIsNotWidenedByAnOperationAddedLater() async throws {
        let server = try await Server.start()
        let w = server.world
        let id = try await server.api.createRequest(w).id
        try await server.api.approveInternally(w, id)
        try await server.api.approveByCustomer(w, id)
        try server.runtime(
            """
            INSERT INTO preapproved_operations (service, operation, description, created_by, created_at_ms)
            VALUES ('exchange', 'Export-Mailbox', 'everything', 'x', 0)
            """
        )
        let check = try await server.api.call(
            LockboxMethods.checkAccess,
            CheckAccessRequest(
                tenantID: "contoso",
                service: .exchange,
                operatorID: w.operatorID,
                operation: "Export-Mailbox",
                clientIP: "10.0.0.1"
            ),
            token: w.serviceToken
        )
        #expect(!check.allowed && check.reason == .operationNotPreapproved)
        for (token, tenant) in [(w.contosoAdmin, "contoso"), (w.fabrikamAdmin, "fabrikam")] {
            let notices = try server.verifiedNotices(token: token)
            #expect(
                notices.contains { $0.contains("PreapprovedOperationAdded was made outside lockboxd") },
                "\(tenant): \(notices)"
            )
        }
        try await server.stop()
    }
}
