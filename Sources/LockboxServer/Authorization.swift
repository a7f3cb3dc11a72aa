import LockboxCore
import LockboxRPC
import LockboxStore

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
    /// Every call's first step: the caller behind the call's token, as the database says now,
    /// provided some role of theirs grants `permission`; UNAUTHENTICATED or PERMISSION_DENIED otherwise.
    static func admit(_ context: RPCCallContext, _ permission: Permission, db: PGConnection, nowMs: Int64) throws -> Caller {
        let caller = try Authenticator.authenticate(token: context.authToken, ip: context.peerIP, connection: db, nowMs: nowMs)
        guard mayCall(caller, permission) else { throw RPCError.permissionDenied() }
        return caller
    }

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

    /// The tenant a tenant principal's query covers: the requested one if it is theirs, or
    /// theirs when none is requested. nil for a caller without tenant roles. Another
    /// tenant is NOT_FOUND: as far as the caller can tell, it does not exist.
    static func ownTenant(_ caller: Caller, requested: String) throws -> String? {
        let tenants = Set(caller.assignments.filter(\.role.isTenantRole).map(\.tenantID))
        guard !tenants.isEmpty else { return nil }
        if requested.isEmpty, tenants.count == 1 { return tenants.first }
        guard tenants.contains(requested) else { throw RPCError.notFound("no such tenant") }
        return requested
    }
}
