import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxTestSupport
import NIOConcurrencyHelpers
import Testing

@testable import LockboxServer
@testable import LockboxStore

/// The gate knows its callers from memory, and never trusts that memory past the call's own
/// transaction: what cannot be a caller costs no database work, and what an admin changes on
/// one replica takes effect at the very next call on every other.
@Suite struct GateTests {
    static func check(_ w: Harness.World) -> CheckAccessRequest {
        CheckAccessRequest(
            tenantID: "contoso",
            service: .exchange,
            operatorID: w.operatorID,
            operation: "Get-Mailbox",
            clientIP: "10.0.0.1"
        )
    }

    /// Round trips are what a call costs under load: BEGIN goes with the call's first statement,
    /// and the writes whose rows no one reads (usage, the audit record, the event) go with
    /// COMMIT. Other work on the same pool can only add flights, so the fewest of twenty calls is
    /// the call's own.
    @Test func anAllowedCheckTakesTwoRoundTripsAndACreateFour() async throws {
        let flights = NIOLockedValueBox(0)
        let observer = PGStatementObserver({ _ in }, flight: { _ in flights.withLockedValue { $0 += 1 } })
        try await Harness.with(statements: observer, observeFeed: false) { h in
            let w = try await h.makeWorld()
            let request = try await h.createRequest(w)
            try await h.approveInternally(w, request.id)
            try await h.approveByCustomer(w, request.id)
            func fewest(_ call: () async throws -> Void) async throws -> Int {
                var fewest = Int.max
                for _ in 0..<20 {
                    let before = flights.withLockedValue { $0 }
                    try await call()
                    fewest = min(fewest, flights.withLockedValue { $0 } - before)
                }
                return fewest
            }
            // Token still valid and the grant's facts (with BEGIN); usage, record and COMMIT.
            let check = try await fewest {
                let answer = try await h.call(LockboxMethods.checkAccess, Self.check(w), token: w.serviceToken)
                #expect(answer.allowed)
            }
            #expect(check == 2)
            // Token (with BEGIN); the tenant's rules; the insert that returns the record; the
            // record, the event and its announcement with COMMIT.
            let create = try await fewest { _ = try await h.createRequest(w) }
            #expect(create == 4)
            // Every allowed check is in the log, with its usage.
            let recorded = try await h.sql(
                "SELECT count(*) AS n FROM audit_records WHERE activity = 'Get-Mailbox' AND details->>'allowed' = 'true'"
            ).first!.int64("n")
            #expect(recorded == 20)
        }
    }

    /// An approved grant, checked once (the token is cached, the statements prepared), then
    /// held as a revocation in progress holds it: a transaction of the owner's that locks its
    /// row until the test rolls it back. Checks of it wait, and so do the checks queued behind them.
    static func grantHeldByARevocation(_ h: Harness) async throws -> (Harness.World, AccessRequest, PGConnection) {
        let w = try await h.makeWorld()
        let request = try await h.createRequest(w)
        try await h.approveInternally(w, request.id)
        try await h.approveByCustomer(w, request.id)
        #expect(try await h.call(LockboxMethods.checkAccess, Self.check(w), token: w.serviceToken).allowed)
        let holder = try PGConnection(url: h.database.owner)
        try holder.execute(script: "BEGIN")
        try holder.query("SELECT 1 FROM grants WHERE request_id = \(request.id) FOR UPDATE")
        return (w, request, holder)
    }

