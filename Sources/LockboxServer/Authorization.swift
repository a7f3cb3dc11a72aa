import LockboxCore
import LockboxRPC

/// What a call needs to be allowed to do. Every method names exactly one (see ``MethodTable``).
enum Permission: String, CaseIterable, Sendable {
    case ping
    case createRequest
    case cancelRequest
    case readRequests
    case decideInternal
    case decideCustomer
    case revokeAccess
    case createTenant
    case readTenantSettings
    case writeTenantSettings
    case managePrincipals
    case manageRoles
    case readRoles
    case readAudit
    case checkAccess
    case readGrants
    case readOperations
    case manageOperations

    /// The roles that grant this permission. Tenant roles grant it only within their tenant.
    var roles: Set<LockboxCore.Role> {
        switch self {
        case .ping: []
        case .createRequest: [.operator]
        case .cancelRequest: [.operator, .globalAdmin, .lockboxApprover]
        case .readRequests: [.operator, .supportManager, .auditor, .globalAdmin, .lockboxApprover]
        case .decideInternal: [.supportManager]
        case .decideCustomer: [.globalAdmin, .lockboxApprover]
        case .revokeAccess: [.operator, .globalAdmin, .lockboxApprover]
        case .createTenant: [.providerAdmin]
        case .readTenantSettings: [.globalAdmin, .lockboxApprover]
        case .writeTenantSettings: [.globalAdmin]
        case .managePrincipals: [.providerAdmin, .globalAdmin]
        case .manageRoles: [.providerAdmin, .globalAdmin]
        case .readRoles: [.providerAdmin, .globalAdmin]
        case .readAudit: [.auditor, .globalAdmin, .lockboxApprover]
        case .checkAccess: [.service]
        case .readGrants: [.operator, .supportManager, .auditor, .service, .globalAdmin, .lockboxApprover]
        case .readOperations: Set(LockboxCore.Role.allCases)
        case .manageOperations: [.providerAdmin]
        }
    }
}

/// The one place that decides whether a caller may do something. Denies by default.
enum Authorizer {
    /// Whether the caller holds any role granting `permission`, anywhere. Checked before every handler runs.
    static func mayCall(_ caller: Caller, _ permission: Permission) -> Bool {
        !caller.roles.isDisjoint(with: permission.roles)
    }

    /// Whether the caller holds `permission` for data of `tenantID`: a provider role that grants
    /// it, or a tenant role that grants it in that very tenant.
    static func allows(_ caller: Caller, _ permission: Permission, tenant tenantID: String) -> Bool {
        caller.assignments.contains { assignment in
            guard permission.roles.contains(assignment.role) else { return false }
            return assignment.role.isTenantRole ? assignment.tenantID == tenantID : true
        }
    }

    /// Throws unless allowed. For tenant principals of other tenants the thing does not
    /// exist as far as they can tell, so that is NOT_FOUND rather than PERMISSION_DENIED.
    static func require(_ caller: Caller, _ permission: Permission, tenant tenantID: String, notFound: String) throws {
        guard allows(caller, permission, tenant: tenantID) else {
            if let own = caller.tenantID, own != tenantID { throw RPCError.notFound(notFound) }
            throw RPCError.permissionDenied()
        }
    }

    /// Tenants whose data the caller may read with `permission`; nil means every tenant.
    static func readableTenants(_ caller: Caller, _ permission: Permission) -> Set<String>? {
        var tenants = Set<String>()
        for assignment in caller.assignments where permission.roles.contains(assignment.role) {
            if !assignment.role.isTenantRole { return nil }
            tenants.insert(assignment.tenantID)
        }
        return tenants
    }
}
