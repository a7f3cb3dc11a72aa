import Foundation
import LockboxCore
import LockboxIntegrity
import LockboxProto
import LockboxRPC
@testable import LockboxStore
import LockboxTestSupport
import Testing

/// The audit chain against the real binaries: the database administrator (the test's
/// superuser, triggers off) changes history, and `lockbox audit verify` names the record or
/// checkpoint; two replicas append at once; a second implementation agrees.
@Suite(.serialized) struct AuditIntegrityTests {
    /// A server with a tenant's worth of history, and a scratch directory.
    struct Setup {
        let database: TestDatabaseURLs
        let daemon: Daemon
        let port: Int
        let world: API.World
        let work: URL

        var environment: [String: String] {
            ["LOCKBOX_SERVER": "127.0.0.1:\(port)", "LOCKBOX_TOKEN": world.contosoAdmin]
        }

        func lockbox(_ arguments: [String], token: String? = nil) throws -> Binaries.Output {
            var environment = environment
            if let token { environment["LOCKBOX_TOKEN"] = token }
            return try Binaries.run("lockbox", arguments, environment: environment)
        }

        /// Saves an integrity export of contoso's chain, as contoso's admin, and returns its path.
        func export(_ name: String) throws -> String {
            let output = try lockbox(["audit", "export", "--integrity"])
            try #require(output.status == 0, "\(output.stderr)")
            let path = work.appending(path: name).path
            try output.stdout.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        func verify(_ exports: [String], keys: String) throws -> Binaries.Output {
            try lockbox(["audit", "verify", "--keys", keys] + exports.flatMap { ["--export", $0] })
        }

        /// Runs SQL as the database administrator, with triggers (and foreign keys) switched off.
        func tamper(_ statements: [PGQuery]) throws {
            let connection = try PGConnection(url: database.superuser)
            try connection.execute(script: "BEGIN; SET LOCAL session_replication_role = replica")
            for statement in statements { _ = try connection.query(statement) }
            try connection.execute(script: "COMMIT")
        }

        func superuserRows(_ query: PGQuery) throws -> PGRows {
            try PGConnection(url: database.superuser).query(query)
        }

        func stop() async throws {
            daemon.terminate()
            #expect(try await daemon.waitForExit() == 0, "\(daemon.stderr)")
            try? FileManager.default.removeItem(at: work)
        }
    }

