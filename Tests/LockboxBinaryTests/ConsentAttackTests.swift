import Foundation
import LockboxIntegrity
import LockboxProto
import LockboxRPC
@testable import LockboxServer
import LockboxTestSupport
import LockboxTrust
import Testing

/// Consent lockboxd cannot forge (docs/security.md): each attack is made with `psql` as
/// lockboxd's own runtime role, or with lockboxd's own signing key, against the real server.
/// Without the customer's keys, none of them opens access.
@Suite(.serialized) struct ConsentAttackTests {
    typealias Server = BehindTheLogTests.Server

    static func check(_ server: Server, evidence: Bool = false) async throws -> CheckAccessResponse {
        try await server.api.call(
            LockboxMethods.checkAccess,
            CheckAccessRequest(
                tenantID: "contoso",
                service: .exchange,
                operatorID: server.world.operatorID,
                operation: "Get-Mailbox",
                clientIP: "10.0.0.1",
                includeEvidence: evidence
            ),
            token: server.world.serviceToken
        )
    }

    /// A request approved and granted by SQL, and a lockbox switched off by a column: CheckAccess
    /// denies, because no decision the customer's key signed backs the grant.
    @Test func aGrantWrittenBySQLOrALockboxSwitchedOffByAColumnOpensNothing() async throws {
        let server = try await Server.start()
        let w = server.world
        let id = try await server.api.createRequest(w).id
        try server.runtime(
            """
            BEGIN;
            UPDATE access_requests SET status = 'APPROVED' WHERE request_id = '\(id)';
            INSERT INTO grants (tenant_id, request_id, operator_id, service, starts_at_ms, ends_at_ms, operations)
            VALUES ('contoso', '\(id)', '\(w.operatorID)', 'exchange', lockbox_now_ms(), lockbox_now_ms() + 3600000,
                    ARRAY['get-mailbox']);
            COMMIT;
            """
        )
        #expect(try await Self.check(server).reason == .unverifiedApproval)
        // The column flipped: the internal approval makes a grant without the customer, which
        // the tenant's signed policy (the lockbox on) does not back.
        try server.runtime("UPDATE tenants SET lockbox_enabled = false WHERE tenant_id = 'contoso'")
        let second = try await server.api.createRequest(w).id
        try await server.api.approveInternally(w, second)
        #expect(try await Self.check(server).reason == .unverifiedApproval)
        // The customer's verifier finds nothing allowed without consent, and says the column changed.
        let verified = try server.lockbox(["audit", "verify"], token: w.contosoAdmin)
        #expect(verified.status == 0, "\(verified.stdout)")
        #expect(verified.stdout.contains("LockboxDisabled was made outside lockboxd"), "\(verified.stdout)")
        try await server.stop()
    }

