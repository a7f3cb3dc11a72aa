import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore

extension LockboxService {
    func registerAdminMethods(_ router: inout RPCRouter) {
        unary(&router, LockboxMethod.createTenant, .createTenant) { (request: CreateTenantRequest, env) in
            try Self.createTenant(request, env)
        }
        unary(&router, LockboxMethod.getTenantSettings, .readTenantSettings) { (request: GetTenantSettingsRequest, env) in
            try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
            try Authorizer.require(env.caller, .readTenantSettings, tenant: request.tenantID, notFound: "no such tenant")
            return try Self.settings(request.tenantID, env.db)
        }
        unary(&router, LockboxMethod.setTenantSettings, .writeTenantSettings) { (request: TenantSettings, env) in
            try Self.setSettings(request, env)
        }
        unary(&router, LockboxMethod.createPrincipal, .managePrincipals) { (request: CreatePrincipalRequest, env) in
            try Self.createPrincipal(request, env)
        }
        unary(&router, LockboxMethod.listPrincipals, .managePrincipals) { (request: ListPrincipalsRequest, env) in
            try Self.requireAdmin(env.caller, tenant: request.tenantID)
            let rows = try env.db.query(
                """
                SELECT principal_id, display_name, tenant_id, created_at_ms FROM principals
                WHERE ($1 = '' AND tenant_id IS NULL) OR tenant_id = $1
                ORDER BY created_at_ms, principal_id LIMIT 1000
                """,
                [request.tenantID]
            )
            var principals: [Principal] = []
            for row in rows.rows {
                principals.append(try Self.principal(row.string("principal_id"), env.db))
            }
            return ListPrincipalsResponse(principals: principals)
        }
        unary(&router, LockboxMethod.issueToken, .managePrincipals) { (request: IssueTokenRequest, env) in
            try InputLimits.check(request.principalID, field: "principal_id", max: InputLimits.idLength)
            guard request.ttlSeconds >= 0 && request.ttlSeconds <= 10 * 365 * 86400 else {
                throw RPCError.invalidArgument("ttl_seconds must be between 0 (no expiry) and ten years")
            }
            let tenant = try Self.principalTenant(request.principalID, env.db)
            try Self.requireAdmin(env.caller, tenant: tenant ?? "")
            return try Self.issueToken(
                principalID: request.principalID,
                tenantID: tenant,
                ttlSeconds: request.ttlSeconds,
                env
            )
        }
        unary(&router, LockboxMethod.revokeToken, .managePrincipals) { (request: RevokeTokenRequest, env) in
            try InputLimits.check(request.tokenID, field: "token_id", max: InputLimits.idLength)
            let rows = try env.db.query(
                "SELECT principal_id, tenant_id FROM api_tokens WHERE token_id = $1 FOR UPDATE",
                [request.tokenID]
            )
            guard let row = rows.first else { throw RPCError.notFound("no such token") }
            try Self.requireAdmin(env.caller, tenant: row["tenant_id"] ?? "")
            let updated = try env.db.query(
                """
                UPDATE api_tokens SET revoked_at_ms = $2::bigint WHERE token_id = $1 AND revoked_at_ms IS NULL
                RETURNING principal_id, created_at_ms, expires_at_ms
                """,
                [request.tokenID, String(env.nowMs)]
            )
            if !updated.isEmpty {
                try env.audit(
                    tenant: row["tenant_id"] ?? "",
                    activity: Activity.tokenRevoked,
                    details: ["token_id": .string(request.tokenID), "principal_id": .string(row.string("principal_id"))]
                )
            }
            let token = try env.db.query(
                "SELECT token_id, principal_id, created_at_ms, expires_at_ms FROM api_tokens WHERE token_id = $1",
                [request.tokenID]
            )
            let tokenRow = token.first!
            return Token(
                id: request.tokenID,
                principalID: tokenRow.string("principal_id"),
                createdAtMs: tokenRow.int64("created_at_ms"),
                expiresAtMs: tokenRow.int64("expires_at_ms"),
                revoked: true
            )
        }
        unary(&router, LockboxMethod.assignRole, .manageRoles) { (request: RoleAssignment, env) in
            try Self.assignRole(request, env)
        }
        unary(&router, LockboxMethod.removeRole, .manageRoles) { (request: RoleAssignment, env) in
            try Self.removeRole(request, env)
        }
        unary(&router, LockboxMethod.listRoleAssignments, .readRoles) { (request: ListRoleAssignmentsRequest, env) in
            try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
            try Self.requireAdmin(env.caller, tenant: request.tenantID)
            let rows = try env.db.query(
                """
                SELECT principal_id, role, tenant_id, assigned_by, assigned_at_ms FROM role_assignments
                WHERE tenant_id = $1 ORDER BY assigned_at_ms, principal_id, role LIMIT 1000
                """,
                [request.tenantID]
            )
            return ListRoleAssignmentsResponse(assignments: rows.rows.map(Self.assignment))
        }
    }

