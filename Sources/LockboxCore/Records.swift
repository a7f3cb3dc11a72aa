/// The access window of an approved request.
public struct GrantWindow: Sendable, Hashable {
    public var startsAtMs: Int64
    public var endsAtMs: Int64
    /// Set when the grant was revoked.
    public var revokedAtMs: Int64?

    public init(startsAtMs: Int64, endsAtMs: Int64, revokedAtMs: Int64? = nil) {
        self.startsAtMs = startsAtMs
        self.endsAtMs = endsAtMs
        self.revokedAtMs = revokedAtMs
    }
}

/// What the lifecycle needs to know about a stored request.
public struct RequestFacts: Sendable, Hashable {
    /// The state as stored, which the clock may have overtaken (see ``Lifecycle/effectiveState(_:nowMs:)``).
    public var state: RequestState
    public var requesterID: String
    public var requestedDurationSeconds: Int64
    /// When a support manager must have decided by.
    public var internalDeadlineMs: Int64?
    /// Set once the request waits for the customer.
    public var customerDeadlineMs: Int64?
    /// Set once the request is approved.
    public var grant: GrantWindow?

    public init(
        state: RequestState,
        requesterID: String,
        requestedDurationSeconds: Int64,
        internalDeadlineMs: Int64? = nil,
        customerDeadlineMs: Int64? = nil,
        grant: GrantWindow? = nil
    ) {
        self.state = state
        self.requesterID = requesterID
        self.requestedDurationSeconds = requestedDurationSeconds
        self.internalDeadlineMs = internalDeadlineMs
        self.customerDeadlineMs = customerDeadlineMs
        self.grant = grant
    }

    /// The times the clock rules compare with.
    public var deadlines: Deadlines {
        Deadlines(
            internalDecision: internalDeadlineMs,
            customerDecision: customerDeadlineMs,
            grantEnd: grant?.endsAtMs
        )
    }
}

/// The times a request's ``ClockRule``s compare the clock with; nil where not set.
public struct Deadlines: Sendable, Hashable {
    public var internalDecision: Int64?
    public var customerDecision: Int64?
    public var grantEnd: Int64?

    public init(internalDecision: Int64? = nil, customerDecision: Int64? = nil, grantEnd: Int64? = nil) {
        self.internalDecision = internalDecision
        self.customerDecision = customerDecision
        self.grantEnd = grantEnd
    }

    public subscript(_ deadline: ClockRule.Deadline) -> Int64? {
        switch deadline {
        case .internalDecision: internalDecision
        case .customerDecision: customerDecision
        case .grantEnd: grantEnd
        }
    }
}

/// The internal decision on a request.
public struct InternalDecisionRecord: Sendable, Hashable {
    public var approve: Bool
    public var comment: String
    public var decidedBy: String
    public var decidedAtMs: Int64

    public init(approve: Bool, comment: String, decidedBy: String, decidedAtMs: Int64) {
        self.approve = approve
        self.comment = comment
        self.decidedBy = decidedBy
        self.decidedAtMs = decidedAtMs
    }
}

/// The customer's decision on a request: approve, deny or cancel.
public struct CustomerDecisionRecord: Sendable, Hashable {
    public var decision: AuditDecision
    public var comment: String
    /// The grant's length, for an approval.
    public var approvedDurationSeconds: Int64?
    public var decidedBy: String
    public var decidedAtMs: Int64
    /// The server's signed statement of the decision and the grant it created
    /// (docs/audit-integrity.md, "Signed approvals"); nil for a cancellation.
    public var signed: SignedStatement?

    public init(
        decision: AuditDecision,
        comment: String,
        approvedDurationSeconds: Int64?,
        decidedBy: String,
        decidedAtMs: Int64,
        signed: SignedStatement? = nil
    ) {
        self.decision = decision
        self.comment = comment
        self.approvedDurationSeconds = approvedDurationSeconds
        self.decidedBy = decidedBy
        self.decidedAtMs = decidedAtMs
        self.signed = signed
    }
}

/// How much a grant was used: operations allowed under it, and the last one's time.
public struct GrantUsage: Sendable, Hashable {
    public var operationsPerformed: Int64
    public var lastOperationAtMs: Int64?

    public init(operationsPerformed: Int64 = 0, lastOperationAtMs: Int64? = nil) {
        self.operationsPerformed = operationsPerformed
        self.lastOperationAtMs = lastOperationAtMs
    }
}

