import Foundation
import LockboxCore
import LockboxProto
import LockboxRPC
@testable import LockboxServer
@testable import LockboxStore
import LockboxTestSupport
import LockboxTrust
import Testing

/// The customer's guarantee holds against the provider itself (docs/security.md): each test
/// here is one hole a provider-side attacker could use, closed.
@Suite struct GuaranteeTests {
    // MARK: 1. The provider never holds a customer credential

    @Test func creatingATenantGivesTheProviderNoCredential() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let created = try await h.call(
                LockboxMethods.createTenant,
                CreateTenantRequest(tenantID: "northwind", displayName: "Northwind"),
                token: w.providerAdmin
            )
            let code = try #require(created.enrollment)
            #expect(code.code.hasPrefix("lbxe_"))
            #expect(code.expiresAtMs == h.clock.nowMillis() + 72 * 3_600_000)
            // Nothing of the tenant's can authenticate yet: no principal, no token.
            #expect(
                try await h.sql("SELECT count(*) AS n FROM principals WHERE tenant_id = 'northwind'").first?.int64("n")
                    == 0
            )
            #expect(
                try await h.sql("SELECT count(*) AS n FROM api_tokens WHERE tenant_id = 'northwind'").first?.int64("n")
                    == 0
            )
            // The code is kept only as a hash.
            let stored = try await h.sql(
                "SELECT count(*) AS n FROM enrollment_codes WHERE tenant_id = 'northwind' AND code_hash = sha256(convert_to(\(code.code), 'UTF8'))"
            )
            #expect(try stored.first?.int64("n") == 1)
            #expect(
                try await h.sql(
                    "SELECT count(*) AS n FROM enrollment_codes WHERE position(\(code.code)::bytea in code_hash) > 0"
                ).first?.int64("n") == 0
            )
        }
    }

    @Test func theFirstGlobalAdminEnrollsOnceWithTheCode() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let code = try await h.call(
                LockboxMethods.createTenant,
                CreateTenantRequest(tenantID: "northwind", displayName: "Northwind"),
                token: w.providerAdmin
            ).enrollment!.code
            func enroll(_ code: String, tenant: String = "northwind") async -> Result<
                EnrollTenantAdminResponse, RPCError
            > {
                do {
                    return .success(
                        try await h.call(
                            LockboxMethods.enrollTenantAdmin,
                            API.enrollment(tenant, code: code, displayName: "Nora", root: API.newKey()),
                            token: ""
                        )
                    )
                } catch {
                    return .failure(error)
                }
            }
            // A wrong code, and the right code for another tenant, are refused.
            #expect(
                await enroll("lbxe_wrong")
                    == .failure(RPCError(.unauthenticated, "this enrollment code is not valid for this tenant"))
            )
            #expect(
                await enroll(code, tenant: "contoso")
                    == .failure(RPCError(.unauthenticated, "this enrollment code is not valid for this tenant"))
            )
            let enrolled = try await enroll(code).get()
            let admin = try #require(enrolled.admin)
            #expect(admin.tenantID == "northwind")
            #expect(admin.roles.map(\.role) == [.globalAdmin])
            let token = try #require(enrolled.token?.secret)
            // The admin's own token works, and is theirs.
            let settings = try await h.call(
                LockboxMethods.getTenantSettings,
                GetTenantSettingsRequest(tenantID: "northwind"),
                token: token
            )
            #expect(settings.lockboxEnabled)
            // A second redemption is refused: the code is spent.
            #expect(
                await enroll(code)
                    == .failure(RPCError(.failedPrecondition, "this enrollment code was already redeemed"))
            )
            // And no new code may be issued: the tenant's own admins manage it now.
            #expect(
                await h.status(
                    LockboxMethods.issueEnrollmentCode,
                    IssueEnrollmentCodeRequest(tenantID: "northwind"),
                    token: w.providerAdmin
                ) == .failedPrecondition
            )
            // Every refusal of a real code is in the tenant's audit log, with the caller's IP. A
            // code that is none of the tenant's is not: anyone may call, and guesses must not
            // fill the customer's log.
            let refusals = try await h.sql(
                """
                SELECT details->>'reason' AS reason, actor_ip FROM audit_records
                WHERE tenant_id = 'northwind' AND activity = 'EnrollmentRefused' AND kind = 'enrollment' ORDER BY audit_id
                """
            )
            #expect(
                try refusals.rows.map { try $0.string("reason") } == ["this enrollment code was already redeemed"]
            )
            #expect(try refusals.rows.allSatisfy { try $0.string("actor_ip") == "127.0.0.1" })
            let enrolledRecord = try await h.sql(
                "SELECT actor_id FROM audit_records WHERE tenant_id = 'northwind' AND activity = 'TenantAdminEnrolled'"
            )
            #expect(try enrolledRecord.first?.string("actor_id") == admin.id, "credited to the customer's own admin")
        }
    }

    /// Anyone holding a spent code may try it again and again: past the hourly limit the
    /// refusals are counted, not recorded one by one, and the count is recorded later.
    @Test func refusedEnrollmentsAreRecordedOneByOneOnlyUpToALimit() async throws {
        let budgets = BudgetConfiguration(enrollmentBurst: 1000, enrollmentPerMinute: 6000)
        try await Harness.with(budgets: budgets) { h in
            let w = try await h.makeWorld()
            let code = try await h.call(
                LockboxMethods.createTenant,
                CreateTenantRequest(tenantID: "northwind", displayName: "Northwind"),
                token: w.providerAdmin
            ).enrollment!.code
            let request = API.enrollment("northwind", code: code, displayName: "Nora", root: API.newKey())
            _ = try await h.call(LockboxMethods.enrollTenantAdmin, request, token: "")
            let limit = AdminAPI.recordedRefusalsPerHour
            for _ in 0..<(limit + 15) {
                #expect(await h.status(LockboxMethods.enrollTenantAdmin, request, token: "") == .failedPrecondition)
            }
            let recorded = try await h.sql(
                """
                SELECT details->>'note' AS note FROM audit_records
                WHERE tenant_id = 'northwind' AND activity = 'EnrollmentRefused' ORDER BY audit_id
                """
            )
            #expect(recorded.rows.count == limit)
            #expect(try recorded.rows.last?.decode("note", as: String?.self)?.contains("counted") == true)
            // An hour later (by the database's clock, which stamps records) the next refusal
            // is recorded with the count of those that were not.
            try await h.ownerPool.withConnection { db in
                try db.execute(
                    script: """
                        BEGIN;
                        ALTER TABLE audit_records DISABLE TRIGGER audit_records_no_update_or_delete;
                        UPDATE audit_records SET recorded_at_ms = recorded_at_ms - 3600000
                        WHERE tenant_id = 'northwind' AND activity = 'EnrollmentRefused';
                        ALTER TABLE audit_records ENABLE TRIGGER audit_records_no_update_or_delete;
                        COMMIT;
                        """
                )
            }
            #expect(await h.status(LockboxMethods.enrollTenantAdmin, request, token: "") == .failedPrecondition)
            let next = try await h.sql(
                """
                SELECT details->>'refusals_unrecorded_before' AS unrecorded FROM audit_records
                WHERE tenant_id = 'northwind' AND activity = 'EnrollmentRefused' ORDER BY audit_id DESC LIMIT 1
                """
            )
            #expect(try next.first?.string("unrecorded") == "15")
        }
    }

    @Test func anExpiredOrReplacedCodeIsRefusedAndALostOneCanBeReplaced() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let first = try await h.call(
                LockboxMethods.createTenant,
                CreateTenantRequest(tenantID: "northwind", displayName: "Northwind"),
                token: w.providerAdmin
            ).enrollment!.code
            h.clock.advance(by: .seconds(72 * 3600))
            await #expect(
                throws: RPCError(
                    .failedPrecondition,
                    "this enrollment code has expired; ask your provider for a new one"
                )
            ) {
                _ = try await h.call(
                    LockboxMethods.enrollTenantAdmin,
                    API.enrollment("northwind", code: first, displayName: "Nora", root: API.newKey()),
                    token: ""
                )
            }
            // The provider may replace a lost or expired code while nobody has enrolled.
            let second = try await h.call(
                LockboxMethods.issueEnrollmentCode,
                IssueEnrollmentCodeRequest(tenantID: "northwind"),
                token: w.providerAdmin
            ).code
            let third = try await h.call(
                LockboxMethods.issueEnrollmentCode,
                IssueEnrollmentCodeRequest(tenantID: "northwind"),
                token: w.providerAdmin
            ).code
            await #expect(throws: RPCError(.failedPrecondition, "this enrollment code was replaced by a newer one")) {
                _ = try await h.call(
                    LockboxMethods.enrollTenantAdmin,
                    API.enrollment("northwind", code: second, displayName: "Nora", root: API.newKey()),
                    token: ""
                )
            }
            let enrolled = try await h.call(
                LockboxMethods.enrollTenantAdmin,
                API.enrollment("northwind", code: third, displayName: "Nora", root: API.newKey()),
                token: ""
            )
            #expect(enrolled.token != nil)
            let refusals = try await h.sql(
                "SELECT count(*) AS n FROM audit_records WHERE tenant_id = 'northwind' AND activity = 'EnrollmentRefused'"
            )
            #expect(try refusals.first?.int64("n") == 2)
        }
    }

    /// Every provider role, alone and all together, against every call that acts as the customer
    /// or on the customer's principals: refused, and nothing changes.
    @Test func noProviderPrincipalActsAsTheCustomer() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let request = try await h.createRequest(w)
            try await h.approveInternally(w, request.id)
            var callers: [(String, String)] = []
            let providerRoles: [LockboxProto.Role] = [.operator, .supportManager, .providerAdmin, .service, .auditor]
            for role in providerRoles {
                callers.append(
                    ("\(role)", try await h.api.principal("only \(role)", roles: [role], by: w.providerAdmin).token)
                )
            }
            callers.append(
                (
                    "all provider roles",
                    try await h.api.principal("all", roles: providerRoles, by: w.providerAdmin).token
                )
            )
            let tenantTokens = try await h.sql(
                "SELECT token_id FROM api_tokens WHERE tenant_id = 'contoso' ORDER BY token_id LIMIT 1"
            )
            let tenantToken = try #require(try tenantTokens.first?.string("token_id"))
            for (name, token) in callers {
                let codes: [(String, StatusCode)] = [
                    (
                        "DecideCustomer",
                        await h.decideStatus(
                            w,
                            CustomerDecision(requestID: request.id, decision: .approve),
                            token: token
                        )
                    ),
                    (
                        "DecideCustomer deny",
                        await h.decideStatus(
                            w,
                            CustomerDecision(requestID: request.id, decision: .deny),
                            token: token
                        )
                    ),
                    (
                        "SetLockboxEnabled",
                        await h.status(
                            LockboxMethods.setLockboxEnabled,
                            SetLockboxEnabledRequest(tenantID: "contoso", enabled: false, reason: "x"),
                            token: token
                        )
                    ),
                    (
                        "SetTenantSettings",
                        await h.status(
                            LockboxMethods.setTenantSettings,
                            SetTenantSettingsRequest(
                                tenantID: "contoso",
                                approvalWindowSeconds: Int64Value(value: 600)
                            ),
                            token: token
                        )
                    ),
                    (
                        "GetTenantSettings",
                        await h.status(
                            LockboxMethods.getTenantSettings,
                            GetTenantSettingsRequest(tenantID: "contoso"),
                            token: token
                        )
                    ),
                    (
                        "AssignRole",
                        await h.status(
                            LockboxMethods.assignRole,
                            RoleAssignment(principalID: w.contosoApproverID, role: .globalAdmin, tenantID: "contoso"),
                            token: token
                        )
                    ),
                    (
                        "RemoveRole",
                        await h.status(
                            LockboxMethods.removeRole,
                            RoleAssignment(
                                principalID: w.contosoApproverID,
                                role: .lockboxApprover,
                                tenantID: "contoso"
                            ),
                            token: token
                        )
                    ),
                    (
                        "CreatePrincipal",
                        await h.status(
                            LockboxMethods.createPrincipal,
                            CreatePrincipalRequest(
                                displayName: "mole",
                                tenantID: "contoso",
                                roles: [RoleAssignment(role: .lockboxApprover, tenantID: "contoso")]
                            ),
                            token: token
                        )
                    ),
                    (
                        "ListPrincipals",
                        await h.status(
                            LockboxMethods.listPrincipals,
                            ListPrincipalsRequest(tenantID: "contoso"),
                            token: token
                        )
                    ),
                    (
                        "ListRoleAssignments",
                        await h.status(
                            LockboxMethods.listRoleAssignments,
                            ListRoleAssignmentsRequest(tenantID: "contoso"),
                            token: token
                        )
                    ),
                    (
                        "IssueToken",
                        await h.status(
                            LockboxMethods.issueToken,
                            IssueTokenRequest(principalID: w.contosoApproverID),
                            token: token
                        )
                    ),
                    (
                        "RevokeToken",
                        await h.status(
                            LockboxMethods.revokeToken,
                            RevokeTokenRequest(tokenID: tenantToken),
                            token: token
                        )
                    ),
                    (
                        "SuspendPrincipal",
                        await h.status(
                            LockboxMethods.suspendPrincipal,
                            SuspendPrincipalRequest(principalID: w.contosoApproverID, reason: "x"),
                            token: token
                        )
                    ),
                    (
                        "IssueEnrollmentCode",
                        await h.status(
                            LockboxMethods.issueEnrollmentCode,
                            IssueEnrollmentCodeRequest(tenantID: "contoso"),
                            token: token
                        )
                    ),
                ]
                for (method, code) in codes {
                    // IssueEnrollmentCode is the provider admin's, and refused here because contoso has its admins.
                    let expected: Set<StatusCode> =
                        method == "IssueEnrollmentCode"
                        ? [.permissionDenied, .failedPrecondition] : [.permissionDenied]
                    #expect(expected.contains(code), "\(name) \(method): \(code)")
                }
            }
            // Nothing changed.
            #expect(try await h.get(request.id, token: w.contosoApprover).status == .pendingCustomer)
            let settings = try await h.call(
                LockboxMethods.getTenantSettings,
                GetTenantSettingsRequest(tenantID: "contoso"),
                token: w.contosoAdmin
            )
            #expect(
                settings
                    == TenantSettings(
                        tenantID: "contoso",
                        lockboxEnabled: true,
                        approvalWindowSeconds: 43_200,
                        maxAccessDurationSeconds: 14_400
                    )
            )
            let roles = try await h.call(
                LockboxMethods.listRoleAssignments,
                ListRoleAssignmentsRequest(tenantID: "contoso"),
                token: w.contosoAdmin
            )
            #expect(Set(roles.assignments.map(\.principalID)) == [w.contosoAdminID, w.contosoApproverID])
            #expect(
                try await h.sql(
                    "SELECT count(*) AS n FROM api_tokens WHERE tenant_id = 'contoso' AND revoked_at_ms IS NOT NULL"
                ).first?.int64("n") == 0
            )
        }
    }

    @Test func theSchemaRefusesATenantRoleForAProviderPrincipal() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            for statement: PGQuery in [
                "INSERT INTO role_assignments (principal_id, role, tenant_id, assigned_by, assigned_at_ms) VALUES (\(w.operatorID), 'lockbox_approver', 'contoso', 'x', 0)",
                "INSERT INTO role_assignments (principal_id, role, tenant_id, assigned_by, assigned_at_ms) VALUES (\(w.contosoApproverID), 'lockbox_approver', 'fabrikam', 'x', 0)",
                "INSERT INTO role_assignments (principal_id, role, tenant_id, assigned_by, assigned_at_ms) VALUES (\(w.contosoApproverID), 'operator', '', 'x', 0)",
            ] {
                await #expect(throws: StoreError.self, "\(statement.sql)") { _ = try await h.sql(statement) }
            }
        }
    }

    // MARK: 2. The database keeps the audit log append-only, against lockboxd too

    @Test func theRuntimeRoleCannotRewriteTheAuditLog() async throws {
        let database = try await TestDatabase.migratedURLs()
        let runtime = try PGConnection(url: database.runtime)
        try await Harness.with(database: database) { h in
            _ = try await h.makeWorld()
        }
        #expect(try RuntimeRole.problems(runtime).isEmpty)
        for statement in [
            "UPDATE audit_records SET activity = 'forged'",
            "DELETE FROM audit_records",
            "TRUNCATE audit_records",
            "ALTER TABLE audit_records DISABLE TRIGGER audit_records_no_update_or_delete",
            "ALTER TABLE audit_records DISABLE TRIGGER ALL",
            "SET session_replication_role = replica",
            "DROP TABLE audit_records",
            "DROP TRIGGER audit_records_no_update_or_delete ON audit_records",
            // The chain over it, its checkpoints and the published keys, likewise.
            "UPDATE audit_seals SET seq = seq + 1",
            "DELETE FROM audit_seals",
            "TRUNCATE audit_seals",
            "UPDATE audit_checkpoints SET seq = 0",
            "DELETE FROM audit_checkpoints",
            "UPDATE signing_keys SET public_key = public_key",
            "DELETE FROM signing_keys",
            "ALTER TABLE audit_seals DISABLE TRIGGER ALL",
        ] {
            do {
                try runtime.execute(script: statement)
                Issue.record("the runtime role could: \(statement)")
            } catch {
                #expect(error.sqlState == "42501", "\(statement): \(error)")
            }
        }
        // A record waiting to be sealed cannot be dropped from the queue, so it cannot miss its chain.
        let queued = try runtime.query("SELECT count(*) AS n FROM audit_unsealed").first?.int64("n") ?? 0
        #expect(queued > 0)
        #expect(throws: StoreError.self) { try runtime.execute(script: "DELETE FROM audit_unsealed") }
        #expect(try runtime.query("SELECT count(*) AS n FROM audit_unsealed").first?.int64("n") == queued)
        let count = try runtime.query(
            "SELECT count(*) AS n, count(*) FILTER (WHERE activity = 'forged') AS forged FROM audit_records"
        )
        #expect(try count.first?.int64("n") ?? 0 > 10)
        #expect(try count.first?.int64("forged") == 0)
        // The schema's owner and the superuser are what lockboxd refuses to serve as.
        let owner = try PGConnection(url: database.owner)
        #expect(try RuntimeRole.problems(owner).contains { $0.contains("owns") })
        let superuser = try PGConnection(url: database.superuser)
        #expect(try RuntimeRole.problems(superuser).contains { $0.contains("is a superuser") })
        // A role granted more on the chain than appending is refused too.
        let suffix = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        let role = "lbx_chain_\(suffix)"
        try superuser.execute(script: "CREATE ROLE \(role) LOGIN PASSWORD 'pw-\(suffix)'")
        defer { try? superuser.execute(script: "DROP OWNED BY \(role); DROP ROLE \(role)") }
        try owner.execute(script: "GRANT SELECT, UPDATE ON audit_seals TO \(role)")
        var url = URLComponents(string: database.runtime)!
        url.user = role
        url.password = "pw-\(suffix)"
        let chainWriter = try PGConnection(url: url.string!)
        #expect(try RuntimeRole.problems(chainWriter).contains { $0.contains("the audit chain's seals") })
    }

    /// Roles that could make themselves the audit log's owner: a member of the owner even
    /// without INHERIT (it could SET ROLE), and a role with CREATEROLE. lockboxd refuses to serve
    /// as either, and `migrate --runtime-role` refuses to grant either.
    @Test func rolesThatCouldBecomeTheOwnerAreRefused() async throws {
        let database = try await TestDatabase.migratedURLs()
        let superuser = try PGConnection(url: database.superuser)
        let owner = try PGConnection(url: database.owner)
        let suffix = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        let cases: [(role: String, options: String, problem: String)] = [
            ("lbx_member_\(suffix)", "NOINHERIT IN ROLE lockbox_owner", "member of the audit log's owner"),
            ("lbx_createrole_\(suffix)", "CREATEROLE", "CREATEROLE"),
        ]
        for (role, options, problem) in cases {
            // Names and options are ours, generated above: safe to splice into DDL.
            try superuser.execute(script: "CREATE ROLE \(role) LOGIN PASSWORD 'pw-\(suffix)' \(options)")
            defer { try? superuser.execute(script: "DROP ROLE \(role)") }
            var url = URLComponents(string: database.runtime)!
            url.user = role
            url.password = "pw-\(suffix)"
            let connection = try PGConnection(url: url.string!)
            #expect(try RuntimeRole.problems(connection).contains { $0.contains(problem) }, "\(role)")
            #expect(throws: StoreError.self, "\(role)") { try RuntimeRole.grant(to: role, owner) }
        }
    }

    // MARK: 3. Offboarding cuts access at once

    @Test func suspendingAnOperatorEndsItsAccessAtOnce() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let id = try await Self.approvedGrant(h, w)
            #expect(try await Self.check(h, w).allowed)
            let suspended = try await h.call(
                LockboxMethods.suspendPrincipal,
                SuspendPrincipalRequest(principalID: w.operatorID, reason: "left the company"),
                token: w.providerAdmin
            )
            #expect(suspended.suspendedAtMs == h.clock.nowMillis())
            // The very next check is denied, its tokens no longer work, and its grant ended.
            let check = try await Self.check(h, w)
            #expect(!check.allowed)
            #expect(check.reason == .operatorSuspended)
            #expect(
                await h.status(
                    LockboxMethods.getAccessRequest,
                    GetAccessRequestRequest(requestID: id),
                    token: w.operatorToken
                ) == .unauthenticated
            )
            let request = try await h.get(id, token: w.contosoAdmin)
            #expect(request.status == .revoked)
            let audit = try await h.sql(
                """
                SELECT activity, kind, actor_id, details->>'reason' AS reason FROM audit_records
                WHERE activity IN ('AccessRevoked', 'PrincipalSuspended') ORDER BY audit_id
                """
            )
            // The database records the suspension as it happens, with the reason given; then
            // the grant it ends.
            #expect(try audit.rows.map { try $0.string("activity") } == ["PrincipalSuspended", "AccessRevoked"])
            #expect(
                try audit.rows.map { try $0.string("reason") } == [
                    "left the company", "operator suspended: left the company",
                ]
            )
            #expect(
                try audit.rows.allSatisfy { try $0.string("kind") == "lifecycle" || $0.string("kind") == "principal" }
            )
            // Reactivating restores neither: old tokens stay revoked, the grant stays ended.
            _ = try await h.call(
                LockboxMethods.reactivatePrincipal,
                ReactivatePrincipalRequest(principalID: w.operatorID, reason: "back"),
                token: w.providerAdmin
            )
            #expect(
                await h.status(
                    LockboxMethods.getAccessRequest,
                    GetAccessRequestRequest(requestID: id),
                    token: w.operatorToken
                ) == .unauthenticated
            )
            let after = try await Self.check(h, w)
            #expect(!after.allowed)
            #expect(after.reason == .revoked)
        }
    }

    /// Suspension withdraws the operator's pending requests too, and an approval that raced the
    /// suspension (committed after it read the operator's grants) yields nothing: the grant is
    /// unusable while suspended, and reactivation ends it.
    @Test func suspensionWithdrawsPendingRequestsAndReactivationEndsWhatRacedIt() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let waitingInternally = try await h.createRequest(w).id
            let waitingForCustomer = try await h.createRequest(w, tenant: "fabrikam").id
            try await h.approveInternally(w, waitingForCustomer)
            _ = try await h.call(
                LockboxMethods.suspendPrincipal,
                SuspendPrincipalRequest(principalID: w.operatorID, reason: "left"),
                token: w.providerAdmin
            )
            #expect(try await h.get(waitingInternally, token: w.contosoAdmin).status == .canceled)
            #expect(try await h.get(waitingForCustomer, token: w.fabrikamAdmin).status == .canceled)
            let withdrawn = try await h.sql(
                "SELECT count(*) AS n FROM audit_records WHERE activity = 'SuspensionCancel' AND kind = 'lifecycle'"
            )
            #expect(try withdrawn.first?.int64("n") == 2)
            // The suspension's record names the token it was made with, which traces to its holder.
            let traced = try await h.sql(
                """
                SELECT count(*) AS n FROM audit_records a
                JOIN api_tokens t ON t.token_id = a.details->>'token_id' AND t.principal_id = a.actor_id
                WHERE a.activity = 'PrincipalSuspended'
                """
            )
            #expect(try traced.first?.int64("n") == 1)
            // An issuance names both tokens: the one issued, and the one it was issued with.
            let issued = try await h.sql(
                """
                SELECT count(*) AS n FROM audit_records a
                JOIN api_tokens t ON t.token_id = a.details->>'issued_token_id'
                WHERE a.activity = 'TokenIssued' AND a.details->>'token_id' <> a.details->>'issued_token_id'
                """
            )
            #expect(try issued.first?.int64("n") ?? 0 > 0)
            // An approval that committed just after the suspension read the operator's grants.
            let now = h.clock.nowMillis()
            _ = try await h.sql(
                "UPDATE access_requests SET status = 'APPROVED' WHERE request_id = \(waitingInternally)"
            )
            _ = try await h.sql(
                """
                INSERT INTO grants (tenant_id, request_id, operator_id, service, starts_at_ms, ends_at_ms, operations)
                VALUES ('contoso', \(waitingInternally), \(w.operatorID), 'exchange', \(now), \(now + 3_600_000),
                        ARRAY['get-mailbox'])
                """
            )
            #expect(try await Self.check(h, w).reason == .operatorSuspended)
            _ = try await h.call(
                LockboxMethods.reactivatePrincipal,
                ReactivatePrincipalRequest(principalID: w.operatorID, reason: "back"),
                token: w.providerAdmin
            )
            let after = try await Self.check(h, w)
            #expect(!after.allowed)
            #expect(after.reason == .revoked)
            #expect(try await h.get(waitingInternally, token: w.contosoAdmin).status == .revoked)
        }
    }

    /// A check naming a tenant that does not exist is refused, and leaves no record that would
    /// wait for whoever creates that tenant later.
    @Test func aCheckOnATenantThatDoesNotExistIsNotFoundAndUnrecorded() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            await #expect(throws: RPCError(.notFound, "no such tenant")) {
                _ = try await h.call(
                    LockboxMethods.checkAccess,
                    CheckAccessRequest(
                        tenantID: "not-yet",
                        service: .exchange,
                        operatorID: w.operatorID,
                        operation: "Get-Mailbox",
                        clientIP: "10.0.0.1"
                    ),
                    token: w.serviceToken
                )
            }
            let records = try await h.sql("SELECT count(*) AS n FROM audit_records WHERE tenant_id = 'not-yet'")
            #expect(try records.first?.int64("n") == 0)
        }
    }

    /// Nobody may take the names Lockbox gives the actors of its own records.
    @Test(arguments: ["Lockbox", "provider operator", " Provider   Operator ", "Unauthenticated Caller"])
    func reservedDisplayNamesAreRefused(name: String) async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            #expect(
                await h.status(
                    LockboxMethods.createPrincipal,
                    CreatePrincipalRequest(
                        displayName: name,
                        tenantID: "",
                        roles: [RoleAssignment(principalID: "", role: .operator)]
                    ),
                    token: w.providerAdmin
                ) == .invalidArgument
            )
        }
    }

    @Test func anOperatorWithoutTheRoleOrAPrincipalIsDenied() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            _ = try await Self.approvedGrant(h, w)
            _ = try await h.call(
                LockboxMethods.removeRole,
                RoleAssignment(principalID: w.operatorID, role: .operator),
                token: w.providerAdmin
            )
            let check = try await Self.check(h, w)
            #expect(!check.allowed)
            #expect(check.reason == .unknownOperator)
            // A name that is no operator at all (here a customer's admin) is never the actor of an
            // operator action: the record is the service's, and names who was asked about.
            let forged = try await Self.check(h, w, operatorID: w.contosoAdminID)
            #expect(forged.reason == .unknownOperator)
            let records = try await h.sql(
                """
                SELECT actor_id, actor_display, details->>'operator_id' AS asked FROM audit_records
                WHERE kind = 'operator_action' AND details->>'operator_id' = \(w.contosoAdminID)
                """
            )
            #expect(try records.first?.string("actor_id") != w.contosoAdminID)
            #expect(try records.first?.string("actor_display") == "Mail Store")
            #expect(try records.first?.string("asked") == w.contosoAdminID)
        }
    }

    @Test func aSupportManagerMayRevokeAnyGrantAsTheEmergencyStop() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let id = try await Self.approvedGrant(h, w)
            let revoked = try await h.call(
                LockboxMethods.revokeAccess,
                RevokeAccessRequest(requestID: id, reason: "incident 42"),
                token: w.managerToken
            )
            #expect(revoked.status == .revoked)
            #expect(try await Self.check(h, w).reason == .revoked)
            let audit = try await h.sql(
                "SELECT actor_id, details->>'reason' AS reason FROM audit_records WHERE activity = 'AccessRevoked'"
            )
            #expect(try audit.first?.string("actor_id") == w.managerID)
            #expect(try audit.first?.string("reason") == "incident 42")
        }
    }

    // MARK: 4. Inputs mean what they say

    /// Request bytes sent as they are, so that a string can hold what Swift's binding never writes.
    struct RawRequest: ProtoMessage {
        var bytes: [UInt8]
        init(bytes: [UInt8]) { self.bytes = bytes }
        init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { self.bytes = Array(bytes) }
        func encode() -> [UInt8] { bytes }
    }

    @Test func anOperationWithAnEmbeddedNULIsRefusedBeforeAnythingRuns() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            _ = try await Self.approvedGrant(h, w)
            var bytes = CheckAccessRequest(
                tenantID: "contoso",
                service: .exchange,
                operatorID: w.operatorID,
                clientIP: "10.0.0.1"
            ).encode()
            let operation = Array("Get-Mailbox\0Remove-Mailbox".utf8)
            bytes += [0x22, UInt8(operation.count)] + operation  // field 4, length-delimited
            let method = UnaryMethod<RawRequest, CheckAccessResponse>(LockboxMethods.checkAccess.name)
            await #expect(
                throws: RPCError(
                    .invalidArgument,
                    "cannot decode lockbox.v1.CheckAccessRequest: a string field contains U+0000"
                )
            ) {
                _ = try await h.client.unary(
                    method,
                    RawRequest(bytes: bytes),
                    options: CallOptions(authToken: w.serviceToken)
                )
            }
            #expect(
                try await h.sql("SELECT count(*) AS n FROM audit_records WHERE kind = 'operator_action'").first?.int64(
                    "n"
                ) == 0
            )
        }
    }

    @Test func settingsNotSentAreNotChangedAndTheLockboxIsSwitchedOnItsOwn() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let changed = try await h.call(
                LockboxMethods.setTenantSettings,
                SetTenantSettingsRequest(tenantID: "contoso", approvalWindowSeconds: Int64Value(value: 600)),
                token: w.contosoAdmin
            )
            #expect(changed.lockboxEnabled, "a portal that sends only the window leaves the lockbox on")
            #expect(changed.approvalWindowSeconds == 600)
            #expect(changed.maxAccessDurationSeconds == 14_400)
            await #expect(throws: RPCError(.invalidArgument, "reason is required")) {
                _ = try await h.call(
                    LockboxMethods.setLockboxEnabled,
                    SetLockboxEnabledRequest(tenantID: "contoso", enabled: false),
                    token: w.contosoAdmin
                )
            }
            // A tenant with a root is switched by its signed policy, not by this call.
            #expect(
                await h.status(
                    LockboxMethods.setLockboxEnabled,
                    SetLockboxEnabledRequest(tenantID: "contoso", enabled: false, reason: "migration weekend"),
                    token: w.contosoAdmin
                ) == .failedPrecondition
            )
            let off = try await h.api.setLockbox(w, enabled: false, token: w.contosoAdmin)
            #expect(!off.lockboxEnabled && off.version == 1)
            let settings = try await h.call(
                LockboxMethods.getTenantSettings,
                GetTenantSettingsRequest(tenantID: "contoso"),
                token: w.contosoAdmin
            )
            #expect(!settings.lockboxEnabled)
            let audit = try await h.sql(
                """
                SELECT activity FROM audit_records WHERE tenant_id = 'contoso' AND kind IN ('settings', 'trust')
                  AND activity <> 'KeyCertified' AND activity <> 'TenantRootAdopted' ORDER BY audit_id
                """
            )
            #expect(
                try audit.rows.map { try $0.string("activity") } == [
                    "TenantSettingsChanged", "TenantPolicySet", "LockboxDisabled",
                ]
            )
        }
    }

    @Test func lockboxActivityNamesCannotBeForgedAsOperations() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            _ = try await Self.approvedGrant(h, w)
            for name in ["CustomerApprove", "customerapprove", "AccessRevoked", "TenantAdminEnrolled"] {
                let check = await h.status(
                    LockboxMethods.checkAccess,
                    CheckAccessRequest(
                        tenantID: "contoso",
                        service: .exchange,
                        operatorID: w.operatorID,
                        operation: name,
                        clientIP: "10.0.0.1"
                    ),
                    token: w.serviceToken
                )
                #expect(check == .invalidArgument, "\(name)")
                let add = await h.status(
                    LockboxMethods.addPreapprovedOperation,
                    PreapprovedOperation(service: .exchange, operation: name),
                    token: w.providerAdmin
                )
                #expect(add == .invalidArgument, "\(name)")
            }
            _ = try await Self.check(h, w)
            // Search by kind: a lifecycle activity is only ever a lifecycle record.
            let lifecycle = try await h.call(
                LockboxMethods.searchAudit,
                SearchAuditRequest(tenantID: "contoso", kind: .lifecycle),
                token: w.contosoAdmin
            )
            #expect(
                Set(lifecycle.records.map(\.activity)) == [
                    "AccessRequestCreated", "InternalApprove", "CustomerApprove",
                ]
            )
            #expect(lifecycle.records.allSatisfy { $0.kind == .lifecycle })
            let actions = try await h.call(
                LockboxMethods.searchAudit,
                SearchAuditRequest(tenantID: "contoso", kind: .operatorAction),
                token: w.contosoAdmin
            )
            #expect(actions.records.map(\.activity) == ["Get-Mailbox"])
            #expect(actions.records.first?.actorDisplay == "Provider Operator")
        }
    }

    // MARK: 5. Lifecycle gaps

    @Test func aRequestNoSupportManagerDecidesExpires() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let id = try await h.createRequest(w).id
            h.clock.advance(by: .seconds(24 * 3600))
            #expect(try await h.get(id, token: w.managerToken).status == .expired)
            await #expect(throws: RPCError(.failedPrecondition, "request is EXPIRED")) {
                try await h.approveInternally(w, id)
            }
            #expect(try await h.sweeper.sweepOnce() == 1)
            let stored = try await h.sql("SELECT status FROM access_requests WHERE request_id = \(id)")
            #expect(try stored.first?.string("status") == "EXPIRED")
        }
    }

    @Test func aCapLoweredAfterFilingAppliesAtApprovalAndRetriesStillFindTheOriginal() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let original = try await h.createRequest(w, duration: 7200, key: "retry-1")
            try await h.approveInternally(w, original.id)
            _ = try await h.call(
                LockboxMethods.setTenantSettings,
                SetTenantSettingsRequest(tenantID: "contoso", maxAccessDurationSeconds: Int64Value(value: 3600)),
                token: w.contosoAdmin
            )
            // The retry is answered from what was stored, though 7200 s is over the cap now.
            let retried = try await h.createRequest(w, duration: 7200, key: "retry-1")
            #expect(retried.id == original.id)
            try await h.approveByCustomer(w, original.id)
            let approved = try await h.get(original.id, token: w.operatorToken)
            #expect(approved.grant?.endsAtMs == h.clock.nowMillis() + 3_600_000)
            // The statement the approver signed was prepared within the cap.
            let signed = try #require(approved.customerSignature)
            let statement = try DecisionStatement(canonicalBytes: signed.statement)
            #expect(statement.endsAtMs - statement.startsAtMs == 3_600_000)
        }
    }

    @Test func theNewestRequestDecidesTheDenyReason() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            _ = try await Self.approvedGrant(h, w, duration: 60)
            h.clock.advance(by: .seconds(61))
            #expect(try await Self.check(h, w).reason == .grantExpired)
            // A newer request waits: that, not the old grant, is why.
            let pending = try await h.createRequest(w).id
            try await h.approveInternally(w, pending)
            let waiting = try await Self.check(h, w)
            #expect(waiting.reason == .notApproved)
            #expect(waiting.requestID == pending)
            // Past its deadline, it reads as expired before any sweeper has run.
            h.clock.advance(by: .seconds(12 * 3600))
            let expired = try await Self.check(h, w)
            #expect(expired.reason == .requestExpired)
            #expect(expired.requestID == pending)
        }
    }

    @Test func anExportEndsWhenItsTokenIsRevokedMidway() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            // Enough records for many pages of the export.
            _ = try await h.sql(
                """
                INSERT INTO audit_records (tenant_id, recorded_at_ms, kind, actor_id, actor_display, activity, details)
                SELECT 'contoso', n, 'operator_action', 'op', 'Provider Operator', 'Get-Mailbox', '{"pad": "\(String(repeating: "x", count: 400))"}'
                FROM generate_series(1, 20000) AS n
                """
            )
            let auditor = try await h.api.principal("Slow Reader", roles: [.auditor], by: w.providerAdmin)
            let raw = try await RawConnection(port: h.port, reading: false, receiveBuffer: 4096)
            try await raw.sendCall(
                id: 1,
                method: LockboxMethods.exportAudit.name,
                payload: ExportAuditRequest(tenantID: "contoso").encode(),
                token: auditor.token
            )
            let first = try #require(try await raw.pull())
            #expect(first.end == nil, "the export started")
            let tokens = try await h.sql("SELECT token_id FROM api_tokens WHERE principal_id = \(auditor.id)")
            _ = try await h.call(
                LockboxMethods.revokeToken,
                RevokeTokenRequest(tokenID: try tokens.first!.string("token_id")),
                token: w.providerAdmin
            )
            var pages = 1
            var end: StreamEnd?
            while end == nil {
                guard let frame = try await raw.pull(timeout: .seconds(20)) else { break }
                end = frame.end
                pages += 1
            }
            #expect(end?.status?.code == .unauthenticated)
            #expect(pages < 30, "ended long before all \(20000 / 500) pages were sent")
            await raw.close()
        }
    }

    // MARK: Helpers

    static func approvedGrant(_ h: Harness, _ w: Harness.World, duration: Int64 = 3600) async throws -> String {
        let id = try await h.createRequest(w, duration: duration).id
        try await h.approveInternally(w, id)
        try await h.approveByCustomer(w, id)
        return id
    }

    static func check(_ h: Harness, _ w: Harness.World, operatorID: String? = nil) async throws -> CheckAccessResponse {
        try await h.call(
            LockboxMethods.checkAccess,
            CheckAccessRequest(
                tenantID: "contoso",
                service: .exchange,
                operatorID: operatorID ?? w.operatorID,
                operation: "Get-Mailbox",
                clientIP: "10.0.0.1"
            ),
            token: w.serviceToken
        )
    }
}
