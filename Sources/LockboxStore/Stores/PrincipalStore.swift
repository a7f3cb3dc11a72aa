import LockboxCore

/// Principals and their role assignments.
package struct PrincipalStore: Sendable {
    package init() {}

    /// The advisory lock key of `lockboxd bootstrap`.
    static let bootstrapLockKey: Int64 = 5_008_119

    static func assignment(_ row: PGRow) throws -> RoleAssignmentRecord {
        RoleAssignmentRecord(
            principalID: try row.decode("principal_id"),
            role: try row.decode("role"),
            tenantID: try row.decode("tenant_id"),
            assignedBy: try row.decode("assigned_by"),
            assignedAtMs: try row.decode("assigned_at_ms")
        )
    }

    package func create(id: String, tenantID: String?, displayName: String, nowMs: Int64, _ db: PGConnection) throws {
        try db.query(
            """
            INSERT INTO principals (principal_id, tenant_id, display_name, created_at_ms)
            VALUES (\(id), \(tenantID), \(displayName), \(nowMs))
            """
        )
    }

    /// The principal with its roles, or nil.
    package func find(id: String, _ db: PGConnection) throws -> PrincipalRecord? {
        try principals(
            """
            SELECT p.principal_id, p.display_name, p.tenant_id, p.created_at_ms, p.suspended_at_ms, p.email,
                   r.role, r.tenant_id AS role_tenant_id, r.assigned_by, r.assigned_at_ms
            FROM principals p LEFT JOIN role_assignments r ON r.principal_id = p.principal_id
            WHERE p.principal_id = \(id)
            ORDER BY r.role
            """,
            db
        ).first
    }

    /// Principals of one tenant, or the provider's (nil).
    static func home(_ tenantID: String?) -> PGQuery {
        guard let tenantID else { return "tenant_id IS NULL" }
        return "tenant_id = \(tenantID)"
    }

    /// The principals of a tenant (nil: the provider's), oldest first, with their roles.
    package func list(tenantID: String?, limit: Int, _ db: PGConnection) throws -> [PrincipalRecord] {
        try principals(
            """
            SELECT p.principal_id, p.display_name, p.tenant_id, p.created_at_ms, p.suspended_at_ms, p.email,
                   r.role, r.tenant_id AS role_tenant_id, r.assigned_by, r.assigned_at_ms
            FROM (SELECT * FROM principals
                  WHERE \(Self.home(tenantID))
                  ORDER BY created_at_ms, principal_id LIMIT \(limit)) p
            LEFT JOIN role_assignments r ON r.principal_id = p.principal_id
            ORDER BY p.created_at_ms, p.principal_id, r.role
            """,
            db
        )
    }

    /// Groups rows of principals joined with their roles, in the statement's order.
    private func principals(_ query: PGQuery, _ db: PGConnection) throws -> [PrincipalRecord] {
        var result: [PrincipalRecord] = []
        for row in try db.query(query).rows {
            let id: String = try row.decode("principal_id")
            if result.last?.id != id {
                result.append(
                    PrincipalRecord(
                        id: id,
                        displayName: try row.decode("display_name"),
                        tenantID: try row.decode("tenant_id"),
                        createdAtMs: try row.decode("created_at_ms"),
                        roles: [],
                        suspendedAtMs: try row.decode("suspended_at_ms"),
                        email: try row.decode("email")
                    )
                )
            }
            if let role = try row.decode("role", as: Role?.self) {
                result[result.count - 1].roles.append(
                    RoleAssignmentRecord(
                        principalID: id,
                        role: role,
                        tenantID: try row.decode("role_tenant_id"),
                        assignedBy: try row.decode("assigned_by"),
                        assignedAtMs: try row.decode("assigned_at_ms")
                    )
                )
            }
        }
        return result
    }

    /// Assigns a role; false when the principal already holds it.
    package func assign(_ assignment: RoleAssignmentRecord, _ db: PGConnection) throws -> Bool {
        let inserted = try db.query(
            """
            INSERT INTO role_assignments (principal_id, role, tenant_id, assigned_by, assigned_at_ms)
            VALUES (\(assignment.principalID), \(assignment.role), \(assignment.tenantID), \(assignment.assignedBy),
                    \(assignment.assignedAtMs))
            ON CONFLICT DO NOTHING RETURNING role
            """
        )
        return !inserted.isEmpty
    }

    /// Removes a role and returns the assignment, or nil when the principal did not hold it.
    package func remove(principalID: String, role: Role, tenantID: String, _ db: PGConnection) throws
        -> RoleAssignmentRecord?
    {
        let removed = try db.query(
            """
            DELETE FROM role_assignments
            WHERE principal_id = \(principalID) AND role = \(role) AND tenant_id = \(tenantID)
            RETURNING principal_id, role, tenant_id, assigned_by, assigned_at_ms
            """
        )
        return try removed.first.map(Self.assignment)
    }

    /// The role assignments in a tenant ("" for provider roles), oldest first.
    package func assignments(tenantID: String, limit: Int, _ db: PGConnection) throws -> [RoleAssignmentRecord] {
        let rows = try db.query(
            """
            SELECT principal_id, role, tenant_id, assigned_by, assigned_at_ms FROM role_assignments
            WHERE tenant_id = \(tenantID) ORDER BY assigned_at_ms, principal_id, role LIMIT \(limit)
            """
        )
        return try rows.rows.map(Self.assignment)
    }

    /// How many principals hold `role` in `tenantID` ("" for provider roles).
    package func holders(of role: Role, tenantID: String, _ db: PGConnection) throws -> Int {
        let rows = try db.query(
            "SELECT count(*) AS n FROM role_assignments WHERE tenant_id = \(tenantID) AND role = \(role)"
        )
        return try rows.first?.decode("n") ?? 0
    }

    /// Holds a transaction-scoped lock that serializes bootstrapping, across processes.
    package func lockBootstrap(_ db: PGConnection) throws {
        try db.query("SELECT pg_advisory_xact_lock(\(Self.bootstrapLockKey))")
    }

    /// Binds the principal to a client certificate's SHA-256, or unbinds it (nil).
    package func bindCertificate(id: String, sha256: [UInt8]?, _ db: PGConnection) throws {
        try db.query(
            "UPDATE principals SET certificate_sha256 = \(sha256.map(PGBytes.init)) WHERE principal_id = \(id)"
        )
    }

    /// Suspends an active principal; false when it was suspended already.
    package func suspend(id: String, nowMs: Int64, _ db: PGConnection) throws -> Bool {
        let updated = try db.query(
            """
            UPDATE principals SET suspended_at_ms = \(nowMs)
            WHERE principal_id = \(id) AND suspended_at_ms IS NULL RETURNING principal_id
            """
        )
        return !updated.isEmpty
    }

    /// Reactivates a suspended principal; false when it was active.
    package func reactivate(id: String, _ db: PGConnection) throws -> Bool {
        let updated = try db.query(
            """
            UPDATE principals SET suspended_at_ms = NULL
            WHERE principal_id = \(id) AND suspended_at_ms IS NOT NULL RETURNING principal_id
            """
        )
        return !updated.isEmpty
    }

    /// Sets or clears (nil) a principal's email address.
    package func setEmail(id: String, email: String?, _ db: PGConnection) throws {
        try db.query("UPDATE principals SET email = \(email) WHERE principal_id = \(id)")
    }

    /// The addresses of a tenant's active global admins and approvers: each address once,
    /// however many principals share it.
    package func approverAddresses(tenantID: String, limit: Int, _ db: PGConnection) throws
        -> [(principalID: String, email: String)]
    {
        try db.query(
            """
            SELECT DISTINCT ON (lower(p.email)) p.principal_id, p.email FROM principals p
            JOIN role_assignments r ON r.principal_id = p.principal_id
            WHERE r.tenant_id = \(tenantID) AND r.role IN (\(literal: Role.globalAdmin), \(literal: Role.lockboxApprover))
              AND p.tenant_id = \(tenantID) AND p.suspended_at_ms IS NULL AND p.email IS NOT NULL
            ORDER BY lower(p.email), p.principal_id LIMIT \(limit)
            """
        ).rows.map { (try $0.decode("principal_id"), try $0.decode("email")) }
    }
}
