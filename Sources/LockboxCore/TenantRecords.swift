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
