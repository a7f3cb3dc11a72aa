import LockboxCore
import Testing

@Suite struct LifecycleTests {
    static let now: Int64 = 1_000_000
    static let requester = "op-1"

    static func facts(_ state: RequestState) -> RequestFacts {
        RequestFacts(
            state: state,
            tenantID: "contoso",
            requesterID: requester,
            requestedDurationSeconds: 3600,
            internalDeadlineMs: state == .pendingInternal ? now + 1000 : nil,
            customerDeadlineMs: state == .pendingCustomer ? now + 1000 : nil,
            grant: state == .approved ? GrantWindow(startsAtMs: now - 1000, endsAtMs: now + 1000) : nil
        )
    }

    static let rules = TenantRules(lockboxEnabled: true, approvalWindowSeconds: 43200, maxAccessDurationSeconds: 14400)

    static func transition(
        _ action: LifecycleAction,
        _ facts: RequestFacts,
        by actor: Caller,
        at nowMs: Int64 = now,
        rules: TenantRules = rules,
        policy: Policy = Policy()
    ) throws(DomainError) -> Transition {
        try Lifecycle.transition(action, facts: facts, by: actor, nowMs: nowMs, rules: rules, policy: policy)
    }

    enum Expected: Sendable, Equatable {
        case state(RequestState)
        case error(DomainError.Code)
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var state: RequestState
        var action: LifecycleAction
        var actor: Caller
        /// The new state, or the error code.
        var expected: Expected
        var testDescription: String { "\(state) \(action) by \(actor.displayName)" }
    }

    static func principal(_ id: String, _ roles: [Role], tenant: String = "") -> Caller {
        Caller(
            id: id,
            displayName: id,
            tenantID: tenant.isEmpty ? nil : tenant,
            assignments: Set(roles.map { Caller.Assignment(role: $0, tenantID: tenant) }),
            ip: ""
        )
    }

    static let manager = principal("mgr-1", [.supportManager])
    static let operatorActor = principal("op-2", [.operator])
    static let providerAdmin = principal("admin-1", [.providerAdmin])
    static let ownRequester = principal(requester, [.operator])
    static let customer = principal("cust-1", [.lockboxApprover], tenant: "contoso")
    static let otherTenant = principal("cust-2", [.globalAdmin], tenant: "fabrikam")

    static let rows: [Row] = {
        var rows: [Row] = []
        let failed = Expected.error(.failedPrecondition)
        let denied = Expected.error(.permissionDenied)
        for state in RequestState.allCases {
            func expect(_ action: LifecycleAction, _ actor: Caller, _ outcome: Expected) {
                rows.append(Row(state: state, action: action, actor: actor, expected: outcome))
            }
            expect(.approveInternal, manager, state == .pendingInternal ? .state(.pendingCustomer) : failed)
            expect(.denyInternal, manager, state == .pendingInternal ? .state(.denied) : failed)
            // Who may act is asked before the state: a support manager who filed the request may
            // never decide it; an operator decides nothing.
            expect(.approveInternal, principal(requester, [.operator, .supportManager]), denied)
            expect(.approveInternal, ownRequester, denied)
            expect(.approveInternal, customer, denied)
            expect(
                .approveCustomer(approvedDurationSeconds: 0),
                customer,
                state == .pendingCustomer ? .state(.approved) : failed
            )
            expect(.approveCustomer(approvedDurationSeconds: 0), manager, denied)
            expect(.approveCustomer(approvedDurationSeconds: 0), otherTenant, denied)
            expect(.denyCustomer, customer, state == .pendingCustomer ? .state(.denied) : failed)
            let cancellable: Set<RequestState> = [.pendingInternal, .pendingCustomer]
            expect(.cancel, customer, cancellable.contains(state) ? .state(.canceled) : failed)
            expect(.cancel, ownRequester, cancellable.contains(state) ? .state(.canceled) : failed)
            // A support manager who filed the request may withdraw it, as its requester.
            expect(
                .cancel,
                principal(requester, [.operator, .supportManager]),
                cancellable.contains(state) ? .state(.canceled) : failed
            )
            expect(.cancel, manager, denied)
            expect(.cancel, providerAdmin, denied)
            expect(.approveInternal, operatorActor, denied)
            expect(.revoke, customer, state == .approved ? .state(.revoked) : failed)
            expect(.revoke, ownRequester, state == .approved ? .state(.revoked) : failed)
            // The provider's emergency stop: any support manager.
            expect(.revoke, manager, state == .approved ? .state(.revoked) : failed)
            expect(.revoke, operatorActor, denied)
            expect(.revoke, otherTenant, denied)
            expect(.approveCustomer(approvedDurationSeconds: 0), providerAdmin, denied)
        }
        return rows
    }()

