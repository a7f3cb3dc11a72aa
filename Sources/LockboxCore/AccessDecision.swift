/// Why `CheckAccess` denied an operation.
public enum AccessDenyReason: String, Sendable, Hashable, CaseIterable {
    /// No grant and no pending request for this operator, tenant and service.
    case noGrant = "NO_GRANT"
    /// A request waits for a decision.
    case notApproved = "NOT_APPROVED"
    /// The latest grant ended.
    case grantExpired = "GRANT_EXPIRED"
    /// The latest grant was revoked.
    case revoked = "REVOKED"
    /// The grant is active, but the operation is not pre-approved for the service.
    case operationNotPreapproved = "OPERATION_NOT_PREAPPROVED"
    /// The operator has an active grant, but for another tenant or service.
    case tenantServiceMismatch = "TENANT_SERVICE_MISMATCH"
}

/// The outcome of an access check.
public enum AccessDecision: Sendable, Hashable {
    case allowed(requestID: String, grantEndsAtMs: Int64)
    /// `requestID` names the request the reason is about, or is "".
    case denied(AccessDenyReason, requestID: String)

    public var isAllowed: Bool {
        if case .allowed = self { return true }
        return false
    }

    /// The request the decision is about, or "".
    public var requestID: String {
        switch self {
        case .allowed(let id, _): id
        case .denied(_, let id): id
        }
    }
}

/// A grant that might allow a check: one of the operator's grants for the tenant and service
/// that had not ended by the store's reading, with whether the operation is pre-approved.
public struct AccessCandidate: Sendable, Hashable {
    public var grant: GrantRecord
    public var operationPreapproved: Bool

    public init(grant: GrantRecord, operationPreapproved: Bool) {
        self.grant = grant
        self.operationPreapproved = operationPreapproved
    }
}

/// What explains a denial when no candidate is active.
public struct DenialFacts: Sendable, Hashable {
    /// The operator's latest grant (by end) for this tenant and service, in any state.
    public var latestGrant: GrantRecord?
    /// The operator's newest request for this tenant and service that is stored as pending.
    public var pendingRequestID: String?
    /// The operator's grants, on any tenant and service, that had not ended by the store's reading.
    public var otherGrants: [GrantRecord]

    public init(latestGrant: GrantRecord? = nil, pendingRequestID: String? = nil, otherGrants: [GrantRecord] = []) {
        self.latestGrant = latestGrant
        self.pendingRequestID = pendingRequestID
        self.otherGrants = otherGrants
    }
}

/// The rule of `CheckAccess` (DESIGN.md, "Access enforcement"): allowed only under an active
/// grant for that operator, tenant and service, for a pre-approved operation.
public enum AccessCheck {
    /// Decides a check. `denialFacts` is asked for only when no candidate allows the
    /// operation, so the allowed path reads the database once.
    public static func decide<Failure: Error>(
        candidates: [AccessCandidate],
        nowMs: Int64,
        denialFacts: () throws(Failure) -> DenialFacts
    ) throws(Failure) -> AccessDecision {
        let active = candidates.filter { $0.grant.isActive(nowMs: nowMs) }
        if let best = active.max(by: { $0.grant.window.endsAtMs < $1.grant.window.endsAtMs }) {
            guard best.operationPreapproved else {
                return .denied(.operationNotPreapproved, requestID: best.grant.requestID)
            }
            return .allowed(requestID: best.grant.requestID, grantEndsAtMs: best.grant.window.endsAtMs)
        }
        return denial(try denialFacts(), nowMs: nowMs)
    }

    /// Why there is no active grant: the latest grant for this tenant and service ended or was
    /// revoked; or a request waits for a decision; or the operator's active grant is for
    /// another tenant or service; or there is nothing at all.
    static func denial(_ facts: DenialFacts, nowMs: Int64) -> AccessDecision {
        if let latest = facts.latestGrant {
            let revoked = latest.window.revokedAtMs != nil || latest.requestState == .revoked
            return .denied(revoked ? .revoked : .grantExpired, requestID: latest.requestID)
        }
        if let pending = facts.pendingRequestID { return .denied(.notApproved, requestID: pending) }
        let elsewhere = facts.otherGrants.contains { $0.isActive(nowMs: nowMs) }
        return .denied(elsewhere ? .tenantServiceMismatch : .noGrant, requestID: "")
    }
}