    /// Provider principals and roles are the provider admin's; a tenant's are only its global admins'.
    static func requireAdmin(_ caller: Caller, tenant: String) throws {
        if tenant.isEmpty {
            guard caller.holds(.providerAdmin) else { throw RPCError.permissionDenied() }
        } else {
            guard caller.holds(.globalAdmin, in: tenant) else {
                if let own = caller.tenantID, own != tenant { throw RPCError.notFound("no such tenant") }
                throw RPCError.permissionDenied()
            }
        }
    }

    static func assignment(_ row: PGRow) -> RoleAssignment {
        RoleAssignment(
            principalID: row.string("principal_id"),
            role: LockboxCore.Role(rawValue: row.string("role"))?.proto ?? .unspecified,
            tenantID: row.string("tenant_id"),
            assignedBy: row.string("assigned_by"),
            assignedAtMs: row.int64("assigned_at_ms")
        )
    }

    static func principalTenant(_ principalID: String, _ db: PGConnection) throws -> String? {
        let rows = try db.query("SELECT tenant_id FROM principals WHERE principal_id = $1", [principalID])
        guard let row = rows.first else { throw RPCError.notFound("no such principal") }
        return row["tenant_id"]
    }

    static func principal(_ id: String, _ db: PGConnection) throws -> Principal {
        let rows = try db.query(
            "SELECT principal_id, display_name, tenant_id, created_at_ms FROM principals WHERE principal_id = $1",
            [id]
        )
        guard let row = rows.first else { throw RPCError.notFound("no such principal") }
        let roles = try db.query(
            """
            SELECT principal_id, role, tenant_id, assigned_by, assigned_at_ms FROM role_assignments
            WHERE principal_id = $1 ORDER BY role
            """,
            [id]
        )
        return Principal(
            id: id,
            displayName: row.string("display_name"),
            tenantID: row.string("tenant_id"),
            roles: roles.rows.map(assignment),
            createdAtMs: row.int64("created_at_ms")
        )
    }

    static func settings(_ tenantID: String, _ db: PGConnection) throws -> TenantSettings {
        let rows = try db.query(
            """
            SELECT tenant_id, lockbox_enabled, approval_window_seconds, max_access_duration_seconds
            FROM tenants WHERE tenant_id = $1
            """,
            [tenantID]
        )
        guard let row = rows.first else { throw RPCError.notFound("no such tenant") }
        return TenantSettings(
            tenantID: tenantID,
            lockboxEnabled: row.bool("lockbox_enabled"),
            approvalWindowSeconds: row.int64("approval_window_seconds"),
            maxAccessDurationSeconds: row.int64("max_access_duration_seconds")
        )
    }

    static func validTenantID(_ id: String) -> Bool {
        (2...63).contains(id.utf8.count)
            && id.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
            && id.first != "-"
    }

    static func createTenant(_ request: CreateTenantRequest, _ env: CallEnvironment) throws -> CreateTenantResponse {
        guard validTenantID(request.tenantID) else {
            throw RPCError.invalidArgument("tenant_id must be 2 to 63 characters of a-z, 0-9 and '-'")
        }
        try InputLimits.check(request.displayName, field: "display_name", max: InputLimits.displayNameLength)
        try InputLimits.check(request.adminDisplayName, field: "admin_display_name", max: InputLimits.displayNameLength)
        let inserted = try env.db.query(
            """
            INSERT INTO tenants (tenant_id, display_name, created_at_ms) VALUES ($1, $2, $3::bigint)
            ON CONFLICT (tenant_id) DO NOTHING RETURNING tenant_id
            """,
            [request.tenantID, request.displayName, String(env.nowMs)]
        )
        guard !inserted.isEmpty else { throw RPCError(.alreadyExists, "tenant \(request.tenantID) already exists") }
        try env.audit(
            tenant: request.tenantID,
            activity: Activity.tenantCreated,
            details: ["display_name": .string(request.displayName)]
        )
        let adminID = try insertPrincipal(displayName: request.adminDisplayName, tenantID: request.tenantID, env)
        try insertRole(principalID: adminID, role: .globalAdmin, tenantID: request.tenantID, env)
        let token = try issueToken(principalID: adminID, tenantID: request.tenantID, ttlSeconds: 0, env)
        return CreateTenantResponse(
            tenant: Tenant(
                id: request.tenantID,
                displayName: request.displayName,
                settings: try settings(request.tenantID, env.db),
                createdAtMs: env.nowMs
            ),
            admin: try principal(adminID, env.db),
            adminToken: token
        )
    }

