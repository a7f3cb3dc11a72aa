import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore

/// Tenants and their settings, principals, tokens and role assignments.
struct AdminAPI: Sendable {
    let gate: Gatekeeper
    let tenants: any TenantStore
    let principals: any PrincipalStore
    let tokens: any TokenStore
    let audit: any AuditStore
    let policy: Policy

    func register(on router: inout RPCRouter) {
        router.register(LockboxMethods.createTenant) { request, context in
            try await gate.unary(context) { call in try createTenant(request, call) }
        }
        router.register(LockboxMethods.getTenantSettings) { request, context in
            try await gate.unary(context) { call in try settings(request, call) }
        }
        router.register(LockboxMethods.setTenantSettings) { request, context in
            try await gate.unary(context) { call in try setSettings(request, call) }
        }
        router.register(LockboxMethods.createPrincipal) { request, context in
            try await gate.unary(context) { call in try createPrincipal(request, call) }
        }
        router.register(LockboxMethods.listPrincipals) { request, context in
            try await gate.unary(context) { call in try listPrincipals(request, call) }
        }
        router.register(LockboxMethods.issueToken) { request, context in
            try await gate.unary(context) { call in try issueToken(request, call) }
        }
        router.register(LockboxMethods.revokeToken) { request, context in
            try await gate.unary(context) { call in try revokeToken(request, call) }
        }
        router.register(LockboxMethods.assignRole) { request, context in
            try await gate.unary(context) { call in try assignRole(request, call) }
        }
        router.register(LockboxMethods.removeRole) { request, context in
            try await gate.unary(context) { call in try removeRole(request, call) }
        }
        router.register(LockboxMethods.listRoleAssignments) { request, context in
            try await gate.unary(context) { call in try listRoleAssignments(request, call) }
        }
    }

    // MARK: Tenants

    func createTenant(_ request: CreateTenantRequest, _ call: Call) throws -> CreateTenantResponse {
        try InputLimits.checkTenantID(request.tenantID)
        try InputLimits.check(request.displayName, field: "display_name", max: InputLimits.displayNameLength)
        try InputLimits.check(
            request.adminDisplayName,
            field: "admin_display_name",
            max: InputLimits.displayNameLength
        )
        guard try tenants.create(id: request.tenantID, displayName: request.displayName, nowMs: call.nowMs, call.db)
        else { throw DomainError(.alreadyExists, "tenant \(request.tenantID) already exists") }
        try record(
            call,
            tenant: request.tenantID,
            Activity.tenantCreated,
            ["display_name": .string(request.displayName)]
        )
        let adminID = try newPrincipal(displayName: request.adminDisplayName, tenantID: request.tenantID, call)
        try assign(.globalAdmin, to: adminID, tenantID: request.tenantID, call)
        let token = try newToken(principalID: adminID, tenantID: request.tenantID, ttlSeconds: 0, call)
        return CreateTenantResponse(
            tenant: Tenant(
                id: request.tenantID,
                displayName: request.displayName,
                settings: try rules(of: request.tenantID, call).proto(tenantID: request.tenantID),
                createdAtMs: call.nowMs
            ),
            admin: try principal(adminID, call).proto,
            adminToken: token
        )
    }

    func settings(_ request: GetTenantSettingsRequest, _ call: Call) throws -> TenantSettings {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
        try Authorization.require(call.caller, .readTenantSettings, on: .tenant(request.tenantID))
        return try rules(of: request.tenantID, call).proto(tenantID: request.tenantID)
    }

    func setSettings(_ request: TenantSettings, _ call: Call) throws -> TenantSettings {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
        try Authorization.require(call.caller, .writeTenantSettings, on: .tenant(request.tenantID))
        if request.approvalWindowSeconds != 0 { try policy.validateApprovalWindow(request.approvalWindowSeconds) }
        if request.maxAccessDurationSeconds != 0 { try policy.validateTenantCap(request.maxAccessDurationSeconds) }
        let before = try rules(of: request.tenantID, call)
        try tenants.update(
            tenantID: request.tenantID,
            lockboxEnabled: request.lockboxEnabled,
            approvalWindowSeconds: request.approvalWindowSeconds == 0 ? nil : request.approvalWindowSeconds,
            maxAccessDurationSeconds: request.maxAccessDurationSeconds == 0 ? nil : request.maxAccessDurationSeconds,
            call.db
        )
        let after = try rules(of: request.tenantID, call)
        try record(
            call,
            tenant: request.tenantID,
            Activity.tenantSettingsChanged,
            [
                "lockbox_enabled_before": .bool(before.lockboxEnabled), "lockbox_enabled": .bool(after.lockboxEnabled),
                "approval_window_seconds_before": .int(before.approvalWindowSeconds),
                "approval_window_seconds": .int(after.approvalWindowSeconds),
                "max_access_duration_seconds_before": .int(before.maxAccessDurationSeconds),
                "max_access_duration_seconds": .int(after.maxAccessDurationSeconds),
            ]
        )
        return after.proto(tenantID: request.tenantID)
    }