/// An access request as stored, with its decisions, grant and usage.
public struct RequestRecord: Sendable, Hashable {
    public var id: String
    public var tenantID: String
    public var service: ContentService
    public var ticketNumber: String
    public var justification: String
    public var requestedDurationSeconds: Int64
    public var requesterID: String
    /// As stored; ``Lifecycle/effectiveState(_:nowMs:)`` gives the state by the clock.
    public var state: RequestState
    public var createdAtMs: Int64
    public var updatedAtMs: Int64
    public var internalDeadlineMs: Int64?
    public var customerDeadlineMs: Int64?
    public var internalDecision: InternalDecisionRecord?
    public var customerDecision: CustomerDecisionRecord?
    public var grant: GrantWindow?
    public var usage: GrantUsage

    public init(
        id: String,
        tenantID: String,
        service: ContentService,
        ticketNumber: String,
        justification: String,
        requestedDurationSeconds: Int64,
        requesterID: String,
        state: RequestState,
        createdAtMs: Int64,
        updatedAtMs: Int64,
        internalDeadlineMs: Int64? = nil,
        customerDeadlineMs: Int64? = nil,
        internalDecision: InternalDecisionRecord? = nil,
        customerDecision: CustomerDecisionRecord? = nil,
        grant: GrantWindow? = nil,
        usage: GrantUsage = GrantUsage()
    ) {
        self.id = id
        self.tenantID = tenantID
        self.service = service
        self.ticketNumber = ticketNumber
        self.justification = justification
        self.requestedDurationSeconds = requestedDurationSeconds
        self.requesterID = requesterID
        self.state = state
        self.createdAtMs = createdAtMs
        self.updatedAtMs = updatedAtMs
        self.internalDeadlineMs = internalDeadlineMs
        self.customerDeadlineMs = customerDeadlineMs
        self.internalDecision = internalDecision
        self.customerDecision = customerDecision
        self.grant = grant
        self.usage = usage
    }

    public var facts: RequestFacts {
        RequestFacts(
            state: state,
            requesterID: requesterID,
            requestedDurationSeconds: requestedDurationSeconds,
            internalDeadlineMs: internalDeadlineMs,
            customerDeadlineMs: customerDeadlineMs,
            grant: grant
        )
    }

    /// What authorization looks at: the request's tenant and its requester.
    public var target: Target { Target(tenantID: tenantID, ownerID: requesterID) }
}

/// A grant with the stored state of its request: what access checks and grant lists read.
public struct GrantRecord: Sendable, Hashable {
    public var requestID: String
    public var operatorID: String
    public var tenantID: String
    public var service: ContentService
    /// The stored state of the grant's request.
    public var requestState: RequestState
    public var window: GrantWindow

    public init(
        requestID: String,
        operatorID: String,
        tenantID: String,
        service: ContentService,
        requestState: RequestState,
        window: GrantWindow
    ) {
        self.requestID = requestID
        self.operatorID = operatorID
        self.tenantID = tenantID
        self.service = service
        self.requestState = requestState
        self.window = window
    }

    /// Whether the grant may be used at `nowMs` (``Lifecycle/grantIsActive(state:window:nowMs:)``).
    public func isActive(nowMs: Int64) -> Bool {
        Lifecycle.grantIsActive(state: requestState, window: window, nowMs: nowMs)
    }
}

/// A tenant's own settings, which the lifecycle and the duration rules read.
public struct TenantRules: Sendable, Hashable {
    /// Off: an internal approval grants access without the customer.
    public var lockboxEnabled: Bool
    /// How long the customer has to decide.
    public var approvalWindowSeconds: Int64
    /// The tenant's cap on requested durations.
    public var maxAccessDurationSeconds: Int64

    public init(lockboxEnabled: Bool, approvalWindowSeconds: Int64, maxAccessDurationSeconds: Int64) {
        self.lockboxEnabled = lockboxEnabled
        self.approvalWindowSeconds = approvalWindowSeconds
        self.maxAccessDurationSeconds = maxAccessDurationSeconds
    }
}

/// A new access request, as validated, before it is stored.
public struct NewAccessRequest: Sendable, Hashable {
    public var tenantID: String
    public var service: ContentService
    public var ticketNumber: String
    public var justification: String
    public var requestedDurationSeconds: Int64

    public init(
        tenantID: String,
        service: ContentService,
        ticketNumber: String,
        justification: String,
        requestedDurationSeconds: Int64
    ) {
        self.tenantID = tenantID
        self.service = service
        self.ticketNumber = ticketNumber
        self.justification = justification
        self.requestedDurationSeconds = requestedDurationSeconds
    }

    /// What makes two creates "the same request" for an idempotency key: every field the caller
    /// chose, joined with a separator that input validation keeps out of the fields.
    public var canonicalPayload: String {
        [tenantID, service.rawValue, ticketNumber, justification, String(requestedDurationSeconds)]
            .joined(separator: "\u{1F}")
    }
}