    static func insertPrincipal(displayName: String, tenantID: String?, _ env: CallEnvironment) throws -> String {
        let id = Tokens.newID("p")
        try env.db.query(
            "INSERT INTO principals (principal_id, tenant_id, display_name, created_at_ms) VALUES ($1, $2, $3, $4::bigint)",
            [id, tenantID, displayName, String(env.nowMs)]
        )
        try env.audit(
            tenant: tenantID ?? "",
            activity: Activity.principalCreated,
            details: ["principal_id": .string(id), "display_name": .string(displayName)]
        )
        return id
    }

    static func insertRole(principalID: String, role: LockboxCore.Role, tenantID: String, _ env: CallEnvironment) throws {
        let inserted = try env.db.query(
            """
            INSERT INTO role_assignments (principal_id, role, tenant_id, assigned_by, assigned_at_ms)
            VALUES ($1, $2, $3, $4, $5::bigint) ON CONFLICT DO NOTHING RETURNING role
            """,
            [principalID, role.rawValue, tenantID, env.caller.id, String(env.nowMs)]
        )
        guard !inserted.isEmpty else { throw RPCError(.alreadyExists, "the principal already holds that role") }
        try env.audit(
            tenant: tenantID,
            activity: Activity.roleAssigned,
            details: ["principal_id": .string(principalID), "role": .string(role.rawValue)]
        )
    }

    static func issueToken(principalID: String, tenantID: String?, ttlSeconds: Int64, _ env: CallEnvironment) throws
        -> IssuedToken
    {
        let secret = Tokens.newSecret()
        let tokenID = Tokens.newID("tok")
        let expires: Int64? = ttlSeconds > 0 ? env.nowMs + ttlSeconds * 1000 : nil
        try env.db.query(
            """
            INSERT INTO api_tokens (token_id, principal_id, tenant_id, token_hash, created_at_ms, expires_at_ms)
            VALUES ($1, $2, $3, decode($4, 'hex'), $5::bigint, $6::bigint)
            """,
            [tokenID, principalID, tenantID, Tokens.hashHex(secret), String(env.nowMs), expires.map(String.init)]
        )
        try env.audit(
            tenant: tenantID ?? "",
            activity: Activity.tokenIssued,
            details: [
                "token_id": .string(tokenID), "principal_id": .string(principalID),
                "expires_at_ms": expires.map { .int($0) } ?? .null,
            ]
        )
        return IssuedToken(
            token: Token(id: tokenID, principalID: principalID, createdAtMs: env.nowMs, expiresAtMs: expires ?? 0),
            secret: secret
        )
    }

    static func setSettings(_ request: TenantSettings, _ env: CallEnvironment) throws -> TenantSettings {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
        try Authorizer.require(env.caller, .writeTenantSettings, tenant: request.tenantID, notFound: "no such tenant")
        if request.approvalWindowSeconds != 0 { try env.policy.validateApprovalWindow(request.approvalWindowSeconds) }
        if request.maxAccessDurationSeconds != 0 { try env.policy.validateTenantCap(request.maxAccessDurationSeconds) }
        let before = try settings(request.tenantID, env.db)
        try env.db.query(
            """
            UPDATE tenants SET lockbox_enabled = $2::boolean,
                approval_window_seconds = CASE WHEN $3::bigint = 0 THEN approval_window_seconds ELSE $3::bigint END,
                max_access_duration_seconds = CASE WHEN $4::bigint = 0 THEN max_access_duration_seconds ELSE $4::bigint END
            WHERE tenant_id = $1
            """,
            [
                request.tenantID, request.lockboxEnabled ? "true" : "false", String(request.approvalWindowSeconds),
                String(request.maxAccessDurationSeconds),
            ]
        )
        let after = try settings(request.tenantID, env.db)
        try env.audit(
            tenant: request.tenantID,
            activity: Activity.tenantSettingsChanged,
            details: [
                "lockbox_enabled_before": .bool(before.lockboxEnabled), "lockbox_enabled": .bool(after.lockboxEnabled),
                "approval_window_seconds_before": .int(before.approvalWindowSeconds),
                "approval_window_seconds": .int(after.approvalWindowSeconds),
                "max_access_duration_seconds_before": .int(before.maxAccessDurationSeconds),
                "max_access_duration_seconds": .int(after.maxAccessDurationSeconds),
            ]
        )
        return after
    }

