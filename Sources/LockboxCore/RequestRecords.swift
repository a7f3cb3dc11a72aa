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
    public var tenantID: String
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
        tenantID: String,
        requesterID: String,
        requestedDurationSeconds: Int64,
        internalDeadlineMs: Int64? = nil,
        customerDeadlineMs: Int64? = nil,
        grant: GrantWindow? = nil
    ) {
        self.state = state
        self.tenantID = tenantID
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
            tenantID: tenantID,
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

/// Whether a principal named as an operator may act as one now.
public enum OperatorStatus: String, Sendable, Hashable, CaseIterable {
    /// An existing principal that holds the operator role and is not suspended.
    case active
    case suspended
    /// No such principal, or it does not hold the operator role.
    case unknown
}
