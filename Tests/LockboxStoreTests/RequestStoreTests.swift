import LockboxCore
import LockboxTestSupport
import Testing

@testable import LockboxStore

/// The request and grant stores against a real PostgreSQL.
@Suite struct RequestStoreTests {
    /// Every stored state, around each of its clock deadlines.
    static let cases: [(id: String, state: RequestState, deadline: Int64?, grant: GrantWindow?)] = RequestState.allCases
        .enumerated().flatMap { index, state in
            [
                (
                    "r\(index)a", state, state == .pendingCustomer ? 1000 : nil,
                    state == .approved ? GrantWindow(startsAtMs: 0, endsAtMs: 1000) : nil
                ),
                (
                    "r\(index)b", state, state == .pendingCustomer ? 3000 : nil,
                    state == .approved ? GrantWindow(startsAtMs: 0, endsAtMs: 3000) : nil
                ),
            ]
        }

    /// The SQL that filters by the state-by-the-clock is compiled from Core's clock rules, and
    /// agrees with ``Lifecycle/effectiveState(_:nowMs:)`` on every request at every moment.
    @Test func theEffectiveStateInSQLIsCoresRule() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        for (id, state, deadline, grant) in Self.cases {
            try await fixture.request(id, state: state, customerDeadlineMs: deadline, grant: grant)
        }
        for now: Int64 in [999, 1000, 2999, 3000, 10_000] {
            for state in RequestState.allCases {
                let listed = try await fixture.pool.withConnection { db in
                    try fixture.stores.requests.list(RequestFilter(state: state), nowMs: now, limit: 100, db)
                }
                let expected = Self.cases.filter { row in
                    let facts = RequestFacts(
                        state: row.state,
                        tenantID: "contoso",
                        requesterID: "op",
                        requestedDurationSeconds: 3600,
                        customerDeadlineMs: row.deadline,
                        grant: row.grant
                    )
                    return Lifecycle.effectiveState(facts, nowMs: now) == state
                }
                #expect(Set(listed.map(\.id)) == Set(expected.map(\.id)), "\(state) at \(now)")
            }
        }
    }

    @Test func aRequestReadsBackAsWritten() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let window = GrantWindow(startsAtMs: 100, endsAtMs: 3_700_100)
        try await fixture.request("r1", state: .approved, grant: window, createdAtMs: 7)
        try await fixture.pool.transaction { (db: PGConnection) throws in
            let decision = CustomerDecisionRecord(
                decision: .approve,
                comment: "go",
                approvedDurationSeconds: 3600,
                decidedBy: "approver",
                decidedAtMs: 100
            )
            try fixture.stores.requests.update(
                id: "r1",
                RequestUpdate(state: .approved, customerDecision: decision),
                nowMs: 100,
                db
            )
        }
        let record = try #require(
            try await fixture.pool.withConnection { try fixture.stores.requests.find(id: "r1", lock: false, $0) }
        )
        #expect(record.state == .approved)
        #expect(record.createdAtMs == 7)
        #expect(record.updatedAtMs == 100)
        #expect(record.grant == window)
        #expect(record.customerDecision?.decision == .approve)
        #expect(record.customerDecision?.approvedDurationSeconds == 3600)
        #expect(record.internalDecision == nil)
        #expect(record.usage == GrantUsage())
    }

    @Test func anIdempotencyKeyIsUsedOnceAndComparesPayloads() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let new = NewAccessRequest(
            tenantID: "contoso",
            service: .teams,
            ticketNumber: "T",
            justification: "j",
            requestedDurationSeconds: 600
        )
        let other = NewAccessRequest(
            tenantID: "contoso",
            service: .teams,
            ticketNumber: "T",
            justification: "something else",
            requestedDurationSeconds: 600
        )
        try await fixture.pool.transaction { (db: PGConnection) throws in
            let requests = fixture.stores.requests
            let inserted = try requests.insert(
                new,
                id: "a",
                requesterID: "op",
                idempotencyKey: "k",
                internalDeadlineMs: 100,
                nowMs: 1,
                db
            )
            // What the insert returns is the record as any later read finds it.
            #expect(inserted != nil)
            #expect(inserted == (try requests.find(id: "a", lock: false, db)))
            #expect(inserted?.state == .pendingInternal && inserted?.createdAtMs == 1)
            #expect(
                try requests.insert(
                    new,
                    id: "b",
                    requesterID: "op",
                    idempotencyKey: "k",
                    internalDeadlineMs: 100,
                    nowMs: 2,
                    db
                ) == nil
            )
            #expect(try requests.find(requesterID: "op", idempotencyKey: "k", payload: new, db)?.samePayload == true)
            #expect(try requests.find(requesterID: "op", idempotencyKey: "k", payload: other, db)?.samePayload == false)
            #expect(try requests.find(requesterID: "op", idempotencyKey: "other", payload: new, db) == nil)
            #expect(try requests.find(id: "b", lock: false, db) == nil)
        }
    }

    @Test func overtakenRequestsAreLockedSoTwoSweepersNeverShareOne() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        try await fixture.request("due1", state: .pendingCustomer, customerDeadlineMs: 10)
        try await fixture.request("due2", state: .pendingCustomer, customerDeadlineMs: 20)
        try await fixture.request("later", state: .pendingCustomer, customerDeadlineMs: 5000)
        let rule = try #require(Lifecycle.clockRules.first { $0.from == .pendingCustomer })
        // Two sweepers' transactions on two connections (their statements never block: SKIP LOCKED).
        let url = fixture.pool.configuration.url
        let first = try PGConnection(url: url)
        let second = try PGConnection(url: url)
        try first.execute(script: "BEGIN")
        try second.execute(script: "BEGIN")
        let firstBatch = try fixture.stores.requests.overtaken(by: rule, nowMs: 100, limit: 1, first)
        #expect(firstBatch.map(\.id) == ["due1"])
        // While the first holds its lock, the other skips that row; "later" is not due.
        let secondBatch = try fixture.stores.requests.overtaken(by: rule, nowMs: 100, limit: 10, second)
        #expect(secondBatch.map(\.id) == ["due2"])
        try first.execute(script: "ROLLBACK")
        try second.execute(script: "ROLLBACK")
    }

    @Test func checkFactsAreTheOpenGrantsWithTheOperationsAndTheOperatorsStanding() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        try await fixture.request("ended", state: .approved, grant: GrantWindow(startsAtMs: 0, endsAtMs: 500))
        try await fixture.request("open", state: .approved, grant: GrantWindow(startsAtMs: 0, endsAtMs: 5000))
        try await fixture.request(
            "revoked",
            state: .revoked,
            grant: GrantWindow(startsAtMs: 0, endsAtMs: 9000, revokedAtMs: 100)
        )
        try await fixture.request("pending", state: .pendingInternal, createdAtMs: 10)
        try await fixture.pool.transaction { (db: PGConnection) throws in
            let grants = fixture.stores.grants
            let assignment = RoleAssignmentRecord(
                principalID: "op",
                role: .operator,
                tenantID: "",
                assignedBy: "t",
                assignedAtMs: 0
            )
            _ = try fixture.stores.principals.assign(assignment, db)
            let facts = try grants.checkFacts(
                CheckKey(operatorID: "op", tenantID: "contoso", service: .exchange, operation: "GET-MAILBOX"),
                nowMs: 1000,
                db
            )
            #expect(facts.candidates.map(\.grant.requestID) == ["open"], "neither ended nor revoked grants")
            #expect(facts.candidates.first?.operationPreapproved == true, "names match case-insensitively")
            #expect(facts.operatorStatus == .active)
            let unknown = try grants.checkFacts(
                CheckKey(operatorID: "op", tenantID: "contoso", service: .exchange, operation: "Remove-Mailbox"),
                nowMs: 1000,
                db
            )
            #expect(unknown.candidates.first?.operationPreapproved == false)
            let denial = try grants.denialFacts(
                operatorID: "op",
                tenantID: "contoso",
                service: .exchange,
                nowMs: 1000,
                db
            )
            #expect(denial.newestRequest?.id == "pending", "the newest request by creation")
            #expect(denial.otherGrants.map(\.requestID) == ["open"])
            #expect(try fixture.stores.principals.suspend(id: "op", nowMs: 1100, db))
            let suspended = try grants.checkFacts(
                CheckKey(operatorID: "op", tenantID: "contoso", service: .exchange, operation: "Get-Mailbox"),
                nowMs: 1200,
                db
            )
            #expect(suspended.operatorStatus == .suspended)
            let stranger = try grants.denialFacts(
                operatorID: "nobody",
                tenantID: "contoso",
                service: .exchange,
                nowMs: 1,
                db
            )
            #expect(stranger.operatorStatus == .unknown)
        }
    }
}
