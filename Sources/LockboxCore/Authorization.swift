/// What a call needs to be allowed to do. The server names one for every method it serves.
package enum Permission: String, CaseIterable, Sendable {
    case createRequest
    case cancelRequest
    case readRequests
    case decideInternal
    case decideCustomer
    case revokeAccess
    case createTenant
    case issueEnrollmentCode
    case readTenantSettings
    case writeTenantSettings
    case managePrincipals
    case suspendPrincipals
    case manageRoles
    case readRoles
    case readAudit
    case checkAccess
    case readGrants
    case readOperations
    case manageOperations
    /// Registering and removing webhook endpoints.
    case manageWebhooks
    /// The delivery state of emails and webhooks.
    case readNotifications
    /// The tenant's own trust: adopting or rotating its root, certifying and revoking keys,
    /// setting its policy. Each change also needs a statement a tenant key signed.
    case manageTrust
    /// Reading the tenant's roots, certified keys and policy.
    case readTrust
    /// Giving or withdrawing a delegation (an approver's; a global admin may withdraw any).
    /// Each also needs a statement a tenant key signed.
    case delegate

    /// The action on a request this permission stands for, if it is one: who may take it is
    /// ``Lifecycle/actorRules``'s to say, not this table's.
    package var requestAction: RequestAction? { RequestAction.allCases.first { $0.permission == self } }

    /// How far `role` grants this permission; nil when it does not. The permission table of
    /// DESIGN.md ("Actors and roles"), and the only one; actions on requests come from
    /// ``Lifecycle/actorRules``.
    package func reach(for role: Role) -> Reach? {
        if let action = requestAction { return Lifecycle.reach(action, for: role) }
        return switch (self, role) {
        case (.createRequest, .operator): .everywhere
        case (.readRequests, .operator): .ownRequests
        case (.readRequests, .supportManager), (.readRequests, .auditor): .everywhere
        case (.readRequests, .globalAdmin), (.readRequests, .lockboxApprover): .ownTenant
        case (.createTenant, .providerAdmin), (.issueEnrollmentCode, .providerAdmin): .everywhere
        case (.readTenantSettings, .globalAdmin), (.readTenantSettings, .lockboxApprover): .ownTenant
        case (.writeTenantSettings, .globalAdmin): .ownTenant
        case (.managePrincipals, .providerAdmin), (.suspendPrincipals, .providerAdmin): .provider
        case (.manageRoles, .providerAdmin), (.readRoles, .providerAdmin): .provider
        case (.managePrincipals, .globalAdmin), (.suspendPrincipals, .globalAdmin): .ownTenant
        case (.manageRoles, .globalAdmin), (.readRoles, .globalAdmin): .ownTenant
        case (.readAudit, .auditor): .everywhere
        case (.readAudit, .globalAdmin), (.readAudit, .lockboxApprover): .ownTenant
        case (.checkAccess, .service): .everywhere
        case (.readGrants, .operator): .ownRequests
        case (.readGrants, .supportManager), (.readGrants, .auditor), (.readGrants, .service): .everywhere
        case (.readGrants, .globalAdmin), (.readGrants, .lockboxApprover): .ownTenant
        case (.readOperations, _): .everywhere
        case (.manageOperations, .providerAdmin): .provider
        case (.manageWebhooks, .providerAdmin): .provider
        case (.manageWebhooks, .globalAdmin): .ownTenant
        case (.readNotifications, .providerAdmin): .everywhere
        case (.readNotifications, .globalAdmin): .ownTenant
        case (.manageTrust, .globalAdmin): .ownTenant
        case (.readTrust, .globalAdmin), (.readTrust, .lockboxApprover): .ownTenant
        case (.readTrust, .auditor), (.readTrust, .service): .everywhere
        case (.delegate, .lockboxApprover), (.delegate, .globalAdmin): .ownTenant
        default: nil
        }
    }
}

/// Which data a role's permission covers.
package enum Reach: Sendable, Hashable {
    /// Every tenant's data and provider-wide data.
    case everywhere
    /// Provider-wide data only: provider principals, roles and operations.
    case provider
    /// The data of the tenant the role is assigned in.
    case ownTenant
    /// The caller's own requests and grants.
    case ownRequests
}

/// What a call acts on, as authorization sees it.
package struct Target: Sendable, Hashable {
    /// "" for provider-wide data.
    package var tenantID: String
    /// The principal that owns it (a request's requester), if any.
    package var ownerID: String?

    package init(tenantID: String, ownerID: String? = nil) {
        self.tenantID = tenantID
        self.ownerID = ownerID
    }

    package static let provider = Target(tenantID: "")
    package static func tenant(_ id: String) -> Target { Target(tenantID: id) }
}