    /// A principal, a global_admin role and a token written by SQL (the credential key is in the
    /// database too): its decision is refused, for it has no key the tenant certified, and it
    /// cannot certify one.
    @Test func aRoguePrincipalCannotDecideOrCertify() async throws {
        let server = try await Server.start()
        let w = server.world
        let key = try #require(
            [UInt8](
                hex: try Psql.run(server.database.runtime, "SELECT encode(secret, 'hex') FROM credential_keys")
                    .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            )
        )
        let secret = Credentials.newSecret(key: key)
        try server.runtime(
            """
            BEGIN;
            INSERT INTO principals (principal_id, tenant_id, display_name, created_at_ms)
            VALUES ('p_rogue', 'contoso', 'Contoso Security', 0);
            INSERT INTO role_assignments (principal_id, role, tenant_id, assigned_by, assigned_at_ms)
            VALUES ('p_rogue', 'global_admin', 'contoso', 'x', 0);
            INSERT INTO api_tokens (token_id, principal_id, tenant_id, token_hash, created_at_ms)
            VALUES ('tok_rogue', 'p_rogue', 'contoso', '\\x\(Credentials.hash(secret).hex)', 0);
            COMMIT;
            """
        )
        let id = try await server.api.createRequest(w).id
        try await server.api.approveInternally(w, id)
        #expect(
            await server.api.status(
                LockboxMethods.decideCustomer,
                CustomerDecision(requestID: id, decision: .approve),
                token: secret
            ) == .failedPrecondition
        )
        // Its own key, certified by itself: refused.
        let rogue = API.newKey()
        await #expect(throws: RPCError.self) {
            try await server.api.certify(rogue, to: "p_rogue", of: "contoso", may: .decide, by: rogue, token: secret)
        }
        // Signed with that uncertified key: refused.
        let statement = try await server.api.call(
            LockboxMethods.getAccessRequest,
            GetAccessRequestRequest(requestID: id, signingKeyID: rogue.keyID),
            token: secret
        ).approveStatement
        #expect(
            await server.api.status(
                LockboxMethods.decideCustomer,
                CustomerDecision(
                    requestID: id,
                    decision: .approve,
                    signedDecision: SignedDecision(
                        statement: statement,
                        keyID: rogue.keyID,
                        signature: rogue.signature(over: statement)
                    )
                ),
                token: secret
            ) == .permissionDenied
        )
        #expect(try await Self.check(server).reason == .notApproved)
        try await server.stop()
    }

    /// The tenant's global_admin rows deleted by SQL: the provider may not issue a new
    /// enrollment code and make itself the tenant's admin.
    @Test func deletingTheTenantsAdminsGivesTheProviderNoWayIn() async throws {
        let server = try await Server.start()
        try server.runtime("DELETE FROM role_assignments WHERE tenant_id = 'contoso' AND role = 'global_admin'")
        #expect(
            await server.api.status(
                LockboxMethods.issueEnrollmentCode,
                IssueEnrollmentCodeRequest(tenantID: "contoso"),
                token: server.world.providerAdmin
            ) == .failedPrecondition
        )
        try await server.stop()
    }

    /// A root written by SQL (with a made-up attestation) is no root: keys it certifies count for
    /// nothing.
    @Test func aRootWrittenBySQLIsNotTrusted() async throws {
        let server = try await Server.start()
        let rogue = API.newKey()
        let statement = TenantRootStatement(tenantID: "contoso", publicKey: rogue.publicKey, previousKeyID: "")
        try server.runtime(
            """
            INSERT INTO tenant_roots (tenant_id, seq, key_id, public_key, statement, signature, attestation, attested_by)
            VALUES ('contoso', 2, '\(rogue.keyID)', '\\x\(rogue.publicKey.hex)', '\\x\(statement.canonicalBytes.hex)',
                    '\\x\(rogue.signature(over: statement.canonicalBytes).hex)', '\\x00', 'ed25519:0000000000000000')
            """
        )
        await #expect(throws: RPCError.self) {
            try await server.api.certify(
                API.newKey(),
                to: server.world.contosoApproverID,
                of: "contoso",
                may: .decide,
                by: rogue,
                token: server.world.contosoAdmin
            )
        }
        // The tenant's real keys keep working.
        let id = try await server.api.createRequest(server.world).id
        try await server.api.approveInternally(server.world, id)
        try await server.api.approveByCustomer(server.world, id)
        #expect(try await Self.check(server).allowed)
        try await server.stop()
    }

    /// A lockboxd with lockboxd's own signing key (stolen) on a database of its own, where it
    /// made itself a root for contoso, certified its own approver and approved: the evidence it
    /// gives out chains to its root, and a data plane that pins contoso's root refuses it.
    @Test func aRogueLockboxdWithAStolenKeyCannotOpenADataPlaneThatPinsTheRoot() async throws {
        let real = try await Server.start()
        let realRoot = try #require(real.world.roots["contoso"])
        try await real.stop()
        // The rogue: same server key (Daemon.testSigningKey), its own database and world.
        let rogue = try await Server.start()
        let id = try await rogue.api.createRequest(rogue.world).id
        try await rogue.api.approveInternally(rogue.world, id)
        try await rogue.api.approveByCustomer(rogue.world, id)
        let check = try await Self.check(rogue, evidence: true)
        #expect(check.allowed && !check.evidence.isEmpty)
        let work = FileManager.default.temporaryDirectory.appending(path: "evidence-\(UUID().uuidString)")
        try Data(check.evidence).write(to: work)
        defer { try? FileManager.default.removeItem(at: work) }
        func verify(root: [UInt8]) throws -> Binaries.Output {
            try Binaries.run(
                "lockbox",
                [
                    "access", "verify-evidence", "--evidence", work.path, "--tenant", "contoso", "--operator",
                    rogue.world.operatorID, "--service", "exchange", "--operation", "Get-Mailbox", "--root", root.hex,
                ]
            )
        }
        let pinned = try verify(root: realRoot.publicKey)
        #expect(pinned.status == 1 && pinned.stdout.hasPrefix("FAILED: no root in the evidence"), "\(pinned.stdout)")
        let own = try verify(root: try #require(rogue.world.roots["contoso"]).publicKey)
        #expect(own.status == 0, "\(own.stdout)")
        try await rogue.stop()
    }
}
