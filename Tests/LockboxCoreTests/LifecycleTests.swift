import LockboxCore
import Testing

@Suite struct LifecycleTests {
    static let now: Int64 = 1_000_000
    static let requester = "op-1"

    static func facts(_ state: RequestState) -> RequestFacts {
        RequestFacts(
            state: state,
            requesterID: requester,
            requestedDurationSeconds: 3600,
            customerDeadlineMs: state == .pendingCustomer ? now + 1000 : nil,
            grantEndsAtMs: state == .approved ? now + 1000 : nil
        )
    }

    enum Expected: Sendable, Equatable {
        case state(RequestState)
        case error(DomainError.Code)
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var state: RequestState
        var action: LifecycleAction
        var actor: LifecycleActor
        /// The new state, or the error code.
        var expected: Expected
        var testDescription: String { "\(state) \(action) by \(actor)" }
    }

    static let manager = LifecycleActor.provider("mgr-1")
    static let ownRequester = LifecycleActor.provider(requester)
    static let customer = LifecycleActor.customer("cust-1")

    static let rows: [Row] = {
        var rows: [Row] = []
        let failed = Expected.error(.failedPrecondition)
        for state in RequestState.allCases {
            func expect(_ action: LifecycleAction, _ actor: LifecycleActor, _ outcome: Expected) {
                rows.append(Row(state: state, action: action, actor: actor, expected: outcome))
            }
            expect(.approveInternal, manager, state == .pendingInternal ? .state(.pendingCustomer) : failed)
            expect(.denyInternal, manager, state == .pendingInternal ? .state(.denied) : failed)
            expect(
                .approveInternal,
                ownRequester,
                state == .pendingInternal ? .error(.permissionDenied) : failed
            )
            expect(.approveInternal, customer, .error(.permissionDenied))
            expect(.approveCustomer(approvedDurationSeconds: 0), customer, state == .pendingCustomer ? .state(.approved) : failed)
            expect(.approveCustomer(approvedDurationSeconds: 0), manager, .error(.permissionDenied))
            expect(.denyCustomer, customer, state == .pendingCustomer ? .state(.denied) : failed)
            expect(
                .cancel,
                customer,
                [.pendingInternal, .pendingCustomer].contains(state) ? .state(.canceled) : failed
            )
            expect(
                .cancel,
                ownRequester,
                [.pendingInternal, .pendingCustomer].contains(state) ? .state(.canceled) : failed
            )
            expect(.cancel, manager, .error(.permissionDenied))
            expect(.revoke, customer, state == .approved ? .state(.revoked) : failed)
            expect(.revoke, ownRequester, state == .approved ? .state(.revoked) : failed)
            expect(.revoke, manager, .error(.permissionDenied))
        }
        return rows
    }()

    @Test("state × action × actor", arguments: rows)
    func table(row: Row) {
        let got: Expected
        do {
            got = .state(try Lifecycle.transition(
                row.action,
                facts: Self.facts(row.state),
                actor: row.actor,
                nowMs: Self.now,
                lockboxEnabled: true,
                approvalWindowSeconds: 43200
            ).to)
        } catch {
            got = .error(error.code)
        }
        #expect(got == row.expected)
    }

    @Test func terminalStatesRejectEverything() {
        let actions: [LifecycleAction] = [
            .approveInternal, .denyInternal, .approveCustomer(approvedDurationSeconds: 0), .denyCustomer, .cancel, .revoke,
            .expire, .complete,
        ]
        for state in RequestState.allCases where state.isTerminal {
            for action in actions {
                for actor in [Self.manager, Self.customer, Self.ownRequester, LifecycleActor.system] {
                    #expect(throws: DomainError.self) {
                        try Lifecycle.transition(
                            action,
                            facts: Self.facts(state),
                            actor: actor,
                            nowMs: Self.now,
                            lockboxEnabled: true,
                            approvalWindowSeconds: 43200
                        )
                    }
                }
            }
        }
    }

    @Test func theClockDecides() {
        let pending = Self.facts(.pendingCustomer)
        #expect(Lifecycle.effectiveState(pending, nowMs: Self.now + 999) == .pendingCustomer)
        #expect(Lifecycle.effectiveState(pending, nowMs: Self.now + 1000) == .expired)
        #expect(throws: DomainError(.failedPrecondition, "request is EXPIRED")) {
            try Lifecycle.transition(
                .approveCustomer(approvedDurationSeconds: 0),
                facts: pending,
                actor: Self.customer,
                nowMs: Self.now + 1000,
                lockboxEnabled: true,
                approvalWindowSeconds: 43200
            )
        }
        let approved = Self.facts(.approved)
        #expect(Lifecycle.grantIsActive(approved, nowMs: Self.now + 999))
        #expect(!Lifecycle.grantIsActive(approved, nowMs: Self.now + 1000))
        #expect(throws: DomainError.self) {
            try Lifecycle.transition(.revoke, facts: approved, actor: Self.customer, nowMs: Self.now + 1000, lockboxEnabled: true, approvalWindowSeconds: 1)
        }
    }

    @Test func approvalMayShortenNeverLengthen() throws {
        let pending = Self.facts(.pendingCustomer)
        let shortened = try Lifecycle.transition(
            .approveCustomer(approvedDurationSeconds: 600),
            facts: pending,
            actor: Self.customer,
            nowMs: Self.now,
            lockboxEnabled: true,
            approvalWindowSeconds: 43200
        )
        #expect(shortened.grantEndsAtMs == Self.now + 600_000)
        #expect(throws: DomainError(.invalidArgument, "an approval may shorten the access, never lengthen it")) {
            try Lifecycle.transition(
                .approveCustomer(approvedDurationSeconds: 3601),
                facts: pending,
                actor: Self.customer,
                nowMs: Self.now,
                lockboxEnabled: true,
                approvalWindowSeconds: 43200
            )
        }
    }

    @Test func lockboxOffSkipsTheCustomer() throws {
        let transition = try Lifecycle.transition(
            .approveInternal,
            facts: Self.facts(.pendingInternal),
            actor: Self.manager,
            nowMs: Self.now,
            lockboxEnabled: false,
            approvalWindowSeconds: 43200
        )
        #expect(transition.to == .approved)
        #expect(transition.customerApprovalRequired == false)
        #expect(transition.grantEndsAtMs == Self.now + 3_600_000)
    }

    @Test func sweeperMovesOnlyWhatTheClockEnded() {
        #expect(throws: DomainError.self) {
            try Lifecycle.transition(.expire, facts: Self.facts(.pendingCustomer), actor: .system, nowMs: Self.now, lockboxEnabled: true, approvalWindowSeconds: 1)
        }
        #expect(
            (try? Lifecycle.transition(.expire, facts: Self.facts(.pendingCustomer), actor: .system, nowMs: Self.now + 1000, lockboxEnabled: true, approvalWindowSeconds: 1))?.to
                == .expired
        )
        #expect(
            (try? Lifecycle.transition(.complete, facts: Self.facts(.approved), actor: .system, nowMs: Self.now + 1000, lockboxEnabled: true, approvalWindowSeconds: 1))?.to
                == .completed
        )
    }

    @Test func durationPolicy() throws {
        let policy = Policy()
        try policy.validateDuration(60, tenantCap: 14400)
        try policy.validateDuration(14400, tenantCap: 14400)
        #expect(throws: DomainError.self) { try policy.validateDuration(59, tenantCap: 14400) }
        #expect(throws: DomainError.self) { try policy.validateDuration(14401, tenantCap: 20000) }
        #expect(throws: DomainError.self) { try policy.validateDuration(3601, tenantCap: 3600) }
    }
}
