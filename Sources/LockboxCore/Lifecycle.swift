/// Who acts on a request, as far as the lifecycle rules care.
public enum LifecycleActor: Sendable, Hashable {
    /// A provider principal that is not a support manager (an operator), by id.
    case provider(String)
    /// A support manager: decides requests internally, and may revoke any grant (the
    /// provider's emergency stop).
    case supportManager(String)
    /// A provider admin suspending an operator, which withdraws the operator's pending requests
    /// and ends its grants.
    case providerAdmin(String)
    /// A customer approver or global admin of the request's tenant, by id.
    case customer(String)

    var providerID: String? {
        switch self {
        case .provider(let id), .supportManager(let id), .providerAdmin(let id): id
        case .customer: nil
        }
    }
}

/// What a principal does to a request. The clock's own moves are ``ClockRule``s.
public enum LifecycleAction: Sendable, Hashable {
    case approveInternal
    case denyInternal
    /// `approvedDurationSeconds` 0 means as requested; otherwise it may only shorten the grant.
    case approveCustomer(approvedDurationSeconds: Int64)
    case denyCustomer
    case cancel
    case revoke
}

/// A move the clock makes by itself: past its deadline, a state becomes another.
///
/// ``Lifecycle/effectiveState(_:nowMs:)`` applies these on every read, so no decision waits for
/// a sweeper; the sweeper applies the same rules to the stored state (``Lifecycle/settle(_:nowMs:)``),
/// and the store compiles them into SQL for filters. This table is their one definition.
public struct ClockRule: Sendable, Hashable {
    /// The time a rule compares the clock with.
    public enum Deadline: Sendable, Hashable, CaseIterable {
        /// The support managers' deadline for a decision.
        case internalDecision
        /// The customer's deadline for a decision.
        case customerDecision
        /// The end of the grant.
        case grantEnd
    }

    public let from: RequestState
    public let to: RequestState
    public let deadline: Deadline
    /// The audit activity of the stored move.
    public let activity: String
}

/// The outcome of an allowed action: the new state and what the audit record says.
public struct Transition: Sendable, Hashable {
    public var from: RequestState
    public var to: RequestState
    public var activity: String
    public var decision: AuditDecision
    public var customerDeadlineMs: Int64?
    /// Set when the transition starts a grant.
    public var grant: GrantWindow?
    /// For an internal approval: false when the tenant has the lockbox off.
    public var customerApprovalRequired: Bool?
    /// Set when the grant was cut to the tenant's duration cap, which was lowered after the
    /// request was filed: the cap, in seconds.
    public var cappedToSeconds: Int64?
}

/// The request state machine of DESIGN.md. Pure: no I/O, time comes in as `nowMs`.
///
/// The clock decides: a request past its customer deadline is EXPIRED and a grant
/// past its end is COMPLETED here, whatever the stored state says, so no action
/// depends on a sweeper having run.
public enum Lifecycle {
    public static let clockRules: [ClockRule] = [
        ClockRule(from: .pendingInternal, to: .expired, deadline: .internalDecision, activity: Activity.requestExpired),
        ClockRule(from: .pendingCustomer, to: .expired, deadline: .customerDecision, activity: Activity.requestExpired),
        ClockRule(from: .approved, to: .completed, deadline: .grantEnd, activity: Activity.grantCompleted),
    ]

    /// The state by the clock: the stored state, unless a ``ClockRule`` has overtaken it.
    public static func effectiveState(stored: RequestState, deadlines: Deadlines, nowMs: Int64) -> RequestState {
        for rule in clockRules where rule.from == stored {
            if let at = deadlines[rule.deadline], nowMs >= at { return rule.to }
        }
        return stored
    }

    public static func effectiveState(_ facts: RequestFacts, nowMs: Int64) -> RequestState {
        effectiveState(stored: facts.state, deadlines: facts.deadlines, nowMs: nowMs)
    }

    /// Whether a grant may be used at `nowMs`: its request is approved by the clock, it has
    /// started, and it was not revoked. The one definition of an active grant.
    public static func grantIsActive(state: RequestState, window: GrantWindow, nowMs: Int64) -> Bool {
        window.revokedAtMs == nil && window.startsAtMs <= nowMs
            && effectiveState(stored: state, deadlines: Deadlines(grantEnd: window.endsAtMs), nowMs: nowMs) == .approved
    }

