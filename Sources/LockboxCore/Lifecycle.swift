/// What the lifecycle needs to know about a stored request.
public struct RequestFacts: Sendable, Hashable {
    public var state: RequestState
    public var requesterID: String
    public var requestedDurationSeconds: Int64
    /// Set once the request waits for the customer.
    public var customerDeadlineMs: Int64?
    /// Set once the request is approved.
    public var grantEndsAtMs: Int64?

    public init(
        state: RequestState,
        requesterID: String,
        requestedDurationSeconds: Int64,
        customerDeadlineMs: Int64? = nil,
        grantEndsAtMs: Int64? = nil
    ) {
        self.state = state
        self.requesterID = requesterID
        self.requestedDurationSeconds = requestedDurationSeconds
        self.customerDeadlineMs = customerDeadlineMs
        self.grantEndsAtMs = grantEndsAtMs
    }
}

/// Who acts on a request, as far as the lifecycle rules care.
public enum LifecycleActor: Sendable, Hashable {
    /// A provider principal (operator or support manager), by id.
    case provider(String)
    /// A customer approver or global admin of the request's tenant, by id.
    case customer(String)
    /// A background sweeper.
    case system
}

public enum LifecycleAction: Sendable, Hashable {
    case approveInternal
    case denyInternal
    /// `approvedDurationSeconds` 0 means as requested; otherwise it may only shorten the grant.
    case approveCustomer(approvedDurationSeconds: Int64)
    case denyCustomer
    case cancel
    case revoke
    /// Sweeper: the customer's deadline passed.
    case expire
    /// Sweeper: the grant ran out.
    case complete
}

/// The outcome of an allowed action: the new state and what the audit record says.
public struct Transition: Sendable, Hashable {
    public var from: RequestState
    public var to: RequestState
    public var activity: String
    public var decision: AuditDecision
    public var customerDeadlineMs: Int64?
    public var grantStartsAtMs: Int64?
    public var grantEndsAtMs: Int64?
    /// For an internal approval: false when the tenant has the lockbox off.
    public var customerApprovalRequired: Bool?
}

/// The request state machine of DESIGN.md. Pure: no I/O, time comes in as `nowMs`.
///
/// The clock decides: a request past its customer deadline is EXPIRED and a grant
/// past its end is COMPLETED here, whatever the stored state says, so no action
/// depends on a sweeper having run.
public enum Lifecycle {
    public static func effectiveState(_ facts: RequestFacts, nowMs: Int64) -> RequestState {
        switch facts.state {
        case .pendingCustomer:
            if let deadline = facts.customerDeadlineMs, nowMs >= deadline { return .expired }
        case .approved:
            if let end = facts.grantEndsAtMs, nowMs >= end { return .completed }
        default:
            break
        }
        return facts.state
    }

    /// Whether the grant of an approved request may be used at `nowMs`.
    public static func grantIsActive(_ facts: RequestFacts, nowMs: Int64) -> Bool {
        effectiveState(facts, nowMs: nowMs) == .approved
    }

    public static func transition(
        _ action: LifecycleAction,
        facts: RequestFacts,
        actor: LifecycleActor,
        nowMs: Int64,
        lockboxEnabled: Bool,
        approvalWindowSeconds: Int64,
        policy: Policy = Policy()
    ) throws(DomainError) -> Transition {
        let current = effectiveState(facts, nowMs: nowMs)
        func require(_ states: RequestState...) throws(DomainError) {
            guard states.contains(current) else { throw DomainError(.failedPrecondition, "request is \(current.rawValue)") }
        }
        var transition = Transition(from: facts.state, to: current, activity: "", decision: .none)

        switch action {
        case .approveInternal, .denyInternal:
            guard case .provider(let id) = actor else { throw DomainError(.permissionDenied, "permission denied") }
            try require(.pendingInternal)
            guard id != facts.requesterID else {
                throw DomainError(.permissionDenied, "the requester cannot decide their own request")
            }
            if action == .denyInternal {
                transition.to = .denied
                transition.activity = Activity.internalDeny
                transition.decision = .deny
            } else if lockboxEnabled {
                transition.to = .pendingCustomer
                transition.activity = Activity.internalApprove
                transition.decision = .approve
                transition.customerDeadlineMs = nowMs + approvalWindowSeconds * 1000
                transition.customerApprovalRequired = true
            } else {
                transition.to = .approved
                transition.activity = Activity.internalApprove
                transition.decision = .approve
                transition.grantStartsAtMs = nowMs
                transition.grantEndsAtMs = nowMs + facts.requestedDurationSeconds * 1000
                transition.customerApprovalRequired = false
            }

        case .approveCustomer(let approvedDuration):
            guard case .customer = actor else { throw DomainError(.permissionDenied, "permission denied") }
            try require(.pendingCustomer)
            var duration = facts.requestedDurationSeconds
            if approvedDuration != 0 {
                guard approvedDuration <= facts.requestedDurationSeconds else {
                    throw DomainError(.invalidArgument, "an approval may shorten the access, never lengthen it")
                }
                guard approvedDuration >= policy.minimumDurationSeconds else {
                    throw DomainError(.invalidArgument, "approved duration must be at least \(policy.minimumDurationSeconds) seconds")
                }
                duration = approvedDuration
            }
            transition.to = .approved
            transition.activity = Activity.customerApprove
            transition.decision = .approve
            transition.grantStartsAtMs = nowMs
            transition.grantEndsAtMs = nowMs + duration * 1000

        case .denyCustomer:
            guard case .customer = actor else { throw DomainError(.permissionDenied, "permission denied") }
            try require(.pendingCustomer)
            transition.to = .denied
            transition.activity = Activity.customerDeny
            transition.decision = .deny

        case .cancel:
            switch actor {
            case .customer:
                try require(.pendingInternal, .pendingCustomer)
                transition.activity = Activity.customerCancel
            case .provider(let id):
                guard id == facts.requesterID else {
                    throw DomainError(.permissionDenied, "only the requester can withdraw a request")
                }
                try require(.pendingInternal, .pendingCustomer)
                transition.activity = Activity.requesterCancel
            case .system:
                throw DomainError(.permissionDenied, "permission denied")
            }
            transition.to = .canceled
            transition.decision = .cancel

        case .revoke:
            switch actor {
            case .customer:
                break
            case .provider(let id):
                guard id == facts.requesterID else {
                    throw DomainError(.permissionDenied, "only the requester or the customer can revoke access")
                }
            case .system:
                throw DomainError(.permissionDenied, "permission denied")
            }
            try require(.approved)
            transition.to = .revoked
            transition.activity = Activity.accessRevoked

        case .expire:
            guard facts.state == .pendingCustomer, current == .expired else {
                throw DomainError(.failedPrecondition, "request is \(current.rawValue)")
            }
            transition.to = .expired
            transition.activity = Activity.requestExpired

        case .complete:
            guard facts.state == .approved, current == .completed else {
                throw DomainError(.failedPrecondition, "request is \(current.rawValue)")
            }
            transition.to = .completed
            transition.activity = Activity.grantCompleted
        }
        return transition
    }
}
