import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxServer
import LockboxTestSupport
import Testing

/// The request lifecycle over the real protocol against a real PostgreSQL.
@Suite struct WorkflowTests {
    /// How to bring a fresh request into each state, through the API (and the clock).
    static func make(_ state: RequestState, _ h: Harness, _ w: Harness.World) async throws -> String {
        let id = try await h.createRequest(w).id
        switch state {
        case .pendingInternal:
            break
        case .pendingCustomer:
            try await h.approveInternally(w, id)
        case .approved:
            try await h.approveInternally(w, id)
            try await h.approveByCustomer(w, id)
        case .denied:
            _ = try await h.call(
                LockboxMethods.decideInternal,
                InternalDecision(requestID: id, approve: false, comment: "no"),
                token: w.managerToken
            )
        case .canceled:
            _ = try await h.call(
                LockboxMethods.cancelAccessRequest,
                CancelAccessRequestRequest(requestID: id),
                token: w.operatorToken
            )
        case .revoked:
            try await h.approveInternally(w, id)
            try await h.approveByCustomer(w, id)
            _ = try await h.call(
                LockboxMethods.revokeAccess,
                RevokeAccessRequest(requestID: id),
                token: w.contosoApprover
            )
        case .expired:
            try await h.approveInternally(w, id)
            // Move stored deadline into the past rather than the shared clock, so other rows are untouched.
            _ = try await h.sql(
                "UPDATE access_requests SET customer_deadline_ms = \(h.clock.nowMillis() - 1) WHERE request_id = \(id)"
            )
        case .completed:
            try await h.approveInternally(w, id)
            try await h.approveByCustomer(w, id)
            _ = try await h.sql("UPDATE grants SET ends_at_ms = \(h.clock.nowMillis() - 1) WHERE request_id = \(id)")
        }
        let got = try await h.get(id, token: w.managerToken)
        #expect(got.status == stateProto(state), "setup for \(state)")
        return id
    }

    static func stateProto(_ state: RequestState) -> RequestStatus {
        RequestStatus(protoName: "REQUEST_STATUS_" + state.rawValue)!
    }

    enum Actor: String, CaseIterable, Sendable {
        case manager, requester, otherOperator, dual, contosoApprover, contosoAdmin, fabrikamApprover, auditor, service

        func token(_ w: Harness.World) -> String {
            switch self {
            case .manager: w.managerToken
            case .requester: w.operatorToken
            case .otherOperator: w.operator2Token
            case .dual: w.dualToken
            case .contosoApprover: w.contosoApprover
            case .contosoAdmin: w.contosoAdmin
            case .fabrikamApprover: w.fabrikamApprover
            case .auditor: w.auditorToken
            case .service: w.serviceToken
            }
        }
    }

    enum Action: String, CaseIterable, Sendable {
        case approveInternal, denyInternal, approveCustomer, denyCustomer, cancelCustomer, cancel, revoke

        func perform(_ h: Harness, _ w: Harness.World, _ id: String, token: String) async -> StatusCode {
            switch self {
            case .approveInternal:
                await h.status(
                    LockboxMethods.decideInternal,
                    InternalDecision(requestID: id, approve: true),
                    token: token
                )
            case .denyInternal:
                await h.status(
                    LockboxMethods.decideInternal,
                    InternalDecision(requestID: id, approve: false),
                    token: token
                )
            case .approveCustomer:
                await h.decideStatus(
                    w,
                    CustomerDecision(requestID: id, decision: .approve),
                    token: token
                )
            case .denyCustomer:
                await h.decideStatus(
                    w,
                    CustomerDecision(requestID: id, decision: .deny),
                    token: token
                )
            case .cancelCustomer:
                await h.decideStatus(
                    w,
                    CustomerDecision(requestID: id, decision: .cancel),
                    token: token
                )
            case .cancel:
                await h.status(
                    LockboxMethods.cancelAccessRequest,
                    CancelAccessRequestRequest(requestID: id),
                    token: token
                )
            case .revoke:
                await h.status(LockboxMethods.revokeAccess, RevokeAccessRequest(requestID: id), token: token)
            }
        }
    }

