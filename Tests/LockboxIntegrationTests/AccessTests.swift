import Foundation
import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxServer
import LockboxStore
import LockboxTestSupport
import Testing

/// CheckAccess against live grants, pre-approved operations, operator audit and instant revocation.
@Suite struct AccessTests {
    static func check(
        _ h: Harness,
        _ w: Harness.World,
        operatorID: String,
        tenant: String = "contoso",
        service: Service = .exchange,
        operation: String = "Get-Mailbox",
        ip: String = "10.20.30.40",
        token: String? = nil
    ) async throws(RPCError) -> CheckAccessResponse {
        try await h.call(
            LockboxMethods.checkAccess,
            CheckAccessRequest(
                tenantID: tenant,
                service: service,
                operatorID: operatorID,
                operation: operation,
                clientIP: ip
            ),
            token: token ?? w.serviceToken
        )
    }

    static func approvedGrant(_ h: Harness, _ w: Harness.World, duration: Int64 = 3600) async throws -> String {
        let id = try await h.createRequest(w, duration: duration).id
        try await h.approveInternally(w, id)
        try await h.approveByCustomer(w, id)
        return id
    }

    enum Setup: String, CaseIterable, Sendable {
        case approved, pendingInternal, pendingCustomer, revoked, endedBySweeper, denied, none
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var setup: Setup
        var tenant = "contoso"
        var service = Service.exchange
        var operation = "Get-Mailbox"
        var allowed: Bool
        var reason: LockboxProto.AccessDenyReason
        var testDescription: String { "\(setup) \(tenant)/\(service) \(operation)" }
    }

    static let rows: [Row] = [
        Row(setup: .approved, allowed: true, reason: .unspecified),
        Row(setup: .approved, operation: "get-MAILBOX", allowed: true, reason: .unspecified),
        Row(setup: .approved, operation: "Get-MessageTrace", allowed: true, reason: .unspecified),
        Row(setup: .approved, operation: "Remove-Mailbox", allowed: false, reason: .operationNotPreapproved),
        Row(setup: .approved, operation: "Get-Mailbox2", allowed: false, reason: .operationNotPreapproved),
        Row(
            setup: .approved,
            service: .sharepoint,
            operation: "Get-SPOSite",
            allowed: false,
            reason: .tenantServiceMismatch
        ),
        Row(setup: .approved, tenant: "fabrikam", allowed: false, reason: .tenantServiceMismatch),
        Row(setup: .pendingInternal, allowed: false, reason: .notApproved),
        Row(setup: .pendingCustomer, allowed: false, reason: .notApproved),
        Row(setup: .revoked, allowed: false, reason: .revoked),
        Row(setup: .endedBySweeper, allowed: false, reason: .grantExpired),
        Row(setup: .denied, allowed: false, reason: .noGrant),
        Row(setup: .none, allowed: false, reason: .noGrant),
    ]