    static func createPrincipal(_ request: CreatePrincipalRequest, _ env: CallEnvironment) throws -> Principal {
        try InputLimits.check(request.displayName, field: "display_name", max: InputLimits.displayNameLength)
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        guard request.roles.count <= InputLimits.listLength else { throw RPCError.invalidArgument("too many roles") }
        try requireAdmin(env.caller, tenant: request.tenantID)
        var roles: [LockboxCore.Role] = []
        for assignment in request.roles {
            guard let role = LockboxCore.Role(proto: assignment.role) else { throw RPCError.invalidArgument("unknown role") }
            guard role.isTenantRole == !request.tenantID.isEmpty else {
                throw RPCError.invalidArgument(
                    request.tenantID.isEmpty
                        ? "provider principals take provider roles only" : "tenant principals take tenant roles only"
                )
            }
            roles.append(role)
        }
        if !request.tenantID.isEmpty {
            guard !(try env.db.query("SELECT 1 FROM tenants WHERE tenant_id = $1", [request.tenantID])).isEmpty else {
                throw RPCError.notFound("no such tenant")
            }
        }
        let id = try insertPrincipal(
            displayName: request.displayName,
            tenantID: request.tenantID.isEmpty ? nil : request.tenantID,
            env
        )
        for role in Set(roles) { try insertRole(principalID: id, role: role, tenantID: request.tenantID, env) }
        return try principal(id, env.db)
    }

    /// Checks who may change this assignment: a tenant role only by a global admin of that
    /// tenant, on a principal of that tenant; a provider role only by a provider admin.
    static func checkRoleChange(_ request: RoleAssignment, _ env: CallEnvironment) throws -> LockboxCore.Role {
        try InputLimits.check(request.principalID, field: "principal_id", max: InputLimits.idLength)
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        guard let role = LockboxCore.Role(proto: request.role) else { throw RPCError.invalidArgument("unknown role") }
        guard role.isTenantRole == !request.tenantID.isEmpty else {
            throw RPCError.invalidArgument(role.isTenantRole ? "tenant roles need a tenant_id" : "provider roles take no tenant_id")
        }
        try requireAdmin(env.caller, tenant: request.tenantID)
        let principalTenant = try principalTenant(request.principalID, env.db)
        guard (principalTenant ?? "") == request.tenantID else {
            throw RPCError.notFound("no such principal")
        }
        return role
    }

    static func assignRole(_ request: RoleAssignment, _ env: CallEnvironment) throws -> RoleAssignment {
        let role = try checkRoleChange(request, env)
        try insertRole(principalID: request.principalID, role: role, tenantID: request.tenantID, env)
        return RoleAssignment(
            principalID: request.principalID,
            role: request.role,
            tenantID: request.tenantID,
            assignedBy: env.caller.id,
            assignedAtMs: env.nowMs
        )
    }

    static func removeRole(_ request: RoleAssignment, _ env: CallEnvironment) throws -> RoleAssignment {
        let role = try checkRoleChange(request, env)
        if role == .globalAdmin {
            // Serialize removals of a tenant's global admins, so two cannot remove the last two at once.
            try env.db.query("SELECT 1 FROM tenants WHERE tenant_id = $1 FOR UPDATE", [request.tenantID])
            let admins = try env.db.query(
                "SELECT count(*) AS n FROM role_assignments WHERE tenant_id = $1 AND role = 'global_admin'",
                [request.tenantID]
            )
            if admins.first?.int64("n") ?? 0 <= 1 {
                throw RPCError.failedPrecondition("a tenant must keep at least one global admin")
            }
        }
        let removed = try env.db.query(
            """
            DELETE FROM role_assignments WHERE principal_id = $1 AND role = $2 AND tenant_id = $3
            RETURNING principal_id, role, tenant_id, assigned_by, assigned_at_ms
            """,
            [request.principalID, role.rawValue, request.tenantID]
        )
        guard let row = removed.first else { throw RPCError.notFound("the principal does not hold that role") }
        try env.audit(
            tenant: request.tenantID,
            activity: Activity.roleRemoved,
            details: ["principal_id": .string(request.principalID), "role": .string(role.rawValue)]
        )
        return assignment(row)
    }
}
