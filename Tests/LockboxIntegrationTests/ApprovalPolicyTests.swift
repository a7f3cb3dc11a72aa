import Foundation
import LockboxCore
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxStore
import LockboxTestSupport
import LockboxTrust
import Testing

/// N of M through the API: a tenant's signed policy asks for several approvers' signed
/// decisions, concurrent approvals make exactly one grant, a denial ends the request or only
/// counts, and CheckAccess allows only what enough signatures back.
@Suite struct ApprovalPolicyTests {
    /// Sets contoso's policy, signed by its root, with `rules`.
    static func policy(
        _ h: Harness,
        _ w: Harness.World,
        _ rules: [ApprovalRule],
        signatures: Bool = true,
        categories: [String] = [],
        preapprovals: [AutoApprovalRule] = []
    ) async throws {
        let root = try #require(w.roots["contoso"])
        let current = try await h.call(
            LockboxMethods.getTenantTrust,
            GetTenantTrustRequest(tenantID: "contoso"),
            token: w.contosoAdmin
        )
        let signed = root.sign(
            TenantPolicy(
                tenantID: "contoso",
                version: (current.policy?.version ?? 0) + 1,
                signaturesRequired: signatures,
                approvalRules: rules,
                justificationCategories: categories,
                autoApprovals: preapprovals,
                issuerKeyID: root.keyID
            )
        )
        let record = try await h.call(
            LockboxMethods.setTenantPolicy,
            SignedStatementRequest(
                tenantID: "contoso",
                statement: signed.statement,
                issuerKeyID: root.keyID,
                signature: signed.signature
            ),
            token: w.contosoAdmin
        )
        #expect(record.approvalRules.count == rules.count)
    }

    /// The world with a third contoso approver, whose key the root certified to decide.
    static func withThirdApprover(_ h: Harness, _ w: Harness.World) async throws -> (Harness.World, String) {
        var w = w
        let third = try await DelegationAPITests.bob(h, &w, name: "contoso approver 2")
        return (w, third.token)
    }

    static func decide(_ h: Harness, _ w: Harness.World, _ id: String, approve: Bool, token: String) async
        -> StatusCode
    {
        await h.decideStatus(
            w,
            CustomerDecision(requestID: id, decision: approve ? .approve : .deny, comment: "checked"),
            token: token
        )
    }

    static func check(_ h: Harness, _ w: Harness.World, operation: String = "Get-Mailbox") async throws
        -> CheckAccessResponse
    { try await h.checkAccess(w, operation: operation, evidence: true) }

    static func pending(_ h: Harness, _ w: Harness.World) async throws -> String {
        let id = try await h.createRequest(w).id
        try await h.approveInternally(w, id)
        return id
    }

    static func count(_ h: Harness, _ query: PGQuery) async throws -> Int64 {
        try #require(try await h.sql(query).first?.int64("n"))
    }