/// A role held by a principal: in a tenant (tenant roles) or provider-wide (tenantID "").
public struct RoleAssignmentRecord: Sendable, Hashable {
    public var principalID: String
    public var role: Role
    public var tenantID: String
    public var assignedBy: String
    public var assignedAtMs: Int64

    public init(principalID: String, role: Role, tenantID: String, assignedBy: String, assignedAtMs: Int64) {
        self.principalID = principalID
        self.role = role
        self.tenantID = tenantID
        self.assignedBy = assignedBy
        self.assignedAtMs = assignedAtMs
    }
}

/// A principal with its role assignments.
public struct PrincipalRecord: Sendable, Hashable {
    public var id: String
    public var displayName: String
    /// nil for provider principals.
    public var tenantID: String?
    public var createdAtMs: Int64
    public var roles: [RoleAssignmentRecord]
    /// Set while the principal is suspended.
    public var suspendedAtMs: Int64?
    /// Where Lockbox emails the principal.
    public var email: String?

    public init(
        id: String,
        displayName: String,
        tenantID: String?,
        createdAtMs: Int64,
        roles: [RoleAssignmentRecord],
        suspendedAtMs: Int64? = nil,
        email: String? = nil
    ) {
        self.email = email
        self.id = id
        self.displayName = displayName
        self.tenantID = tenantID
        self.createdAtMs = createdAtMs
        self.roles = roles
        self.suspendedAtMs = suspendedAtMs
    }

    /// Where the principal's data lives for authorization: its tenant, or provider-wide.
    public var target: Target { Target(tenantID: tenantID ?? "") }
}

/// A bearer token's metadata; the secret is never stored, only its hash.
public struct TokenRecord: Sendable, Hashable {
    public var id: String
    public var principalID: String
    /// The principal's tenant; nil for provider principals.
    public var tenantID: String?
    public var createdAtMs: Int64
    public var expiresAtMs: Int64?
    public var revokedAtMs: Int64?

    public init(
        id: String,
        principalID: String,
        tenantID: String?,
        createdAtMs: Int64,
        expiresAtMs: Int64?,
        revokedAtMs: Int64? = nil
    ) {
        self.id = id
        self.principalID = principalID
        self.tenantID = tenantID
        self.createdAtMs = createdAtMs
        self.expiresAtMs = expiresAtMs
        self.revokedAtMs = revokedAtMs
    }
}

/// An operation an engineer may run under a grant of its service.
public struct PreapprovedOperationRecord: Sendable, Hashable {
    public var service: ContentService
    public var operation: String
    public var description: String

    public init(service: ContentService, operation: String, description: String) {
        self.service = service
        self.operation = operation
        self.description = description
    }
}

/// A single-use enrollment code, as stored (its secret only as a hash).
public struct EnrollmentCodeRecord: Sendable, Hashable {
    public var id: String
    public var tenantID: String
    public var issuedBy: String
    public var issuedAtMs: Int64
    public var expiresAtMs: Int64
    public var redeemedAtMs: Int64?
    /// Set when a newer code replaced it before it was redeemed.
    public var supersededAtMs: Int64?

    public init(
        id: String,
        tenantID: String,
        issuedBy: String,
        issuedAtMs: Int64,
        expiresAtMs: Int64,
        redeemedAtMs: Int64? = nil,
        supersededAtMs: Int64? = nil
    ) {
        self.id = id
        self.tenantID = tenantID
        self.issuedBy = issuedBy
        self.issuedAtMs = issuedAtMs
        self.expiresAtMs = expiresAtMs
        self.redeemedAtMs = redeemedAtMs
        self.supersededAtMs = supersededAtMs
    }

    /// Why the code cannot be redeemed at `nowMs`, or nil when it can.
    public func refusal(nowMs: Int64) -> DomainError? {
        if redeemedAtMs != nil {
            return DomainError(.failedPrecondition, "this enrollment code was already redeemed")
        }
        if supersededAtMs != nil {
            return DomainError(.failedPrecondition, "this enrollment code was replaced by a newer one")
        }
        if nowMs >= expiresAtMs {
            return DomainError(.failedPrecondition, "this enrollment code has expired; ask your provider for a new one")
        }
        return nil
    }
}

/// Whether a principal named as an operator may act as one now.
public enum OperatorStatus: Sendable, Hashable {
    /// An existing principal that holds the operator role and is not suspended.
    case active
    case suspended
    /// No such principal, or it does not hold the operator role.
    case unknown
}
