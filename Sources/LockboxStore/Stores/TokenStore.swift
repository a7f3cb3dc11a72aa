import LockboxCore

/// Bearer tokens, kept only as SHA-256 hashes, and authentication by them.
package struct TokenStore: Sendable {
    package init() {}

    /// Stores a new token under the hash of its secret.
    package func insert(_ token: TokenRecord, secretHash: [UInt8], _ db: PGConnection) throws {
        try db.query(
            """
            INSERT INTO api_tokens (token_id, principal_id, tenant_id, token_hash, created_at_ms, expires_at_ms)
            VALUES (\(token.id), \(token.principalID), \(token.tenantID), \(PGBytes(secretHash)), \(token.createdAtMs),
                    \(token.expiresAtMs))
            """
        )
    }

    /// The caller behind a token's hash, with the roles its principal holds now; nil when
    /// the token is unknown, revoked or expired at `nowMs`.
    package func authenticate(secretHash: [UInt8], ip: String, nowMs: Int64, _ db: PGConnection) throws -> Caller? {
        try authenticated(secretHash: secretHash, ip: ip, nowMs: nowMs, db)?.caller
    }

    /// The caller behind a token's hash with what a cache of it needs: the principal's
    /// `auth_version` (which every change to its authority bumps) and the token's expiry.
    package func authenticated(secretHash: [UInt8], ip: String, nowMs: Int64, _ db: PGConnection) throws
        -> AuthenticatedToken?
    {
        let rows = try db.query(
            """
            SELECT t.token_id, t.expires_at_ms, p.principal_id, p.display_name, p.tenant_id, p.certificate_sha256,
                   p.auth_version, r.role, r.tenant_id AS role_tenant_id
            FROM api_tokens t
            JOIN principals p ON p.principal_id = t.principal_id
            LEFT JOIN role_assignments r ON r.principal_id = p.principal_id
            WHERE t.token_hash = \(PGBytes(secretHash))
              AND t.revoked_at_ms IS NULL
              AND (t.expires_at_ms IS NULL OR t.expires_at_ms > \(nowMs))
              AND p.suspended_at_ms IS NULL
            """
        )
        guard let first = rows.first else { return nil }
        var assignments = Set<Caller.Assignment>()
        for row in rows.rows {
            if let role = try row.decode("role", as: Role?.self) {
                assignments.insert(Caller.Assignment(role: role, tenantID: try row.decode("role_tenant_id")))
            }
        }
        let caller = Caller(
            id: try first.decode("principal_id"),
            displayName: try first.decode("display_name"),
            tenantID: try first.decode("tenant_id"),
            assignments: assignments,
            ip: ip,
            tokenID: try first.decode("token_id"),
            certificateSHA256: try first.decode("certificate_sha256", as: PGBytes?.self)?.bytes
        )
        return AuthenticatedToken(
            caller: caller,
            authVersion: try first.decode("auth_version"),
            expiresAtMs: try first.decode("expires_at_ms")
        )
    }

    /// Whether an authentication read before still holds: the token is neither revoked nor
    /// expired, its principal is not suspended, and nothing about the principal's authority
    /// changed since (its `auth_version` is the same). One index lookup, in the statement that
    /// also names the caller as the transaction's actor (``AuditStore/attribute(to:_:)``).
    package func stillValid(_ token: AuthenticatedToken, nowMs: Int64, _ db: PGConnection) throws -> Bool {
        try Self.stillValid(from: db.query(stillValidQuery(token, nowMs: nowMs)))
    }

    /// The statement of ``stillValid(_:nowMs:_:)``, which also names the caller as the actor of
    /// the rest of the transaction.
    func stillValidQuery(_ token: AuthenticatedToken, nowMs: Int64) -> PGQuery {
        let caller = token.caller
        return """
            SELECT \(AuditStore.attribution(AuditActor(caller))) AS attributed,
                   EXISTS (
                       SELECT 1 FROM api_tokens t JOIN principals p ON p.principal_id = t.principal_id
                       WHERE t.token_id = \(caller.tokenID) AND t.revoked_at_ms IS NULL
                         AND (t.expires_at_ms IS NULL OR t.expires_at_ms > \(nowMs))
                         AND p.suspended_at_ms IS NULL AND p.auth_version = \(token.authVersion)
                   ) AS valid
            """
    }

    static func stillValid(from rows: PGRows) throws -> Bool {
        try rows.first?.decode("valid", as: Bool.self) == true
    }

    /// The key of the checksum new tokens and enrollment codes carry (migrations/0010).
    package func credentialKey(_ db: PGConnection) throws -> [UInt8] {
        guard let row = try db.query("SELECT secret FROM credential_keys WHERE key_id = 1").first else {
            throw StoreError(.migration, detail: "credential_keys holds no key")
        }
        return try row.decode("secret", as: PGBytes.self).bytes
    }

    /// The hashes of tokens issued before checksums that may still authenticate.
    package func legacyHashes(nowMs: Int64, _ db: PGConnection) throws -> [[UInt8]] {
        try db.query(
            """
            SELECT token_hash FROM api_tokens
            WHERE legacy AND revoked_at_ms IS NULL AND (expires_at_ms IS NULL OR expires_at_ms > \(nowMs))
            """
        ).rows.map { try $0.decode("token_hash", as: PGBytes.self).bytes }
    }

    /// The token, locked until the transaction ends when `lock` is set.
    package func find(id: String, lock: Bool, _ db: PGConnection) throws -> TokenRecord? {
        let select: PGQuery = """
            SELECT token_id, principal_id, tenant_id, created_at_ms, expires_at_ms, revoked_at_ms
            FROM api_tokens WHERE token_id = \(id)
            """
        let rows = try db.query(lock ? "\(select) FOR NO KEY UPDATE" : select)
        return try rows.first.map { row in
            TokenRecord(
                id: try row.decode("token_id"),
                principalID: try row.decode("principal_id"),
                tenantID: try row.decode("tenant_id"),
                createdAtMs: try row.decode("created_at_ms"),
                expiresAtMs: try row.decode("expires_at_ms"),
                revokedAtMs: try row.decode("revoked_at_ms")
            )
        }
    }

    /// Revokes every token of a principal that is not revoked yet; returns their ids.
    package func revokeAll(principalID: String, nowMs: Int64, _ db: PGConnection) throws -> [String] {
        let updated = try db.query(
            """
            UPDATE api_tokens SET revoked_at_ms = \(nowMs)
            WHERE principal_id = \(principalID) AND revoked_at_ms IS NULL
            RETURNING token_id
            """
        )
        return try updated.rows.map { try $0.decode("token_id") }.sorted()
    }

    /// Revokes the token; false when it was revoked already.
    package func revoke(id: String, nowMs: Int64, _ db: PGConnection) throws -> Bool {
        let updated = try db.query(
            """
            UPDATE api_tokens SET revoked_at_ms = \(nowMs) WHERE token_id = \(id) AND revoked_at_ms IS NULL
            RETURNING token_id
            """
        )
        return !updated.isEmpty
    }
}

/// An authentication, as a cache keeps it.
package struct AuthenticatedToken: Sendable, Hashable {
    package var caller: Caller
    /// The principal's `auth_version` when it was read.
    package var authVersion: Int64
    package var expiresAtMs: Int64?

    package init(caller: Caller, authVersion: Int64, expiresAtMs: Int64?) {
        self.caller = caller
        self.authVersion = authVersion
        self.expiresAtMs = expiresAtMs
    }
}
