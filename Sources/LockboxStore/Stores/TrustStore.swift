import LockboxCore

/// A tenant root as stored, with lockboxd's attestation.
package struct StoredRoot: Sendable, Hashable {
    package var seq: Int64
    package var keyID: String
    package var publicKey: [UInt8]
    package var statement: [UInt8]
    package var signature: [UInt8]
    package var previousSignature: [UInt8]
    package var attestation: [UInt8]
    package var attestedBy: String
    package var adoptedAtMs: Int64

    package init(
        seq: Int64,
        keyID: String,
        publicKey: [UInt8],
        statement: [UInt8],
        signature: [UInt8],
        previousSignature: [UInt8],
        attestation: [UInt8],
        attestedBy: String,
        adoptedAtMs: Int64 = 0
    ) {
        self.seq = seq
        self.keyID = keyID
        self.publicKey = publicKey
        self.statement = statement
        self.signature = signature
        self.previousSignature = previousSignature
        self.attestation = attestation
        self.attestedBy = attestedBy
        self.adoptedAtMs = adoptedAtMs
    }
}

/// A statement a tenant key signed, as stored: a certificate, a revocation or a policy.
package struct StoredStatement: Sendable, Hashable {
    package var statement: [UInt8]
    package var issuerKeyID: String
    package var signature: [UInt8]
    /// When lockboxd stored it, by the database's clock.
    package var atMs: Int64

    package init(statement: [UInt8], issuerKeyID: String, signature: [UInt8], atMs: Int64 = 0) {
        self.statement = statement
        self.issuerKeyID = issuerKeyID
        self.signature = signature
        self.atMs = atMs
    }
}

/// A key certificate's columns beside its statement, for listing and for revoking by principal.
package struct StoredCertificate: Sendable, Hashable {
    package var keyID: String
    package var principalID: String
    package var signed: StoredStatement

    package init(keyID: String, principalID: String, signed: StoredStatement) {
        self.keyID = keyID
        self.principalID = principalID
        self.signed = signed
    }
}

/// A revocation: the tenant's signed one, or lockboxd's when a key's role is taken away
/// (empty statement, a reason).
package struct StoredRevocation: Sendable, Hashable {
    package var keyID: String
    package var signed: StoredStatement
    package var reason: String

    package init(keyID: String, signed: StoredStatement, reason: String) {
        self.keyID = keyID
        self.signed = signed
        self.reason = reason
    }
}

/// Everything stored about one tenant's trust, and the change it is as of.
package struct StoredTrust: Sendable, Hashable {
    package var tenantID: String
    /// The last trust change's id; nil when the tenant has never had trust material.
    package var version: Int64?
    package var roots: [StoredRoot] = []
    package var certificates: [StoredCertificate] = []
    package var revocations: [StoredRevocation] = []
    /// Newest version first.
    package var policies: [StoredPolicy] = []
    /// Oldest first.
    package var delegations: [StoredDelegation] = []
    package var delegationRevocations: [StoredDelegationRevocation] = []

    package init(tenantID: String, version: Int64?) {
        self.tenantID = tenantID
        self.version = version
    }
}

package struct StoredPolicy: Sendable, Hashable {
    package var version: Int64
    package var signed: StoredStatement

    package init(version: Int64, signed: StoredStatement) {
        self.version = version
        self.signed = signed
    }
}

/// What a passkey signed beside a statement; both empty for a key file's signature.
package struct StoredAssertion: Sendable, Hashable {
    package var authenticatorData: [UInt8]
    package var clientData: [UInt8]

    package init(authenticatorData: [UInt8] = [], clientData: [UInt8] = []) {
        self.authenticatorData = authenticatorData
        self.clientData = clientData
    }
}

/// An approver's delegation as stored (migrations/0016): its statement, signed by the
/// delegator's key, and the columns beside it for listing.
package struct StoredDelegation: Sendable, Hashable {
    package var delegationID: String
    package var delegatorID: String
    package var delegateID: String
    package var startsAtMs: Int64
    package var endsAtMs: Int64
    package var signed: StoredStatement
    package var assertion: StoredAssertion

    package init(
        delegationID: String,
        delegatorID: String,
        delegateID: String,
        startsAtMs: Int64,
        endsAtMs: Int64,
        signed: StoredStatement,
        assertion: StoredAssertion
    ) {
        self.delegationID = delegationID
        self.delegatorID = delegatorID
        self.delegateID = delegateID
        self.startsAtMs = startsAtMs
        self.endsAtMs = endsAtMs
        self.signed = signed
        self.assertion = assertion
    }
}

