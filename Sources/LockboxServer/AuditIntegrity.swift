import LockboxCore
import LockboxIntegrity
import LockboxStore
import LockboxTrust
import Logging
import Metrics
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Settings of the audit log's chains and checkpoints.
package struct IntegrityConfiguration: Sendable {
    /// How often the sealer moves committed records into their chains: the bound on how long
    /// a record stays unsealed while a lockboxd runs and keeps up.
    package var sealInterval: Duration
    /// How often each chain that grew is signed.
    package var checkpointInterval: Duration
    /// Records sealed per transaction.
    package var sealBatchSize: Int

    package init(
        sealInterval: Duration = .seconds(1),
        checkpointInterval: Duration = .seconds(60),
        sealBatchSize: Int = 500
    ) {
        self.sealInterval = sealInterval
        self.checkpointInterval = checkpointInterval
        self.sealBatchSize = sealBatchSize
    }
}

/// Seals committed audit records into their hash chains, signs the chains' heads, and signs
/// customer decisions (docs/audit-integrity.md).
///
/// Appends never wait on it: an append only adds its record to the queue (`audit_unsealed`).
/// Sealing takes one scope's lock at a time, so replicas seal different tenants side by side,
/// and a record enters its chain only once its transaction has committed: a rolled-back record
/// never does, and one that commits late is sealed late, never skipped.
package final class AuditIntegrity: Service, Sendable {
    let pool: PGPool
    let chain = ChainStore()
    let signer: Signer
    let clock: any LockboxClock
    let configuration: IntegrityConfiguration
    let logger: Logger
    /// Scopes sealed since their last checkpoint, by this process.
    private let grown = NIOLockedValueBox<Set<String>>([])
    /// Where the next sealing pass starts: after this scope, or at the first when nil.
    private let cursor = NIOLockedValueBox<String?>(nil)
    private let keyCache = NIOLockedValueBox<
        (keys: [PublicSigningKey], stored: [StoredSigningKey], at: ContinuousClock.Instant)?
    >(nil)

    package init(
        pool: PGPool,
        signer: Signer,
        clock: any LockboxClock,
        configuration: IntegrityConfiguration = IntegrityConfiguration(),
        logger: Logger
    ) {
        self.pool = pool
        self.signer = signer
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    package var keyID: String { signer.keyID }

    /// Refuses to serve with a key the database does not trust (introduced by the owner role,
    /// or cross-signed by a trusted key): what it signed would not verify for anyone.
    package func requireTrustedKey() async throws {
        keyCache.withLockedValue { $0 = nil }
        guard try await publishedKeys().contains(where: { $0.keyID == signer.keyID }) else {
            throw UntrustedKey(keyID: signer.keyID)
        }
    }

    /// The server's own key is not among the trusted ones.
    package struct UntrustedKey: Error, CustomStringConvertible {
        package var keyID: String
        package var description: String {
            """
            this server's signing key \(keyID) is not trusted by the database: introduce it as the database's \
            owner role (lockboxd keys add, or lockboxd migrate --signing-key-file), or cross-sign it with a \
            trusted key (lockboxd keys cross-sign)
            """
        }
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        var lastCheckpoint = ContinuousClock.now
        while !Task.isCancelled {
            do {
                try await sealPending()
                if ContinuousClock.now - lastCheckpoint >= configuration.checkpointInterval {
                    lastCheckpoint = ContinuousClock.now
                    await checkpointGrown()
                }
            } catch {
                logger.warning("sealing the audit log failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: configuration.sealInterval)
        }
    }

    /// Seals what every scope has waiting, skipping scopes another sealer holds. A scope that
    /// fails is logged and skipped, never holding up the others; each pass takes up to 1,000
    /// scopes and the next continues after the last, so every scope is reached however many
    /// have records waiting.
    package func sealPending() async throws {
        let after = cursor.withLockedValue { $0 }
        let scopes = try await pool.withConnection { [chain] db in
            try chain.pendingScopes(after: after, limit: Self.scopesPerPass, db)
        }
        cursor.withLockedValue { $0 = scopes.count < Self.scopesPerPass ? nil : scopes.last }
        for scope in scopes {
            do {
                try await seal(scope: scope, wait: false)
            } catch {
                Counter(label: "lockbox_audit_seal_failures_total").increment()
                logger.error(
                    "sealing an audit chain failed",
                    metadata: ["audit.scope": "\(scope)", "error": "\(error)"]
                )
            }
        }
    }

    static let scopesPerPass = 1000

    /// Seals everything `scope` has waiting. With `wait`, waits for another sealer of the scope
    /// to finish first (an export needs its chain sealed); without, leaves the scope to it.
    package func seal(scope: String, wait: Bool) async throws {
        while true {
            let sealed = try await pool.transaction { [chain, clock, batch = configuration.sealBatchSize] db -> Int in
                if wait {
                    try chain.lock(scope: scope, db)
                } else if try !chain.tryLock(scope: scope, db) {
                    return 0
                }
                let records = try chain.unsealed(scope: scope, limit: batch, db)
                guard !records.isEmpty else { return 0 }
                var head = try chain.head(scope: scope, db)
                if head.seq == 0 { head.hash = ChainedRecord.genesis }
                // The database's time, never before the chain's last seal.
                let sealedAtMs = max(try chain.now(db), head.sealedAtMs)
                var seals: [NewSeal] = []
                for record in records {
                    let seq = head.seq + 1
                    var chained = record.chained
                    chained.sealedAtMs = sealedAtMs
                    let hash = chained.computedHash(seq: seq, previous: head.hash)
                    seals.append(NewSeal(auditID: record.id, seq: seq, hash: hash))
                    head = ChainHead(scope: scope, seq: seq, hash: hash, sealedAtMs: sealedAtMs)
                }
                try chain.seal(scope: scope, seals, sealedAtMs: sealedAtMs, db)
                return records.count
            }
            if sealed > 0 {
                _ = grown.withLockedValue { $0.insert(scope) }
                Counter(label: "lockbox_audit_sealed_total").increment(by: sealed)
            }
            if sealed < configuration.sealBatchSize { return }
        }
    }

    /// Signs the head of each chain this process sealed into since its last checkpoint.
    func checkpointGrown() async {
        let scopes = grown.withLockedValue { scopes in
            defer { scopes = [] }
            return scopes
        }
        for scope in scopes {
            do {
                _ = try await checkpoint(scope: scope)
            } catch {
                logger.error(
                    "signing an audit chain failed",
                    metadata: ["audit.scope": "\(scope)", "error": "\(error)"]
                )
            }
        }
    }

    /// The scope's head, signed now. When a valid checkpoint already covers the head, that one
    /// instead, so repeated calls add no rows. An empty chain's checkpoint (seq 0) is signed
    /// but not stored: asking about scopes that have no records costs no rows.
    ///
    /// The head must extend the latest checkpoint that verifies with a trusted key; checkpoints
    /// that do not verify are passed over (and logged: someone wrote them beside lockboxd, and
    /// every export shows them to the customer as forged). Refuses, loudly, to sign a head that
    /// does not extend it: a chain that got shorter, or whose record at that checkpoint's place
    /// has another hash, was changed behind lockboxd's back, and signing it would lend the
    /// change the server's key.
    package func checkpoint(scope: String) async throws -> StoredCheckpoint {
        let keys = try await publishedKeys()
        return try await pool.transaction { [chain, signer, logger] db in
            let head = try chain.head(scope: scope, db)
            let hash = head.seq == 0 ? ChainedRecord.genesis : head.hash
            if let latest = try Self.latestVerified(scope: scope, keys: keys, chain: chain, logger: logger, db) {
                let extends: Bool
                if latest.seq > head.seq {
                    extends = false
                } else if latest.seq == head.seq {
                    extends = latest.hash == hash
                } else {
                    extends = try chain.sealHash(scope: scope, seq: latest.seq, db) == latest.hash
                }
                guard extends else {
                    logger.critical(
                        "the audit chain no longer extends its latest checkpoint: it was changed outside lockboxd; refusing to sign it",
                        metadata: [
                            "audit.scope": "\(scope)", "audit.checkpoint_seq": "\(latest.seq)",
                            "audit.head_seq": "\(head.seq)",
                        ]
                    )
                    throw DomainError(
                        .failedPrecondition,
                        "the audit chain no longer extends its latest checkpoint; the server refuses to sign it"
                    )
                }
                if latest.seq == head.seq { return latest }
            }
            let signed = signer.sign(
                CheckpointStatement(
                    scope: scope,
                    seq: head.seq,
                    hash: hash,
                    signedAtMs: max(try chain.now(db), head.sealedAtMs),
                    keyID: signer.keyID
                )
            )
            guard head.seq > 0 else { return StoredCheckpoint(signed) }
            return try chain.addCheckpoint(StoredCheckpoint(signed), db)
        }
    }

    /// The id of the newest checkpoint stored for `scope`, verified or not; 0 for none.
    package func latestCheckpointID(scope: String) async throws -> Int64 {
        try await pool.withConnection { [chain] db in try chain.latestCheckpoint(scope: scope, db)?.id ?? 0 }
    }

    /// The newest checkpoint of `scope` whose signature verifies with a trusted key.
    static func latestVerified(
        scope: String,
        keys: [PublicSigningKey],
        chain: ChainStore,
        logger: Logger,
        _ db: PGConnection
    ) throws -> StoredCheckpoint? {
        var before = Int64.max
        while true {
            let page = try chain.checkpoints(scope: scope, beforeID: before, limit: 100, db)
            for checkpoint in page {
                if checkpoint.signed.verifies(with: keys) { return checkpoint }
                Counter(label: "lockbox_audit_forged_checkpoints_total").increment()
                logger.critical(
                    "an audit checkpoint does not verify with any trusted key: it was written outside lockboxd; passing over it",
                    metadata: ["audit.scope": "\(scope)", "audit.checkpoint_id": "\(checkpoint.id)"]
                )
            }
            guard page.count == 100, let last = page.last else { return nil }
            before = last.id
        }
    }

    /// The trusted public keys (``KeyTrust``), read at most every 10 s: ListSigningKeys needs
    /// no token, so it must not cost a database call each time.
    package func publishedKeys(fresh: Bool = false) async throws -> [PublicSigningKey] {
        if !fresh, let cached = keyCache.withLockedValue({ $0 }), ContinuousClock.now - cached.at < .seconds(10) {
            return cached.keys
        }
        let all = try await pool.withConnection { [chain] db in try chain.keys(db) }
        let keys = KeyTrust.trusted(all.map(\.published))
        let trusted = Set(keys.map(\.keyID))
        let stored = all.filter { trusted.contains($0.keyID) }
        keyCache.withLockedValue { $0 = (keys, stored, ContinuousClock.now) }
        return keys
    }

    /// The trusted keys as last read, without waiting (empty before the first read); a read
    /// in the background when they are older than 10 s or `stale` says one is missing.
    package func knownKeys(refreshing stale: Bool = false) -> [PublicSigningKey] {
        let cached = keyCache.withLockedValue { $0 }
        if stale || cached.map({ ContinuousClock.now - $0.at >= .seconds(10) }) ?? true {
            Task { _ = try? await self.publishedKeys(fresh: stale) }
        }
        return cached?.keys ?? []
    }

    /// The trusted keys with how and when each was introduced, as ListSigningKeys returns them.
    package func publishedKeyRecords() async throws -> [StoredSigningKey] {
        _ = try await publishedKeys()
        return keyCache.withLockedValue { $0?.stored ?? [] }
    }

    /// lockboxd's attestation that it accepted a tenant root: its signature over the root's
    /// "lockbox/root-attestation/v1" statement, and the key that made it.
    func attest(tenantID: String, rootKeyID: String, statement: [UInt8]) -> (signature: [UInt8], keyID: String) {
        let attestation = RootAttestation(
            tenantID: tenantID,
            rootKeyID: rootKeyID,
            statementHash: Digest.sha256(statement),
            serverKeyID: signer.keyID
        )
        return (signer.sign(attestation.canonicalBytes), signer.keyID)
    }

    /// The signed statement of a customer's decision and the grant it creates.
    func sign(_ statement: ApprovalStatement) -> SignedStatement {
        var statement = statement
        statement.keyID = signer.keyID
        let signed = signer.sign(statement)
        return SignedStatement(statement: signed.statement, keyID: signed.keyID, signature: signed.signature)
    }
}

extension StoredAuditRecord {
    /// The record as its chain covers it (docs/audit-integrity.md, "Record hash").
    var chained: ChainedRecord {
        ChainedRecord(
            scope: tenantID,
            seq: seal?.seq ?? 0,
            auditID: id,
            timeMs: timeMs,
            kind: kind?.rawValue ?? "",
            actorID: actorID,
            actorDisplay: actorDisplay,
            actorIP: actorIP,
            activity: activity,
            item: item,
            decision: AuditFormat.decisionName(decision),
            details: detailsJSON,
            hash: seal?.hash ?? [],
            sealedAtMs: seal?.sealedAtMs
        )
    }
}

extension StoredCheckpoint {
    init(_ signed: SignedCheckpoint) {
        self.init(
            scope: signed.statement.scope,
            seq: signed.statement.seq,
            hash: signed.statement.hash,
            signedAtMs: signed.statement.signedAtMs,
            keyID: signed.statement.keyID,
            signature: signed.signature
        )
    }

    var signed: SignedCheckpoint {
        SignedCheckpoint(
            statement: CheckpointStatement(scope: scope, seq: seq, hash: hash, signedAtMs: signedAtMs, keyID: keyID),
            signature: signature
        )
    }
}