    static func start() async throws -> Setup {
        let database = try await TestDatabase.migratedURLs()
        let daemon = try Daemon(arguments: [
            "serve", "--port", "0", "--database-url", database.runtime, "--seal-interval", "100ms",
        ])
        let port = try await daemon.waitUntilListening()
        let admin = try ReplicaTests.bootstrap(database.runtime)
        let api = API(client: RPCClient(configuration: RPCClientConfiguration(port: port)))
        let world = try await api.makeWorld(adminToken: admin)
        for _ in 0..<4 {
            let created = try await api.call(
                LockboxMethods.createAccessRequest,
                CreateAccessRequestRequest(
                    tenantID: "contoso",
                    service: .exchange,
                    ticketNumber: "SR-1",
                    justification: "mailbox repair",
                    requestedDurationSeconds: 3600
                ),
                token: world.operatorToken
            )
            try await api.approveInternally(world, created.id)
        }
        await api.client.close()
        let work = FileManager.default.temporaryDirectory.appending(path: "integrity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        return Setup(database: database, daemon: daemon, port: port, world: world, work: work)
    }

    enum Tampering: String, CaseIterable, Sendable {
        case edited, deleted, inserted, swapped, cutOff, checkpointReplaced, unknownKey
    }

    /// The audit id of contoso's record at `seq`.
    static func auditID(_ setup: Setup, seq: Int64) throws -> Int64 {
        try setup.superuserRows("SELECT audit_id FROM audit_seals WHERE tenant_id = 'contoso' AND seq = \(seq)")
            .first!.decode("audit_id")
    }

    @Test(arguments: Tampering.allCases)
    func verifyNamesWhatTheAdministratorChanged(_ tampering: Tampering) async throws {
        let setup = try await Self.start()
        // The customer saves the keys and an export, which verifies.
        let keysOutput = try setup.lockbox(["audit", "keys"], token: "")
        try #require(keysOutput.status == 0, "\(keysOutput.stderr)")
        let keys = setup.work.appending(path: "keys.json").path
        try keysOutput.stdout.write(toFile: keys, atomically: true, encoding: .utf8)
        let before = try setup.export("before.jsonl")
        let clean = try setup.verify([before], keys: keys)
        #expect(clean.status == 0 && clean.stdout.hasPrefix("ok: "), "\(clean.stdout)\(clean.stderr)")
        let last: Int64 = try setup.superuserRows("SELECT max(seq) AS top FROM audit_seals WHERE tenant_id = 'contoso'")
            .first!.decode("top")
        try #require(last >= 10)
        let fifth = try Self.auditID(setup, seq: 5)

        let expected: String
        switch tampering {
        case .edited:
            try setup.tamper(["UPDATE audit_records SET actor_ip = '198.51.100.1' WHERE audit_id = \(fifth)"])
            expected = "record seq 5 (audit id \(fifth)) was edited"
        case .deleted:
            try setup.tamper([
                "DELETE FROM audit_seals WHERE tenant_id = 'contoso' AND seq = 5",
                "DELETE FROM audit_records WHERE audit_id = \(fifth)",
            ])
            expected = "record seq 5 is missing"
        case .inserted:
            let hash: PGBytes = try setup.superuserRows(
                "SELECT hash FROM audit_seals WHERE tenant_id = 'contoso' AND seq = 5"
            ).first!.decode("hash")
            try setup.tamper([
                "UPDATE audit_seals SET seq = seq + 1000000 WHERE tenant_id = 'contoso' AND seq >= 5",
                "UPDATE audit_seals SET seq = seq - 999999 WHERE tenant_id = 'contoso' AND seq > 1000000",
                """
                WITH forged AS (
                    INSERT INTO audit_records (tenant_id, recorded_at_ms, kind, actor_id, actor_display, activity)
                    VALUES ('contoso', 1, 'lifecycle', 'someone', 'Someone', 'CustomerApprove')
                    RETURNING tenant_id, audit_id
                )
                INSERT INTO audit_seals (tenant_id, seq, audit_id, hash, sealed_at_ms)
                SELECT tenant_id, 5, audit_id, \(hash),
                       (SELECT sealed_at_ms FROM audit_seals WHERE tenant_id = 'contoso' AND seq = 4)
                FROM forged
                """,
                // lockboxd would refuse to sign a head its checkpoints contradict: they go too.
                "DELETE FROM audit_checkpoints WHERE tenant_id = 'contoso'",
            ])
            let forged = try Self.auditID(setup, seq: 5)
            expected = "record seq 5 (audit id \(forged)) was inserted"
        case .swapped:
            try setup.tamper([
                "UPDATE audit_seals SET seq = 1000005 WHERE tenant_id = 'contoso' AND seq = 5",
                "UPDATE audit_seals SET seq = 5 WHERE tenant_id = 'contoso' AND seq = 6",
                "UPDATE audit_seals SET seq = 6 WHERE tenant_id = 'contoso' AND seq = 1000005",
            ])
            let sixth = try Self.auditID(setup, seq: 5)
            expected = "record seq 5 (audit id \(sixth)) belongs at seq 6: records were reordered"
        case .cutOff:
            let tail = try setup.superuserRows(
                "SELECT audit_id FROM audit_seals WHERE tenant_id = 'contoso' AND seq > \(last - 2)"
            ).rows.map { try $0.decode("audit_id") as Int64 }
            try setup.tamper([
                "DELETE FROM audit_seals WHERE tenant_id = 'contoso' AND seq > \(last - 2)",
                "DELETE FROM audit_records WHERE tenant_id = 'contoso' AND audit_id = ANY(\(PGTextArray(tail.map(String.init)))::bigint[])",
                "DELETE FROM audit_checkpoints WHERE tenant_id = 'contoso' AND seq > \(last - 2)",
            ])
            expected = "records seq \(last - 1)…\(last) were cut off"
        case .checkpointReplaced:
            // Backdated by an hour: no longer what was signed.
            try setup.tamper([
                "UPDATE audit_checkpoints SET signed_at_ms = signed_at_ms - 3600000 WHERE tenant_id = 'contoso'"
            ])
            expected = "checkpoint seq \(last) (signed at"
        case .unknownKey:
            let attacker = try Signer(seed: [UInt8](repeating: 66, count: 32))
            let head: PGBytes = try setup.superuserRows(
                "SELECT hash FROM audit_seals WHERE tenant_id = 'contoso' AND seq = \(last)"
            ).first!.decode("hash")
            let forged = attacker.sign(
                CheckpointStatement(
                    scope: "contoso",
                    seq: last,
                    hash: head.bytes,
                    signedAtMs: 2_000_000_000_000,
                    keyID: attacker.keyID
                )
            )
            try setup.tamper([
                """
                INSERT INTO signing_keys (key_id, public_key, first_seen_at_ms, attested_by, attestation)
                VALUES (\(attacker.keyID), \(PGBytes(attacker.publicKey.publicKey)), 1, 'ed25519:0000000000000000',
                        '\\x00'::bytea)
                """,
                """
                INSERT INTO audit_checkpoints (tenant_id, seq, hash, signed_at_ms, key_id, signature)
                VALUES ('contoso', \(last), \(head), 2000000000000, \(attacker.keyID), \(PGBytes(forged.signature)))
                """,
            ])
            expected = "by \(attacker.keyID)) is signed with a key that is not among the trusted keys"
        }
        // A fresh export from the server, checked after the one saved before, against the keys
        // the customer saved.
        let after = try setup.export("after.jsonl")
        let failed = try setup.verify([before, after], keys: keys)
        #expect(failed.status == 1, "\(tampering): \(failed.stdout)\(failed.stderr)")
        let lines = failed.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("ok: \(before)") == true, "\(tampering): \(failed.stdout)")
        let first = lines.first { $0.hasPrefix("FAILED: ") } ?? ""
        #expect(first.hasPrefix("FAILED: \(after): "), "\(tampering): \(failed.stdout)")
        #expect(first.contains(expected), "\(tampering): \(failed.stdout)")
        if tampering == .checkpointReplaced {
            #expect(first.contains("its signature does not verify"), "\(failed.stdout)")
        }
        // The second implementation, from the documentation alone, agrees that it fails. It
        // reads one file: the new export, with the saved export's checkpoints added.
        let savedCheckpoints = try String(contentsOfFile: before, encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix("{\"hash\"") && $0.contains("\"type\":\"checkpoint\"") }
        let combined = setup.work.appending(path: "combined.jsonl").path
        try (String(contentsOfFile: after, encoding: .utf8) + savedCheckpoints.map { $0 + "\n" }.joined())
            .write(toFile: combined, atomically: true, encoding: .utf8)
        let python = try Binaries.runPath(
            "/usr/bin/python3",
            [packageRoot.appending(path: "Tests/Interop/verify_export.py").path, combined, keys]
        )
        #expect(
            python.status == 1 && python.stdout.hasPrefix("FAILED"),
            "\(tampering): \(python.stdout)\(python.stderr)"
        )
        try await setup.stop()
    }

