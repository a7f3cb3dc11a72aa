import Foundation
import LockboxCore
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxStore
import LockboxTestSupport
import LockboxTrust
import Testing

/// Delegation through the API: an approver lets another decide in their place with a statement
/// their own key signs; the delegate's decision names the delegation and counts as the
/// delegator's, once; a revocation makes it count for nothing, and the grant it backed closes.
@Suite struct DelegationAPITests {
    struct Bob {
        var token: String
        var id: String
        var key: TenantSigner
    }

    /// A second contoso approver, with a key the root certified to decide.
    static func bob(_ h: Harness, _ w: inout Harness.World, name: String = "contoso approver bob") async throws -> Bob {
        let principal = try await h.api.principal(
            name,
            tenant: "contoso",
            roles: [.lockboxApprover],
            by: w.contosoAdmin
        )
        let key = API.newKey()
        try await h.api.certify(
            key,
            to: principal.id,
            of: "contoso",
            may: .decide,
            by: try #require(w.roots["contoso"]),
            token: w.contosoAdmin
        )
        w.keys[principal.token] = key
        return Bob(token: principal.token, id: principal.id, key: key)
    }

    static func delegation(_ h: Harness, from alice: String, key: String, to delegate: String)
        -> DelegationStatement
    {
        let nowMs = h.clock.nowMillis()
        return
            DelegationStatement(
                tenantID: "contoso",
                delegatorID: alice,
                keyID: key,
                delegateID: delegate,
                services: ["exchange"],
                startsAtMs: nowMs - 60_000,
                endsAtMs: nowMs + 86_400_000,
                nonce: (0..<16).map { _ in UInt8.random(in: 0...255) }
            )
    }

    /// A world with Bob, the tenant's signed `rules`, and Alice's delegation to Bob, given with
    /// her key.
    static func aliceDelegatesToBob(_ h: Harness, rules: [ApprovalRule] = []) async throws
        -> (w: Harness.World, bob: Bob, alice: TenantSigner, given: DelegationStatement)
    {
        var w = try await h.makeWorld()
        let bob = try await Self.bob(h, &w)
        if !rules.isEmpty { try await ApprovalPolicyTests.policy(h, w, rules) }
        let alice = try #require(w.keys[w.contosoApprover])
        let given = Self.delegation(h, from: w.contosoApproverID, key: alice.keyID, to: bob.id)
        _ = try await h.call(
            LockboxMethods.createDelegation,
            Self.submit(given, signedBy: alice),
            token: w.contosoApprover
        )
        return (w, bob, alice, given)
    }

    static func submit<Statement: TrustStatement>(_ statement: Statement, signedBy signer: TenantSigner)
        -> SignedStatementRequest
    {
        let signed = signer.sign(statement)
        return SignedStatementRequest(
            tenantID: "contoso",
            statement: signed.statement,
            issuerKeyID: signer.keyID,
            signature: signed.signature
        )
    }

    /// The delegate's approval of `id` in the delegator's place: the statement lockboxd prepared
    /// for the delegate's key, naming the delegation, signed by the delegate.
    static func approveUnder(
        _ delegation: DelegationStatement,
        _ h: Harness,
        _ id: String,
        as delegate: Bob
    ) async -> StatusCode {
        do {
            let request = try await h.call(
                LockboxMethods.getAccessRequest,
                GetAccessRequestRequest(requestID: id, signingKeyID: delegate.key.keyID),
                token: delegate.token
            )
            var statement = try DecisionStatement(canonicalBytes: request.approveStatement)
            statement.delegationID = delegation.id
            statement.onBehalfOf = delegation.delegatorID
            let bytes = statement.canonicalBytes
            _ = try await h.call(
                LockboxMethods.decideCustomer,
                CustomerDecision(
                    requestID: id,
                    decision: .approve,
                    comment: "for alice",
                    signedDecision: SignedDecision(
                        statement: bytes,
                        keyID: delegate.key.keyID,
                        signature: delegate.key.signature(over: bytes)
                    )
                ),
                token: delegate.token
            )
            return .ok
        } catch let error as RPCError {
            return error.code
        } catch {
            return .unknown
        }
    }

