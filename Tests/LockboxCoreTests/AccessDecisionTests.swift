import LockboxCore
import Testing

/// The access decision of CheckAccess as a pure table: what the store found, and what the
/// check answers, with no PostgreSQL.
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

    /// The operator's newest request here, in a stored state, with its deadlines.
    static func newest(
        _ id: String,
        _ state: RequestState,
        internalDeadline: Int64? = nil,
        customerDeadline: Int64? = nil,
        grant: GrantWindow? = nil
    ) -> NewestRequest {
        NewestRequest(
            id: id,
            facts: RequestFacts(
                state: state,
                tenantID: "contoso",
                requesterID: "op",
                requestedDurationSeconds: 3600,
                internalDeadlineMs: internalDeadline,
                customerDeadlineMs: customerDeadline,
                grant: grant
            )
        )
    }

    static func candidates(_ grants: [GrantRecord], preapproved: Bool = true, status: OperatorStatus = .active)
        -> CheckFacts
    {
        CheckFacts(
            operatorStatus: grants.isEmpty ? nil : status,
            candidates: grants.map { AccessCandidate(grant: $0, operationPreapproved: preapproved) }
        )
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var facts: CheckFacts
        var denial: DenialFacts
        var expected: AccessDecision
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(
            name: "active grant, pre-approved operation",
            facts: candidates([grant("r1")]),
            denial: DenialFacts(),
            expected: .allowed(requestID: "r1", grantEndsAtMs: now + 1000)
        ),
        Row(
            name: "active grant, operation not pre-approved",
            facts: candidates([grant("r1")], preapproved: false),
            denial: DenialFacts(),
            expected: .denied(.operationNotPreapproved, requestID: "r1")
        ),
        Row(
            name: "two active grants: the one that ends last",
            facts: candidates([grant("short", ends: now + 10), grant("long", ends: now + 5000)]),
            denial: DenialFacts(),
            expected: .allowed(requestID: "long", grantEndsAtMs: now + 5000)
        ),
        Row(
            name: "a grant that has not started does not hide one that has",
            facts: candidates([grant("later", starts: now + 100, ends: now + 9000), grant("active")]),
            denial: DenialFacts(),
            expected: .allowed(requestID: "active", grantEndsAtMs: now + 1000)
        ),
        Row(
            name: "suspended operator with an active grant",
            facts: candidates([grant("r1")], status: .suspended),
            denial: DenialFacts(operatorStatus: .suspended),
            expected: .denied(.operatorSuspended, requestID: "")
        ),
        Row(
            name: "a name that is no operator",
            facts: candidates([]),
            denial: DenialFacts(operatorStatus: .unknown),
            expected: .denied(.unknownOperator, requestID: "")
        ),
        Row(
            name: "grant past its end by the clock, before any sweeper",
            facts: candidates([grant("r1", ends: now)]),
            denial: DenialFacts(
                newestRequest: newest("r1", .approved, grant: GrantWindow(startsAtMs: 0, endsAtMs: now))
            ),
            expected: .denied(.grantExpired, requestID: "r1")
        ),
        Row(
            name: "revoked grant",
            facts: candidates([]),
            denial: DenialFacts(newestRequest: newest("r1", .revoked)),
            expected: .denied(.revoked, requestID: "r1")
        ),
        Row(
            name: "completed grant",
            facts: candidates([]),
            denial: DenialFacts(newestRequest: newest("r1", .completed)),
            expected: .denied(.grantExpired, requestID: "r1")
        ),
        Row(
            name: "pending request, even when an older grant has ended",
            facts: candidates([]),
            denial: DenialFacts(newestRequest: newest("r2", .pendingInternal, internalDeadline: now + 1)),
            expected: .denied(.notApproved, requestID: "r2")
        ),
        Row(
            name: "request waiting for the customer",
            facts: candidates([]),
            denial: DenialFacts(newestRequest: newest("r2", .pendingCustomer, customerDeadline: now + 1)),
            expected: .denied(.notApproved, requestID: "r2")
        ),
        Row(
            name: "pending request past its deadline reads as expired",
            facts: candidates([]),
            denial: DenialFacts(newestRequest: newest("r2", .pendingCustomer, customerDeadline: now)),
            expected: .denied(.requestExpired, requestID: "r2")
        ),
        Row(
            name: "request never decided internally, past its deadline",
            facts: candidates([]),
            denial: DenialFacts(newestRequest: newest("r2", .pendingInternal, internalDeadline: now - 1)),
            expected: .denied(.requestExpired, requestID: "r2")
        ),
        Row(
            name: "denied request, active grant for another tenant",
            facts: candidates([]),
            denial: DenialFacts(newestRequest: newest("r4", .denied), otherGrants: [grant("r3", tenant: "fabrikam")]),
            expected: .denied(.tenantServiceMismatch, requestID: "")
        ),
        Row(
            name: "active grant for another service",
            facts: candidates([]),
            denial: DenialFacts(otherGrants: [grant("r3", service: .teams)]),
            expected: .denied(.tenantServiceMismatch, requestID: "")
        ),
        Row(
            name: "only revoked grants elsewhere",
            facts: candidates([]),
            denial: DenialFacts(otherGrants: [grant("r3", state: .revoked, tenant: "fabrikam", revokedAt: now - 1)]),
            expected: .denied(.noGrant, requestID: "")
        ),
        Row(
            name: "cancelled request and nothing else",
            facts: candidates([]),
            denial: DenialFacts(newestRequest: newest("r5", .canceled)),
            expected: .denied(.noGrant, requestID: "")
        ),
        Row(
            name: "nothing at all",
            facts: candidates([]),
            denial: DenialFacts(),
            expected: .denied(.noGrant, requestID: "")
        ),
        // Each grant has its own scope: the one that holds the operation allows, though
        // another, which does not hold it, ends later.
        Row(
            name: "the grant whose scope holds the operation, not the one that ends last",
            facts: CheckFacts(
                operatorStatus: .active,
                candidates: [
                    AccessCandidate(grant: grant("wide", ends: now + 500), operationPreapproved: true),
                    AccessCandidate(grant: grant("narrow", ends: now + 5000), operationPreapproved: false),
                ]
            ),
            denial: DenialFacts(),
            expected: .allowed(requestID: "wide", grantEndsAtMs: now + 500)
        ),
        Row(
            name: "no active grant's scope holds the operation: the last to end names it",
            facts: CheckFacts(
                operatorStatus: .active,
                candidates: [
                    AccessCandidate(grant: grant("a", ends: now + 500), operationPreapproved: false),
                    AccessCandidate(grant: grant("b", ends: now + 5000), operationPreapproved: false),
                ]
            ),
            denial: DenialFacts(),
            expected: .denied(.operationNotPreapproved, requestID: "b")
        ),
    ]

    @Test("access decision", arguments: rows)
    func decide(row: Row) {
        #expect(AccessCheck.decide(row.facts, nowMs: Self.now) { row.denial } == row.expected)
    }

    @Test func theAllowedPathNeedsNoDenialFacts() {
        var asked = false
        let decision = AccessCheck.decide(Self.candidates([Self.grant("r1")]), nowMs: Self.now) {
            asked = true
            return DenialFacts()
        }
        #expect(decision.isAllowed)
        #expect(!asked)
    }
}
