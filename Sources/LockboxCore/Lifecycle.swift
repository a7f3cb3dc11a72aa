/// What a principal does to a request. The clock's own moves are ``ClockRule``s; a
/// suspension's are ``Lifecycle/withdraw(_:nowMs:)``'s.
package enum LifecycleAction: Sendable, Hashable {
    case approveInternal
    case denyInternal
    /// `approvedDurationSeconds` 0 means as requested; otherwise it may only shorten the grant.
    case approveCustomer(approvedDurationSeconds: Int64)
    case denyCustomer
    case cancel
    case revoke

    /// Which of the actions of ``Lifecycle/actorRules`` this is.
    package var kind: RequestAction {
        switch self {
        case .approveInternal, .denyInternal: .decideInternal
        case .approveCustomer, .denyCustomer: .decideCustomer
        case .cancel: .cancel
        case .revoke: .revoke
        }
    }
}

/// The kinds of action a principal takes on a request, as the question "who may?" sees them.
package enum RequestAction: String, Sendable, Hashable, CaseIterable {
    /// A support manager approves or denies a request internally.
    case decideInternal
    /// The customer approves or denies.
    case decideCustomer
    /// A pending request is withdrawn.
    case cancel
    /// An approved grant is ended early.
    case revoke

    /// The states (by the clock) in which the action may be taken: their one definition.
    package var states: Set<RequestState> {
        switch self {
        case .decideInternal: [.pendingInternal]
        case .decideCustomer: [.pendingCustomer]
        case .cancel: [.pendingInternal, .pendingCustomer]
        case .revoke: [.approved]
        }
    }

    /// The permission the gatekeeper checks for the method that takes this action.
    package var permission: Permission {
        switch self {
        case .decideInternal: .decideInternal
        case .decideCustomer: .decideCustomer
        case .cancel: .cancelRequest
        case .revoke: .revokeAccess
        }
    }
}

/// In which capacity a principal acts on a request: what the rules and the audit log make of it.
package enum ActingAs: Sendable, Hashable {
    /// The operator who filed the request.
    case requester
    /// A support manager: decides internally, and may revoke any grant (the provider's emergency stop).
    case supportManager
    /// An approver or global admin of the request's tenant.
    case customer
}

/// One row of who may act on a request: a role, how the principal must stand to the request,
/// and in which capacity it then acts.
package struct ActorRule: Sendable, Hashable {
    /// How the principal must stand to the request.
    package enum Relation: Sendable, Hashable {
        /// It filed the request.
        case ownRequest
        /// It did not file the request.
        case othersRequest
        /// Any request.
        case anyRequest
        /// The role is assigned in the request's tenant.
        case ownTenant
    }

    package let action: RequestAction
    package let role: Role
    package let relation: Relation
    package let actingAs: ActingAs
}

/// A move the clock makes by itself: past its deadline, a state becomes another.
///
/// ``Lifecycle/effectiveState(_:nowMs:)`` applies these on every read, so no decision waits for
/// a sweeper; the sweeper applies the same rules to the stored state (``Lifecycle/settle(_:nowMs:)``),
/// and the store compiles them into SQL for filters. This table is their one definition.
package struct ClockRule: Sendable, Hashable {
    /// The time a rule compares the clock with.
    package enum Deadline: Sendable, Hashable, CaseIterable {
        /// The support managers' deadline for a decision.
        case internalDecision
        /// The customer's deadline for a decision.
        case customerDecision
        /// The end of the grant.
        case grantEnd
    }

    package let from: RequestState
    package let to: RequestState
    package let deadline: Deadline
    /// The audit activity of the stored move.
    package let activity: Activity
}

/// The outcome of an allowed action: the new state and what the audit record says.
package struct Transition: Sendable, Hashable {
    package var from: RequestState
    package var to: RequestState
    package var activity: Activity
    package var decision: AuditDecision
    package var customerDeadlineMs: Int64?
    /// Set when the transition starts a grant.
    package var grant: GrantWindow?
    /// For an internal approval: false when the tenant has the lockbox off.
    package var customerApprovalRequired: Bool?
    /// For an internal approval that is not the last level: this one's number (1-based; the
    /// provider requires ``Policy/internalApprovalsRequired``). The request stays PENDING_INTERNAL.
    package var internalLevel: Int?

    package init(from: RequestState, to: RequestState, activity: Activity, decision: AuditDecision) {
        self.from = from
        self.to = to
        self.activity = activity
        self.decision = decision
    }
    /// Set when the grant was cut to the tenant's duration cap, which was lowered after the
    /// request was filed: the cap, in seconds.
    package var cappedToSeconds: Int64?
}

