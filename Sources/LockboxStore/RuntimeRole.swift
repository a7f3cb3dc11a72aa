import LockboxCore

/// The database role lockboxd serves as: not a superuser, owning nothing, with only the rights
/// its statements need, and on the audit log INSERT and SELECT only. Migrations run as another
/// role, the owner, which grants these rights (`lockboxd migrate --runtime-role`).
package enum RuntimeRole {
    /// Every table of the schema and what the runtime role may do with it. A store test holds
    /// this list to the schema, so a new table cannot be forgotten.
    package static let privileges: [(table: String, privileges: String)] = [
        ("schema_migrations", "SELECT"),
        ("tenants", "SELECT, INSERT, UPDATE"),
        ("principals", "SELECT, INSERT, UPDATE"),
        ("api_tokens", "SELECT, INSERT, UPDATE"),
        ("role_assignments", "SELECT, INSERT, DELETE"),
        ("access_requests", "SELECT, INSERT, UPDATE"),
        ("grants", "SELECT, INSERT, UPDATE"),
        ("grant_usage", "SELECT, INSERT, UPDATE"),
        ("audit_records", "SELECT, INSERT"),
        // Filled by a trigger on audit_records (migrations/0011); emptied by the sealer.
        ("audit_unsealed", "SELECT, DELETE"),
        ("audit_seals", "SELECT, INSERT"),
        ("audit_checkpoints", "SELECT, INSERT"),
        ("signing_keys", "SELECT, INSERT"),
        ("preapproved_operations", "SELECT, INSERT, DELETE"),
        ("enrollment_codes", "SELECT, INSERT, UPDATE"),
        ("request_events", "SELECT, INSERT, UPDATE, DELETE"),
        ("event_positions", "SELECT, UPDATE"),
        ("webhooks", "SELECT, INSERT, UPDATE"),
        ("notifications", "SELECT, INSERT, UPDATE, DELETE"),
        ("credential_keys", "SELECT"),
        // The tenant's own statements: added, never changed (migrations/0012).
        ("tenant_roots", "SELECT, INSERT"),
        ("key_certificates", "SELECT, INSERT"),
        ("key_revocations", "SELECT, INSERT"),
        ("tenant_policies", "SELECT, INSERT"),
        ("passkey_counters", "SELECT, INSERT, UPDATE"),
        ("trust_changes", "SELECT"),
        // Each approver's signed decision: added, never changed (migrations/0014).
        ("customer_decisions", "SELECT, INSERT"),
        // Approvers' delegations and their revocations: added, never changed (migrations/0016).
        ("delegations", "SELECT, INSERT"),
        ("delegation_revocations", "SELECT, INSERT"),
    ]

    /// Makes the runtime role's rights exactly ``privileges``, revoking anything else it held
    /// in the schema. Runs as the owner, after the migrations. Refuses a role that could make
    /// itself the owner, or otherwise reach past these rights (see ``problems(_:)``).
    package static func grant(to role: String, _ db: PGConnection) throws {
        guard
            let row = try db.query(
                """
                SELECT r.rolsuper AS superuser, r.rolcreaterole AS createrole, r.rolbypassrls AS bypassrls,
                       r.rolname = current_user AS is_current,
                       pg_has_role(r.rolname, current_user, 'MEMBER') AS member_of_owner
                  FROM pg_roles r WHERE r.rolname = \(role)
                """
            ).first
        else {
            throw StoreError(.migration, detail: "the runtime role \(role) does not exist; create it first")
        }
        let refusals: [(String, String)] = [
            ("superuser", "is a superuser; use a role of its own"),
            ("is_current", "is the role that runs migrations"),
            ("member_of_owner", "is a member of the role that runs migrations, so it could act as the owner"),
            ("createrole", "has CREATEROLE, so it could grant itself the owner's role"),
            ("bypassrls", "has BYPASSRLS"),
        ]
        for (column, reason) in refusals where try row.decode(column, as: Bool.self) {
            throw StoreError(.migration, detail: "the runtime role \(role) \(reason)")
        }
        try db.query("SELECT lockbox_revoke_all(\(role))")
        for (table, privileges) in Self.privileges {
            try db.query("SELECT lockbox_grant(\(role), \(table), \(privileges))")
        }
    }

    /// What is wrong with the role this connection serves as, for the audit log's sake: empty
    /// when it is a plain runtime role. A role is refused when it could rewrite the audit log
    /// directly (superuser, owning tables, UPDATE/DELETE/TRUNCATE granted), or could become
    /// something that can: a member of the audit log's owner (even without INHERIT, since it
    /// could SET ROLE), CREATEROLE, the right to create objects in the schema (which could
    /// shadow functions the owner runs), or the right to set session_replication_role (which
    /// turns triggers off).
    package static func problems(_ db: PGConnection) throws -> [String] {
        guard
            let row = try db.query(
                """
                SELECT current_user AS name,
                       r.rolsuper AS superuser, r.rolcreaterole AS createrole, r.rolbypassrls AS bypassrls,
                       (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = 'public' AND c.relowner = r.oid) AS owned,
                       (SELECT pg_has_role(r.oid, c.relowner, 'MEMBER') FROM pg_class c
                         WHERE c.oid = 'public.audit_records'::regclass) AS member_of_owner,
                       has_schema_privilege('public', 'CREATE') AS can_create,
                       current_setting('server_version_num')::int AS version,
                       has_table_privilege('public.audit_records', 'UPDATE') AS can_update,
                       has_table_privilege('public.audit_records', 'DELETE') AS can_delete,
                       has_table_privilege('public.audit_records', 'TRUNCATE') AS can_truncate,
                       EXISTS (SELECT 1 FROM unnest(ARRAY['public.audit_seals', 'public.audit_checkpoints',
                                                          'public.signing_keys']) t,
                                             unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) p
                                WHERE to_regclass(t) IS NOT NULL AND has_table_privilege(t, p)) AS can_rewrite_chain
                  FROM pg_roles r WHERE r.rolname = current_user
                """
            ).first
        else { return ["cannot read the database role"] }
        let name: String = try row.decode("name")
        var problems: [String] = []
        let owned: Int64 = try row.decode("owned")
        if owned > 0 { problems.append("\(name) owns \(owned) tables or indexes, the audit log's among them") }
        let checks: [(String, String)] = [
            ("superuser", "is a superuser"),
            ("member_of_owner", "is a member of the audit log's owner and could SET ROLE to it"),
            ("createrole", "has CREATEROLE and could grant itself the owner's role"),
            ("bypassrls", "has BYPASSRLS"),
            ("can_create", "may CREATE in schema public"),
            ("can_update", "may UPDATE audit_records"),
            ("can_delete", "may DELETE audit_records"),
            ("can_truncate", "may TRUNCATE audit_records"),
            ("can_rewrite_chain", "may UPDATE, DELETE or TRUNCATE the audit chain's seals, checkpoints or keys"),
        ]
        for (column, what) in checks where try row.decode(column, as: Bool.self) {
            problems.append("\(name) \(what)")
        }
        // GRANT SET ON PARAMETER exists from PostgreSQL 15; before it only superusers may.
        if try row.decode("version", as: Int.self) >= 150_000,
            try db.query(
                "SELECT has_parameter_privilege('session_replication_role', 'SET') AS can_set"
            ).first?.decode("can_set", as: Bool.self) == true
        {
            problems.append("\(name) may set session_replication_role, which turns triggers off")
        }
        return problems
    }
}