    @Test("grant state × operation × service × tenant", arguments: rows)
    func table(row: Row) async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            var expectedItem = ""
            switch row.setup {
            case .approved:
                expectedItem = try await Self.approvedGrant(h, w)
            case .pendingInternal:
                expectedItem = try await h.createRequest(w).id
            case .pendingCustomer:
                expectedItem = try await h.createRequest(w).id
                try await h.approveInternally(w, expectedItem)
            case .revoked:
                expectedItem = try await Self.approvedGrant(h, w)
                _ = try await h.call(
                    LockboxMethods.revokeAccess,
                    RevokeAccessRequest(requestID: expectedItem),
                    token: w.operatorToken
                )
            case .endedBySweeper:
                expectedItem = try await Self.approvedGrant(h, w, duration: 60)
                h.clock.advance(by: .seconds(61))
                #expect(try await h.sweeper.sweepOnce() == 1)
            case .denied:
                let id = try await h.createRequest(w).id
                _ = try await h.call(
                    LockboxMethods.decideInternal,
                    InternalDecision(requestID: id, approve: false),
                    token: w.managerToken
                )
            case .none:
                break
            }
            if row.tenant != "contoso" || row.service != .exchange { expectedItem = "" }
            let response = try await Self.check(
                h,
                w,
                operatorID: w.operatorID,
                tenant: row.tenant,
                service: row.service,
                operation: row.operation
            )
            #expect(response.allowed == row.allowed)
            #expect(response.reason == row.reason)
            #expect(response.requestID == expectedItem)
            // Exactly one operator-action record, whatever the outcome.
            let audit = try await h.sql(
                "SELECT actor_id, actor_display, actor_ip, activity, item, tenant_id, details::text AS details FROM audit_records WHERE kind = 'operator_action'"
            )
            try #require(audit.count == 1)
            let record = audit.first!
            #expect(try record.string("actor_display") == "Provider Operator")
            #expect(try record.string("actor_id") == w.operatorID)
            #expect(try record.string("actor_ip") == "10.20.30.40")
            #expect(try record.string("activity") == row.operation)
            #expect(try record.string("item") == expectedItem)
            #expect(try record.string("tenant_id") == row.tenant)
            let details = try JSONSerialization.jsonObject(with: Data(record.string("details").utf8)) as? [String: Any]
            #expect(details?["operator_id"] as? String == w.operatorID)
            #expect(details?["allowed"] as? Bool == row.allowed)
        }
    }

    @Test func onlyServicesMayCheck() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            _ = try await Self.approvedGrant(h, w)
            for token in [
                w.operatorToken, w.managerToken, w.contosoApprover, w.contosoAdmin, w.auditorToken, w.providerAdmin,
            ] {
                await #expect(throws: RPCError.permissionDenied()) {
                    _ = try await Self.check(h, w, operatorID: w.operatorID, token: token)
                }
            }
            #expect(try await Self.check(h, w, operatorID: w.operatorID).allowed)
        }
    }

    @Test func badInputIsRefusedBeforeAnythingIsRecorded() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            for (operation, ip) in [
                ("Get-*", "10.0.0.1"), ("Get Mailbox", "10.0.0.1"), ("", "10.0.0.1"), ("Get-Mailbox", "not-an-ip"),
                ("Get-Mailbox", ""),
            ] {
                await #expect(throws: RPCError.self) {
                    _ = try await Self.check(h, w, operatorID: w.operatorID, operation: operation, ip: ip)
                }
            }
            let audit = try await h.sql(
                "SELECT count(*) AS n FROM audit_records WHERE kind = 'operator_action'"
            )
            #expect(try audit.first?.int64("n") == 0)
            #expect(try await Self.check(h, w, operatorID: w.operatorID, ip: "2001:db8::7").reason == .noGrant)
        }
    }

    @Test func grantEndByTheClockIsDeniedBeforeAnySweeper() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let id = try await Self.approvedGrant(h, w, duration: 600)
            h.clock.advance(by: .seconds(599))
            #expect(try await Self.check(h, w, operatorID: w.operatorID).allowed)
            h.clock.advance(by: .seconds(1))
            let late = try await Self.check(h, w, operatorID: w.operatorID)
            #expect(!late.allowed)
            #expect(late.reason == .grantExpired)
            #expect(late.requestID == id)
            let stored = try await h.sql("SELECT status FROM access_requests WHERE request_id = \(id)")
            #expect(try stored.first?.string("status") == "APPROVED", "no sweeper has run")
        }
    }

    @Test func revocationTakesEffectAtTheVeryNextCheck() async throws {
        try await Harness.with(poolSize: 6) { h in
            let w = try await h.makeWorld()
            let id = try await Self.approvedGrant(h, w)
            let revokedAt = RevokeMark()
            let checker = Task {
                var results: [(sentAfterRevoke: Bool, allowed: Bool, reason: LockboxProto.AccessDenyReason)] = []
                for _ in 0..<400 {
                    let sentAfterRevoke = revokedAt.isSet
                    let response = try await Self.check(h, w, operatorID: w.operatorID)
                    results.append((sentAfterRevoke, response.allowed, response.reason))
                    if results.filter(\.sentAfterRevoke).count >= 50 { break }
                }
                return results
            }
            try await Task.sleep(for: .milliseconds(100))
            _ = try await h.call(
                LockboxMethods.revokeAccess,
                RevokeAccessRequest(requestID: id, reason: "race"),
                token: w.contosoApprover
            )
            revokedAt.set()
            let results = try await checker.value
            let after = results.filter(\.sentAfterRevoke)
            #expect(!after.isEmpty)
            #expect(
                after.allSatisfy { !$0.allowed && $0.reason == .revoked },
                "a check sent after the revoke committed was allowed"
            )
            #expect(results.contains { $0.allowed }, "checks before the revoke were allowed")
            // The audit log agrees: every allowed check was recorded before the revocation's record.
            let order = try await h.sql(
                """
                SELECT max(audit_id) FILTER (WHERE details->>'allowed' = 'true') AS last_allowed,
                       min(audit_id) FILTER (WHERE activity = 'AccessRevoked') AS revoked,
                       count(*) FILTER (WHERE details->>'allowed' = 'true') AS allowed
                FROM audit_records WHERE item = \(id)
                """
            )
            #expect(try order.first!.int64("last_allowed") < order.first!.int64("revoked"))
            #expect(try order.first!.int64("allowed") == Int64(results.filter(\.allowed).count))
        }
    }

    @Test func aCheckWhoseAuditFailsIsNotAllowed() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            _ = try await Self.approvedGrant(h, w)
            _ = try await h.sql(
                """
                CREATE FUNCTION refuse_operator_actions() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.kind = 'operator_action' THEN RAISE EXCEPTION 'audit storage failed'; END IF; RETURN NEW; END $$
                """
            )
            _ = try await h.sql(
                "CREATE TRIGGER refuse_operator_actions BEFORE INSERT ON audit_records FOR EACH ROW EXECUTE FUNCTION refuse_operator_actions()"
            )
            do {
                let response = try await Self.check(h, w, operatorID: w.operatorID)
                Issue.record("check answered \(response) without an audit record")
            } catch let error as RPCError {
                #expect(error.code == .internal)
                #expect(!error.message.contains("audit storage failed"))
            }
        }
    }

    @Test func usageReportCountsMatchTheAudit() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let id = try await Self.approvedGrant(h, w)
            var lastAllowedAt: Int64 = 0
            for index in 0..<7 {
                h.clock.advance(by: .seconds(10))
                let operation = index % 3 == 2 ? "Remove-Mailbox" : "Get-Mailbox"
                if try await Self.check(h, w, operatorID: w.operatorID, operation: operation).allowed {
                    lastAllowedAt = h.clock.nowMillis()
                }
            }
            let request = try await h.get(id, token: w.contosoAdmin)
            let allowed = try await h.sql(
                """
                SELECT count(*) AS n FROM audit_records
                WHERE item = \(id) AND kind = 'operator_action' AND details->>'allowed' = 'true'
                """
            )
            #expect(try request.operationsPerformed == allowed.first!.int64("n"))
            #expect(request.operationsPerformed == 5)
            #expect(request.lastOperationAtMs == lastAllowedAt)
            // SearchAudit by item lists every operation done under the request, denied ones too.
            let search = try await h.call(
                LockboxMethods.searchAudit,
                SearchAuditRequest(tenantID: "contoso", item: id),
                token: w.contosoApprover
            )
            let operations = search.records.filter { $0.actorDisplay == "Provider Operator" }
            #expect(operations.count == 7)
            #expect(Set(operations.map(\.activity)) == ["Get-Mailbox", "Remove-Mailbox"])
        }
    }

    @Test func grantViews() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let id = try await Self.approvedGrant(h, w, duration: 1800)
            h.clock.advance(by: .seconds(600))
            let mine = try await h.call(LockboxMethods.listGrants, ListGrantsRequest(), token: w.operatorToken)
            #expect(mine.grants.map(\.requestID) == [id])
            #expect(mine.grants.first?.secondsLeft == 1200)
            let theirs = try await h.call(LockboxMethods.listGrants, ListGrantsRequest(), token: w.operator2Token)
            #expect(theirs.grants.isEmpty)
            let tenant = try await h.call(
                LockboxMethods.listGrants,
                ListGrantsRequest(tenantID: "contoso"),
                token: w.contosoAdmin
            )
            #expect(tenant.grants.map(\.requestID) == [id])
            let other = try await h.call(LockboxMethods.listGrants, ListGrantsRequest(), token: w.fabrikamAdmin)
            #expect(other.grants.isEmpty)
            _ = try await h.call(LockboxMethods.revokeAccess, RevokeAccessRequest(requestID: id), token: w.contosoAdmin)
            let afterRevoke = try await h.call(LockboxMethods.listGrants, ListGrantsRequest(), token: w.operatorToken)
            #expect(afterRevoke.grants.isEmpty)
        }
    }

    /// The scope a grant allows is fixed when the customer approves: an operation added to
    /// the pre-approved list later is for later approvals; one removed is removed at once.
    @Test func preapprovedOperationsAreManagedAndAudited() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let first = try await Self.approvedGrant(h, w)
            #expect(
                try await Self.check(h, w, operatorID: w.operatorID, operation: "Set-MailboxQuota").reason
                    == .operationNotPreapproved
            )
            _ = try await h.call(
                LockboxMethods.addPreapprovedOperation,
                PreapprovedOperation(service: .exchange, operation: "Set-MailboxQuota", description: "raise a quota"),
                token: w.providerAdmin
            )
            #expect(
                try await Self.check(h, w, operatorID: w.operatorID, operation: "set-mailboxquota").reason
                    == .operationNotPreapproved,
                "the live grant keeps the scope its customer approved"
            )
            _ = try await h.call(
                LockboxMethods.revokeAccess,
                RevokeAccessRequest(requestID: first, reason: "done"),
                token: w.contosoAdmin
            )
            _ = try await Self.approvedGrant(h, w)
            #expect(try await Self.check(h, w, operatorID: w.operatorID, operation: "set-mailboxquota").allowed)
            _ = try await h.call(
                LockboxMethods.removePreapprovedOperation,
                RemovePreapprovedOperationRequest(service: .exchange, operation: "SET-MAILBOXQUOTA"),
                token: w.providerAdmin
            )
            #expect(
                try await Self.check(h, w, operatorID: w.operatorID, operation: "Set-MailboxQuota").reason
                    == .operationNotPreapproved,
                "a removal narrows live grants at once"
            )
            #expect(try await Self.check(h, w, operatorID: w.operatorID, operation: "Get-Mailbox").allowed)
            // Each change is in the provider's chain and in every tenant's.
            let audits = try await h.sql(
                """
                SELECT tenant_id, activity FROM audit_records WHERE activity LIKE 'PreapprovedOperation%'
                ORDER BY tenant_id, audit_id
                """
            )
            #expect(
                try audits.rows.map { "\(try $0.string("tenant_id"))/\(try $0.string("activity"))" } == [
                    "/PreapprovedOperationAdded", "/PreapprovedOperationRemoved",
                    "contoso/PreapprovedOperationAdded", "contoso/PreapprovedOperationRemoved",
                    "fabrikam/PreapprovedOperationAdded", "fabrikam/PreapprovedOperationRemoved",
                ]
            )
            let list = try await h.call(
                LockboxMethods.listPreapprovedOperations,
                ListPreapprovedOperationsRequest(service: .exchange),
                token: w.operatorToken
            )
            #expect(list.operations.contains { $0.operation == "Get-Mailbox" })
            #expect(list.operations.allSatisfy { $0.service == .exchange })
        }
    }
}

/// Set once, read from another task.
final class RevokeMark: Sendable {
    private let state = NIOLockedBool()
    var isSet: Bool { state.value }
    func set() { state.value = true }
}

import NIOConcurrencyHelpers

final class NIOLockedBool: Sendable {
    private let box = NIOLockedValueBox(false)
    var value: Bool {
        get { box.withLockedValue { $0 } }
        set { box.withLockedValue { $0 = newValue } }
    }
}
