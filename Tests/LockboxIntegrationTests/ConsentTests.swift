import Foundation
import LockboxCore
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxTestSupport
import LockboxTrust
import Testing

/// Decisions signed by the customer's own keys, through the API: passkeys, root rotation,
/// revocation, a removed role, an expired certificate, replayed signatures, and evidence.
@Suite struct ConsentTests {
    static func check(_ h: Harness, _ w: Harness.World, evidence: Bool = false) async throws -> CheckAccessResponse {
        try await h.call(
            LockboxMethods.checkAccess,
            CheckAccessRequest(
                tenantID: "contoso",
                service: .exchange,
                operatorID: w.operatorID,
                operation: "Get-Mailbox",
                clientIP: "10.0.0.1",
                includeEvidence: evidence
            ),
            token: w.serviceToken
        )
    }

    /// A request waiting for the customer.
    static func pending(_ h: Harness, _ w: Harness.World) async throws -> String {
        let id = try await h.createRequest(w).id
        try await h.approveInternally(w, id)
        return id
    }

    static func signedPolicy(
        _ h: Harness,
        _ w: Harness.World,
        version: Int64,
        userVerification: Bool,
        passkey: SoftwarePasskey
    ) async throws {
        let root = try #require(w.roots["contoso"])
        let signed = root.sign(
            TenantPolicy(
                tenantID: "contoso",
                version: version,
                userVerificationRequired: userVerification,
                rpID: passkey.rpID,
                origins: [passkey.origin],
                issuerKeyID: root.keyID
            )
        )
        _ = try await h.call(
            LockboxMethods.setTenantPolicy,
            SignedStatementRequest(
                tenantID: "contoso",
                statement: signed.statement,
                issuerKeyID: root.keyID,
                signature: signed.signature
            ),
            token: w.contosoAdmin
        )
    }

    /// The approve statement lockboxd prepares for `keyID`.
    static func statement(_ h: Harness, _ w: Harness.World, _ id: String, keyID: String) async throws -> [UInt8] {
        let request = try await h.call(
            LockboxMethods.getAccessRequest,
            GetAccessRequestRequest(requestID: id, signingKeyID: keyID),
            token: w.contosoApprover
        )
        #expect(!request.approveStatement.isEmpty)
        return request.approveStatement
    }

    static func approve(_ h: Harness, _ w: Harness.World, _ id: String, _ signed: SignedBytes) async -> StatusCode {
        await h.status(
            LockboxMethods.decideCustomer,
            CustomerDecision(
                requestID: id,
                decision: .approve,
                signedDecision: SignedDecision(
                    statement: signed.statement,
                    keyID: signed.keyID,
                    signature: signed.signature,
                    authenticatorData: signed.assertion?.authenticatorData ?? [],
                    clientDataJSON: signed.assertion?.clientDataJSON ?? []
                )
            ),
            token: w.contosoApprover
        )
    }

