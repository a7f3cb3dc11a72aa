/// The access window of an approved request.
package struct GrantWindow: Sendable, Hashable {
    package var startsAtMs: Int64
    package var endsAtMs: Int64
    /// Set when the grant was revoked.
    package var revokedAtMs: Int64?

    package init(startsAtMs: Int64, endsAtMs: Int64, revokedAtMs: Int64? = nil) {
        self.startsAtMs = startsAtMs
        self.endsAtMs = endsAtMs
        self.revokedAtMs = revokedAtMs
    }
}

/// What the lifecycle needs to know about a stored request.
package struct RequestFacts: Sendable, Hashable {
    /// The state as stored, which the clock may have overtaken (see ``Lifecycle/effectiveState(_:nowMs:)``).
    package var state: RequestState
    package var tenantID: String
    package var requesterID: String
    package var requestedDurationSeconds: Int64
    /// When a support manager must have decided by.
    package var internalDeadlineMs: Int64?
    /// Set once the request waits for the customer.
    package var customerDeadlineMs: Int64?
    /// Set once the request is approved.
    package var grant: GrantWindow?
    /// When the access starts, if not at approval: a scheduled start, or the end of the grant
    /// an extension continues.
    package var scheduledStartMs: Int64?
    /// The support managers who approved internally so far, in order.
    package var internalApprovers: [String]

    package init(
        state: RequestState,
        tenantID: String,
        requesterID: String,
        requestedDurationSeconds: Int64,
        internalDeadlineMs: Int64? = nil,
        customerDeadlineMs: Int64? = nil,
        grant: GrantWindow? = nil,
        scheduledStartMs: Int64? = nil,
        internalApprovers: [String] = []
    ) {
        self.scheduledStartMs = scheduledStartMs
        self.internalApprovers = internalApprovers
        self.state = state
        self.tenantID = tenantID
        self.requesterID = requesterID
        self.requestedDurationSeconds = requestedDurationSeconds
        self.internalDeadlineMs = internalDeadlineMs
        self.customerDeadlineMs = customerDeadlineMs
        self.grant = grant
    }

    /// The times the clock rules compare with.
    package var deadlines: Deadlines {
        Deadlines(
            internalDecision: internalDeadlineMs,
            customerDecision: customerDeadlineMs,
            grantEnd: grant?.endsAtMs
        )
    }
}

/// The times a request's ``ClockRule``s compare the clock with; nil where not set.
package struct Deadlines: Sendable, Hashable {
    package var internalDecision: Int64?
    package var customerDecision: Int64?
    package var grantEnd: Int64?

    package init(internalDecision: Int64? = nil, customerDecision: Int64? = nil, grantEnd: Int64? = nil) {
        self.internalDecision = internalDecision
        self.customerDecision = customerDecision
        self.grantEnd = grantEnd
    }

    package subscript(_ deadline: ClockRule.Deadline) -> Int64? {
        switch deadline {
        case .internalDecision: internalDecision
        case .customerDecision: customerDecision
        case .grantEnd: grantEnd
        }
    }
}

/// The internal decision on a request.
package struct InternalDecisionRecord: Sendable, Hashable {
    package var approve: Bool
    package var comment: String
    package var decidedBy: String
    package var decidedAtMs: Int64

    package init(approve: Bool, comment: String, decidedBy: String, decidedAtMs: Int64) {
        self.approve = approve
        self.comment = comment
        self.decidedBy = decidedBy
        self.decidedAtMs = decidedAtMs
    }
}

/// A decision the approver's own key signed (docs/audit-integrity.md, "Customer-signed
/// statements"): the statement's bytes, the key, the signature, and a passkey's assertion.
package struct CustomerSignature: Sendable, Hashable {
    package var statement: [UInt8]
    package var keyID: String
    package var signature: [UInt8]
    package var authenticatorData: [UInt8]
    package var clientData: [UInt8]

    package init(
        statement: [UInt8],
        keyID: String,
        signature: [UInt8],
        authenticatorData: [UInt8] = [],
        clientData: [UInt8] = []
    ) {
        self.statement = statement
        self.keyID = keyID
        self.signature = signature
        self.authenticatorData = authenticatorData
        self.clientData = clientData
    }
}

