import Foundation
import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore
import LockboxTestSupport
import Testing

/// Extensions with re-approval and scheduled starts, through the API, on the harness's clock:
/// an extension approved a second before the grant ends continues it without a gap, one
/// approved too late does not, a revoked grant takes its extensions with it, and a scheduled
/// window allows only inside it.
@Suite struct ExtensionAndScheduleTests {
    static func check(_ h: Harness, _ w: Harness.World) async throws -> CheckAccessResponse {
        try await h.checkAccess(w)
    }

    /// An approved request of `seconds`, signed by the contoso approver.
    static func approved(_ h: Harness, _ w: Harness.World, seconds: Int64 = 3600) async throws -> AccessRequest {
        let id = try await h.createRequest(w, duration: seconds).id
        try await h.approveInternally(w, id)
        try await h.approveByCustomer(w, id)
        let request = try await h.get(id, token: w.operatorToken)
        #expect(request.status == .approved)
        return request
    }

    static func extend(_ h: Harness, _ w: Harness.World, _ id: String, seconds: Int64, token: String? = nil)
        async throws(RPCError) -> AccessRequest
    {
        try await h.call(
            LockboxMethods.createAccessRequest,
            CreateAccessRequestRequest(
                tenantID: "contoso",
                service: .exchange,
                ticketNumber: "SR-1001",
                justification: "the migration needs longer",
                requestedDurationSeconds: seconds,
                extendsRequestID: id
            ),
            token: token ?? w.operatorToken
        )
    }

    static func status(_ body: () async throws(RPCError) -> AccessRequest) async -> StatusCode {
        do {
            _ = try await body()
            return .ok
        } catch {
            return error.code
        }
    }