/// The request state machine of DESIGN.md. Pure: no I/O, time comes in as `nowMs`.
///
/// The clock decides: a request past its customer deadline is EXPIRED and a grant
/// past its end is COMPLETED here, whatever the stored state says, so no action
/// depends on a sweeper having run.
package enum Lifecycle {
    package static let clockRules: [ClockRule] = [
        ClockRule(from: .pendingInternal, to: .expired, deadline: .internalDecision, activity: .requestExpired),
        ClockRule(from: .pendingCustomer, to: .expired, deadline: .customerDecision, activity: .requestExpired),
        ClockRule(from: .approved, to: .completed, deadline: .grantEnd, activity: .grantCompleted),
    ]

    /// Who may act on a request, and as what: the only definition. The gatekeeper's coarse
    /// check (``reach(_:for:)``, through ``Permission/reach(for:)``) and every transition
    /// (``allows(_:by:facts:)``) read it. Rows are tried in order; the first that holds says
    /// in which capacity the principal acts.
    package static let actorRules: [ActorRule] = [
        ActorRule(action: .decideInternal, role: .supportManager, relation: .othersRequest, actingAs: .supportManager),
        ActorRule(action: .decideCustomer, role: .globalAdmin, relation: .ownTenant, actingAs: .customer),
        ActorRule(action: .decideCustomer, role: .lockboxApprover, relation: .ownTenant, actingAs: .customer),
        ActorRule(action: .cancel, role: .operator, relation: .ownRequest, actingAs: .requester),
        ActorRule(action: .cancel, role: .globalAdmin, relation: .ownTenant, actingAs: .customer),
        ActorRule(action: .cancel, role: .lockboxApprover, relation: .ownTenant, actingAs: .customer),
        ActorRule(action: .revoke, role: .operator, relation: .ownRequest, actingAs: .requester),
        ActorRule(action: .revoke, role: .supportManager, relation: .anyRequest, actingAs: .supportManager),
        ActorRule(action: .revoke, role: .globalAdmin, relation: .ownTenant, actingAs: .customer),
        ActorRule(action: .revoke, role: .lockboxApprover, relation: .ownTenant, actingAs: .customer),
    ]

    /// How far `role` may take `action`, for the gatekeeper's check before any request is read;
    /// nil when no row gives the role the action.
    package static func reach(_ action: RequestAction, for role: Role) -> Reach? {
        guard let rule = actorRules.first(where: { $0.action == action && $0.role == role }) else { return nil }
        switch rule.relation {
        case .ownRequest: return .ownRequests
        case .ownTenant: return .ownTenant
        case .othersRequest, .anyRequest: return .everywhere
        }
    }

    /// In which capacity `caller` may take `action` on the request; nil when no row allows it.
    package static func allows(_ action: RequestAction, by caller: Caller, facts: RequestFacts) -> ActingAs? {
        for rule in actorRules where rule.action == action {
            let holds = caller.assignments.contains { assignment in
                guard assignment.role == rule.role else { return false }
                switch rule.relation {
                case .ownRequest: return caller.id == facts.requesterID
                case .othersRequest: return caller.id != facts.requesterID
                case .anyRequest: return true
                case .ownTenant: return !facts.tenantID.isEmpty && assignment.tenantID == facts.tenantID
                }
            }
            if holds { return rule.actingAs }
        }
        return nil
    }

    /// Why ``allows(_:by:facts:)`` said no, in words the caller may see.
    static func refusal(_ action: RequestAction, by caller: Caller) -> DomainError {
        let roles = caller.roles
        switch action {
        case .decideInternal where roles.contains(.supportManager):
            return DomainError(.permissionDenied, "the requester cannot decide their own request")
        case .cancel where roles.contains(.operator) || roles.contains(.supportManager):
            return DomainError(.permissionDenied, "only the requester can withdraw a request")
        case .revoke where roles.contains(.operator):
            return DomainError(
                .permissionDenied,
                "only the requester, a support manager or the customer can revoke access"
            )
        default:
            return DomainError.permissionDenied
        }
    }

    /// The state by the clock: the stored state, unless a ``ClockRule`` has overtaken it.
    package static func effectiveState(stored: RequestState, deadlines: Deadlines, nowMs: Int64) -> RequestState {
        for rule in clockRules where rule.from == stored {
            if let at = deadlines[rule.deadline], nowMs >= at { return rule.to }
        }
        return stored
    }

    package static func effectiveState(_ facts: RequestFacts, nowMs: Int64) -> RequestState {
        effectiveState(stored: facts.state, deadlines: facts.deadlines, nowMs: nowMs)
    }

    /// Whether a grant may be used at `nowMs`: its request is approved by the clock, it has
    /// started, and it was not revoked. The one definition of an active grant.
    package static func grantIsActive(state: RequestState, window: GrantWindow, nowMs: Int64) -> Bool {
        window.revokedAtMs == nil && window.startsAtMs <= nowMs
            && effectiveState(stored: state, deadlines: Deadlines(grantEnd: window.endsAtMs), nowMs: nowMs) == .approved
    }

    package static func grantIsActive(_ facts: RequestFacts, nowMs: Int64) -> Bool {
        guard let grant = facts.grant else { return false }
        return grantIsActive(state: facts.state, window: grant, nowMs: nowMs)
    }

    /// The stored move a sweeper makes, when the clock has overtaken the stored state; nil otherwise.
    package static func settle(_ facts: RequestFacts, nowMs: Int64) -> Transition? {
        let current = effectiveState(facts, nowMs: nowMs)
        guard current != facts.state, let rule = clockRules.first(where: { $0.from == facts.state && $0.to == current })
        else { return nil }
        return Transition(from: facts.state, to: current, activity: rule.activity, decision: .none)
    }

    /// The move a suspension of the requester makes: a pending request is withdrawn and an
    /// approved grant ends. Nil when the request is in neither state by the clock.
    package static func withdraw(_ facts: RequestFacts, nowMs: Int64) -> Transition? {
        let current = effectiveState(facts, nowMs: nowMs)
        if RequestAction.cancel.states.contains(current) {
            return Transition(from: facts.state, to: .canceled, activity: .suspensionCancel, decision: .cancel)
        }
        if RequestAction.revoke.states.contains(current) {
            return Transition(from: facts.state, to: .revoked, activity: .accessRevoked, decision: .none)
        }
        return nil
    }

    /// Applies a principal's action, or throws why it is not allowed now: who may act
    /// (``allows(_:by:facts:)``) first, then the state by the clock, then the action's own rules.
    package static func transition(
        _ action: LifecycleAction,
        facts: RequestFacts,
        by caller: Caller,
        nowMs: Int64,
        rules: TenantRules,
        policy: Policy = Policy()
    ) throws(DomainError) -> Transition {
        guard let actingAs = allows(action.kind, by: caller, facts: facts) else {
            throw refusal(action.kind, by: caller)
        }
        let current = effectiveState(facts, nowMs: nowMs)
        guard action.kind.states.contains(current) else {
            throw DomainError(.failedPrecondition, "request is \(current.rawValue)")
        }
        var transition = Transition(from: facts.state, to: current, activity: .requestCreated, decision: .none)
        // A grant from now, or from the scheduled start, cut to the tenant's cap as it is now:
        // it may have been lowered since the request was filed.
        func startGrant(seconds: Int64) {
            let granted = min(seconds, rules.maxAccessDurationSeconds)
            if granted < seconds { transition.cappedToSeconds = granted }
            let start = max(nowMs, facts.scheduledStartMs ?? nowMs)
            transition.grant = GrantWindow(startsAtMs: start, endsAtMs: start + granted * 1000)
        }

        switch action {
        case .denyInternal:
            transition.to = .denied
            transition.activity = .internalDeny
            transition.decision = .deny
        case .approveInternal:
            transition.activity = .internalApprove
            transition.decision = .approve
            // Each level is a different support manager; the request moves on at the last.
            guard !facts.internalApprovers.contains(caller.id) else {
                throw DomainError(
                    .failedPrecondition,
                    "you approved this request already: each internal level is a different support manager"
                )
            }
            let level = facts.internalApprovers.count + 1
            if level < policy.internalApprovalsRequired {
                transition.to = .pendingInternal
                transition.internalLevel = level
                return transition
            }
            transition.customerApprovalRequired = rules.lockboxEnabled
            if rules.lockboxEnabled {
                transition.to = .pendingCustomer
                // A scheduled start is the latest the customer may decide by.
                transition.customerDeadlineMs = min(
                    nowMs + rules.approvalWindowSeconds * 1000,
                    facts.scheduledStartMs ?? .max
                )
            } else {
                transition.to = .approved
                startGrant(seconds: facts.requestedDurationSeconds)
            }
        case .approveCustomer(let approvedDuration):
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
            transition.activity = .customerApprove
            transition.decision = .approve
            startGrant(seconds: duration)
        case .denyCustomer:
            transition.to = .denied
            transition.activity = .customerDeny
            transition.decision = .deny
        case .cancel:
            transition.to = .canceled
            transition.activity = actingAs == .customer ? .customerCancel : .requesterCancel
            transition.decision = .cancel
        case .revoke:
            transition.to = .revoked
            transition.activity = .accessRevoked
        }
        return transition
    }
}
