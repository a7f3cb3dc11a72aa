import LockboxCore

/// Tenants and their settings.
package struct TenantStore: Sendable {
    package init() {}

    /// Creates a tenant with the default settings; false when the id is taken.
    package func create(id: String, displayName: String, nowMs: Int64, _ db: PGConnection) throws -> Bool {
        let inserted = try db.query(
            """
            INSERT INTO tenants (tenant_id, display_name, created_at_ms) VALUES (\(id), \(displayName), \(nowMs))
            ON CONFLICT (tenant_id) DO NOTHING RETURNING tenant_id
            """
        )
        return !inserted.isEmpty
    }

    /// The tenant's settings, or nil when there is no such tenant. `lock` holds the tenant row
    /// until the transaction ends, serializing changes that must see each other.
    package func rules(tenantID: String, lock: Bool = false, _ db: PGConnection) throws -> TenantRules? {
        let select: PGQuery = """
            SELECT lockbox_enabled, approval_window_seconds, max_access_duration_seconds,
                   (SELECT max(change_id) FROM trust_changes c WHERE c.tenant_id = tenants.tenant_id) AS trust_version
            FROM tenants WHERE tenant_id = \(tenantID)
            """
        let rows = try db.query(lock ? "\(select) FOR NO KEY UPDATE" : select)
        return try rows.first.map { row in
            TenantRules(
                lockboxEnabled: try row.decode("lockbox_enabled"),
                approvalWindowSeconds: try row.decode("approval_window_seconds"),
                maxAccessDurationSeconds: try row.decode("max_access_duration_seconds"),
                trustVersion: try row.decode("trust_version", as: Int64?.self)
            )
        }
    }

    /// Changes the settings given; nil leaves one as it is.
    package func update(
        tenantID: String,
        lockboxEnabled: Bool?,
        approvalWindowSeconds: Int64?,
        maxAccessDurationSeconds: Int64?,
        _ db: PGConnection
    ) throws {
        try db.query(
            """
            UPDATE tenants SET lockbox_enabled = COALESCE(\(lockboxEnabled), lockbox_enabled),
                approval_window_seconds = COALESCE(\(approvalWindowSeconds), approval_window_seconds),
                max_access_duration_seconds = COALESCE(\(maxAccessDurationSeconds), max_access_duration_seconds)
            WHERE tenant_id = \(tenantID)
            """
        )
    }
}