    /// (state, actor, action) → new state, or the exact status code.
    struct Row: Sendable, CustomTestStringConvertible {
        var state: RequestState
        var actor: Actor
        var action: Action
        var expected: Expected
        var testDescription: String { "\(state.rawValue) \(actor) \(action)" }
    }

    enum Expected: Sendable, Equatable {
        case becomes(RequestState)
        case fails(StatusCode)
    }

    static let rows: [Row] = {
        var rows: [Row] = []
        let pending: Set<RequestState> = [.pendingInternal, .pendingCustomer]
        for state in RequestState.allCases {
            let wrongState = Expected.fails(.failedPrecondition)
            func add(_ actor: Actor, _ action: Action, _ expected: Expected) {
                rows.append(Row(state: state, actor: actor, action: action, expected: expected))
            }
            add(.manager, .approveInternal, state == .pendingInternal ? .becomes(.pendingCustomer) : wrongState)
            add(.manager, .denyInternal, state == .pendingInternal ? .becomes(.denied) : wrongState)
            add(.contosoApprover, .approveCustomer, state == .pendingCustomer ? .becomes(.approved) : wrongState)
            add(.contosoAdmin, .denyCustomer, state == .pendingCustomer ? .becomes(.denied) : wrongState)
            add(.contosoApprover, .cancelCustomer, pending.contains(state) ? .becomes(.canceled) : wrongState)
            add(.requester, .cancel, pending.contains(state) ? .becomes(.canceled) : wrongState)
            add(.contosoApprover, .revoke, state == .approved ? .becomes(.revoked) : wrongState)
            add(.requester, .revoke, state == .approved ? .becomes(.revoked) : wrongState)
            // Who may not, whatever the state.
            add(.requester, .approveInternal, .fails(.permissionDenied))
            add(.contosoApprover, .approveInternal, .fails(.permissionDenied))
            for actor in [Actor.requester, .manager, .auditor, .service] {
                add(actor, .approveCustomer, .fails(.permissionDenied))
                add(actor, .denyCustomer, .fails(.permissionDenied))
            }
            // Another tenant's approver cannot even see it.
            add(.fabrikamApprover, .approveCustomer, .fails(.notFound))
            add(.fabrikamApprover, .revoke, .fails(.notFound))
            add(.fabrikamApprover, .cancel, .fails(.notFound))
            // Another operator cannot withdraw or revoke someone else's request.
            add(.otherOperator, .cancel, .fails(.notFound))
            add(.otherOperator, .revoke, .fails(.notFound))
        }
        return rows
    }()