    /// Group commit: checks that arrive while the groups in flight wait (here, on a revocation
    /// in progress that holds the grant) form one group, which reads for all of them in one
    /// flight and writes and commits for all of them in another. Each is answered, allowed,
    /// and recorded, and the grant counts every use.
    @Test func checksThatArriveTogetherShareOneTransaction() async throws {
        let flights = NIOLockedValueBox(0)
        let observer = PGStatementObserver({ _ in }, flight: { _ in flights.withLockedValue { $0 += 1 } })
        try await Harness.with(statements: observer, observeFeed: false) { h in
            let (w, request, holder) = try await Self.grantHeldByARevocation(h)
            let before = flights.withLockedValue { $0 }
            let answers = Task {
                try await withThrowingTaskGroup(of: Bool.self) { group in
                    for _ in 0..<22 {
                        group.addTask {
                            try await h.call(LockboxMethods.checkAccess, Self.check(w), token: w.serviceToken).allowed
                        }
                    }
                    return try await group.reduce(into: [Bool]()) { $0.append($1) }
                }
            }
            // One group (the most that read at once) waits on the lock; the other twenty-one wait for it.
            #expect(try await eventually { h.service.checksWaiting == 21 })
            try holder.execute(script: "ROLLBACK")
            let allowed = try await answers.value
            #expect(allowed.count == 22 && allowed.allSatisfy { $0 })
            // Two flights for each of the two groups.
            #expect(flights.withLockedValue { $0 } - before == 4)
            let recorded = try await h.sql(
                "SELECT count(*) AS n FROM audit_records WHERE activity = 'Get-Mailbox' AND details->>'allowed' = 'true'"
            ).first!.int64("n")
            #expect(recorded == 23)
            let used = try await h.sql(
                "SELECT sum(operations)::bigint AS n FROM grant_usage WHERE request_id = \(request.id)"
            ).first!.int64("n")
            #expect(used == 23)
        }
    }

    /// A check that fails on its own (a tenant that does not exist) is answered with its own
    /// status and records nothing; the checks in its group are answered and recorded.
    @Test func aCheckThatFailsAloneFailsOnlyItself() async throws {
        try await Harness.with(observeFeed: false) { h in
            let (w, _, holder) = try await Self.grantHeldByARevocation(h)
            var nowhere = Self.check(w)
            nowhere.tenantID = "no-such-tenant"
            func send(_ count: Int, _ check: CheckAccessRequest) -> Task<[StatusCode], Never> {
                Task {
                    await withTaskGroup(of: StatusCode.self) { group in
                        for _ in 0..<count {
                            group.addTask { await h.status(LockboxMethods.checkAccess, check, token: w.serviceToken) }
                        }
                        return await group.reduce(into: [StatusCode]()) { $0.append($1) }
                    }
                }
            }
            // Eight checks: one group waits on the lock, seven checks wait for it. Then four
            // that will fail join those seven, and the eleven form the next group.
            let good = send(8, Self.check(w))
            #expect(try await eventually { h.service.checksWaiting == 7 })
            let missing = send(4, nowhere)
            #expect(try await eventually { h.service.checksWaiting == 11 })
            try holder.execute(script: "ROLLBACK")
            let goodAnswers = await good.value
            let missingAnswers = await missing.value
            #expect(goodAnswers == Array(repeating: .ok, count: 8))
            #expect(missingAnswers == Array(repeating: .notFound, count: 4))
            let recorded = try await h.sql(
                "SELECT count(*) FILTER (WHERE tenant_id = 'contoso') AS here, count(*) FILTER (WHERE tenant_id = 'no-such-tenant') AS nowhere FROM audit_records WHERE activity = 'Get-Mailbox'"
            ).first!
            #expect(try recorded.int64("here") == 9)
            #expect(try recorded.int64("nowhere") == 0)
        }
    }