/// A delegation's revocation as stored.
package struct StoredDelegationRevocation: Sendable, Hashable {
    package var delegationID: String
    package var signed: StoredStatement
    package var assertion: StoredAssertion

    package init(delegationID: String, signed: StoredStatement, assertion: StoredAssertion) {
        self.delegationID = delegationID
        self.signed = signed
        self.assertion = assertion
    }
}

/// The tenant's own trust (migrations/0012 and 0016): roots, key certificates, revocations, policies and
/// passkey counters. Only ever added to.
package struct TrustStore: Sendable {
    package init() {}

    /// The tenant's last trust change, or nil when it never had any: one index probe.
    package func version(tenantID: String, _ db: PGConnection) throws -> Int64? {
        try db.query("SELECT max(change_id) AS v FROM trust_changes WHERE tenant_id = \(tenantID)").first?.decode("v")
    }

    package func load(tenantID: String, _ db: PGConnection) throws -> StoredTrust {
        var trust = StoredTrust(tenantID: tenantID, version: try version(tenantID: tenantID, db))
        guard trust.version != nil else { return trust }
        trust.roots = try db.query(
            """
            SELECT seq, key_id, public_key, statement, signature, previous_signature, attestation, attested_by,
                   adopted_at_ms
            FROM tenant_roots WHERE tenant_id = \(tenantID) ORDER BY seq
            """
        ).rows.map { row in
            StoredRoot(
                seq: try row.decode("seq"),
                keyID: try row.decode("key_id"),
                publicKey: try row.decode("public_key", as: PGBytes.self).bytes,
                statement: try row.decode("statement", as: PGBytes.self).bytes,
                signature: try row.decode("signature", as: PGBytes.self).bytes,
                previousSignature: try row.decode("previous_signature", as: PGBytes.self).bytes,
                attestation: try row.decode("attestation", as: PGBytes.self).bytes,
                attestedBy: try row.decode("attested_by"),
                adoptedAtMs: try row.decode("adopted_at_ms")
            )
        }
        trust.certificates = try db.query(
            """
            SELECT key_id, principal_id, statement, issuer_key_id, signature, certified_at_ms
            FROM key_certificates WHERE tenant_id = \(tenantID) ORDER BY certified_at_ms, key_id LIMIT 10000
            """
        ).rows.map { row in
            StoredCertificate(
                keyID: try row.decode("key_id"),
                principalID: try row.decode("principal_id"),
                signed: try Self.statement(row, at: "certified_at_ms")
            )
        }
        trust.revocations = try db.query(
            """
            SELECT key_id, statement, issuer_key_id, signature, reason, revoked_at_ms
            FROM key_revocations WHERE tenant_id = \(tenantID) ORDER BY revoked_at_ms, key_id LIMIT 10000
            """
        ).rows.map { row in
            StoredRevocation(
                keyID: try row.decode("key_id"),
                signed: try Self.statement(row, at: "revoked_at_ms"),
                reason: try row.decode("reason")
            )
        }
        trust.policies = try db.query(
            """
            SELECT version, statement, issuer_key_id, signature, set_at_ms
            FROM tenant_policies WHERE tenant_id = \(tenantID) ORDER BY version DESC LIMIT 100
            """
        ).rows.map { row in
            StoredPolicy(version: try row.decode("version"), signed: try Self.statement(row, at: "set_at_ms"))
        }
        // The newest delegations (a decision naming one left out counts for nothing), oldest
        // first, and every revocation of those: none is left out.
        trust.delegations = try db.query(
            """
            SELECT * FROM (
                SELECT delegation_id, delegator_id, delegate_id, starts_at_ms, ends_at_ms, statement, issuer_key_id,
                       signature, authenticator_data, client_data, created_at_ms
                FROM delegations WHERE tenant_id = \(tenantID)
                ORDER BY created_at_ms DESC, delegation_id DESC LIMIT \(Self.delegationLimit)
            ) newest ORDER BY created_at_ms, delegation_id
            """
        ).rows.map { row in
            StoredDelegation(
                delegationID: try row.decode("delegation_id"),
                delegatorID: try row.decode("delegator_id"),
                delegateID: try row.decode("delegate_id"),
                startsAtMs: try row.decode("starts_at_ms"),
                endsAtMs: try row.decode("ends_at_ms"),
                signed: try Self.statement(row, at: "created_at_ms"),
                assertion: try Self.assertion(row)
            )
        }
        trust.delegationRevocations = try db.query(
            """
            SELECT r.delegation_id, r.statement, r.issuer_key_id, r.signature, r.authenticator_data, r.client_data,
                   r.revoked_at_ms
            FROM delegation_revocations r
            WHERE r.tenant_id = \(tenantID) AND r.delegation_id IN (
                SELECT delegation_id FROM delegations WHERE tenant_id = \(tenantID)
                ORDER BY created_at_ms DESC, delegation_id DESC LIMIT \(Self.delegationLimit)
            )
            ORDER BY r.seq
            """
        ).rows.map { row in
            StoredDelegationRevocation(
                delegationID: try row.decode("delegation_id"),
                signed: try Self.statement(row, at: "revoked_at_ms"),
                assertion: try Self.assertion(row)
            )
        }
        return trust
    }

    /// The most delegations read for a tenant: the newest.
    package static let delegationLimit = 10_000

    static func assertion(_ row: PGRow) throws -> StoredAssertion {
        StoredAssertion(
            authenticatorData: try row.decode("authenticator_data", as: PGBytes.self).bytes,
            clientData: try row.decode("client_data", as: PGBytes.self).bytes
        )
    }

    /// Adds a delegation; false when it exists already.
    package func insertDelegation(tenantID: String, _ delegation: StoredDelegation, _ db: PGConnection) throws
        -> Bool
    {
        try db.query(
            """
            INSERT INTO delegations (tenant_id, delegation_id, delegator_id, delegate_id, starts_at_ms, ends_at_ms,
                                     statement, issuer_key_id, signature, authenticator_data, client_data)
            VALUES (\(tenantID), \(delegation.delegationID), \(delegation.delegatorID), \(delegation.delegateID),
                    \(delegation.startsAtMs), \(delegation.endsAtMs), \(PGBytes(delegation.signed.statement)),
                    \(delegation.signed.issuerKeyID), \(PGBytes(delegation.signed.signature)),
                    \(PGBytes(delegation.assertion.authenticatorData)), \(PGBytes(delegation.assertion.clientData)))
            ON CONFLICT (tenant_id, delegation_id) DO NOTHING
            """
        ).affected == 1
    }

    /// Adds a revocation of a delegation (the caller checked that none in force withdraws it).
    package func insertDelegationRevocation(
        tenantID: String,
        _ revocation: StoredDelegationRevocation,
        _ db: PGConnection
    ) throws {
        try db.query(
            """
            INSERT INTO delegation_revocations (tenant_id, delegation_id, statement, issuer_key_id, signature,
                                                authenticator_data, client_data)
            VALUES (\(tenantID), \(revocation.delegationID), \(PGBytes(revocation.signed.statement)),
                    \(revocation.signed.issuerKeyID), \(PGBytes(revocation.signed.signature)),
                    \(PGBytes(revocation.assertion.authenticatorData)), \(PGBytes(revocation.assertion.clientData)))
            """
        )
    }

    static func statement(_ row: PGRow, at column: String) throws -> StoredStatement {
        StoredStatement(
            statement: try row.decode("statement", as: PGBytes.self).bytes,
            issuerKeyID: try row.decode("issuer_key_id"),
            signature: try row.decode("signature", as: PGBytes.self).bytes,
            atMs: try row.decode(column)
        )
    }

    /// Adds a root; false when another took its place first.
    package func insertRoot(tenantID: String, _ root: StoredRoot, _ db: PGConnection) throws -> Bool {
        try db.query(
            """
            INSERT INTO tenant_roots (tenant_id, seq, key_id, public_key, statement, signature, previous_signature,
                                      attestation, attested_by)
            VALUES (\(tenantID), \(root.seq), \(root.keyID), \(PGBytes(root.publicKey)),
                    \(PGBytes(root.statement)), \(PGBytes(root.signature)), \(PGBytes(root.previousSignature)),
                    \(PGBytes(root.attestation)), \(root.attestedBy))
            ON CONFLICT (tenant_id, seq) DO NOTHING
            """
        ).affected == 1
    }

    /// Adds a key certificate; false when the key is certified already.
    package func insertCertificate(
        tenantID: String,
        keyID: String,
        principalID: String,
        algorithm: String,
        publicKey: [UInt8],
        capabilities: Int64,
        notBeforeMs: Int64,
        notAfterMs: Int64,
        signed: StoredStatement,
        _ db: PGConnection
    ) throws -> Bool {
        try db.query(
            """
            INSERT INTO key_certificates (tenant_id, key_id, principal_id, algorithm, public_key, capabilities,
                                          not_before_ms, not_after_ms, statement, issuer_key_id, signature)
            VALUES (\(tenantID), \(keyID), \(principalID), \(algorithm), \(PGBytes(publicKey)), \(capabilities),
                    \(notBeforeMs), \(notAfterMs), \(PGBytes(signed.statement)), \(signed.issuerKeyID),
                    \(PGBytes(signed.signature)))
            ON CONFLICT (tenant_id, key_id) DO NOTHING
            """
        ).affected == 1
    }

    /// Revokes a key; false when it was revoked already.
    package func insertRevocation(
        tenantID: String,
        keyID: String,
        signed: StoredStatement?,
        reason: String,
        _ db: PGConnection
    ) throws -> Bool {
        try db.query(
            """
            INSERT INTO key_revocations (tenant_id, key_id, statement, issuer_key_id, signature, reason)
            VALUES (\(tenantID), \(keyID), \(PGBytes(signed?.statement ?? [])), \(signed?.issuerKeyID ?? ""),
                    \(PGBytes(signed?.signature ?? [])), \(reason))
            ON CONFLICT (tenant_id, key_id) DO NOTHING
            """
        ).affected == 1
    }

    /// lockboxd's revocation of every key of `principalID` not revoked yet, when the role its
    /// keys served is taken away; the ids of the keys revoked.
    package func revokeAll(tenantID: String, principalID: String, reason: String, _ db: PGConnection) throws
        -> [String]
    {
        try db.query(
            """
            INSERT INTO key_revocations (tenant_id, key_id, reason)
            SELECT c.tenant_id, c.key_id, \(reason) FROM key_certificates c
            WHERE c.tenant_id = \(tenantID) AND c.principal_id = \(principalID)
              AND NOT EXISTS (SELECT 1 FROM key_revocations r WHERE r.tenant_id = c.tenant_id AND r.key_id = c.key_id)
            ON CONFLICT (tenant_id, key_id) DO NOTHING
            RETURNING key_id
            """
        ).rows.map { try $0.decode("key_id") }
    }

    /// Adds a policy version; false when that version exists.
    package func insertPolicy(tenantID: String, version: Int64, signed: StoredStatement, _ db: PGConnection) throws
        -> Bool
    {
        try db.query(
            """
            INSERT INTO tenant_policies (tenant_id, version, statement, issuer_key_id, signature)
            VALUES (\(tenantID), \(version), \(PGBytes(signed.statement)), \(signed.issuerKeyID),
                    \(PGBytes(signed.signature)))
            ON CONFLICT (tenant_id, version) DO NOTHING
            """
        ).affected == 1
    }

    /// Moves a passkey's signature counter forward to `counter`; false when it would not move
    /// forward (a cloned authenticator, or an assertion replayed). A counter of 0 is an
    /// authenticator that keeps none, which only ever matches 0.
    package func advanceCounter(tenantID: String, keyID: String, counter: Int64, _ db: PGConnection) throws -> Bool {
        try db.query(
            """
            INSERT INTO passkey_counters AS p (tenant_id, key_id, counter) VALUES (\(tenantID), \(keyID), \(counter))
            ON CONFLICT (tenant_id, key_id) DO UPDATE SET counter = excluded.counter
            WHERE p.counter < excluded.counter OR (p.counter = 0 AND excluded.counter = 0)
            """
        ).affected == 1
    }
}