    private func rules(of tenantID: String, _ call: Call) throws -> TenantRules {
        guard let rules = try tenants.rules(tenantID: tenantID, call.db) else {
            throw DomainError.notFound("no such tenant")
        }
        return rules
    }

    // MARK: Principals and tokens

    func createPrincipal(_ request: CreatePrincipalRequest, _ call: Call) throws -> Principal {
        try InputLimits.check(request.displayName, field: "display_name", max: InputLimits.displayNameLength)
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        guard request.roles.count <= InputLimits.listLength else { throw DomainError.invalidArgument("too many roles") }
        try Authorization.require(call.caller, .managePrincipals, on: Target(tenantID: request.tenantID))
        var roles: [LockboxCore.Role] = []
        for assignment in request.roles {
            guard let role = LockboxCore.Role(proto: assignment.role) else {
                throw DomainError.invalidArgument("unknown role")
            }
            guard role.isTenantRole == !request.tenantID.isEmpty else {
                throw DomainError.invalidArgument(
                    request.tenantID.isEmpty
                        ? "provider principals take provider roles only" : "tenant principals take tenant roles only"
                )
            }
            roles.append(role)
        }
        if !request.tenantID.isEmpty {
            _ = try rules(of: request.tenantID, call)
        }
        let id = try newPrincipal(
            displayName: request.displayName,
            tenantID: request.tenantID.isEmpty ? nil : request.tenantID,
            call
        )
        for role in Set(roles) { try assign(role, to: id, tenantID: request.tenantID, call) }
        return try principal(id, call).proto
    }

    func listPrincipals(_ request: ListPrincipalsRequest, _ call: Call) throws -> ListPrincipalsResponse {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        try Authorization.require(call.caller, .managePrincipals, on: Target(tenantID: request.tenantID))
        let records = try principals.list(
            tenantID: request.tenantID.isEmpty ? nil : request.tenantID,
            limit: InputLimits.maximumListLength,
            call.db
        )
        return ListPrincipalsResponse(principals: records.map(\.proto))
    }

    func issueToken(_ request: IssueTokenRequest, _ call: Call) throws -> IssuedToken {
        try InputLimits.check(request.principalID, field: "principal_id", max: InputLimits.idLength)
        guard request.ttlSeconds >= 0 && request.ttlSeconds <= InputLimits.maximumTokenLifetimeSeconds else {
            throw DomainError.invalidArgument("ttl_seconds must be between 0 (no expiry) and ten years")
        }
        let owner = try principal(request.principalID, call)
        try Authorization.require(call.caller, .managePrincipals, on: owner.target)
        return try newToken(principalID: owner.id, tenantID: owner.tenantID, ttlSeconds: request.ttlSeconds, call)
    }

    func revokeToken(_ request: RevokeTokenRequest, _ call: Call) throws -> Token {
        try InputLimits.check(request.tokenID, field: "token_id", max: InputLimits.idLength)
        guard let token = try tokens.find(id: request.tokenID, lock: true, call.db) else {
            throw DomainError.notFound("no such token")
        }
        try Authorization.require(call.caller, .managePrincipals, on: Target(tenantID: token.tenantID ?? ""))
        if try tokens.revoke(id: token.id, nowMs: call.nowMs, call.db) {
            try record(
                call,
                tenant: token.tenantID ?? "",
                Activity.tokenRevoked,
                ["token_id": .string(token.id), "principal_id": .string(token.principalID)]
            )
        }
        var revoked = token.proto
        revoked.revoked = true
        return revoked
    }

    private func principal(_ id: String, _ call: Call) throws -> PrincipalRecord {
        guard let principal = try principals.find(id: id, call.db) else {
            throw DomainError.notFound("no such principal")
        }
        return principal
    }

    private func newPrincipal(displayName: String, tenantID: String?, _ call: Call) throws -> String {
        let id = Credentials.newID("p")
        try principals.create(id: id, tenantID: tenantID, displayName: displayName, nowMs: call.nowMs, call.db)
        try record(
            call,
            tenant: tenantID ?? "",
            Activity.principalCreated,
            ["principal_id": .string(id), "display_name": .string(displayName)]
        )
        return id
    }

