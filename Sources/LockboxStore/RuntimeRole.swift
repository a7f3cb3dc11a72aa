import LockboxCore

/// The database role lockboxd serves as: not a superuser, owning nothing, with only the rights
/// its statements need, and on the audit log INSERT and SELECT only. Migrations run as another
/// role, the owner, which grants these rights (`lockboxd migrate --runtime-role`).
public enum RuntimeRole {
    /// Every table of the schema and what the runtime role may do with it. A store test holds
    /// this list to the schema, so a new table cannot be forgotten.
    public static let privileges: [(table: String, privileges: String)] = [
        ("schema_migrations", "SELECT"),
        ("tenants", "SELECT, INSERT, UPDATE"),
        ("principals", "SELECT, INSERT, UPDATE"),
        ("api_tokens", "SELECT, INSERT, UPDATE"),
        ("role_assignments", "SELECT, INSERT, DELETE"),
        ("access_requests", "SELECT, INSERT, UPDATE"),
        ("grants", "SELECT, INSERT, UPDATE"),
        ("audit_records", "SELECT, INSERT"),
        ("preapproved_operations", "SELECT, INSERT, DELETE"),
        ("enrollment_codes", "SELECT, INSERT, UPDATE"),
    ]

    /// Makes the runtime role's rights exactly ``privileges``, revoking anything else it held
    /// in the schema. Runs as the owner, after the migrations.
    public static func grant(to role: String, _ db: PGConnection) throws {
        guard let exists = try db.query("SELECT rolsuper FROM pg_roles WHERE rolname = \(role)").first else {
            throw StoreError(.migration, detail: "the runtime role \(role) does not exist; create it first")
        }
        guard try !exists.decode("rolsuper", as: Bool.self) else {
            throw StoreError(.migration, detail: "the runtime role \(role) is a superuser; use a role of its own")
        }
        let current = try db.query("SELECT current_user AS name").first?.decode("name", as: String.self)
        guard current != role else {
            throw StoreError(.migration, detail: "the runtime role \(role) is the role that runs migrations")
        }
        try db.query("SELECT lockbox_revoke_all(\(role))")
        for (table, privileges) in Self.privileges {
            try db.query("SELECT lockbox_grant(\(role), \(table), \(privileges))")
        }
    }

    /// What is wrong with the role this connection serves as, for the audit log's sake: empty
    /// when it is a plain runtime role.
    public static func problems(_ db: PGConnection) throws -> [String] {
        guard
            let row = try db.query(
                """
                SELECT current_user AS name,
                       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
                       (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user) AS owned,
                       has_table_privilege('audit_records', 'UPDATE') AS can_update,
                       has_table_privilege('audit_records', 'DELETE') AS can_delete,
                       has_table_privilege('audit_records', 'TRUNCATE') AS can_truncate
                """
            ).first
        else { return ["cannot read the database role"] }
        let name: String = try row.decode("name")
        var problems: [String] = []
        if try row.decode("superuser", as: Bool.self) { problems.append("\(name) is a superuser") }
        let owned: Int64 = try row.decode("owned")
        if owned > 0 { problems.append("\(name) owns \(owned) tables or indexes, the audit log's among them") }
        for (column, what) in [("can_update", "UPDATE"), ("can_delete", "DELETE"), ("can_truncate", "TRUNCATE")] {
            if try row.decode(column, as: Bool.self) { problems.append("\(name) may \(what) audit_records") }
        }
        return problems
    }
}