    /// The administrator rewrites a record and recomputes the chain but leaves the checkpoints:
    /// lockboxd refuses to sign the rewritten head, so the export fails, loudly.
    @Test func theServerRefusesToSignARewrittenChain() async throws {
        let setup = try await Self.start()
        _ = try setup.export("before.jsonl")
        let last: Int64 = try setup.superuserRows("SELECT max(seq) AS top FROM audit_seals WHERE tenant_id = 'contoso'")
            .first!.decode("top")
        try setup.tamper([
            "UPDATE audit_seals SET hash = sha256(hash) WHERE tenant_id = 'contoso' AND seq >= \(last - 1)"
        ])
        let refused = try setup.lockbox(["audit", "export", "--integrity"])
        #expect(refused.status == 5, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("no longer extends its latest checkpoint"), "\(refused.stderr)")
        let checkpoint = try setup.lockbox(["audit", "checkpoint"])
        #expect(checkpoint.status == 5, "\(checkpoint.stdout)\(checkpoint.stderr)")
        try await setup.stop()
        #expect(setup.daemon.stderr.contains("refusing to sign it"), "\(setup.daemon.stderr)")
    }

    @Test func aForkIsShownFromTwoExports() async throws {
        let setup = try await Self.start()
        let keysOutput = try setup.lockbox(["audit", "keys"])
        let keys = setup.work.appending(path: "keys.json").path
        try keysOutput.stdout.write(toFile: keys, atomically: true, encoding: .utf8)
        let before = try setup.export("before.jsonl")
        let last: Int64 = try setup.superuserRows("SELECT max(seq) AS top FROM audit_seals WHERE tenant_id = 'contoso'")
            .first!.decode("top")
        // The administrator rewrites the last record and, holding the key, signs the new history.
        let lastID = try Self.auditID(setup, seq: last)
        let previous: PGBytes = try setup.superuserRows(
            "SELECT hash FROM audit_seals WHERE tenant_id = 'contoso' AND seq = \(last - 1)"
        ).first!.decode("hash")
        try setup.tamper(["UPDATE audit_records SET actor_ip = '198.51.100.9' WHERE audit_id = \(lastID)"])
        let record = try AuditExport.parse(String(contentsOfFile: before, encoding: .utf8)).records.last!
        var rewritten = record
        rewritten.actorIP = "198.51.100.9"
        let hash = rewritten.computedHash(seq: last, previous: previous.bytes)
        let signer = try Signer(seed: Array(Data(base64Encoded: Daemon.testSigningKey)!))
        let signed = signer.sign(
            CheckpointStatement(
                scope: "contoso",
                seq: last,
                hash: hash,
                signedAtMs: 2_000_000_000_000,
                keyID: signer.keyID
            )
        )
        try setup.tamper([
            "UPDATE audit_seals SET hash = \(PGBytes(hash)) WHERE tenant_id = 'contoso' AND seq = \(last)",
            "DELETE FROM audit_checkpoints WHERE tenant_id = 'contoso'",
            """
            INSERT INTO audit_checkpoints (tenant_id, seq, hash, signed_at_ms, key_id, signature)
            VALUES ('contoso', \(last), \(PGBytes(hash)), 2000000000000, \(signer.keyID), \(PGBytes(signed.signature)))
            """,
        ])
        let after = try setup.export("after.jsonl")
        // Alone, the rewritten history verifies: the key signed it.
        let alone = try setup.verify([after], keys: keys)
        #expect(alone.status == 0, "\(alone.stdout)")
        // Beside the export the customer saved before, it is a fork.
        let both = try setup.verify([before, after], keys: keys)
        #expect(both.status == 1, "\(both.stdout)")
        #expect(both.stdout.contains("FORK: "), "\(both.stdout)")
        #expect(both.stdout.contains("the server signed two histories at seq \(last)"), "\(both.stdout)")
        try await setup.stop()
    }

