import LockboxCore
import LockboxIntegrity
import LockboxStore

/// How a server signing key comes to be trusted (docs/audit-integrity.md, "Server keys"): the
/// database's owner role introduces it (`lockboxd keys add`, `lockboxd migrate
/// --signing-key-file`), or a key already trusted cross-signs it (`lockboxd keys cross-sign`).
/// The runtime role cannot add a key any other way (migrations/0011), and the database records
/// each key's arrival in every audit chain.
package enum SigningKeys {
    package enum Outcome: Sendable, Hashable {
        case introduced
        /// Published and trusted already: nothing to do.
        case alreadyTrusted
    }

    /// Why a key cannot be introduced.
    package struct Refusal: Error, CustomStringConvertible {
        package var description: String
    }

    /// Adds `key`. With `introducer`, the key is cross-signed by it, which must be trusted
    /// already; without, the connection must be the owner role's (the database refuses
    /// otherwise).
    package static func introduce(
        _ key: PublicSigningKey,
        by introducer: Signer?,
        pool: PGPool,
        actor: AuditActor
    ) async throws -> Outcome {
        let chain = ChainStore()
        let audit = AuditStore()
        return try await pool.transaction { db in
            let published = try chain.keys(db)
            let trusted = KeyTrust.trusted(published.map(\.published))
            if trusted.contains(where: { $0.keyID == key.keyID }) { return .alreadyTrusted }
            if published.contains(where: { $0.keyID == key.keyID }) {
                // Its row cannot change (migrations/0005): a key published without a valid
                // introduction stays untrusted.
                throw Refusal(
                    description: "a key \(key.keyID) is published already but not trusted (added without a valid "
                        + "introduction); make a new key with lockboxd keygen"
                )
            }
            if let introducer {
                guard trusted.contains(where: { $0.keyID == introducer.keyID }) else {
                    throw Refusal(
                        description: "the introducing key \(introducer.keyID) is not trusted itself; "
                            + "introduce it first (lockboxd keys add, as the owner role)"
                    )
                }
            }
            try audit.attribute(to: actor, db)
            do {
                try chain.introduce(
                    keyID: key.keyID,
                    publicKey: key.publicKey,
                    attestedBy: introducer?.keyID,
                    attestation: introducer?.introduce(key),
                    db
                )
            } catch let error as StoreError where error.code == .checkViolation {
                throw Refusal(
                    description: "the database refused the key: only its owner role may add a key without a "
                        + "cross-signature (run lockboxd keys add with the owner's --database-url, or use "
                        + "lockboxd keys cross-sign)"
                )
            }
            return .introduced
        }
    }
}

extension StoredSigningKey {
    /// The key as ``KeyTrust`` judges it.
    package var published: PublishedKey {
        PublishedKey(
            key: PublicSigningKey(keyID: keyID, publicKey: publicKey),
            introducedByOwner: introducedByOwner,
            attestedBy: attestedBy,
            attestation: attestation
        )
    }
}
