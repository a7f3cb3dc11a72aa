import LockboxCore
import LockboxStore

/// Creates the first provider admin, directly in the database. Run once, by `lockboxd bootstrap`.
public enum Bootstrap {
    public struct Result: Sendable {
        public let principalID: String
        public let token: String
    }

    public struct AlreadyBootstrapped: Error, CustomStringConvertible {
        public var description: String {
            "a provider admin already exists; use its token to create more principals"
        }
    }

    public static func createProviderAdmin(displayName: String, pool: PGPool, clock: any LockboxClock) async throws -> Result {
        try await pool.transaction { db in
            // One bootstrap at a time, even from two processes.
            try db.query("SELECT pg_advisory_xact_lock($1)", ["5008119"])
            let existing = try db.query("SELECT 1 FROM role_assignments WHERE role = 'provider_admin' LIMIT 1")
            guard existing.isEmpty else { throw AlreadyBootstrapped() }
            let now = clock.nowMillis()
            let id = Tokens.newID("p")
            let secret = Tokens.newSecret()
            let tokenID = Tokens.newID("tok")
            try db.query(
                "INSERT INTO principals (principal_id, tenant_id, display_name, created_at_ms) VALUES ($1, NULL, $2, $3::bigint)",
                [id, displayName, String(now)]
            )
            try db.query(
                """
                INSERT INTO role_assignments (principal_id, role, tenant_id, assigned_by, assigned_at_ms)
                VALUES ($1, 'provider_admin', '', 'bootstrap', $2::bigint)
                """,
                [id, String(now)]
            )
            try db.query(
                """
                INSERT INTO api_tokens (token_id, principal_id, tenant_id, token_hash, created_at_ms)
                VALUES ($1, $2, NULL, decode($3, 'hex'), $4::bigint)
                """,
                [tokenID, id, Tokens.hashHex(secret), String(now)]
            )
            for (activity, details) in [
                (Activity.principalCreated, ["principal_id": JSONValue.string(id), "display_name": .string(displayName)]),
                (Activity.roleAssigned, ["principal_id": .string(id), "role": .string("provider_admin")]),
                (Activity.tokenIssued, ["principal_id": .string(id), "token_id": .string(tokenID)]),
            ] {
                try AuditLog.append(
                    AuditEntry(
                        tenantID: "",
                        actorID: "bootstrap",
                        actorDisplay: "lockboxd bootstrap",
                        actorIP: "",
                        activity: activity,
                        details: details
                    ),
                    nowMs: now,
                    db: db
                )
            }
            return Result(principalID: id, token: secret)
        }
    }
}