    @Test func aTokenThatCannotBeOursCostsNoDatabaseWork() async throws {
        let counter = NIOLockedValueBox(0)
        let observer = PGStatementObserver { _ in counter.withLockedValue { $0 += 1 } }
        try await Harness.with(statements: observer, observeFeed: false) { h in
            let w = try await h.makeWorld()
            // The credential key is read once, on the first call; after that, garbage is free.
            #expect(
                await h.status(LockboxMethods.listAccessRequests, ListAccessRequestsRequest(), token: "x")
                    == .unauthenticated
            )
            let before = counter.withLockedValue { $0 }
            // One character changed in the middle, where every bit counts (the last character of
            // base64 carries bits a decoder may ignore).
            var forged = Array(w.operatorToken)
            let middle = forged.count / 2
            forged[middle] = forged[middle] == "A" ? "B" : "A"
            let forgedToken = String(forged)
            let garbage = [
                "", "x", "lbx_", "lbx_" + String(repeating: "A", count: 43), "lbx_" + String(repeating: "A", count: 51),
                forgedToken,
            ]
            for token in garbage {
                for _ in 0..<20 {
                    let status = await h.status(
                        LockboxMethods.listAccessRequests,
                        ListAccessRequestsRequest(),
                        token: token
                    )
                    #expect(status == .unauthenticated, "\(token)")
                }
            }
            #expect(
                counter.withLockedValue { $0 } == before,
                "no statement for 120 calls with tokens that cannot be ours"
            )
        }
    }

    /// A token that passes its checksum but is no one's (the checksum key is the database's:
    /// whoever holds it can make these) costs a read; an address that makes too many is then
    /// refused with no work at all, until time gives its budget back.
    @Test func anAddressPastItsBudgetOfFailedAuthenticationsIsRefusedWithoutWork() async throws {
        let counter = NIOLockedValueBox(0)
        let observer = PGStatementObserver { _ in counter.withLockedValue { $0 += 1 } }
        // A budget time gives back slowly, so that this test's pace does not matter.
        let budgets = BudgetConfiguration(unauthenticatedBurst: 20, unauthenticatedPerSecond: 0.001)
        try await Harness.with(statements: observer, observeFeed: false, budgets: budgets) { h in
            _ = try await h.makeWorld()
            let key = try await h.pool.withConnection { db in try TokenStore().credentialKey(db) }
            var codes: [StatusCode] = []
            for _ in 0..<25 {
                let stranger = Credentials.newSecret(key: key)
                codes.append(
                    await h.status(LockboxMethods.listAccessRequests, ListAccessRequestsRequest(), token: stranger)
                )
            }
            #expect(codes.prefix(20).allSatisfy { $0 == .unauthenticated }, "\(codes)")
            #expect(codes.suffix(5).allSatisfy { $0 == .resourceExhausted }, "\(codes)")
            let before = counter.withLockedValue { $0 }
            let stranger = Credentials.newSecret(key: key)
            #expect(await h.status(LockboxMethods.ping, PingRequest(), token: stranger) == .ok, "Ping takes no token")
            #expect(
                await h.status(LockboxMethods.listAccessRequests, ListAccessRequestsRequest(), token: stranger)
                    == .resourceExhausted
            )
            #expect(counter.withLockedValue { $0 } == before, "refused with no statement")
        }
    }

    /// Two replicas on one database. The second knows the operator, the service and the
    /// approver from their calls; the first revokes a token, removes a role and suspends a
    /// principal. Each takes effect at the second's very next call, whatever its cache held.
    @Test func whatOneReplicaChangesTakesEffectAtTheNextCallOnAnother() async throws {
        let database = try await TestDatabase.create()
        try await Harness.with(database: database) { first in
            let w = try await first.makeWorld()
            try await Harness.with(database: database) { second in
                // The second replica has read these tokens.
                #expect(
                    try await second.call(
                        LockboxMethods.listAccessRequests,
                        ListAccessRequestsRequest(),
                        token: w.operatorToken
                    ).requests.count == 0
                )
                #expect(await second.status(LockboxMethods.checkAccess, Self.check(w), token: w.serviceToken) == .ok)
                #expect(
                    await second.status(
                        LockboxMethods.listAccessRequests,
                        ListAccessRequestsRequest(tenantID: "contoso"),
                        token: w.contosoApprover
                    ) == .ok
                )

                // A token revoked on the first.
                let service = try await first.sql(
                    "SELECT token_id FROM api_tokens t JOIN role_assignments r ON r.principal_id = t.principal_id WHERE r.role = 'service'"
                ).first!.string("token_id")
                _ = try await first.call(
                    LockboxMethods.revokeToken,
                    RevokeTokenRequest(tokenID: service),
                    token: w.providerAdmin
                )
                #expect(
                    await second.status(LockboxMethods.checkAccess, Self.check(w), token: w.serviceToken)
                        == .unauthenticated
                )

                // A role removed on the first.
                _ = try await first.call(
                    LockboxMethods.removeRole,
                    RoleAssignment(principalID: w.contosoApproverID, role: .lockboxApprover, tenantID: "contoso"),
                    token: w.contosoAdmin
                )
                #expect(
                    await second.status(
                        LockboxMethods.listAccessRequests,
                        ListAccessRequestsRequest(tenantID: "contoso"),
                        token: w.contosoApprover
                    )
                        == .permissionDenied
                )

                // A principal suspended on the first.
                _ = try await first.call(
                    LockboxMethods.suspendPrincipal,
                    SuspendPrincipalRequest(principalID: w.operatorID, reason: "left the company"),
                    token: w.providerAdmin
                )
                #expect(
                    await second.status(
                        LockboxMethods.listAccessRequests,
                        ListAccessRequestsRequest(),
                        token: w.operatorToken
                    ) == .unauthenticated
                )
            }
        }
    }

    /// A refusal is never judged on the cache alone: a certificate unbound, or a role given
    /// back, on another replica is honoured at the next call; a token revoked after its role
    /// was removed is unauthenticated, not merely forbidden.
    @Test func whatTheCacheWouldRefuseIsAskedOfTheDatabase() async throws {
        let database = try await TestDatabase.create()
        try await Harness.with(database: database) { first in
            let w = try await first.makeWorld()
            try await Harness.with(database: database) { second in
                let list = ListAccessRequestsRequest(tenantID: "contoso")
                #expect(await second.status(LockboxMethods.listAccessRequests, list, token: w.contosoApprover) == .ok)
                // Bound on the first: the second refuses (no client certificate here)...
                _ = try await first.call(
                    LockboxMethods.bindCertificate,
                    BindCertificateRequest(
                        principalID: w.contosoApproverID,
                        certificateSHA256: Array(repeating: 7, count: 32)
                    ),
                    token: w.contosoAdmin
                )
                #expect(
                    await second.status(LockboxMethods.listAccessRequests, list, token: w.contosoApprover)
                        == .unauthenticated
                )
                // ...and unbound on the first: the second serves at once.
                _ = try await first.call(
                    LockboxMethods.bindCertificate,
                    BindCertificateRequest(principalID: w.contosoApproverID, certificateSHA256: []),
                    token: w.contosoAdmin
                )
                #expect(await second.status(LockboxMethods.listAccessRequests, list, token: w.contosoApprover) == .ok)
                // A role removed, then given back on the first.
                let role = RoleAssignment(principalID: w.contosoApproverID, role: .lockboxApprover, tenantID: "contoso")
                _ = try await first.call(LockboxMethods.removeRole, role, token: w.contosoAdmin)
                #expect(
                    await second.status(LockboxMethods.listAccessRequests, list, token: w.contosoApprover)
                        == .permissionDenied
                )
                _ = try await first.call(LockboxMethods.assignRole, role, token: w.contosoAdmin)
                #expect(await second.status(LockboxMethods.listAccessRequests, list, token: w.contosoApprover) == .ok)
                // Removed again, and its token revoked: unauthenticated.
                _ = try await first.call(LockboxMethods.removeRole, role, token: w.contosoAdmin)
                #expect(
                    await second.status(LockboxMethods.listAccessRequests, list, token: w.contosoApprover)
                        == .permissionDenied
                )
                let token = try await first.sql(
                    "SELECT token_id FROM api_tokens WHERE principal_id = \(w.contosoApproverID)"
                ).first!.string("token_id")
                _ = try await first.call(
                    LockboxMethods.revokeToken,
                    RevokeTokenRequest(tokenID: token),
                    token: w.contosoAdmin
                )
                #expect(
                    await second.status(LockboxMethods.listAccessRequests, list, token: w.contosoApprover)
                        == .unauthenticated
                )
            }
        }
    }

    /// Enrollment codes carry the same checksum: a guess costs no database work, and an
    /// address, or a tenant, that guesses too often is refused with no work at all.
    @Test func enrollmentGuessesCostNothingAndAreBudgeted() async throws {
        let counter = NIOLockedValueBox(0)
        let observer = PGStatementObserver { _ in counter.withLockedValue { $0 += 1 } }
        let budgets = BudgetConfiguration(enrollmentBurst: 10, enrollmentPerMinute: 0.01)
        try await Harness.with(statements: observer, observeFeed: false, budgets: budgets) { h in
            // Two tenants enroll their first admins from this address: two of its ten attempts.
            _ = try await h.makeWorld()
            let before = counter.withLockedValue { $0 }
            var codes: [StatusCode] = []
            for index in 0..<15 {
                let guess = EnrollTenantAdminRequest(
                    tenantID: "contoso",
                    code: "lbxe_guess\(index)",
                    displayName: "Mallory"
                )
                codes.append(await h.status(LockboxMethods.enrollTenantAdmin, guess, token: ""))
            }
            #expect(Array(codes.prefix(8)) == Array(repeating: .unauthenticated, count: 8), "\(codes)")
            #expect(Array(codes.suffix(7)) == Array(repeating: .resourceExhausted, count: 7), "\(codes)")
            #expect(counter.withLockedValue { $0 } == before, "no statement for guesses")
        }
    }
}