    @Test("state × action × actor", arguments: rows)
    func table(row: Row) {
        let got: Expected
        do {
            got = .state(try Self.transition(row.action, Self.facts(row.state), by: row.actor).to)
        } catch {
            got = .error(error.code)
        }
        #expect(got == row.expected)
    }

    /// A suspension withdraws what is pending and ends what is approved; nothing else moves.
    @Test(arguments: RequestState.allCases)
    func suspensionWithdraws(state: RequestState) {
        let moved = Lifecycle.withdraw(Self.facts(state), nowMs: Self.now)
        switch state {
        case .pendingInternal, .pendingCustomer:
            #expect(moved?.to == .canceled && moved?.activity == .suspensionCancel && moved?.decision == .cancel)
        case .approved:
            #expect(moved?.to == .revoked && moved?.activity == .accessRevoked)
        default:
            #expect(moved == nil)
        }
        // By the clock: a grant past its end is not revoked, a request past its deadline not withdrawn.
        #expect(Lifecycle.withdraw(Self.facts(state), nowMs: Self.now + 1000) == nil)
    }

    /// Every move a request makes is one of the lifecycle's activities, which the event feed's
    /// CHECK constraint lists.
    @Test func everyMoveIsALifecycleActivity() {
        var seen: Set<Activity> = [.requestCreated]
        for row in Self.rows {
            if let moved = try? Self.transition(row.action, Self.facts(row.state), by: row.actor) {
                seen.insert(moved.activity)
            }
        }
        for state in RequestState.allCases {
            if let settled = Lifecycle.settle(Self.facts(state), nowMs: .max) { seen.insert(settled.activity) }
            if let withdrawn = Lifecycle.withdraw(Self.facts(state), nowMs: Self.now) {
                seen.insert(withdrawn.activity)
            }
        }
        // A decision that counts toward an N-of-M threshold without deciding is the workflow's
        // record of a request that stays where it is, not a move of the state machine.
        // Nor is an extension withdrawn with the grant it continues (the workflow relabels a
        // withdrawal for it).
        // Nor is a pre-approval's (the workflow's, from the tenant's signed policy).
        #expect(seen == Activity.lifecycle.subtracting([.customerDecisionCounted, .extensionWithdrawn, .autoApproved]))
    }