    @Test func twoOfThreeApprovingAtOnceMakeExactlyOneGrant() async throws {
        try await Harness.with { h in
            let (w, third) = try await Self.withThirdApprover(h, try await h.makeWorld())
            try await Self.policy(h, w, [ApprovalRule(service: "exchange", approvalsRequired: 2)])
            let id = try await Self.pending(h, w)
            let approvers = [w.contosoAdmin, w.contosoApprover, third]
            // Each approver's statement is prepared first, so that all three decide at once.
            let statuses = await withTaskGroup(of: StatusCode.self) { group in
                for token in approvers {
                    group.addTask { await Self.decide(h, w, id, approve: true, token: token) }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            // One counts, one decides; the third finds the request approved.
            #expect(statuses.filter { $0 == .ok }.count == 2, "\(statuses)")
            #expect(statuses.filter { $0 == .failedPrecondition }.count == 1, "\(statuses)")
            let request = try await h.get(id, token: w.contosoAdmin)
            #expect(request.status == .approved)
            #expect(request.approvalsRequired == 2)
            #expect(request.customerVotes.count == 2)
            #expect(Set(request.customerVotes.map(\.decision)) == [.approve])
            #expect(try await Self.count(h, "SELECT count(*) AS n FROM grants WHERE request_id = \(id)") == 1)
            #expect(
                try await Self.count(
                    h,
                    "SELECT count(*) AS n FROM customer_decisions WHERE request_id = \(id)"
                ) == 2
            )
            let records = try await h.sql(
                "SELECT activity FROM audit_records WHERE item = \(id) AND activity LIKE 'Customer%' ORDER BY audit_id"
            )
            #expect(
                try records.rows.map { try $0.string("activity") } == ["CustomerDecisionCounted", "CustomerApprove"]
            )
            // CheckAccess allows, with evidence that carries both approvals and passes the
            // data plane's own check against the pinned root.
            let check = try await Self.check(h, w)
            #expect(check.allowed)
            let evidence = try AccessEvidence(canonicalBytes: check.evidence)
            #expect(evidence.decisions.count == 2)
            let verdict = EvidenceVerifier(pinnedRoots: ["contoso": [try #require(w.roots["contoso"]).publicKey]])
                .verify(
                    evidence,
                    tenantID: "contoso",
                    operatorID: w.operatorID,
                    service: "exchange",
                    operation: "Get-Mailbox",
                    nowMs: h.clock.nowMillis()
                )
            #expect((try? verdict.get()) != nil, "\(verdict)")
            // Evidence a provider trims to one approval and no policy: each approval signed
            // that two are required, so the data plane still asks for two.
            var trimmed = evidence
            trimmed.decisions = [evidence.decisions[0]]
            trimmed.material.policies = []
            let refused = EvidenceVerifier(pinnedRoots: ["contoso": [try #require(w.roots["contoso"]).publicKey]])
                .verify(
                    trimmed,
                    tenantID: "contoso",
                    operatorID: w.operatorID,
                    service: "exchange",
                    operation: "Get-Mailbox",
                    nowMs: h.clock.nowMillis()
                )
            #expect((try? refused.get()) == nil)
            #expect(!(try await Self.check(h, w, operation: "Set-Mailbox")).allowed)
            // Lowering the threshold afterwards keeps the grant backed; raising it does not
            // (fail closed).
            try await Self.policy(h, w, [])
            #expect(try await Self.check(h, w).allowed)
            try await Self.policy(h, w, [ApprovalRule(service: "exchange", approvalsRequired: 3)])
            let after = try await Self.check(h, w)
            #expect(!after.allowed && after.reason == .unverifiedApproval)
        }
    }

    @Test func oneApprovalOfTwoWaitsAndCountsOnce() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            try await Self.policy(h, w, [ApprovalRule(service: "exchange", approvalsRequired: 2)])
            let id = try await Self.pending(h, w)
            #expect(await Self.decide(h, w, id, approve: true, token: w.contosoApprover) == .ok)
            let waiting = try await h.get(id, token: w.contosoAdmin)
            #expect(waiting.status == .pendingCustomer)
            #expect(waiting.customerVotes.map(\.approverID) == [w.contosoApproverID])
            #expect(waiting.grant == nil)
            #expect(!(try await Self.check(h, w)).allowed)
            // The same approver again, either way: refused, and nothing more is stored.
            #expect(await Self.decide(h, w, id, approve: true, token: w.contosoApprover) == .failedPrecondition)
            #expect(await Self.decide(h, w, id, approve: false, token: w.contosoApprover) == .failedPrecondition)
            #expect(try await h.get(id, token: w.contosoAdmin).customerVotes.count == 1)
            // The other approver decides it.
            #expect(await Self.decide(h, w, id, approve: true, token: w.contosoAdmin) == .ok)
            let approved = try await h.get(id, token: w.contosoAdmin)
            #expect(approved.status == .approved)
            #expect(approved.grant != nil)
            #expect((try await Self.check(h, w)).allowed)
            // The other services still take one approval.
            let teams = try await h.call(
                LockboxMethods.createAccessRequest,
                CreateAccessRequestRequest(
                    tenantID: "contoso",
                    service: .teams,
                    ticketNumber: "SR-1002",
                    justification: "meeting recordings missing",
                    requestedDurationSeconds: 3600
                ),
                token: w.operatorToken
            ).id
            try await h.approveInternally(w, teams)
            #expect(await Self.decide(h, w, teams, approve: true, token: w.contosoApprover) == .ok)
            #expect(try await h.get(teams, token: w.contosoAdmin).status == .approved)
        }
    }

    /// An approval whose signed window ended before the others decided counts for nothing: its
    /// approver may approve again, and counts once.
    @Test func anApproverWhoseApprovalLapsedApprovesAgain() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            try await Self.policy(h, w, [ApprovalRule(service: "exchange", approvalsRequired: 2)])
            let id = try await Self.pending(h, w)
            // A 10-minute approval, then 11 minutes with no second approver.
            #expect(
                await h.decideStatus(
                    w,
                    CustomerDecision(requestID: id, decision: .approve, comment: "quick", approvedDurationSeconds: 600),
                    token: w.contosoApprover
                ) == .ok
            )
            #expect(await Self.decide(h, w, id, approve: true, token: w.contosoApprover) == .failedPrecondition)
            h.clock.advance(by: .seconds(660))
            #expect(await Self.decide(h, w, id, approve: true, token: w.contosoApprover) == .ok)
            #expect(try await h.get(id, token: w.contosoAdmin).status == .pendingCustomer)
            #expect(await Self.decide(h, w, id, approve: true, token: w.contosoAdmin) == .ok)
            let approved = try await h.get(id, token: w.contosoAdmin)
            #expect(approved.status == .approved)
            #expect(approved.customerVotes.filter { $0.approverID == w.contosoApproverID }.count == 2)
            #expect(try await Self.check(h, w).allowed)
        }
    }

    @Test func aDenialAfterOneApprovalEndsTheRequest() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            try await Self.policy(h, w, [ApprovalRule(service: "exchange", approvalsRequired: 2)])
            let id = try await Self.pending(h, w)
            #expect(await Self.decide(h, w, id, approve: true, token: w.contosoApprover) == .ok)
            #expect(await Self.decide(h, w, id, approve: false, token: w.contosoAdmin) == .ok)
            let request = try await h.get(id, token: w.contosoAdmin)
            #expect(request.status == .denied)
            #expect(request.customerVotes.map(\.decision) == [.approve, .deny])
            #expect(!(try await Self.check(h, w)).allowed)
        }
    }

    @Test func aDenialThatOnlyCountsEndsTheRequestWhenTooFewAreLeft() async throws {
        try await Harness.with { h in
            let (w, third) = try await Self.withThirdApprover(h, try await h.makeWorld())
            try await Self.policy(
                h,
                w,
                [ApprovalRule(service: "exchange", approvalsRequired: 2, denialEnds: false)]
            )
            // A denial, then two approvals: approved.
            let first = try await Self.pending(h, w)
            #expect(await Self.decide(h, w, first, approve: false, token: w.contosoAdmin) == .ok)
            #expect(try await h.get(first, token: w.contosoAdmin).status == .pendingCustomer)
            #expect(await Self.decide(h, w, first, approve: true, token: w.contosoApprover) == .ok)
            #expect(try await h.get(first, token: w.contosoAdmin).status == .pendingCustomer)
            #expect(await Self.decide(h, w, first, approve: true, token: third) == .ok)
            #expect(try await h.get(first, token: w.contosoAdmin).status == .approved)
            #expect((try await Self.check(h, w)).allowed)
            // Two denials of three approvers: 2 of 3 can no longer be reached.
            let second = try await h.createRequest(w, token: w.operator2Token).id
            try await h.approveInternally(w, second)
            #expect(await Self.decide(h, w, second, approve: false, token: w.contosoAdmin) == .ok)
            #expect(await Self.decide(h, w, second, approve: false, token: third) == .ok)
            #expect(try await h.get(second, token: w.contosoAdmin).status == .denied)
        }
    }

    @Test func aGrantWithOneSignatureOfTwoIsDenied() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            try await Self.policy(h, w, [ApprovalRule(service: "exchange", approvalsRequired: 2)])
            let id = try await Self.pending(h, w)
            #expect(await Self.decide(h, w, id, approve: true, token: w.contosoApprover) == .ok)
            // A second approval forged into the table (the first's signature, another approver's
            // name) counts for nothing: the request still waits, and shows one decision.
            _ = try await h.sql(
                """
                INSERT INTO customer_decisions (tenant_id, request_id, approver_id, decision, statement, key_id,
                                                signature, decided_at_ms)
                SELECT tenant_id, request_id, \(w.contosoAdminID), decision, statement, key_id, signature, decided_at_ms
                FROM customer_decisions WHERE request_id = \(id)
                """
            )
            #expect(try await h.get(id, token: w.contosoAdmin).customerVotes.count == 1)
            // Someone with the database approves it behind lockboxd's back, with the one real
            // signature in the request's decision columns.
            _ = try await h.sql(
                """
                UPDATE access_requests r SET status = 'APPROVED', decision_statement = d.statement,
                    decision_key_id = d.key_id, decision_signature = d.signature
                FROM customer_decisions d
                WHERE d.request_id = r.request_id AND r.request_id = \(id) AND d.approver_id = \(w.contosoApproverID)
                """
            )
            try await h.writeGrantBehindLockboxdsBack(w, id)
            let check = try await Self.check(h, w)
            #expect(!check.allowed && check.reason == .unverifiedApproval)
        }
    }

    @Test func anUnsignedDecisionCannotCountTowardSeveral() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            try await Self.policy(
                h,
                w,
                [ApprovalRule(service: "exchange", approvalsRequired: 2)],
                signatures: false
            )
            let id = try await Self.pending(h, w)
            let status = await h.status(
                LockboxMethods.decideCustomer,
                CustomerDecision(requestID: id, decision: .approve, comment: "unsigned"),
                token: w.contosoApprover
            )
            #expect(status == .failedPrecondition)
            #expect(try await h.get(id, token: w.contosoAdmin).status == .pendingCustomer)
        }
    }

    @Test func aTenantAcceptsOnlyTheJustificationCategoriesItsPolicyNames() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            try await Self.policy(h, w, [], categories: ["incident", "security_investigation"])
            func file(_ category: LockboxProto.JustificationCategory) async -> StatusCode {
                await h.status(
                    LockboxMethods.createAccessRequest,
                    CreateAccessRequestRequest(
                        tenantID: "contoso",
                        service: .exchange,
                        ticketNumber: "INC-7",
                        justification: "mail flow down for the tenant",
                        requestedDurationSeconds: 3600,
                        category: category
                    ),
                    token: w.operatorToken
                )
            }
            #expect(await file(.unspecified) == .failedPrecondition)
            #expect(await file(.serviceRequest) == .failedPrecondition)
            #expect(await file(JustificationCategory(rawValue: 99)) == .invalidArgument)
            #expect(await file(.incident) == .ok)
            let filed = try #require(
                try await h.call(
                    LockboxMethods.listAccessRequests,
                    ListAccessRequestsRequest(tenantID: "contoso"),
                    token: w.operatorToken
                ).requests.first
            )
            #expect(filed.category == .incident)
            let record = try await h.sql(
                """
                SELECT details->>'justification_category' AS category FROM audit_records
                WHERE item = \(filed.id) AND activity = 'AccessRequestCreated'
                """
            )
            #expect(try record.first?.string("category") == "incident")
            // Fabrikam's policy names no categories: any, and none, are accepted there.
            let other = try await h.call(
                LockboxMethods.createAccessRequest,
                CreateAccessRequestRequest(
                    tenantID: "fabrikam",
                    service: .exchange,
                    ticketNumber: "SR-9",
                    justification: "a question",
                    requestedDurationSeconds: 3600
                ),
                token: w.operatorToken
            )
            #expect(other.category == .unspecified)
        }
    }

    /// The provider requires three internal levels: each a different support manager, the
    /// request moving on to the customer only at the third, and any level's denial ending it.
    @Test func threeInternalLevelsEachADifferentManager() async throws {
        var policy = Policy()
        policy.internalApprovalsRequired = 3
        try await Harness.with(policy: policy) { h in
            let w = try await h.makeWorld()
            let third = try await h.api.principal("Max Manager", roles: [.supportManager], by: w.providerAdmin)
            func decide(_ id: String, approve: Bool, token: String) async -> StatusCode {
                await h.status(
                    LockboxMethods.decideInternal,
                    InternalDecision(requestID: id, approve: approve, comment: "level"),
                    token: token
                )
            }
            let id = try await h.createRequest(w).id
            #expect(await decide(id, approve: true, token: w.managerToken) == .ok)
            var request = try await h.get(id, token: w.operatorToken)
            #expect(request.status == .pendingInternal && request.internalApprovers == [w.managerID])
            #expect(request.internalDecision == nil)
            #expect(await decide(id, approve: true, token: w.managerToken) == .failedPrecondition)
            #expect(await decide(id, approve: true, token: w.dualToken) == .ok)
            #expect(try await h.get(id, token: w.operatorToken).status == .pendingInternal)
            #expect(await decide(id, approve: true, token: third.token) == .ok)
            request = try await h.get(id, token: w.operatorToken)
            #expect(request.status == .pendingCustomer)
            #expect(request.internalApprovers == [w.managerID, w.dualID, third.id])
            #expect(request.internalDecision?.decidedBy == third.id)
            let levels = try await h.sql(
                """
                SELECT details->>'internal_level' AS level FROM audit_records
                WHERE item = \(id) AND activity = 'InternalApprove' ORDER BY audit_id
                """
            )
            #expect(try levels.rows.map { try $0.string("level") } == ["1", "2", "3"])
            // A denial at the second level ends it.
            let denied = try await h.createRequest(w, token: w.operator2Token).id
            #expect(await decide(denied, approve: true, token: w.managerToken) == .ok)
            #expect(await decide(denied, approve: false, token: third.token) == .ok)
            #expect(try await h.get(denied, token: w.operator2Token).status == .denied)
        }
    }

    /// A pre-approval signed into the policy approves what it covers at the internal approval,
    /// says so in the log and the requester's email, and CheckAccess allows only its operations;
    /// a request it does not cover waits for an approver; a new policy without it withdraws it.
    @Test func aSignedPreApprovalApprovesWhatItCovers() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            try await Self.policy(
                h,
                w,
                [],
                preapprovals: [
                    AutoApprovalRule(
                        service: "exchange",
                        category: "incident",
                        maxDurationSeconds: 3600,
                        operations: ["Get-Mailbox", "Get-MessageTrace"]
                    )
                ]
            )
            func file(_ category: LockboxProto.JustificationCategory, seconds: Int64, token: String) async throws
                -> String
            {
                try await h.call(
                    LockboxMethods.createAccessRequest,
                    CreateAccessRequestRequest(
                        tenantID: "contoso",
                        service: .exchange,
                        ticketNumber: "INC-9",
                        justification: "mail stuck in the queue",
                        requestedDurationSeconds: seconds,
                        category: category
                    ),
                    token: token
                ).id
            }
            let covered = try await file(.incident, seconds: 1800, token: w.operatorToken)
            try await h.approveInternally(w, covered)
            let approved = try await h.get(covered, token: w.operatorToken)
            #expect(approved.status == .approved)
            #expect(approved.grant?.operations == ["get-mailbox", "get-messagetrace"])
            #expect(approved.customerDecision?.comment.contains("pre-approval") == true)
            #expect(try await Self.check(h, w).allowed)
            #expect(!(try await Self.check(h, w, operation: "Search-Mailbox")).allowed)
            let record = try await h.sql(
                """
                SELECT actor_id, details->>'auto_approval_rule' AS rule FROM audit_records
                WHERE item = \(covered) AND activity = 'AutoApproved'
                """
            )
            #expect(try record.first?.string("rule") == "1")
            #expect(try record.first?.string("actor_id") == "lockbox")
            // Too long for the rule, or another category: an approver decides.
            let long = try await file(.incident, seconds: 7200, token: w.operator2Token)
            try await h.approveInternally(w, long)
            #expect(try await h.get(long, token: w.operator2Token).status == .pendingCustomer)
            let other = try await file(.serviceRequest, seconds: 600, token: w.operator2Token)
            try await h.approveInternally(w, other)
            #expect(try await h.get(other, token: w.operator2Token).status == .pendingCustomer)
            // An extension of the pre-approved grant is re-approved by approvers, not pre-approved.
            let extensionRequest = try await h.call(
                LockboxMethods.createAccessRequest,
                CreateAccessRequestRequest(
                    tenantID: "contoso",
                    service: .exchange,
                    ticketNumber: "INC-9",
                    justification: "still stuck",
                    requestedDurationSeconds: 600,
                    extendsRequestID: covered,
                    category: .incident
                ),
                token: w.operatorToken
            )
            try await h.approveInternally(w, extensionRequest.id)
            #expect(try await h.get(extensionRequest.id, token: w.operatorToken).status == .pendingCustomer)
            // A new policy without the pre-approval: the grant it made is no longer backed.
            try await Self.policy(h, w, [])
            let after = try await Self.check(h, w)
            #expect(!after.allowed && after.reason == .unverifiedApproval)
        }
    }

    @Test func aPolicyNamingAnUnknownServiceIsRefused() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let root = try #require(w.roots["contoso"])
            let signed = root.sign(
                TenantPolicy(
                    tenantID: "contoso",
                    version: 1,
                    approvalRules: [ApprovalRule(service: "yammer", approvalsRequired: 2)],
                    issuerKeyID: root.keyID
                )
            )
            let status = await h.status(
                LockboxMethods.setTenantPolicy,
                SignedStatementRequest(
                    tenantID: "contoso",
                    statement: signed.statement,
                    issuerKeyID: root.keyID,
                    signature: signed.signature
                ),
                token: w.contosoAdmin
            )
            #expect(status == .invalidArgument)
        }
    }
}