    @Test func aDelegateApprovesInTheDelegatorsPlaceUntilTheDelegationIsRevoked() async throws {
        try await Harness.with { h in
            var w = try await h.makeWorld()
            let bob = try await Self.bob(h, &w)
            try await ApprovalPolicyTests.policy(h, w, [ApprovalRule(service: "exchange", approvalsRequired: 2)])
            let aliceID = w.contosoApproverID
            let alice = try #require(w.keys[w.contosoApprover])
            let given = Self.delegation(h, from: aliceID, key: alice.keyID, to: bob.id)

            // Nobody but the delegator gives it, and only with a key certified to them.
            #expect(
                await h.status(LockboxMethods.createDelegation, Self.submit(given, signedBy: alice), token: bob.token)
                    == .permissionDenied
            )
            let forged = Self.delegation(h, from: aliceID, key: bob.key.keyID, to: bob.id)
            #expect(
                await h.status(
                    LockboxMethods.createDelegation,
                    Self.submit(forged, signedBy: bob.key),
                    token: w.contosoApprover
                ) == .permissionDenied
            )
            #expect(
                await h.status(
                    LockboxMethods.createDelegation,
                    Self.submit(Self.delegation(h, from: aliceID, key: alice.keyID, to: aliceID), signedBy: alice),
                    token: w.contosoApprover
                ) == .invalidArgument
            )
            #expect(
                await h.status(
                    LockboxMethods.createDelegation,
                    Self.submit(Self.delegation(h, from: aliceID, key: alice.keyID, to: w.operatorID), signedBy: alice),
                    token: w.contosoApprover
                ) == .notFound
            )
            // Before it exists, a decision naming it does not verify.
            let id = try await h.createRequest(w).id
            try await h.approveInternally(w, id)
            #expect(await Self.approveUnder(given, h, id, as: bob) == .permissionDenied)

            let created = try await h.call(
                LockboxMethods.createDelegation,
                Self.submit(given, signedBy: alice),
                token: w.contosoApprover
            )
            #expect(created.delegationID == given.id && created.holds && created.services == ["exchange"])
            #expect(
                await h.status(
                    LockboxMethods.createDelegation,
                    Self.submit(given, signedBy: alice),
                    token: w.contosoApprover
                )
                    == .alreadyExists
            )
            let listed = try await h.call(
                LockboxMethods.listDelegations,
                ListDelegationsRequest(tenantID: "contoso", principalID: bob.id),
                token: bob.token
            )
            #expect(listed.delegations.map(\.delegationID) == [given.id])
            #expect(listed.delegations.first?.holds == true)

            // Bob for Alice: one of two. Alice herself then counts as decided already; Bob's own makes two.
            #expect(await Self.approveUnder(given, h, id, as: bob) == .ok)
            var request = try await h.get(id, token: w.contosoAdmin)
            #expect(request.status == .pendingCustomer)
            #expect(request.customerVotes.map(\.approverID) == [aliceID])
            #expect(request.customerVotes.first?.delegateID == bob.id)
            #expect(request.customerVotes.first?.delegationID == given.id)
            #expect(
                await ApprovalPolicyTests.decide(h, w, id, approve: true, token: w.contosoApprover)
                    == .failedPrecondition
            )
            #expect(await ApprovalPolicyTests.decide(h, w, id, approve: true, token: bob.token) == .ok)
            request = try await h.get(id, token: w.contosoAdmin)
            #expect(request.status == .approved)
            #expect(Set(request.customerVotes.map(\.approverID)) == [aliceID, bob.id])

            // CheckAccess allows, and the evidence carries the delegation, which a data plane checks itself.
            let check = try await ApprovalPolicyTests.check(h, w)
            #expect(check.allowed)
            let evidence = try AccessEvidence(canonicalBytes: check.evidence)
            #expect(evidence.material.delegations.count == 1)
            let verdict = EvidenceVerifier(pinnedRoots: ["contoso": [try #require(w.roots["contoso"]).publicKey]])
                .verify(
                    evidence,
                    tenantID: "contoso",
                    operatorID: w.operatorID,
                    service: "exchange",
                    operation: "Get-Mailbox",
                    nowMs: h.clock.nowMillis()
                )
            #expect(throws: Never.self) { try verdict.get() }
            // The chain records the delegation, and the decision says whose it counts as.
            let granted = try await h.sql(
                "SELECT count(*) AS n FROM audit_records WHERE activity = 'DelegationGranted' AND item = \(given.id)"
            )
            #expect(try granted.first?.int64("n") == 1)
            let counted = try await h.sql(
                """
                SELECT details->>'on_behalf_of' AS behalf, details->>'delegation_id' AS delegation
                FROM audit_records WHERE item = \(id) AND activity = 'CustomerDecisionCounted'
                """
            )
            #expect(try counted.first?.string("behalf") == aliceID)
            #expect(try counted.first?.string("delegation") == given.id)

            // Bob cannot withdraw Alice's delegation; Alice can.
            let revocation = DelegationRevocation(tenantID: "contoso", delegationID: given.id, issuerKeyID: alice.keyID)
            #expect(
                await h.status(
                    LockboxMethods.revokeDelegation,
                    Self.submit(
                        DelegationRevocation(tenantID: "contoso", delegationID: given.id, issuerKeyID: bob.key.keyID),
                        signedBy: bob.key
                    ),
                    token: bob.token
                ) == .permissionDenied
            )
            let revoked = try await h.call(
                LockboxMethods.revokeDelegation,
                Self.submit(revocation, signedBy: alice),
                token: w.contosoApprover
            )
            #expect(revoked.revoked && !revoked.holds)

            // From then on Bob's decision for Alice counts for nothing: the grant is no longer
            // backed, the request shows Bob's own vote only, and Bob cannot decide for her again.
            let after = try await ApprovalPolicyTests.check(h, w)
            #expect(!after.allowed)
            #expect(after.reason == .unverifiedApproval)
            request = try await h.get(id, token: w.contosoAdmin)
            #expect(request.customerVotes.map(\.approverID) == [bob.id])
            let next = try await h.createRequest(w)
            try await h.approveInternally(w, next.id)
            #expect(await Self.approveUnder(given, h, next.id, as: bob) == .permissionDenied)
            #expect(
                try await h.call(
                    LockboxMethods.listDelegations,
                    ListDelegationsRequest(tenantID: "contoso"),
                    token: w.contosoAdmin
                ).delegations.isEmpty
            )
            let all = try await h.call(
                LockboxMethods.listDelegations,
                ListDelegationsRequest(tenantID: "contoso", includeEnded: true),
                token: w.contosoAdmin
            )
            #expect(all.delegations.map(\.revokedByKeyID) == [alice.keyID])
            #expect(
                await h.status(
                    LockboxMethods.revokeDelegation,
                    Self.submit(revocation, signedBy: alice),
                    token: w.contosoApprover
                )
                    == .alreadyExists
            )
        }
    }

    @Test func aGlobalAdminWithdrawsADelegationWithAnAdministeringKey() async throws {
        try await Harness.with { h in
            let (w, _, _, given) = try await Self.aliceDelegatesToBob(h)
            let root = try #require(w.roots["contoso"])
            let byRoot = DelegationRevocation(tenantID: "contoso", delegationID: given.id, issuerKeyID: root.keyID)
            // Another tenant's admin does not even see the tenant.
            #expect(
                await h.status(
                    LockboxMethods.revokeDelegation,
                    Self.submit(byRoot, signedBy: root),
                    token: w.fabrikamAdmin
                )
                    == .notFound
            )
            let revoked = try await h.call(
                LockboxMethods.revokeDelegation,
                Self.submit(byRoot, signedBy: root),
                token: w.contosoAdmin
            )
            #expect(revoked.revoked && revoked.revokedByKeyID == root.keyID)
            let trustChanges = try await h.sql(
                "SELECT count(*) AS n FROM audit_records WHERE activity = 'DelegationRevoked' AND item = \(given.id)"
            )
            #expect(try trustChanges.first?.int64("n") == 1)
        }
    }

    @Test func aRevocationWrittenBehindLockboxdsBackWithdrawsNothingAndBlocksNothing() async throws {
        try await Harness.with { h in
            let (w, bob, alice, given) = try await Self.aliceDelegatesToBob(h)
            // Nor can it store Alice's statement again under another id, out of its revocation's reach.
            let stored = try #require(
                try await h.sql("SELECT statement, signature FROM delegations WHERE delegation_id = \(given.id)").first
            )
            let copied = await #expect(throws: (any Error).self) {
                _ = try await h.sql(
                    """
                    INSERT INTO delegations (tenant_id, delegation_id, delegator_id, delegate_id, starts_at_ms,
                                             ends_at_ms, statement, issuer_key_id, signature)
                    VALUES ('contoso', 'dlg_00000000000000000000000000000000', \(w.contosoApproverID), \(bob.id), 0, 1,
                            \(try stored.decode("statement", as: PGBytes.self)), \(alice.keyID),
                            \(try stored.decode("signature", as: PGBytes.self)))
                    """
                )
            }
            #expect(
                "\(String(describing: copied))".contains("delegations_id_names_statement"),
                "\(String(describing: copied))"
            )
            // The database role writes a revocation with Alice's statement and a signature of its own.
            let revocation = DelegationRevocation(tenantID: "contoso", delegationID: given.id, issuerKeyID: alice.keyID)
            _ = try await h.sql(
                """
                INSERT INTO delegation_revocations (tenant_id, delegation_id, statement, issuer_key_id, signature)
                VALUES ('contoso', \(given.id), \(PGBytes(revocation.canonicalBytes)), \(alice.keyID),
                        \(PGBytes(bob.key.signature(over: revocation.canonicalBytes))))
                """
            )
            // It withdraws nothing: the delegation is listed as holding, and Bob decides under it.
            let listed = try await h.call(
                LockboxMethods.listDelegations,
                ListDelegationsRequest(tenantID: "contoso"),
                token: w.contosoAdmin
            )
            #expect(listed.delegations.map(\.delegationID) == [given.id])
            #expect(listed.delegations.first.map { $0.holds && !$0.revoked } == true)
            let id = try await h.createRequest(w).id
            try await h.approveInternally(w, id)
            #expect(await Self.approveUnder(given, h, id, as: bob) == .ok)
            #expect(try await ApprovalPolicyTests.check(h, w).allowed)
            // Nor does it stand in the way of Alice's own revocation, which does withdraw it.
            let revoked = try await h.call(
                LockboxMethods.revokeDelegation,
                Self.submit(revocation, signedBy: alice),
                token: w.contosoApprover
            )
            #expect(revoked.revoked && revoked.revokedByKeyID == alice.keyID)
            #expect(try await !ApprovalPolicyTests.check(h, w).allowed)
        }
    }

    @Test func theDelegatorDecidesAgainOnceHerDelegationIsRevoked() async throws {
        try await Harness.with { h in
            let (w, bob, alice, given) = try await Self.aliceDelegatesToBob(
                h,
                rules: [ApprovalRule(service: "exchange", approvalsRequired: 2)]
            )
            let id = try await h.createRequest(w).id
            try await h.approveInternally(w, id)
            #expect(await Self.approveUnder(given, h, id, as: bob) == .ok)
            _ = try await h.call(
                LockboxMethods.revokeDelegation,
                Self.submit(
                    DelegationRevocation(tenantID: "contoso", delegationID: given.id, issuerKeyID: alice.keyID),
                    signedBy: alice
                ),
                token: w.contosoApprover
            )
            // Bob's decision in her place counts for nothing now, and does not take her place:
            // Alice decides herself, then Bob in his own name makes two.
            #expect(try await h.get(id, token: w.contosoAdmin).customerVotes.isEmpty)
            #expect(await ApprovalPolicyTests.decide(h, w, id, approve: true, token: w.contosoApprover) == .ok)
            #expect(await ApprovalPolicyTests.decide(h, w, id, approve: true, token: bob.token) == .ok)
            let request = try await h.get(id, token: w.contosoAdmin)
            #expect(request.status == .approved)
            #expect(Set(request.customerVotes.map(\.approverID)) == [w.contosoApproverID, bob.id])
            #expect(request.customerVotes.allSatisfy { $0.delegationID.isEmpty })
        }
    }

    @Test func underARuleWhereEachPersonCountsOnceADelegateCannotAlsoDecideForTheDelegator() async throws {
        try await Harness.with { h in
            let (w, bob, _, given) = try await Self.aliceDelegatesToBob(
                h,
                rules: [ApprovalRule(service: "exchange", approvalsRequired: 2, personCountsOnce: true)]
            )
            let trust = try await h.call(
                LockboxMethods.getTenantTrust,
                GetTenantTrustRequest(tenantID: "contoso"),
                token: w.contosoAdmin
            )
            #expect(trust.policy?.approvalRules.first?.personCountsOnce == true)
            let id = try await h.createRequest(w).id
            try await h.approveInternally(w, id)
            #expect(await ApprovalPolicyTests.decide(h, w, id, approve: true, token: bob.token) == .ok)
            #expect(await Self.approveUnder(given, h, id, as: bob) == .failedPrecondition)
            #expect(try await h.get(id, token: w.contosoAdmin).status == .pendingCustomer)
            // The other way round too, on a second request: in her place first, then his own.
            let second = try await h.createRequest(w).id
            try await h.approveInternally(w, second)
            #expect(await Self.approveUnder(given, h, second, as: bob) == .ok)
            #expect(
                await ApprovalPolicyTests.decide(h, w, second, approve: true, token: bob.token) == .failedPrecondition
            )
            // Alice herself is the second person.
            #expect(await ApprovalPolicyTests.decide(h, w, id, approve: true, token: w.contosoApprover) == .ok)
            #expect(try await h.get(id, token: w.contosoAdmin).status == .approved)
        }
    }
}