    /// Three internal levels: each a different support manager; the request waits for the
    /// customer only after the third.
    @Test func internalLevelsAreDistinctManagersAndTheLastMovesOn() throws {
        var policy = Policy()
        policy.internalApprovalsRequired = 3
        var facts = Self.facts(.pendingInternal)
        let first = try Self.transition(.approveInternal, facts, by: Self.manager, policy: policy)
        #expect(first.to == .pendingInternal && first.internalLevel == 1 && first.customerDeadlineMs == nil)
        facts.internalApprovers = [Self.manager.id]
        #expect(throws: DomainError.self) {
            try Self.transition(.approveInternal, facts, by: Self.manager, policy: policy)
        }
        facts.internalApprovers = ["mgr-a", "mgr-b"]
        let last = try Self.transition(.approveInternal, facts, by: Self.manager, policy: policy)
        #expect(last.to == .pendingCustomer && last.internalLevel == nil)
        let denied = try Self.transition(.denyInternal, facts, by: Self.manager, policy: policy)
        #expect(denied.to == .denied)
    }

    struct Scheduled: Sendable, CustomTestStringConvertible {
        var name: String
        var start: Int64?
        var lockboxEnabled = true
        var action: LifecycleAction
        var state: RequestState
        var deadline: Int64?
        var grant: GrantWindow?
        var testDescription: String { name }
    }

    /// A scheduled start (or an extension's, the end of the grant it continues) bounds the
    /// customer's deadline and starts the grant; without one, both run from the decision.
    static let scheduled: [Scheduled] = [
        Scheduled(
            name: "internal approval: the customer decides by the start",
            start: now + 3_600_000,
            action: .approveInternal,
            state: .pendingInternal,
            deadline: now + 3_600_000
        ),
        Scheduled(
            name: "internal approval: the approval window when it ends first",
            start: now + 86_400_000,
            action: .approveInternal,
            state: .pendingInternal,
            deadline: now + 43_200_000
        ),
        Scheduled(
            name: "internal approval, lockbox off: the grant starts at the start",
            start: now + 3_600_000,
            lockboxEnabled: false,
            action: .approveInternal,
            state: .pendingInternal,
            grant: GrantWindow(startsAtMs: now + 3_600_000, endsAtMs: now + 7_200_000)
        ),
        Scheduled(
            name: "customer approval: the grant starts at the start",
            start: now + 3_600_000,
            action: .approveCustomer(approvedDurationSeconds: 1800),
            state: .pendingCustomer,
            grant: GrantWindow(startsAtMs: now + 3_600_000, endsAtMs: now + 5_400_000)
        ),
        Scheduled(
            name: "customer approval without a start: from the decision",
            start: nil,
            action: .approveCustomer(approvedDurationSeconds: 0),
            state: .pendingCustomer,
            grant: GrantWindow(startsAtMs: now, endsAtMs: now + 3_600_000)
        ),
    ]

    @Test(arguments: scheduled) func aScheduledStart(_ test: Scheduled) throws {
        var facts = Self.facts(test.state)
        facts.scheduledStartMs = test.start
        facts.customerDeadlineMs = test.state == .pendingCustomer ? Self.now + 1000 : nil
        var rules = Self.rules
        rules.lockboxEnabled = test.lockboxEnabled
        let actor = test.state == .pendingInternal ? Self.manager : Self.customer
        let moved = try Self.transition(test.action, facts, by: actor, rules: rules)
        #expect(moved.customerDeadlineMs == test.deadline)
        #expect(moved.grant == test.grant)
    }

    @Test func terminalStatesRejectEverything() {
        let actions: [LifecycleAction] = [
            .approveInternal, .denyInternal, .approveCustomer(approvedDurationSeconds: 0), .denyCustomer, .cancel,
            .revoke,
        ]
        for state in RequestState.allCases where state.isTerminal {
            for action in actions {
                for actor in [Self.manager, Self.customer, Self.ownRequester] {
                    #expect(throws: DomainError.self) { try Self.transition(action, Self.facts(state), by: actor) }
                }
            }
            #expect(Lifecycle.settle(Self.facts(state), nowMs: .max) == nil, "the clock moves no terminal state")
        }
    }

    @Test func theClockDecides() {
        let pending = Self.facts(.pendingCustomer)
        #expect(Lifecycle.effectiveState(pending, nowMs: Self.now + 999) == .pendingCustomer)
        #expect(Lifecycle.effectiveState(pending, nowMs: Self.now + 1000) == .expired)
        #expect(throws: DomainError(.failedPrecondition, "request is EXPIRED")) {
            try Self.transition(
                .approveCustomer(approvedDurationSeconds: 0),
                pending,
                by: Self.customer,
                at: Self.now + 1000
            )
        }
        let approved = Self.facts(.approved)
        #expect(Lifecycle.grantIsActive(approved, nowMs: Self.now + 999))
        #expect(!Lifecycle.grantIsActive(approved, nowMs: Self.now + 1000))
        #expect(throws: DomainError.self) {
            try Self.transition(.revoke, approved, by: Self.customer, at: Self.now + 1000)
        }
    }

    struct GrantRow: Sendable, CustomTestStringConvertible {
        var state: RequestState
        var window: GrantWindow
        var at: Int64
        var active: Bool
        var testDescription: String { "\(state) \(window) at \(at)" }
    }

    /// The one definition of an active grant: approved by the clock, started, not revoked.
    static let grantRows: [GrantRow] = {
        let window = GrantWindow(startsAtMs: 1000, endsAtMs: 2000)
        var rows: [GrantRow] = []
        for state in RequestState.allCases {
            rows.append(GrantRow(state: state, window: window, at: 1500, active: state == .approved))
        }
        rows += [
            GrantRow(state: .approved, window: window, at: 999, active: false),
            GrantRow(state: .approved, window: window, at: 1000, active: true),
            GrantRow(state: .approved, window: window, at: 1999, active: true),
            GrantRow(state: .approved, window: window, at: 2000, active: false),
            GrantRow(
                state: .approved,
                window: GrantWindow(startsAtMs: 1000, endsAtMs: 2000, revokedAtMs: 1200),
                at: 1500,
                active: false
            ),
        ]
        return rows
    }()

    @Test("grant activity", arguments: grantRows)
    func grantActivity(row: GrantRow) {
        #expect(Lifecycle.grantIsActive(state: row.state, window: row.window, nowMs: row.at) == row.active)
    }

    @Test func approvalMayShortenNeverLengthen() throws {
        let pending = Self.facts(.pendingCustomer)
        let shortened = try Self.transition(.approveCustomer(approvedDurationSeconds: 600), pending, by: Self.customer)
        #expect(shortened.grant == GrantWindow(startsAtMs: Self.now, endsAtMs: Self.now + 600_000))
        #expect(throws: DomainError(.invalidArgument, "an approval may shorten the access, never lengthen it")) {
            try Self.transition(.approveCustomer(approvedDurationSeconds: 3601), pending, by: Self.customer)
        }
        #expect(throws: DomainError.self) {
            try Self.transition(.approveCustomer(approvedDurationSeconds: 59), pending, by: Self.customer)
        }
    }

    @Test func lockboxOffSkipsTheCustomer() throws {
        var rules = Self.rules
        rules.lockboxEnabled = false
        let transition = try Self.transition(
            .approveInternal,
            Self.facts(.pendingInternal),
            by: Self.manager,
            rules: rules
        )
        #expect(transition.to == .approved)
        #expect(transition.customerApprovalRequired == false)
        #expect(transition.grant?.endsAtMs == Self.now + 3_600_000)
    }

    @Test func internalApprovalSetsTheTenantsWindow() throws {
        var rules = Self.rules
        rules.approvalWindowSeconds = 600
        let transition = try Self.transition(
            .approveInternal,
            Self.facts(.pendingInternal),
            by: Self.manager,
            rules: rules
        )
        #expect(transition.to == .pendingCustomer)
        #expect(transition.customerDeadlineMs == Self.now + 600_000)
        #expect(transition.customerApprovalRequired == true)
    }

    struct SettleRow: Sendable, CustomTestStringConvertible {
        var state: RequestState
        var at: Int64
        var to: RequestState?
        var activity: Activity?
        var testDescription: String { "\(state) at +\(at - LifecycleTests.now)" }
    }

    /// The sweeper's moves come from the clock rules alone.
    static let settleRows: [SettleRow] = RequestState.allCases.flatMap { state -> [SettleRow] in
        let due: (RequestState, Activity)? =
            switch state {
            case .pendingInternal: (.expired, .requestExpired)
            case .pendingCustomer: (.expired, .requestExpired)
            case .approved: (.completed, .grantCompleted)
            default: nil
            }
        return [
            SettleRow(state: state, at: now + 999, to: nil, activity: nil),
            SettleRow(state: state, at: now + 1000, to: due?.0, activity: due?.1),
        ]
    }

    @Test("sweeper moves only what the clock ended", arguments: settleRows)
    func settle(row: SettleRow) {
        let settled = Lifecycle.settle(Self.facts(row.state), nowMs: row.at)
        #expect(settled?.to == row.to)
        #expect(settled?.activity == row.activity)
        #expect(settled.map { $0.from } == (row.to == nil ? nil : row.state))
    }

    @Test func aRequestNoSupportManagerDecidedExpiresByTheClock() {
        let waiting = Self.facts(.pendingInternal)
        #expect(Lifecycle.effectiveState(waiting, nowMs: Self.now + 999) == .pendingInternal)
        #expect(Lifecycle.effectiveState(waiting, nowMs: Self.now + 1000) == .expired)
        #expect(throws: DomainError(.failedPrecondition, "request is EXPIRED")) {
            try Self.transition(.approveInternal, waiting, by: Self.manager, at: Self.now + 1000)
        }
    }

    @Test func aCapLoweredAfterFilingCutsTheGrantAndSaysSo() throws {
        var rules = Self.rules
        rules.maxAccessDurationSeconds = 1800
        let pending = Self.facts(.pendingCustomer)
        let approved = try Self.transition(
            .approveCustomer(approvedDurationSeconds: 0),
            pending,
            by: Self.customer,
            rules: rules
        )
        #expect(approved.grant == GrantWindow(startsAtMs: Self.now, endsAtMs: Self.now + 1_800_000))
        #expect(approved.cappedToSeconds == 1800)
        let shorter = try Self.transition(
            .approveCustomer(approvedDurationSeconds: 600),
            pending,
            by: Self.customer,
            rules: rules
        )
        #expect(shorter.cappedToSeconds == nil, "already under the cap")
        rules.lockboxEnabled = false
        let direct = try Self.transition(.approveInternal, Self.facts(.pendingInternal), by: Self.manager, rules: rules)
        #expect(direct.grant?.endsAtMs == Self.now + 1_800_000)
        #expect(direct.cappedToSeconds == 1800)
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