    @Test func aPasskeyApprovesAsARelyingPartyWouldCheckIt() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            var passkey = SoftwarePasskey()
            try await Self.signedPolicy(h, w, version: 1, userVerification: true, passkey: passkey)
            let root = try #require(w.roots["contoso"])
            // Valid by the server's clock, which the harness sets.
            let now = h.clock.nowMillis()
            let certificate = root.sign(
                KeyCertificate(
                    tenantID: "contoso",
                    principalID: w.contosoApproverID,
                    algorithm: .es256WebAuthn,
                    publicKey: passkey.publicKey,
                    capabilities: .decide,
                    notBeforeMs: now - 86_400_000,
                    notAfterMs: now + 86_400_000 * 30,
                    issuerKeyID: root.keyID
                )
            )
            _ = try await h.call(
                LockboxMethods.certifyKey,
                SignedStatementRequest(
                    tenantID: "contoso",
                    statement: certificate.statement,
                    issuerKeyID: root.keyID,
                    signature: certificate.signature
                ),
                token: w.contosoAdmin
            )
            // Not user-verified, where the policy requires it: refused.
            let first = try await Self.pending(h, w)
            let statement = try await Self.statement(h, w, first, keyID: passkey.keyID)
            #expect(
                await Self.approve(h, w, first, passkey.assert(statement, userVerified: false)) == .permissionDenied
            )
            // Another origin, or another relying party: refused.
            #expect(
                await Self.approve(h, w, first, passkey.assert(statement, origin: "https://evil.example"))
                    == .permissionDenied
            )
            #expect(
                await Self.approve(h, w, first, passkey.assert(statement, rpID: "evil.example")) == .permissionDenied
            )
            // As it should be: approved, and CheckAccess allows with evidence a data plane accepts.
            let good = passkey.assert(statement)
            #expect(await Self.approve(h, w, first, good) == .ok)
            let check = try await Self.check(h, w, evidence: true)
            #expect(check.allowed)
            let evidence = try AccessEvidence(canonicalBytes: check.evidence)
            #expect(evidence.decisions.count == 1 && evidence.decisions.first?.assertion != nil)
            let verdict = EvidenceVerifier(pinnedRoots: ["contoso": [root.publicKey]]).verify(
                evidence,
                tenantID: "contoso",
                operatorID: w.operatorID,
                service: "exchange",
                operation: "Get-Mailbox",
                nowMs: h.clock.nowMillis()
            )
            guard case .success(.approved) = verdict else {
                Issue.record("evidence refused: \(verdict)")
                return
            }
            // The same assertion on another request: its challenge is the first request's statement.
            _ = try await h.call(
                LockboxMethods.revokeAccess,
                RevokeAccessRequest(requestID: first, reason: "done"),
                token: w.contosoApprover
            )
            let second = try await Self.pending(h, w)
            #expect(await Self.approve(h, w, second, good) != .ok)
            // A counter that does not move forward (a cloned authenticator) is refused.
            let next = try await Self.statement(h, w, second, keyID: passkey.keyID)
            passkey.counter = 0
            #expect(await Self.approve(h, w, second, passkey.assert(next)) == .permissionDenied)
            passkey.counter = 100
            #expect(await Self.approve(h, w, second, passkey.assert(next)) == .ok)
        }
    }

    @Test func aStatementForAnotherRequestOrAfterADenialIsRefused() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let key = try #require(w.signer(for: w.contosoApprover))
            let first = try await Self.pending(h, w)
            let second = try await Self.pending(h, w)
            let forFirst = try await Self.statement(h, w, first, keyID: key.keyID)
            // Replayed on another request.
            #expect(
                await Self.approve(
                    h,
                    w,
                    second,
                    SignedBytes(
                        statement: forFirst,
                        keyID: key.keyID,
                        signature: key.signature(over: forFirst)
                    )
                ) == .failedPrecondition
            )
            // The same request after a denial: denied is final.
            _ = try await h.decide(
                w,
                CustomerDecision(requestID: first, decision: .deny, comment: "no"),
                token: w.contosoApprover
            )
            #expect(
                await Self.approve(
                    h,
                    w,
                    first,
                    SignedBytes(
                        statement: forFirst,
                        keyID: key.keyID,
                        signature: key.signature(over: forFirst)
                    )
                ) == .failedPrecondition
            )
            // Unsigned, on a tenant whose policy requires signatures: refused.
            #expect(
                await h.status(
                    LockboxMethods.decideCustomer,
                    CustomerDecision(requestID: second, decision: .approve),
                    token: w.contosoApprover
                ) == .failedPrecondition
            )
            // Signed by a key certified to someone else (the admin's key, for the approver).
            let adminKey = try #require(w.signer(for: w.contosoAdmin))
            let forSecond = try await Self.statement(h, w, second, keyID: adminKey.keyID)
            #expect(
                await Self.approve(
                    h,
                    w,
                    second,
                    SignedBytes(
                        statement: forSecond,
                        keyID: adminKey.keyID,
                        signature: adminKey.signature(over: forSecond)
                    )
                ) == .permissionDenied
            )
        }
    }

    /// A revoked key, a key whose principal lost its role, and an expired certificate: nothing
    /// they sign counts, and a grant they approved is no longer allowed.
    @Test func revokedRemovedAndExpiredKeysCountForNothing() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let root = try #require(w.roots["contoso"])
            let key = try #require(w.signer(for: w.contosoApprover))
            let id = try await Self.pending(h, w)
            try await h.approveByCustomer(w, id)
            #expect(try await Self.check(h, w).allowed)
            let revocation = root.sign(KeyRevocation(tenantID: "contoso", keyID: key.keyID, issuerKeyID: root.keyID))
            _ = try await h.call(
                LockboxMethods.revokeKey,
                SignedStatementRequest(
                    tenantID: "contoso",
                    statement: revocation.statement,
                    issuerKeyID: root.keyID,
                    signature: revocation.signature
                ),
                token: w.contosoAdmin
            )
            #expect(try await Self.check(h, w).reason == .unverifiedApproval)
            // A new key, certified already expired: refused.
            let expired = API.newKey()
            try await h.api.certify(
                expired,
                to: w.contosoApproverID,
                of: "contoso",
                may: .decide,
                by: root,
                token: w.contosoAdmin,
                validMs: -3_600_000
            )
            var keys = w.keys
            keys[w.contosoApprover] = expired
            var world = w
            world.keys = keys
            let next = try await Self.pending(h, w)
            #expect(
                await h.decideStatus(
                    world,
                    CustomerDecision(requestID: next, decision: .approve),
                    token: w.contosoApprover
                )
                    == .permissionDenied
            )
            // A fresh key works; the approver's role is then removed, and its keys go with it.
            let fresh = API.newKey()
            try await h.api.certify(
                fresh,
                to: w.contosoApproverID,
                of: "contoso",
                may: .decide,
                by: root,
                token: w.contosoAdmin
            )
            keys[w.contosoApprover] = fresh
            world.keys = keys
            _ = try await h.decide(
                world,
                CustomerDecision(requestID: next, decision: .approve),
                token: w.contosoApprover
            )
            #expect(try await Self.check(h, w).allowed)
            _ = try await h.call(
                LockboxMethods.removeRole,
                RoleAssignment(principalID: w.contosoApproverID, role: .lockboxApprover, tenantID: "contoso"),
                token: w.contosoAdmin
            )
            #expect(try await Self.check(h, w).reason == .unverifiedApproval)
        }
    }

    /// The root replaced with a statement the old root signs too; keys it certified keep
    /// working, keys the new root certifies work, and a rotation without the old root's
    /// signature is refused.
    @Test func theRootIsReplacedOnlyWithTheCurrentRootsSignature() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let old = try #require(w.roots["contoso"])
            let new = API.newKey()
            let statement = TenantRootStatement(tenantID: "contoso", publicKey: new.publicKey, previousKeyID: old.keyID)
            let bytes = statement.canonicalBytes
            #expect(
                await h.status(
                    LockboxMethods.adoptTenantRoot,
                    AdoptTenantRootRequest(
                        tenantID: "contoso",
                        publicKey: new.publicKey,
                        signature: new.signature(over: bytes),
                        previousSignature: API.newKey().signature(over: bytes)
                    ),
                    token: w.contosoAdmin
                ) == .permissionDenied
            )
            let adopted = try await h.call(
                LockboxMethods.adoptTenantRoot,
                AdoptTenantRootRequest(
                    tenantID: "contoso",
                    publicKey: new.publicKey,
                    signature: new.signature(over: bytes),
                    previousSignature: old.signature(over: bytes)
                ),
                token: w.contosoAdmin
            )
            #expect(adopted.keyID == new.keyID && !adopted.attestation.isEmpty)
            let id = try await Self.pending(h, w)
            try await h.approveByCustomer(w, id)
            #expect(try await Self.check(h, w).allowed)
            let trust = try await h.call(
                LockboxMethods.getTenantTrust,
                GetTenantTrustRequest(tenantID: "contoso"),
                token: w.auditorToken
            )
            #expect(trust.roots.map(\.keyID) == [old.keyID, new.keyID])
            // The chain says so.
            let records = try await h.sql(
                "SELECT activity FROM audit_records WHERE tenant_id = 'contoso' AND activity = 'TenantRootAdopted'"
            )
            #expect(records.rows.count == 2)
        }
    }

    /// What lockboxd's database holds counts only as far as the tenant's keys signed it.
    @Test func aGrantWrittenBehindLockboxdsBackIsDenied() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let id = try await h.createRequest(w).id
            _ = try await h.sql(
                "UPDATE access_requests SET status = 'APPROVED' WHERE request_id = \(id)"
            )
            try await h.writeGrantBehindLockboxdsBack(w, id)
            let check = try await Self.check(h, w)
            #expect(!check.allowed && check.reason == .unverifiedApproval)
            // The record says it was denied, and why.
            let record = try await h.sql(
                "SELECT details->>'reason' AS reason FROM audit_records WHERE kind = 'operator_action' AND item = \(id)"
            )
            #expect(try record.first?.string("reason") == "UNVERIFIED_APPROVAL")
        }
    }
}
