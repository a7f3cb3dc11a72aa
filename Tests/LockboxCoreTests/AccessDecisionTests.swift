import LockboxCore
import Testing

/// The access decision of CheckAccess as a pure table: which grants the store found, and what
/// the check answers, with no PostgreSQL.
@Suite struct AccessDecisionTests {
    static let now: Int64 = 10_000

    static func grant(
        _ id: String,
        state: RequestState = .approved,
        tenant: String = "contoso",
        service: ContentService = .exchange,
        starts: Int64 = now - 1000,
        ends: Int64 = now + 1000,
        revokedAt: Int64? = nil
    ) -> GrantRecord {
        GrantRecord(
            requestID: id,
            operatorID: "op",
            tenantID: tenant,
            service: service,
            requestState: state,
            window: GrantWindow(startsAtMs: starts, endsAtMs: ends, revokedAtMs: revokedAt)
        )
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var candidates: [AccessCandidate]
        var denial: DenialFacts
        var expected: AccessDecision
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(
            name: "active grant, pre-approved operation",
            candidates: [AccessCandidate(grant: grant("r1"), operationPreapproved: true)],
            denial: DenialFacts(),
            expected: .allowed(requestID: "r1", grantEndsAtMs: now + 1000)
        ),
        Row(
            name: "active grant, operation not pre-approved",
            candidates: [AccessCandidate(grant: grant("r1"), operationPreapproved: false)],
            denial: DenialFacts(),
            expected: .denied(.operationNotPreapproved, requestID: "r1")
        ),
        Row(
            name: "two active grants: the one that ends last",
            candidates: [
                AccessCandidate(grant: grant("short", ends: now + 10), operationPreapproved: true),
                AccessCandidate(grant: grant("long", ends: now + 5000), operationPreapproved: true),
            ],
            denial: DenialFacts(),
            expected: .allowed(requestID: "long", grantEndsAtMs: now + 5000)
        ),
        Row(
            name: "a revoked grant that ends later does not hide an active one",
            candidates: [
                AccessCandidate(
                    grant: grant("revoked", state: .revoked, ends: now + 9000, revokedAt: now - 1),
                    operationPreapproved: true
                ),
                AccessCandidate(grant: grant("active"), operationPreapproved: true),
            ],
            denial: DenialFacts(),
            expected: .allowed(requestID: "active", grantEndsAtMs: now + 1000)
        ),
        Row(
            name: "grant past its end by the clock, before any sweeper",
            candidates: [AccessCandidate(grant: grant("r1", ends: now), operationPreapproved: true)],
            denial: DenialFacts(latestGrant: grant("r1", ends: now)),
            expected: .denied(.grantExpired, requestID: "r1")
        ),
        Row(
            name: "revoked grant",
            candidates: [
                AccessCandidate(grant: grant("r1", state: .revoked, revokedAt: now - 1), operationPreapproved: true)
            ],
            denial: DenialFacts(latestGrant: grant("r1", state: .revoked, revokedAt: now - 1)),
            expected: .denied(.revoked, requestID: "r1")
        ),
        Row(
            name: "completed grant",
            candidates: [],
            denial: DenialFacts(latestGrant: grant("r1", state: .completed, ends: now - 10)),
            expected: .denied(.grantExpired, requestID: "r1")
        ),
        Row(
            name: "pending request",
            candidates: [],
            denial: DenialFacts(pendingRequestID: "r2"),
            expected: .denied(.notApproved, requestID: "r2")
        ),
        Row(
            name: "active grant for another tenant",
            candidates: [],
            denial: DenialFacts(otherGrants: [grant("r3", tenant: "fabrikam")]),
            expected: .denied(.tenantServiceMismatch, requestID: "")
        ),
        Row(
            name: "active grant for another service",
            candidates: [],
            denial: DenialFacts(otherGrants: [grant("r3", service: .teams)]),
            expected: .denied(.tenantServiceMismatch, requestID: "")
        ),
        Row(
            name: "only revoked grants elsewhere",
            candidates: [],
            denial: DenialFacts(otherGrants: [grant("r3", state: .revoked, tenant: "fabrikam", revokedAt: now - 1)]),
            expected: .denied(.noGrant, requestID: "")
        ),
        Row(name: "nothing at all", candidates: [], denial: DenialFacts(), expected: .denied(.noGrant, requestID: "")),
    ]

    @Test("access decision", arguments: rows)
    func decide(row: Row) {
        #expect(AccessCheck.decide(candidates: row.candidates, nowMs: Self.now) { row.denial } == row.expected)
    }

    @Test func theAllowedPathNeedsNoDenialFacts() {
        var asked = false
        let decision = AccessCheck.decide(
            candidates: [AccessCandidate(grant: Self.grant("r1"), operationPreapproved: true)],
            nowMs: Self.now
        ) {
            asked = true
            return DenialFacts()
        }
        #expect(decision.isAllowed)
        #expect(!asked)
    }
}