    @Test func anExtensionApprovedASecondBeforeTheEndContinuesWithoutAGap() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let original = try await Self.approved(h, w)
            let end = try #require(original.grant).endsAtMs
            let payload = CreateAccessRequestRequest(
                tenantID: "contoso",
                service: .exchange,
                ticketNumber: "SR-1001",
                justification: "the migration needs longer",
                requestedDurationSeconds: 1800,
                extendsRequestID: original.id
            )
            let extensionRequest = try await h.call(
                LockboxMethods.createAccessRequest,
                payload,
                token: w.operatorToken,
                key: "extend-1"
            )
            #expect(extensionRequest.status == .pendingInternal)
            // A retry under the same idempotency key answers the same extension.
            let retried = try await h.call(
                LockboxMethods.createAccessRequest,
                payload,
                token: w.operatorToken,
                key: "extend-1"
            )
            #expect(retried.id == extensionRequest.id)
            #expect(extensionRequest.extendsRequestID == original.id)
            #expect(extensionRequest.startsAtMs == end)
            // One pending extension per grant.
            #expect(
                await Self.status { () async throws(RPCError) in try await Self.extend(h, w, original.id, seconds: 600)
                } == .failedPrecondition
            )
            try await h.approveInternally(w, extensionRequest.id)
            // The customer decides by the grant's end at the latest.
            #expect(try await h.get(extensionRequest.id, token: w.operatorToken).customerDeadlineMs == end)
            h.clock.set(millis: end - 1000)
            try await h.approveByCustomer(w, extensionRequest.id)
            let approved = try await h.get(extensionRequest.id, token: w.operatorToken)
            #expect(approved.status == .approved)
            #expect(approved.grant?.startsAtMs == end)
            #expect(approved.grant?.endsAtMs == end + 1_800_000)
            // Allowed under the original to its last millisecond, then under the extension.
            h.clock.set(millis: end - 1)
            #expect(try await Self.check(h, w).requestID == original.id)
            h.clock.set(millis: end)
            let atBoundary = try await Self.check(h, w)
            #expect(atBoundary.allowed && atBoundary.requestID == extensionRequest.id)
            h.clock.set(millis: end + 1_800_000)
            #expect(!(try await Self.check(h, w)).allowed)
        }
    }

    @Test func anExtensionApprovedTooLateExpiresAndTheGrantEnds() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let original = try await Self.approved(h, w)
            let end = try #require(original.grant).endsAtMs
            let extensionRequest = try await Self.extend(h, w, original.id, seconds: 1800)
            try await h.approveInternally(w, extensionRequest.id)
            h.clock.set(millis: end)
            let late = await h.decideStatus(
                w,
                CustomerDecision(requestID: extensionRequest.id, decision: .approve, comment: "late"),
                token: w.contosoApprover
            )
            #expect(late == .failedPrecondition)
            #expect(try await h.get(extensionRequest.id, token: w.operatorToken).status == .expired)
            let check = try await Self.check(h, w)
            #expect(!check.allowed)
            // Nor can an ended grant be extended.
            #expect(
                await Self.status { () async throws(RPCError) in try await Self.extend(h, w, original.id, seconds: 600)
                } == .failedPrecondition
            )
        }
    }

    @Test func aRevokedGrantTakesItsExtensionsWithIt() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let original = try await Self.approved(h, w)
            let end = try #require(original.grant).endsAtMs
            let first = try await Self.extend(h, w, original.id, seconds: 1800)
            try await h.approveInternally(w, first.id)
            try await h.approveByCustomer(w, first.id)
            let second = try await Self.extend(h, w, first.id, seconds: 600)
            #expect(second.startsAtMs == end + 1_800_000)
            _ = try await h.call(
                LockboxMethods.revokeAccess,
                RevokeAccessRequest(requestID: original.id, reason: "done early"),
                token: w.contosoApprover
            )
            #expect(try await h.get(first.id, token: w.operatorToken).status == .revoked)
            #expect(try await h.get(second.id, token: w.operatorToken).status == .canceled)
            h.clock.set(millis: end + 1)
            #expect(!(try await Self.check(h, w)).allowed)
            let withdrawn = try await h.sql(
                "SELECT count(*) AS n FROM audit_records WHERE activity = 'ExtensionWithdrawn' AND tenant_id = 'contoso'"
            )
            #expect(try withdrawn.first?.int64("n") == 2)
        }
    }

    @Test func onlyTheRequesterExtendsAndTheChainIsBounded() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let original = try await Self.approved(h, w, seconds: 4 * 3600)
            #expect(
                await Self.status { () async throws(RPCError) in
                    try await Self.extend(h, w, original.id, seconds: 600, token: w.operator2Token)
                } == .notFound
            )
            var last = original.id
            for _ in 0..<2 {
                let next = try await Self.extend(h, w, last, seconds: 4 * 3600)
                try await h.approveInternally(w, next.id)
                try await h.approveByCustomer(w, next.id)
                last = next.id
            }
            // 4 + 4 + 4 hours: the chain is full.
            #expect(
                await Self.status { () async throws(RPCError) in try await Self.extend(h, w, last, seconds: 60) }
                    == .failedPrecondition
            )
        }
    }

    @Test func aScheduledWindowAllowsOnlyInsideIt() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let start = h.clock.nowMillis() + 2 * 3_600_000
            let id = try await h.call(
                LockboxMethods.createAccessRequest,
                CreateAccessRequestRequest(
                    tenantID: "contoso",
                    service: .exchange,
                    ticketNumber: "SR-3001",
                    justification: "planned maintenance",
                    requestedDurationSeconds: 3600,
                    startsAtMs: start
                ),
                token: w.operatorToken
            ).id
            try await h.approveInternally(w, id)
            #expect(try await h.get(id, token: w.operatorToken).customerDeadlineMs == start)
            try await h.approveByCustomer(w, id)
            let approved = try await h.get(id, token: w.operatorToken)
            #expect(approved.grant?.startsAtMs == start && approved.grant?.endsAtMs == start + 3_600_000)
            let before = try await Self.check(h, w)
            #expect(!before.allowed && before.reason == .notStarted)
            h.clock.set(millis: start)
            #expect(try await Self.check(h, w).allowed)
            h.clock.set(millis: start + 3_600_000)
            let after = try await Self.check(h, w)
            #expect(!after.allowed && after.reason == .grantExpired)
        }
    }

    @Test func aScheduledRequestNotApprovedByItsStartExpires() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let now = h.clock.nowMillis()
            func create(_ start: Int64) async -> StatusCode {
                await h.status(
                    LockboxMethods.createAccessRequest,
                    CreateAccessRequestRequest(
                        tenantID: "contoso",
                        service: .exchange,
                        ticketNumber: "SR-3002",
                        justification: "planned",
                        requestedDurationSeconds: 3600,
                        startsAtMs: start
                    ),
                    token: w.operatorToken
                )
            }
            #expect(await create(now - 1) == .invalidArgument)
            #expect(await create(now + 7 * 86_400_000 + 1) == .invalidArgument)
            #expect(await create(now + 3_600_000) == .ok)
            let id = try #require(
                try await h.call(
                    LockboxMethods.listAccessRequests,
                    ListAccessRequestsRequest(tenantID: "contoso"),
                    token: w.operatorToken
                ).requests.first
            ).id
            try await h.approveInternally(w, id)
            h.clock.set(millis: now + 3_600_000)
            #expect(try await h.get(id, token: w.operatorToken).status == .expired)
            #expect(
                await h.decideStatus(
                    w,
                    CustomerDecision(requestID: id, decision: .approve, comment: "late"),
                    token: w.contosoApprover
                ) == .failedPrecondition
            )
        }
    }
}
