/// A tenant's own settings, which the lifecycle and the duration rules read.
package struct TenantRules: Sendable, Hashable {
    /// Off: an internal approval grants access without the customer.
    package var lockboxEnabled: Bool
    /// How long the customer has to decide.
    package var approvalWindowSeconds: Int64
    /// The tenant's cap on requested durations.
    package var maxAccessDurationSeconds: Int64
    /// The tenant's last trust change, read with the rules: nil when it never had trust material.
    package var trustVersion: Int64?

    package init(
        lockboxEnabled: Bool,
        approvalWindowSeconds: Int64,
        maxAccessDurationSeconds: Int64,
        trustVersion: Int64? = nil
    ) {
        self.trustVersion = trustVersion
        self.lockboxEnabled = lockboxEnabled
        self.approvalWindowSeconds = approvalWindowSeconds
        self.maxAccessDurationSeconds = maxAccessDurationSeconds
    }
}

/// A role held by a principal: in a tenant (tenant roles) or provider-wide (tenantID "").
package struct RoleAssignmentRecord: Sendable, Hashable {
    package var principalID: String
    package var role: Role
    package var tenantID: String
    package var assignedBy: String
    package var assignedAtMs: Int64

    package init(principalID: String, role: Role, tenantID: String, assignedBy: String, assignedAtMs: Int64) {
        self.principalID = principalID
        self.role = role
        self.tenantID = tenantID
        self.assignedBy = assignedBy
        self.assignedAtMs = assignedAtMs
    }
}

/// A principal with its role assignments.
package struct PrincipalRecord: Sendable, Hashable {
    package var id: String
    package var displayName: String
    /// nil for provider principals.
    package var tenantID: String?
    package var createdAtMs: Int64
    package var roles: [RoleAssignmentRecord]
    /// Set while the principal is suspended.
    package var suspendedAtMs: Int64?
    /// Where Lockbox emails the principal.
    package var email: String?

    package init(
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
    package var target: Target { Target(tenantID: tenantID ?? "") }
}

/// A bearer token's metadata; the secret is never stored, only its hash.
package struct TokenRecord: Sendable, Hashable {
    package var id: String
    package var principalID: String
    /// The principal's tenant; nil for provider principals.
    package var tenantID: String?
    package var createdAtMs: Int64
    package var expiresAtMs: Int64?
    package var revokedAtMs: Int64?

    package init(
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

/// A single-use enrollment code, as stored (its secret only as a hash).
package struct EnrollmentCodeRecord: Sendable, Hashable {
    package var id: String
    package var tenantID: String
    package var issuedBy: String
    package var issuedAtMs: Int64
    package var expiresAtMs: Int64
    package var redeemedAtMs: Int64?
    /// Set when a newer code replaced it before it was redeemed.
    package var supersededAtMs: Int64?

    package init(
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
    package func refusal(nowMs: Int64) -> DomainError? {
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