    public static func grantIsActive(_ facts: RequestFacts, nowMs: Int64) -> Bool {
        guard let grant = facts.grant else { return false }
        return grantIsActive(state: facts.state, window: grant, nowMs: nowMs)
    }

    /// The stored move a sweeper makes, when the clock has overtaken the stored state; nil otherwise.
    public static func settle(_ facts: RequestFacts, nowMs: Int64) -> Transition? {
        let current = effectiveState(facts, nowMs: nowMs)
        guard current != facts.state, let rule = clockRules.first(where: { $0.from == facts.state && $0.to == current })
        else { return nil }
        return Transition(from: facts.state, to: current, activity: rule.activity, decision: .none)
    }

    /// Applies a principal's action, or throws why it is not allowed now.
    public static func transition(
        _ action: LifecycleAction,
        facts: RequestFacts,
        actor: LifecycleActor,
        nowMs: Int64,
        rules: TenantRules,
        policy: Policy = Policy()
    ) throws(DomainError) -> Transition {
        let current = effectiveState(facts, nowMs: nowMs)
        func require(_ states: RequestState...) throws(DomainError) {
            guard states.contains(current) else {
                throw DomainError(.failedPrecondition, "request is \(current.rawValue)")
            }
        }
        var transition = Transition(from: facts.state, to: current, activity: "", decision: .none)
        // A grant from now, cut to the tenant's cap as it is now: it may have been lowered
        // since the request was filed.
        func startGrant(seconds: Int64) {
            let granted = min(seconds, rules.maxAccessDurationSeconds)
            if granted < seconds { transition.cappedToSeconds = granted }
            transition.grant = GrantWindow(startsAtMs: nowMs, endsAtMs: nowMs + granted * 1000)
        }

        switch action {
        case .approveInternal, .denyInternal:
            guard case .supportManager(let id) = actor else { throw DomainError.permissionDenied }
            try require(.pendingInternal)
            guard id != facts.requesterID else {
                throw DomainError(.permissionDenied, "the requester cannot decide their own request")
            }
            if action == .denyInternal {
                transition.to = .denied
                transition.activity = Activity.internalDeny
                transition.decision = .deny
            } else if rules.lockboxEnabled {
                transition.to = .pendingCustomer
                transition.activity = Activity.internalApprove
                transition.decision = .approve
                transition.customerDeadlineMs = nowMs + rules.approvalWindowSeconds * 1000
                transition.customerApprovalRequired = true
            } else {
                transition.to = .approved
                transition.activity = Activity.internalApprove
                transition.decision = .approve
                startGrant(seconds: facts.requestedDurationSeconds)
                transition.customerApprovalRequired = false
            }

        case .approveCustomer(let approvedDuration):
            guard case .customer = actor else { throw DomainError.permissionDenied }
            try require(.pendingCustomer)
            var duration = facts.requestedDurationSeconds
            if approvedDuration != 0 {
                guard approvedDuration <= facts.requestedDurationSeconds else {
                    throw DomainError(.invalidArgument, "an approval may shorten the access, never lengthen it")
                }
                guard approvedDuration >= policy.minimumDurationSeconds else {
                    throw DomainError(
                        .invalidArgument,
                        "approved duration must be at least \(policy.minimumDurationSeconds) seconds"
                    )
                }
                duration = approvedDuration
            }
            transition.to = .approved
            transition.activity = Activity.customerApprove
            transition.decision = .approve
            startGrant(seconds: duration)

        case .denyCustomer:
            guard case .customer = actor else { throw DomainError.permissionDenied }
            try require(.pendingCustomer)
            transition.to = .denied
            transition.activity = Activity.customerDeny
            transition.decision = .deny

        case .cancel:
            switch actor {
            case .provider(let id), .supportManager(let id):
                guard id == facts.requesterID else {
                    throw DomainError(.permissionDenied, "only the requester can withdraw a request")
                }
                transition.activity = Activity.requesterCancel
            case .providerAdmin:
                // Suspending the requester withdraws what it asked for.
                transition.activity = Activity.suspensionCancel
            case .customer:
                transition.activity = Activity.customerCancel
            }
            try require(.pendingInternal, .pendingCustomer)
            transition.to = .canceled
            transition.decision = .cancel

        case .revoke:
            if case .provider(let id) = actor, id != facts.requesterID {
                throw DomainError(
                    .permissionDenied,
                    "only the requester, a support manager or the customer can revoke access"
                )
            }
            try require(.approved)
            transition.to = .revoked
            transition.activity = Activity.accessRevoked
        }
        return transition
    }
}