    @Test("lifecycle table", arguments: RequestState.allCases)
    func lifecycleTable(state: RequestState) async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            for row in Self.rows where row.state == state {
                let id = try await Self.make(state, h, w)
                let code = await row.action.perform(h, w, id, token: row.actor.token(w))
                let after = try await h.get(id, token: w.managerToken).status
                switch row.expected {
                case .becomes(let next):
                    #expect(code == .ok, "\(row.testDescription)")
                    #expect(after == Self.stateProto(next), "\(row.testDescription)")
                case .fails(let expectedCode):
                    #expect(code == expectedCode, "\(row.testDescription)")
                    #expect(after == Self.stateProto(state), "\(row.testDescription): state must not change")
                }
            }
        }
    }

    @Test func requesterCannotDecideOwnRequestEvenAsManager() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let id = try await h.createRequest(w, token: w.dualToken).id
            let code = await Action.approveInternal.perform(h, w, id, token: w.dualToken)
            #expect(code == .permissionDenied)
            #expect(try await h.get(id, token: w.managerToken).status == .pendingInternal)
            // Another manager may.
            #expect(await Action.approveInternal.perform(h, w, id, token: w.managerToken) == .ok)
        }
    }

    @Test func lockboxOffGoesStraightToApprovedAndSaysSo() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            // A tenant with a root switches with a policy its admin's key signs.
            try await h.api.setLockbox(w, enabled: false, token: w.contosoAdmin)
            let id = try await h.createRequest(w).id
            try await h.approveInternally(w, id)
            let request = try await h.get(id, token: w.operatorToken)
            #expect(request.status == .approved)
            #expect(request.grant?.active == true)
            #expect(request.grant?.endsAtMs == h.clock.nowMillis() + 3_600_000)
            let audit = try await h.sql(
                """
                SELECT details->>'customer_approval_required' AS required FROM audit_records
                WHERE item = \(id) AND activity = 'InternalApprove'
                """
            )
            #expect(try audit.first?.string("required") == "false")
        }
    }

    @Test func approverMayShortenNeverLengthen() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let id = try await h.createRequest(w, duration: 3600).id
            try await h.approveInternally(w, id)
            await #expect(throws: RPCError(.invalidArgument, "an approval may shorten the access, never lengthen it")) {
                _ = try await h.decide(
                    w,
                    CustomerDecision(requestID: id, decision: .approve, approvedDurationSeconds: 7200),
                    token: w.contosoApprover
                )
            }
            let approved = try await h.decide(
                w,
                CustomerDecision(
                    requestID: id,
                    decision: .approve,
                    comment: "30 min only",
                    approvedDurationSeconds: 1800
                ),
                token: w.contosoApprover
            )
            #expect(approved.grant?.endsAtMs == h.clock.nowMillis() + 1_800_000)
            #expect(approved.customerDecision?.comment == "30 min only")
            #expect(approved.customerDecision?.approvedDurationSeconds == 1800)
        }
    }

    @Test func clockAuthorityBeforeAnySweeper() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let pendingID = try await h.createRequest(w).id
            try await h.approveInternally(w, pendingID)
            let approvedID = try await h.createRequest(w, duration: 600).id
            try await h.approveInternally(w, approvedID)
            try await h.approveByCustomer(w, approvedID)

            // 12 hours and a minute later, with no sweeper having run:
            h.clock.advance(by: .seconds(12 * 3600 + 60))
            await #expect(throws: RPCError(.failedPrecondition, "request is EXPIRED")) {
                try await h.approveByCustomer(w, pendingID)
            }
            #expect(try await h.get(pendingID, token: w.managerToken).status == .expired)
            let approved = try await h.get(approvedID, token: w.operatorToken)
            #expect(approved.status == .completed)
            #expect(approved.grant?.active == false)
            #expect(approved.grant?.secondsLeft == 0)
            await #expect(throws: RPCError(.failedPrecondition, "request is COMPLETED")) {
                _ = try await h.call(
                    LockboxMethods.revokeAccess,
                    RevokeAccessRequest(requestID: approvedID),
                    token: w.contosoApprover
                )
            }
            // Stored states are still the old ones until the sweeper runs; then each move is audited once.
            let stored = try await h.sql("SELECT status FROM access_requests WHERE request_id = \(pendingID)")
            #expect(try stored.first?.string("status") == "PENDING_CUSTOMER")
            #expect(try await h.sweeper.sweepOnce() == 2)
            #expect(try await h.sweeper.sweepOnce() == 0)
            let audits = try await h.sql(
                "SELECT activity, actor_id FROM audit_records WHERE activity IN ('RequestExpired', 'GrantCompleted') ORDER BY activity"
            )
            #expect(try audits.rows.map { try $0.string("activity") } == ["GrantCompleted", "RequestExpired"])
            #expect(try audits.rows.allSatisfy { try $0.string("actor_id") == "lockbox" })
        }
    }

    @Test func tenantsAreIsolated() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let contosoID = try await h.createRequest(w, tenant: "contoso").id
            let fabrikamID = try await h.createRequest(w, tenant: "fabrikam").id
            await #expect(throws: RPCError(.notFound, "no such request")) {
                _ = try await h.get(contosoID, token: w.fabrikamApprover)
            }
            let listed = try await h.call(
                LockboxMethods.listAccessRequests,
                ListAccessRequestsRequest(),
                token: w.fabrikamApprover
            )
            #expect(listed.requests.map(\.id) == [fabrikamID])
            // Another tenant does not exist as far as a tenant principal can tell: NOT_FOUND from
            // every call that names it, lists included (PERMISSION_DENIED before issue 9).
            await #expect(throws: RPCError(.notFound, "no such tenant")) {
                _ = try await h.call(
                    LockboxMethods.listAccessRequests,
                    ListAccessRequestsRequest(tenantID: "contoso"),
                    token: w.fabrikamApprover
                )
            }
            await #expect(throws: RPCError(.notFound, "no such tenant")) {
                _ = try await h.call(
                    LockboxMethods.listGrants,
                    ListGrantsRequest(tenantID: "contoso"),
                    token: w.fabrikamApprover
                )
            }
            await #expect(throws: RPCError(.notFound, "no such tenant")) {
                _ = try await h.call(
                    LockboxMethods.getTenantSettings,
                    GetTenantSettingsRequest(tenantID: "contoso"),
                    token: w.fabrikamApprover
                )
            }
            let search = try await h.call(
                LockboxMethods.searchAudit,
                SearchAuditRequest(),
                token: w.fabrikamApprover
            )
            #expect(!search.records.isEmpty)
            #expect(search.records.allSatisfy { $0.tenantID == "fabrikam" })
            await #expect(throws: RPCError(.notFound, "no such tenant")) {
                _ = try await h.call(
                    LockboxMethods.searchAudit,
                    SearchAuditRequest(tenantID: "contoso"),
                    token: w.fabrikamApprover
                )
            }
        }
    }

    @Test func providerSideCannotChangeTenantRoles() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let principal = try await h.call(
                LockboxMethods.createPrincipal,
                CreatePrincipalRequest(displayName: "new", tenantID: "contoso"),
                token: w.contosoAdmin
            )
            let assignment = RoleAssignment(principalID: principal.id, role: .lockboxApprover, tenantID: "contoso")
            #expect(await h.status(LockboxMethods.assignRole, assignment, token: w.providerAdmin) == .permissionDenied)
            #expect(
                await h.status(
                    LockboxMethods.createPrincipal,
                    CreatePrincipalRequest(displayName: "sneaky", tenantID: "contoso", roles: [assignment]),
                    token: w.providerAdmin
                ) == .permissionDenied
            )
            #expect(
                await h.status(
                    LockboxMethods.removeRole,
                    RoleAssignment(principalID: w.contosoApproverID, role: .lockboxApprover, tenantID: "contoso"),
                    token: w.providerAdmin
                ) == .permissionDenied
            )
            // Another tenant's admin cannot either.
            #expect(await h.status(LockboxMethods.assignRole, assignment, token: w.fabrikamAdmin) == .notFound)
            // The tenant's own global admin can, and the approver can then decide.
            #expect(await h.status(LockboxMethods.assignRole, assignment, token: w.contosoAdmin) == .ok)
            // And the last global admin cannot be removed.
            #expect(
                await h.status(
                    LockboxMethods.removeRole,
                    RoleAssignment(principalID: w.contosoAdminID, role: .globalAdmin, tenantID: "contoso"),
                    token: w.contosoAdmin
                ) == .failedPrecondition
            )
        }
    }

    @Test func roleRemovalTakesEffectOnTheNextCall() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let id = try await h.createRequest(w).id
            try await h.approveInternally(w, id)
            _ = try await h.call(
                LockboxMethods.removeRole,
                RoleAssignment(principalID: w.contosoApproverID, role: .lockboxApprover, tenantID: "contoso"),
                token: w.contosoAdmin
            )
            #expect(await Action.approveCustomer.perform(h, w, id, token: w.contosoApprover) == .permissionDenied)
        }
    }

    @Test func tokensAuthenticateUntilRevokedOrExpired() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let ping = ListAccessRequestsRequest()
            #expect(await h.status(LockboxMethods.listAccessRequests, ping, token: "") == .unauthenticated)
            #expect(await h.status(LockboxMethods.listAccessRequests, ping, token: "lbx_nope") == .unauthenticated)
            let issued = try await h.call(
                LockboxMethods.issueToken,
                IssueTokenRequest(principalID: w.contosoApproverID, ttlSeconds: 60),
                token: w.contosoAdmin
            )
            #expect(issued.secret.hasPrefix("lbx_") && issued.secret.count >= 40)
            #expect(await h.status(LockboxMethods.listAccessRequests, ping, token: issued.secret) == .ok)
            h.clock.advance(by: .seconds(61))
            #expect(await h.status(LockboxMethods.listAccessRequests, ping, token: issued.secret) == .unauthenticated)

            let second = try await h.call(
                LockboxMethods.issueToken,
                IssueTokenRequest(principalID: w.contosoApproverID),
                token: w.contosoAdmin
            )
            _ = try await h.call(
                LockboxMethods.revokeToken,
                RevokeTokenRequest(tokenID: second.token!.id),
                token: w.contosoAdmin
            )
            #expect(await h.status(LockboxMethods.listAccessRequests, ping, token: second.secret) == .unauthenticated)
            // Only hashes are stored.
            let stored = try await h.sql(
                "SELECT count(*) AS n FROM api_tokens WHERE encode(token_hash, 'escape') LIKE '%' || \(String(second.secret.dropFirst(4))) || '%'"
            )
            #expect(try stored.first?.int64("n") == 0)
        }
    }

    @Test func badInputIsInvalidArgument() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            func create(_ request: CreateAccessRequestRequest) async -> StatusCode {
                await h.status(LockboxMethods.createAccessRequest, request, token: w.operatorToken)
            }
            let good = CreateAccessRequestRequest(
                tenantID: "contoso",
                service: .teams,
                ticketNumber: "T",
                justification: "j",
                requestedDurationSeconds: 60
            )
            #expect(await create(good) == .ok)
            var bad = good
            bad.requestedDurationSeconds = 59
            #expect(await create(bad) == .invalidArgument)
            bad = good
            bad.requestedDurationSeconds = 4 * 3600 + 1
            #expect(await create(bad) == .invalidArgument)
            bad = good
            bad.service = .unspecified
            #expect(await create(bad) == .invalidArgument)
            bad = good
            bad.justification = String(repeating: "x", count: 2001)
            #expect(await create(bad) == .invalidArgument)
            bad = good
            bad.ticketNumber = ""
            #expect(await create(bad) == .invalidArgument)
            bad = good
            bad.ticketNumber = "T\u{7}"
            #expect(await create(bad) == .invalidArgument)
            bad = good
            bad.tenantID = "nosuch"
            #expect(await create(bad) == .notFound)
            // A tenant cap below 4 hours is enforced.
            _ = try await h.call(
                LockboxMethods.setTenantSettings,
                SetTenantSettingsRequest(tenantID: "contoso", maxAccessDurationSeconds: Int64Value(value: 1800)),
                token: w.contosoAdmin
            )
            bad = good
            bad.requestedDurationSeconds = 1801
            #expect(await create(bad) == .invalidArgument)
            let page = await h.status(
                LockboxMethods.searchAudit,
                SearchAuditRequest(pageToken: "'; DROP TABLE audit_records; --"),
                token: w.auditorToken
            )
            #expect(page == .invalidArgument)
        }
    }
}
