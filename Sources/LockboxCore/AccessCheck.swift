/// Why `CheckAccess` denied an operation.
package enum AccessDenyReason: String, Sendable, Hashable, CaseIterable {
    /// No request or grant of this operator for this tenant and service.
    case noGrant = "NO_GRANT"
    /// The operator's newest request here waits for a decision.
    case notApproved = "NOT_APPROVED"
    /// The operator's newest grant here ran out.
    case grantExpired = "GRANT_EXPIRED"
    /// The operator's newest grant here was revoked.
    case revoked = "REVOKED"
    /// The grant is active, but the operation is not pre-approved for the service.
    case operationNotPreapproved = "OPERATION_NOT_PREAPPROVED"
    /// The operator has an active grant, but for another tenant or service.
    case tenantServiceMismatch = "TENANT_SERVICE_MISMATCH"
    /// The operator named is not a principal holding the operator role.
    case unknownOperator = "UNKNOWN_OPERATOR"
    /// The operator's principal is suspended.
    case operatorSuspended = "OPERATOR_SUSPENDED"
    /// The operator's newest request here passed its deadline without a decision.
    case requestExpired = "REQUEST_EXPIRED"
    /// The grant is not backed by a decision the customer's own key signed, and the tenant's
    /// signed policy does not turn the lockbox off.
    case unverifiedApproval = "UNVERIFIED_APPROVAL"
    /// The operator's newest request here is approved for a window that has not started yet.
    case notStarted = "NOT_STARTED"
}

/// The outcome of an access check.
package enum AccessDecision: Sendable, Hashable {
    case allowed(requestID: String, grantEndsAtMs: Int64)
    /// `requestID` names the request the reason is about, or is "".
    case denied(AccessDenyReason, requestID: String)

    package var isAllowed: Bool {
        if case .allowed = self { return true }
        return false
    }

    /// The request the decision is about, or "".
    package var requestID: String {
        switch self {
        case .allowed(let id, _): id
        case .denied(_, let id): id
        }
    }
}

/// A grant that might allow a check: one of the operator's grants for the tenant and service
/// that had not ended by the store's reading, with whether the operation is pre-approved.
package struct AccessCandidate: Sendable, Hashable {
    package var grant: GrantRecord
    package var operationPreapproved: Bool

    package init(grant: GrantRecord, operationPreapproved: Bool) {
        self.grant = grant
        self.operationPreapproved = operationPreapproved
    }
}

/// What the allowed path of a check reads, in one statement.
package struct CheckFacts: Sendable, Hashable {
    /// Whether the operator may act as one; nil when the statement found no candidate row to carry it.
    package var operatorStatus: OperatorStatus?
    package var candidates: [AccessCandidate]
    /// The tenant's last trust change: nil when it never had a root (its grants are backed
    /// by lockboxd's word alone).
    package var trustVersion: Int64?

    package init(operatorStatus: OperatorStatus?, candidates: [AccessCandidate], trustVersion: Int64? = nil) {
        self.operatorStatus = operatorStatus
        self.candidates = candidates
        self.trustVersion = trustVersion
    }
}

/// The operator's newest request for the tenant and service, with what the clock needs.
package struct NewestRequest: Sendable, Hashable {
    package var id: String
    package var facts: RequestFacts

    package init(id: String, facts: RequestFacts) {
        self.id = id
        self.facts = facts
    }
}

/// What explains a denial when no candidate allows the check.
package struct DenialFacts: Sendable, Hashable {
    /// Whether the tenant exists: a check on one that does not is refused, not recorded.
    package var tenantExists: Bool
    package var operatorStatus: OperatorStatus
    /// The operator's newest request for this tenant and service, in any state.
    package var newestRequest: NewestRequest?
    /// The operator's grants, on any tenant and service, that had not ended by the store's reading.
    package var otherGrants: [GrantRecord]

    package init(
        tenantExists: Bool = true,
        operatorStatus: OperatorStatus = .active,
        newestRequest: NewestRequest? = nil,
        otherGrants: [GrantRecord] = []
    ) {
        self.tenantExists = tenantExists
        self.operatorStatus = operatorStatus
        self.newestRequest = newestRequest
        self.otherGrants = otherGrants
    }
}

/// The rule of `CheckAccess` (DESIGN.md, "Access enforcement"): allowed only for an active
/// operator, under an active grant for that operator, tenant and service, for a pre-approved
/// operation.
package enum AccessCheck {
    /// Decides a check. `denialFacts` is asked for only when no candidate allows the
    /// operation, so the allowed path reads the database once.
    package static func decide<Failure: Error>(
        _ facts: CheckFacts,
        nowMs: Int64,
        denialFacts: () throws(Failure) -> DenialFacts
    ) throws(Failure) -> AccessDecision {
        if let status = facts.operatorStatus, let denied = refusal(status) { return denied }
        let active = facts.candidates.filter { $0.grant.isActive(nowMs: nowMs) }
        // Each grant has its own scope: of the active grants, one whose scope holds the
        // operation decides (the one that ends last); without one, the one that ends last
        // names the refusal.
        let latest = { (a: AccessCandidate, b: AccessCandidate) in a.grant.window.endsAtMs < b.grant.window.endsAtMs }
        if facts.operatorStatus == .active, let best = active.max(by: latest) {
            guard let allowing = active.filter(\.operationPreapproved).max(by: latest) else {
                return .denied(.operationNotPreapproved, requestID: best.grant.requestID)
            }
            return .allowed(requestID: allowing.grant.requestID, grantEndsAtMs: allowing.grant.window.endsAtMs)
        }
        return denial(try denialFacts(), nowMs: nowMs)
    }

    static func refusal(_ status: OperatorStatus) -> AccessDecision? {
        switch status {
        case .active: nil
        case .suspended: .denied(.operatorSuspended, requestID: "")
        case .unknown: .denied(.unknownOperator, requestID: "")
        }
    }

    /// Why there is no active grant. The operator's newest request for this tenant and service
    /// decides, by its state on the clock: waiting, expired, ended, revoked. A denied or
    /// cancelled one, or none, leaves the operator's grants elsewhere to say whether the
    /// tenant or service is the mismatch.
    static func denial(_ facts: DenialFacts, nowMs: Int64) -> AccessDecision {
        if let denied = refusal(facts.operatorStatus) { return denied }
        if let newest = facts.newestRequest {
            switch Lifecycle.effectiveState(newest.facts, nowMs: nowMs) {
            case .pendingInternal, .pendingCustomer: return .denied(.notApproved, requestID: newest.id)
            case .expired: return .denied(.requestExpired, requestID: newest.id)
            case .revoked: return .denied(.revoked, requestID: newest.id)
            case .approved where (newest.facts.grant?.startsAtMs ?? .min) > nowMs:
                return .denied(.notStarted, requestID: newest.id)
            case .completed, .approved: return .denied(.grantExpired, requestID: newest.id)
            case .denied, .canceled: break
            }
        }
        let elsewhere = facts.otherGrants.contains { $0.isActive(nowMs: nowMs) }
        return .denied(elsewhere ? .tenantServiceMismatch : .noGrant, requestID: "")
    }
}
