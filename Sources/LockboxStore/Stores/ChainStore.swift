import LockboxCore

/// A chain's head: its last sealed record's sequence number and hash (0 and empty before the first).
package struct ChainHead: Sendable, Hashable {
    package var scope: String
    package var seq: Int64
    package var hash: [UInt8]
    /// When the last record was sealed (0 before the first).
    package var sealedAtMs: Int64

    package init(scope: String, seq: Int64, hash: [UInt8], sealedAtMs: Int64 = 0) {
        self.scope = scope
        self.seq = seq
        self.hash = hash
        self.sealedAtMs = sealedAtMs
    }
}

/// One record's place in its chain, as the sealer computed it.
package struct NewSeal: Sendable, Hashable {
    package var auditID: Int64
    package var seq: Int64
    package var hash: [UInt8]

    package init(auditID: Int64, seq: Int64, hash: [UInt8]) {
        self.auditID = auditID
        self.seq = seq
        self.hash = hash
    }
}

/// The audit log's hash chains (docs/audit-integrity.md): one per tenant and one for
/// provider-wide records (scope ""). Appends never touch them; the sealer moves committed
/// records from the queue into their chain, one scope at a time, under that scope's lock.
package struct ChainStore: Sendable {
    package init() {}

    static func checkpoint(_ row: PGRow) throws -> StoredCheckpoint {
        StoredCheckpoint(
            id: try row.decode("checkpoint_id"),
            scope: try row.decode("tenant_id"),
            seq: try row.decode("seq"),
            hash: (try row.decode("hash") as PGBytes).bytes,
            signedAtMs: try row.decode("signed_at_ms"),
            keyID: try row.decode("key_id"),
            signature: (try row.decode("signature") as PGBytes).bytes
        )
    }

    /// One lock per scope: sealers of different tenants never wait on each other.
    static func lockKey(_ scope: String) -> PGQuery { "hashtextextended('lockbox/chain/' || \(scope), 0)" }

    /// A skip scan over the queue's primary key: one index probe per scope, however long the
    /// queue grew while no sealer ran.
    package func pendingScopes(after: String?, limit: Int, _ db: PGConnection) throws -> [String] {
        var start: PGQuery = ""
        if let after { start = "WHERE tenant_id > \(after)" }
        let rows = try db.query(
            """
            WITH RECURSIVE scopes AS (
                (SELECT tenant_id FROM audit_unsealed \(start) ORDER BY tenant_id LIMIT 1)
                UNION ALL
                SELECT (SELECT u.tenant_id FROM audit_unsealed u WHERE u.tenant_id > s.tenant_id
                        ORDER BY u.tenant_id LIMIT 1)
                FROM scopes s WHERE s.tenant_id IS NOT NULL
            )
            SELECT tenant_id FROM scopes WHERE tenant_id IS NOT NULL LIMIT \(limit)
            """
        )
        return try rows.rows.map { try $0.decode("tenant_id") }
    }

    /// The hash of the record at `seq` in `scope`'s chain.
    package func sealHash(scope: String, seq: Int64, _ db: PGConnection) throws -> [UInt8]? {
        let rows = try db.query("SELECT hash FROM audit_seals WHERE tenant_id = \(scope) AND seq = \(seq)")
        return try rows.rows.first.map { (try $0.decode("hash") as PGBytes).bytes }
    }

    /// Takes the scope's sealing lock for the rest of the transaction, if no one holds it.
    package func tryLock(scope: String, _ db: PGConnection) throws -> Bool {
        let rows = try db.query("SELECT pg_try_advisory_xact_lock(\(Self.lockKey(scope))) AS locked")
        return try rows.rows.first?.decode("locked") ?? false
    }

    /// Takes the scope's sealing lock for the rest of the transaction, waiting for it.
    package func lock(scope: String, _ db: PGConnection) throws {
        try db.query("SELECT pg_advisory_xact_lock(\(Self.lockKey(scope)))")
    }

    package func head(scope: String, _ db: PGConnection) throws -> ChainHead {
        let rows = try db.query(
            "SELECT seq, hash, sealed_at_ms FROM audit_seals WHERE tenant_id = \(scope) ORDER BY seq DESC LIMIT 1"
        )
        guard let row = rows.rows.first else { return ChainHead(scope: scope, seq: 0, hash: []) }
        return ChainHead(
            scope: scope,
            seq: try row.decode("seq"),
            hash: (try row.decode("hash") as PGBytes).bytes,
            sealedAtMs: try row.decode("sealed_at_ms")
        )
    }

    /// The database's clock, which stamps seals (a seal with another time is refused).
    package func now(_ db: PGConnection) throws -> Int64 {
        try db.query("SELECT lockbox_now_ms() AS now").rows.first?.decode("now") ?? 0
    }

    /// Committed records of `scope` not sealed yet, oldest id first.
    package func unsealed(scope: String, limit: Int, _ db: PGConnection) throws -> [StoredAuditRecord] {
        let rows = try db.query(
            """
            SELECT a.audit_id, a.recorded_at_ms, a.tenant_id, a.kind, a.actor_id, a.actor_display, a.actor_ip,
                   a.activity, a.item, a.decision, a.details::text AS details,
                   NULL::bigint AS seq, NULL::bytea AS hash, NULL::bigint AS hashed_seal_time
            FROM audit_unsealed u
            JOIN audit_records a ON a.tenant_id = u.tenant_id AND a.audit_id = u.audit_id
            WHERE u.tenant_id = \(scope)
            ORDER BY u.audit_id
            LIMIT \(limit)
            """
        )
        return try rows.rows.map(AuditStore.record)
    }

    /// Stores the seals, stamped `sealedAtMs` and hashed with it, and takes their records off
    /// the queue.
    package func seal(scope: String, _ seals: [NewSeal], sealedAtMs: Int64, _ db: PGConnection) throws {
        guard !seals.isEmpty else { return }
        let seqs = PGTextArray(seals.map { String($0.seq) })
        let ids = PGTextArray(seals.map { String($0.auditID) })
        let hashes = PGTextArray(seals.map { PGBytes($0.hash).pgText })
        try db.query(
            """
            INSERT INTO audit_seals (tenant_id, seq, audit_id, hash, sealed_at_ms, hash_version)
            SELECT \(scope), s::bigint, a::bigint, h::bytea, \(sealedAtMs), 2
            FROM unnest(\(seqs), \(ids), \(hashes)) AS t(s, a, h)
            """
        )
        // Joined to the ids, read once: `audit_id = ANY(text[]::bigint[])` casts the whole list
        // again for every row it looks at.
        try db.query(
            """
            DELETE FROM audit_unsealed u USING unnest(\(PGInt64Array(seals.map(\.auditID)))) AS d(id)
            WHERE u.tenant_id = \(scope) AND u.audit_id = d.id
            """
        )
    }

    /// Sealed records of `scope` after `afterSeq`, up to `upToSeq`, in chain order.
    package func chain(scope: String, afterSeq: Int64, upToSeq: Int64, limit: Int, _ db: PGConnection) throws
        -> [StoredAuditRecord]
    {
        let rows = try db.query(
            """
            SELECT a.audit_id, a.recorded_at_ms, a.tenant_id, a.kind, a.actor_id, a.actor_display, a.actor_ip,
                   a.activity, a.item, a.decision, a.details::text AS details, s.seq, s.hash,
                   CASE WHEN s.hash_version = 2 THEN s.sealed_at_ms END AS hashed_seal_time
            FROM audit_seals s
            JOIN audit_records a ON a.tenant_id = s.tenant_id AND a.audit_id = s.audit_id
            WHERE s.tenant_id = \(scope) AND s.seq > \(afterSeq) AND s.seq <= \(upToSeq)
            ORDER BY s.seq
            LIMIT \(limit)
            """
        )
        return try rows.rows.map(AuditStore.record)
    }

    package func addCheckpoint(_ checkpoint: StoredCheckpoint, _ db: PGConnection) throws -> StoredCheckpoint {
        let rows = try db.query(
            """
            INSERT INTO audit_checkpoints (tenant_id, seq, hash, signed_at_ms, key_id, signature)
            VALUES (\(checkpoint.scope), \(checkpoint.seq), \(PGBytes(checkpoint.hash)), \(checkpoint.signedAtMs),
                    \(checkpoint.keyID), \(PGBytes(checkpoint.signature)))
            RETURNING checkpoint_id
            """
        )
        var stored = checkpoint
        stored.id = try rows.rows.first?.decode("checkpoint_id") ?? 0
        return stored
    }

    static let checkpointColumns: PGQuery =
        "SELECT checkpoint_id, tenant_id, seq, hash, signed_at_ms, key_id, signature FROM audit_checkpoints"

    package func latestCheckpoint(scope: String, _ db: PGConnection) throws -> StoredCheckpoint? {
        try checkpoints(scope: scope, beforeID: .max, limit: 1, db).first
    }

    /// Checkpoints of `scope` with an id below `beforeID`, newest first.
    package func checkpoints(scope: String, beforeID: Int64, limit: Int, _ db: PGConnection) throws
        -> [StoredCheckpoint]
    {
        let rows = try db.query(
            """
            \(Self.checkpointColumns)
            WHERE tenant_id = \(scope) AND checkpoint_id < \(beforeID)
            ORDER BY checkpoint_id DESC
            LIMIT \(limit)
            """
        )
        return try rows.rows.map(Self.checkpoint)
    }

    /// Checkpoints of `scope` with an id above `afterID` and at most `upToID`, oldest first.
    package func checkpoints(scope: String, afterID: Int64, upToID: Int64, limit: Int, _ db: PGConnection) throws
        -> [StoredCheckpoint]
    {
        let rows = try db.query(
            """
            \(Self.checkpointColumns)
            WHERE tenant_id = \(scope) AND checkpoint_id > \(afterID) AND checkpoint_id <= \(upToID)
            ORDER BY checkpoint_id
            LIMIT \(limit)
            """
        )
        return try rows.rows.map(Self.checkpoint)
    }

    /// Checkpoints of `scope` at a sequence number above `afterSeq`, by sequence number.
    package func checkpoints(scope: String, afterSeq: Int64, limit: Int, _ db: PGConnection) throws
        -> [StoredCheckpoint]
    {
        let rows = try db.query(
            """
            \(Self.checkpointColumns)
            WHERE tenant_id = \(scope) AND seq > \(afterSeq)
            ORDER BY seq, checkpoint_id
            LIMIT \(limit)
            """
        )
        return try rows.rows.map(Self.checkpoint)
    }

    /// Adds a public key; adding one already there changes nothing. Run as the owner role, the
    /// database marks it introduced by the owner; run as the runtime role, it is trusted only
    /// with a cross-signature by a trusted key (migrations/0011).
    package func introduce(
        keyID: String,
        publicKey: [UInt8],
        attestedBy: String?,
        attestation: [UInt8]?,
        _ db: PGConnection
    ) throws {
        try db.query(
            """
            INSERT INTO signing_keys (key_id, public_key, first_seen_at_ms, attested_by, attestation)
            VALUES (\(keyID), \(PGBytes(publicKey)), 0, \(attestedBy), \(attestation.map(PGBytes.init)))
            ON CONFLICT (key_id) DO NOTHING
            """
        )
    }

    package func keys(_ db: PGConnection) throws -> [StoredSigningKey] {
        let rows = try db.query(
            """
            SELECT key_id, public_key, first_seen_at_ms, introduced_by_owner, attested_by, attestation
            FROM signing_keys ORDER BY first_seen_at_ms, key_id
            """
        )
        return try rows.rows.map { row in
            StoredSigningKey(
                keyID: try row.decode("key_id"),
                publicKey: (try row.decode("public_key") as PGBytes).bytes,
                firstSeenAtMs: try row.decode("first_seen_at_ms"),
                introducedByOwner: try row.decode("introduced_by_owner"),
                attestedBy: try row.decode("attested_by"),
                attestation: (try row.decode("attestation") as PGBytes?)?.bytes
            )
        }
    }
}