/// The customer's decision on a request: approve, deny or cancel.
package struct CustomerDecisionRecord: Sendable, Hashable {
    package var decision: AuditDecision
    package var comment: String
    /// The grant's length, for an approval.
    package var approvedDurationSeconds: Int64?
    package var decidedBy: String
    package var decidedAtMs: Int64
    /// The server's signed statement of the decision and the grant it created
    /// (docs/audit-integrity.md, "Signed approvals"); nil for a cancellation.
    package var signed: SignedStatement?
    /// The approver's own signature of the decision, on a tenant with a root.
    package var customerSigned: CustomerSignature?

    package init(
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
package struct GrantUsage: Sendable, Hashable {
    package var operationsPerformed: Int64
    package var lastOperationAtMs: Int64?

    package init(operationsPerformed: Int64 = 0, lastOperationAtMs: Int64? = nil) {
        self.operationsPerformed = operationsPerformed
        self.lastOperationAtMs = lastOperationAtMs
    }
}

/// An access request as stored, with its decisions, grant and usage.
package struct RequestRecord: Sendable, Hashable {
    package var id: String
    package var tenantID: String
    package var service: ContentService
    package var ticketNumber: String
    package var justification: String
    package var requestedDurationSeconds: Int64
    package var requesterID: String
    /// The requester's display name as it is now, for people to read ("" when not read).
    package var requesterName = ""
    /// As stored; ``Lifecycle/effectiveState(_:nowMs:)`` gives the state by the clock.
    package var state: RequestState
    package var createdAtMs: Int64
    package var updatedAtMs: Int64
    package var internalDeadlineMs: Int64?
    package var customerDeadlineMs: Int64?
    package var internalDecision: InternalDecisionRecord?
    package var customerDecision: CustomerDecisionRecord?
    package var grant: GrantWindow?
    /// The operations the grant allows, when it has one.
    package var grantOperations: [String] = []
    /// The nonce lockboxd gave this request's decision (the statements to sign carry it).
    package var decisionNonce: [UInt8]?
    package var usage: GrantUsage
    /// When the access starts, if not at approval (``RequestFacts/scheduledStartMs``).
    package var scheduledStartMs: Int64?
    /// The support managers who approved internally so far (``RequestFacts/internalApprovers``).
    package var internalApprovers: [String] = []
    /// For an extension: the request whose grant it continues.
    package var extendsRequestID: String?
    /// The operations the request asked for (``NewAccessRequest/operations``); nil: all.
    package var requestedOperations: [String]?
    /// Why, in a word; nil for none.
    package var category: JustificationCategory?
    /// For an extension: when the first grant of its chain started, which bounds the chain's
    /// total (``Policy/maximumExtendedAccessSeconds``).
    package var chainStartedAtMs: Int64?

    package init(
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

    package var facts: RequestFacts {
        RequestFacts(
            state: state,
            tenantID: tenantID,
            requesterID: requesterID,
            requestedDurationSeconds: requestedDurationSeconds,
            internalDeadlineMs: internalDeadlineMs,
            customerDeadlineMs: customerDeadlineMs,
            grant: grant,
            scheduledStartMs: scheduledStartMs,
            internalApprovers: internalApprovers
        )
    }

    /// What authorization looks at: the request's tenant and its requester.
    package var target: Target { Target(tenantID: tenantID, ownerID: requesterID) }
}

/// A grant with the stored state of its request: what access checks and grant lists read.
package struct GrantRecord: Sendable, Hashable {
    package var requestID: String
    package var operatorID: String
    package var tenantID: String
    package var service: ContentService
    /// The stored state of the grant's request.
    package var requestState: RequestState
    package var window: GrantWindow
    /// The operations the grant allows, lower-cased: the service's pre-approved operations when
    /// it was approved, fixed then (a later change to the list is for later approvals).
    package var operations: [String]

    package init(
        requestID: String,
        operatorID: String,
        tenantID: String,
        service: ContentService,
        requestState: RequestState,
        window: GrantWindow,
        operations: [String] = []
    ) {
        self.requestID = requestID
        self.operatorID = operatorID
        self.tenantID = tenantID
        self.service = service
        self.requestState = requestState
        self.window = window
        self.operations = operations
    }

    /// Whether the grant may be used at `nowMs` (``Lifecycle/grantIsActive(state:window:nowMs:)``).
    package func isActive(nowMs: Int64) -> Bool {
        Lifecycle.grantIsActive(state: requestState, window: window, nowMs: nowMs)
    }
}

/// A new access request, as validated, before it is stored.
package struct NewAccessRequest: Sendable, Hashable {
    package var tenantID: String
    package var service: ContentService
    package var ticketNumber: String
    package var justification: String
    package var requestedDurationSeconds: Int64
    /// A scheduled start; nil starts the access at approval.
    package var scheduledStartMs: Int64?
    /// An extension: the caller's request whose grant this one continues.
    package var extendsRequestID: String?
    /// The operations asked for, lower-cased, sorted and distinct; nil asks for all those
    /// pre-approved for the service.
    package var operations: [String]?
    /// Why, in a word; nil for none.
    package var category: JustificationCategory?

    package init(
        tenantID: String,
        service: ContentService,
        ticketNumber: String,
        justification: String,
        requestedDurationSeconds: Int64,
        scheduledStartMs: Int64? = nil,
        extendsRequestID: String? = nil,
        operations: [String]? = nil,
        category: JustificationCategory? = nil
    ) {
        self.category = category
        self.operations = operations
        self.tenantID = tenantID
        self.service = service
        self.ticketNumber = ticketNumber
        self.justification = justification
        self.requestedDurationSeconds = requestedDurationSeconds
        self.scheduledStartMs = scheduledStartMs
        self.extendsRequestID = extendsRequestID
    }

    /// What makes two creates "the same request" for an idempotency key: every field the caller
    /// chose, joined with a separator that input validation keeps out of the fields. A start
    /// or an extension is added only when set, so that requests stored before either existed
    /// keep their fingerprints.
    package var canonicalPayload: String {
        var fields = [tenantID, service.rawValue, ticketNumber, justification, String(requestedDurationSeconds)]
        if let scheduledStartMs { fields.append("start=\(scheduledStartMs)") }
        if let extendsRequestID { fields.append("extends=\(extendsRequestID)") }
        if let operations { fields.append("operations=" + operations.joined(separator: ",")) }
        if let category { fields.append("category=" + category.rawValue) }
        return fields.joined(separator: "\u{1F}")
    }
}

/// An operation an engineer may run under a grant of its service.
package struct PreapprovedOperationRecord: Sendable, Hashable {
    package var service: ContentService
    package var operation: String
    package var description: String

    package init(service: ContentService, operation: String, description: String) {
        self.service = service
        self.operation = operation
        self.description = description
    }
}

/// Whether a principal named as an operator may act as one now.
package enum OperatorStatus: String, Sendable, Hashable, CaseIterable {
    /// An existing principal that holds the operator role and is not suspended.
    case active
    case suspended
    /// No such principal, or it does not hold the operator role.
    case unknown
}