    private func newToken(principalID: String, tenantID: String?, ttlSeconds: Int64, _ call: Call) throws
        -> IssuedToken
    {
        let secret = Credentials.newSecret()
        let token = TokenRecord(
            id: Credentials.newID("tok"),
            principalID: principalID,
            tenantID: tenantID,
            createdAtMs: call.nowMs,
            expiresAtMs: ttlSeconds > 0 ? call.nowMs + ttlSeconds * 1000 : nil
        )
        try tokens.insert(token, secretHash: Credentials.hash(secret), call.db)
        try record(
            call,
            tenant: tenantID ?? "",
            Activity.tokenIssued,
            [
                "token_id": .string(token.id), "principal_id": .string(principalID),
                "expires_at_ms": token.expiresAtMs.map { .int($0) } ?? .null,
            ]
        )
        return IssuedToken(token: token.proto, secret: secret)
    }

    // MARK: Roles

    func assignRole(_ request: RoleAssignment, _ call: Call) throws -> RoleAssignment {
        let role = try checkRoleChange(request, call)
        try assign(role, to: request.principalID, tenantID: request.tenantID, call)
        return RoleAssignmentRecord(
            principalID: request.principalID,
            role: role,
            tenantID: request.tenantID,
            assignedBy: call.caller.id,
            assignedAtMs: call.nowMs
        ).proto
    }

    func removeRole(_ request: RoleAssignment, _ call: Call) throws -> RoleAssignment {
        let role = try checkRoleChange(request, call)
        if role == .globalAdmin {
            // Serialize removals of a tenant's global admins, so two cannot remove the last two at once.
            _ = try tenants.rules(tenantID: request.tenantID, lock: true, call.db)
            if try principals.holders(of: .globalAdmin, tenantID: request.tenantID, call.db) <= 1 {
                throw DomainError(.failedPrecondition, "a tenant must keep at least one global admin")
            }
        }
        guard
            let removed = try principals.remove(
                principalID: request.principalID,
                role: role,
                tenantID: request.tenantID,
                call.db
            )
        else { throw DomainError.notFound("the principal does not hold that role") }
        try record(
            call,
            tenant: request.tenantID,
            Activity.roleRemoved,
            ["principal_id": .string(request.principalID), "role": .string(role.rawValue)]
        )
        return removed.proto
    }

    func listRoleAssignments(_ request: ListRoleAssignmentsRequest, _ call: Call) throws -> ListRoleAssignmentsResponse
    {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        try Authorization.require(call.caller, .readRoles, on: Target(tenantID: request.tenantID))
        let records = try principals.assignments(
            tenantID: request.tenantID,
            limit: InputLimits.maximumListLength,
            call.db
        )
        return ListRoleAssignmentsResponse(assignments: records.map(\.proto))
    }

    /// Checks who may change this assignment: a tenant role only by a global admin of that
    /// tenant, on a principal of that tenant; a provider role only by a provider admin.
    private func checkRoleChange(_ request: RoleAssignment, _ call: Call) throws -> LockboxCore.Role {
        try InputLimits.check(request.principalID, field: "principal_id", max: InputLimits.idLength)
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        guard let role = LockboxCore.Role(proto: request.role) else {
            throw DomainError.invalidArgument("unknown role")
        }
        guard role.isTenantRole == !request.tenantID.isEmpty else {
            throw DomainError.invalidArgument(
                role.isTenantRole ? "tenant roles need a tenant_id" : "provider roles take no tenant_id"
            )
        }
        try Authorization.require(call.caller, .manageRoles, on: Target(tenantID: request.tenantID))
        guard let holder = try principals.find(id: request.principalID, call.db),
            (holder.tenantID ?? "") == request.tenantID
        else { throw DomainError.notFound("no such principal") }
        return role
    }

    private func assign(_ role: LockboxCore.Role, to principalID: String, tenantID: String, _ call: Call) throws {
        let assignment = RoleAssignmentRecord(
            principalID: principalID,
            role: role,
            tenantID: tenantID,
            assignedBy: call.caller.id,
            assignedAtMs: call.nowMs
        )
        guard try principals.assign(assignment, call.db) else {
            throw DomainError(.alreadyExists, "the principal already holds that role")
        }
        try record(
            call,
            tenant: tenantID,
            Activity.roleAssigned,
            ["principal_id": .string(principalID), "role": .string(role.rawValue)]
        )
    }

    private func record(_ call: Call, tenant: String, _ activity: String, _ details: [String: JSONValue]) throws {
        try audit.append(
            AuditEntry(by: call.caller, tenantID: tenant, activity: activity, details: details),
            nowMs: call.nowMs,
            call.db
        )
    }
}