/// An authenticated caller, with its role assignments as the database holds them now.
package struct Caller: Sendable, Hashable {
    package struct Assignment: Hashable, Sendable {
        package var role: Role
        /// "" for provider roles.
        package var tenantID: String

        package init(role: Role, tenantID: String) {
            self.role = role
            self.tenantID = tenantID
        }
    }

    package var id: String
    package var displayName: String
    /// nil for provider principals.
    package var tenantID: String?
    package var assignments: Set<Assignment>
    /// The peer IP the server's socket saw.
    package var ip: String
    /// The id of the token the call carried; "" for calls that carry none. Every record the
    /// caller's actions write names it, so that a record made with a token someone else issued
    /// (a provider admin's IssueToken for another principal) traces back to that issuance.
    package var tokenID: String
    /// The client certificate the principal is bound to (SHA-256 of its DER bytes): its tokens
    /// count only on connections that present it. nil when unbound.
    package var certificateSHA256: [UInt8]?

    package init(
        id: String,
        displayName: String,
        tenantID: String?,
        assignments: Set<Assignment>,
        ip: String,
        tokenID: String = "",
        certificateSHA256: [UInt8]? = nil
    ) {
        self.id = id
        self.displayName = displayName
        self.tenantID = tenantID
        self.assignments = assignments
        self.ip = ip
        self.tokenID = tokenID
        self.certificateSHA256 = certificateSHA256
    }

    package var roles: Set<Role> { Set(assignments.map(\.role)) }
}

/// The rows a list or stream may return to a caller: a tenant filter and a requester filter.
package struct QueryScope: Sendable, Hashable {
    /// nil: any tenant.
    package var tenantID: String?
    /// nil: any requester (or operator, for grants).
    package var requesterID: String?

    package init(tenantID: String?, requesterID: String?) {
        self.tenantID = tenantID
        self.requesterID = requesterID
    }
}

/// The authorization policy: who may do what, on which data. Denies by default; the server
/// asks it on every call, against the roles the database holds at that moment.
package enum Authorization {
    /// Whether some role of the caller grants `permission` anywhere. Checked before any handler runs.
    package static func admits(_ caller: Caller, _ permission: Permission) -> Bool {
        caller.assignments.contains { permission.reach(for: $0.role) != nil }
    }

    /// Whether the caller holds `permission` for `target`.
    package static func allows(_ caller: Caller, _ permission: Permission, on target: Target) -> Bool {
        caller.assignments.contains { assignment in
            switch permission.reach(for: assignment.role) {
            case .everywhere: true
            case .provider: target.tenantID.isEmpty
            case .ownTenant: !target.tenantID.isEmpty && assignment.tenantID == target.tenantID
            case .ownRequests: target.ownerID == caller.id
            case nil: false
            }
        }
    }

    /// Throws unless allowed. To a tenant principal, another tenant's data does not exist, so
    /// that is NOT_FOUND; otherwise PERMISSION_DENIED.
    package static func require(
        _ caller: Caller,
        _ permission: Permission,
        on target: Target,
        notFound: String = "no such tenant"
    ) throws(DomainError) {
        guard allows(caller, permission, on: target) else {
            if let own = caller.tenantID, own != target.tenantID { throw DomainError.notFound(notFound) }
            throw DomainError.permissionDenied
        }
    }

    /// Whether the caller may see a request. What it may not see does not exist for it.
    package static func mayRead(_ caller: Caller, request: Target) -> Bool {
        allows(caller, .readRequests, on: request)
    }

    /// The rows of a list, search or stream that the caller may see, given the tenant it asked
    /// for ("" for none). Tenant principals see their own tenant, and "" means it; another
    /// tenant is NOT_FOUND. Roles that reach everywhere see what they ask for. Operators see
    /// their own requests and grants.
    package static func scope(
        _ caller: Caller,
        _ permission: Permission,
        requestedTenant requested: String
    ) throws(DomainError) -> QueryScope {
        var reaches: Set<Reach> = []
        var tenants: Set<String> = []
        for assignment in caller.assignments {
            guard let reach = permission.reach(for: assignment.role) else { continue }
            reaches.insert(reach)
            if reach == .ownTenant { tenants.insert(assignment.tenantID) }
        }
        let asked: String? = requested.isEmpty ? nil : requested
        if reaches.contains(.everywhere) { return QueryScope(tenantID: asked, requesterID: nil) }
        if !tenants.isEmpty {
            if let asked {
                guard tenants.contains(asked) else { throw DomainError.notFound("no such tenant") }
                return QueryScope(tenantID: asked, requesterID: nil)
            }
            guard tenants.count == 1, let own = tenants.first else {
                throw DomainError.invalidArgument("tenant_id is required")
            }
            return QueryScope(tenantID: own, requesterID: nil)
        }
        if reaches.contains(.ownRequests) { return QueryScope(tenantID: asked, requesterID: caller.id) }
        throw DomainError.permissionDenied
    }
}