    /// Two lockboxd processes append to one database at once, while other transactions that
    /// append roll back on purpose; every chain verifies afterwards, online and offline, and
    /// the second implementation computes the same head.
    @Test func twoReplicasAppendingTogetherLeaveAChainThatVerifies() async throws {
        let database = try await TestDatabase.migratedURLs()
        let arguments = ["serve", "--port", "0", "--database-url", database.runtime, "--seal-interval", "20ms"]
        let first = try Daemon(arguments: arguments)
        let second = try Daemon(arguments: arguments)
        let ports = [try await first.waitUntilListening(), try await second.waitUntilListening()]
        let admin = try ReplicaTests.bootstrap(database.runtime)
        let apis = ports.map { API(client: RPCClient(configuration: RPCClientConfiguration(port: $0))) }
        let world = try await apis[0].makeWorld(adminToken: admin)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<6 {
                let api = apis[worker % 2]
                group.addTask {
                    for _ in 0..<15 {
                        let created = try await api.call(
                            LockboxMethods.createAccessRequest,
                            CreateAccessRequestRequest(
                                tenantID: worker % 3 == 0 ? "fabrikam" : "contoso",
                                service: .teams,
                                ticketNumber: "SR-\(worker)",
                                justification: "replicas",
                                requestedDurationSeconds: 600
                            ),
                            token: world.operatorToken
                        )
                        try await api.approveInternally(world, created.id)
                    }
                }
            }
            group.addTask {
                let audit = AuditStore()
                let connection = try PGConnection(url: database.runtime)
                for index in 0..<40 {
                    try connection.execute(script: "BEGIN")
                    try audit.append(
                        AuditEntry(
                            tenantID: "contoso",
                            kind: .lifecycle,
                            actorID: "rolled-back",
                            actorDisplay: "never committed",
                            actorIP: "",
                            activity: "RolledBack\(index)",
                            item: "",
                            details: [:]
                        ),
                        connection
                    )
                    try await Task.sleep(for: .milliseconds(5))
                    try connection.execute(script: "ROLLBACK")
                }
            }
            try await group.waitForAll()
        }
        for api in apis { await api.client.close() }
        let work = FileManager.default.temporaryDirectory.appending(path: "replicas-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let keysPath = work.appending(path: "keys.json").path
        let keys = try Binaries.run("lockbox", ["audit", "keys", "--server", "127.0.0.1:\(ports[1])"])
        try keys.stdout.write(toFile: keysPath, atomically: true, encoding: .utf8)
        for (tenant, token) in [("contoso", world.contosoAdmin), ("fabrikam", world.fabrikamAdmin)] {
            let environment = ["LOCKBOX_SERVER": "127.0.0.1:\(ports[0])", "LOCKBOX_TOKEN": token]
            let online = try Binaries.run("lockbox", ["audit", "verify", "--keys", keysPath], environment: environment)
            #expect(
                online.status == 0 && online.stdout.hasPrefix("ok: "),
                "\(tenant): \(online.stdout)\(online.stderr)"
            )
            let export = try Binaries.run("lockbox", ["audit", "export", "--integrity"], environment: environment)
            let path = work.appending(path: "\(tenant).jsonl").path
            try export.stdout.write(toFile: path, atomically: true, encoding: .utf8)
            let parsed = try AuditExport.parse(export.stdout)
            #expect(!parsed.records.contains { $0.actorID == "rolled-back" })
            let pool = PGPool(configuration: PGPoolConfiguration(url: database.owner, size: 1), logger: testLogger)
            let count = try await pool.sql("SELECT count(*) AS n FROM audit_records WHERE tenant_id = \(tenant)")
                .first!.int64("n")
            await pool.shutdown()
            #expect(Int64(parsed.records.count) == count, "\(tenant): every committed record, once")
            let python = try Binaries.runPath(
                "/usr/bin/python3",
                [packageRoot.appending(path: "Tests/Interop/verify_export.py").path, path, keysPath]
            )
            #expect(python.status == 0, "\(python.stdout)\(python.stderr)")
            // Both implementations arrive at the same head.
            #expect(python.stdout.hasSuffix(" \(parsed.records.last!.hash.hex)\n"), "\(python.stdout)")
        }
        for daemon in [first, second] { daemon.terminate() }
        for daemon in [first, second] { #expect(try await daemon.waitForExit() == 0, "\(daemon.stderr)") }
    }
}
