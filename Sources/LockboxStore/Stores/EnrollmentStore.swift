import LockboxCore

/// Enrollment codes: how a tenant's first global admin gets a credential the provider never sees.
package struct EnrollmentStore: Sendable {
    package init() {}

    /// Stores a new code under the hash of its secret, and supersedes the tenant's codes that
    /// were not redeemed: only the newest one works.
    package func issue(_ code: EnrollmentCodeRecord, secretHash: [UInt8], _ db: PGConnection) throws {
        try db.query(
            """
            UPDATE enrollment_codes SET superseded_at_ms = \(code.issuedAtMs)
            WHERE tenant_id = \(code.tenantID) AND redeemed_at_ms IS NULL AND superseded_at_ms IS NULL
            """
        )
        try db.query(
            """
            INSERT INTO enrollment_codes (tenant_id, code_id, code_hash, issued_by, issued_at_ms, expires_at_ms)
            VALUES (\(code.tenantID), \(code.id), \(PGBytes(secretHash)), \(code.issuedBy), \(code.issuedAtMs),
                    \(code.expiresAtMs))
            """
        )
    }

    /// The tenant's code with this hash, locked until the transaction ends when `lock`; nil when
    /// there is none.
    package func find(tenantID: String, secretHash: [UInt8], lock: Bool, _ db: PGConnection) throws
        -> EnrollmentCodeRecord?
    {
        let select: PGQuery = """
            SELECT code_id, tenant_id, issued_by, issued_at_ms, expires_at_ms, redeemed_at_ms, superseded_at_ms
            FROM enrollment_codes WHERE tenant_id = \(tenantID) AND code_hash = \(PGBytes(secretHash))
            """
        let rows = try db.query(lock ? "\(select) FOR NO KEY UPDATE" : select)
        return try rows.first.map { row in
            EnrollmentCodeRecord(
                id: try row.decode("code_id"),
                tenantID: try row.decode("tenant_id"),
                issuedBy: try row.decode("issued_by"),
                issuedAtMs: try row.decode("issued_at_ms"),
                expiresAtMs: try row.decode("expires_at_ms"),
                redeemedAtMs: try row.decode("redeemed_at_ms"),
                supersededAtMs: try row.decode("superseded_at_ms")
            )
        }
    }

    /// Marks a code redeemed by a principal.
    package func redeem(tenantID: String, codeID: String, by principalID: String, nowMs: Int64, _ db: PGConnection)
        throws
    {
        try db.query(
            """
            UPDATE enrollment_codes SET redeemed_at_ms = \(nowMs), redeemed_by = \(principalID)
            WHERE tenant_id = \(tenantID) AND code_id = \(codeID)
            """
        )
    }
}
