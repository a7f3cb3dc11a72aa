import Crypto

/// A server signing key's public half, as published.
public struct PublicSigningKey: Sendable, Hashable {
    public var keyID: String
    /// The raw 32-byte Ed25519 public key.
    public var publicKey: [UInt8]

    public init(keyID: String, publicKey: [UInt8]) {
        self.keyID = keyID
        self.publicKey = publicKey
    }

    /// "ed25519:" and the first 16 hex digits of SHA-256 over the raw public key: derived from
    /// the key, so a key id cannot be claimed for another key.
    public static func keyID(for publicKey: [UInt8]) -> String {
        "ed25519:" + String(Array(SHA256.hash(data: publicKey)).hex.prefix(16))
    }

    /// Whether `signature` is this key's Ed25519 signature over `message`.
    public func verifies(_ signature: [UInt8], over message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

/// The server's signing key: an Ed25519 private key, loaded from a 32-byte seed.
public struct Signer: Sendable {
    /// The 32-byte seed; the key is rebuilt from it for each signature (Crypto's key type is
    /// not Sendable, and rebuilding costs one scalar multiplication).
    private let seed: [UInt8]
    public let publicKey: PublicSigningKey

    public struct InvalidKey: Error, CustomStringConvertible {
        public var description: String { "a signing key is 32 bytes (44 characters of base64)" }
    }

    public init(seed: [UInt8]) throws(InvalidKey) {
        guard seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
            throw InvalidKey()
        }
        self.seed = seed
        let raw = Array(key.publicKey.rawRepresentation)
        publicKey = PublicSigningKey(keyID: PublicSigningKey.keyID(for: raw), publicKey: raw)
    }

    /// A new random key's seed.
    public static func newSeed() -> [UInt8] { Array(Curve25519.Signing.PrivateKey().rawRepresentation) }

    public var keyID: String { publicKey.keyID }

    public func sign(_ message: [UInt8]) -> [UInt8] {
        // Ed25519 signing does not fail for a valid key.
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else { return [] }
        return (try? Array(key.signature(for: message))) ?? []
    }

    public func sign(_ statement: CheckpointStatement) -> SignedCheckpoint {
        SignedCheckpoint(statement: statement, signature: sign(statement.canonicalBytes))
    }
}

/// SHA-256, for callers that do not link swift-crypto themselves (the CLI's certificate
/// fingerprints).
public enum Digest {
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }
}

/// What a trusted key signs to introduce another (`lockboxd keys cross-sign`): the new key's id
/// and public key, and the introducer's id.
public struct KeyIntroduction: Sendable, Hashable {
    public var keyID: String
    public var publicKey: [UInt8]
    public var introducerKeyID: String

    public init(keyID: String, publicKey: [UInt8], introducerKeyID: String) {
        self.keyID = keyID
        self.publicKey = publicKey
        self.introducerKeyID = introducerKeyID
    }

    public static let tag = "lockbox/key-introduction/v1"

    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter(tag: Self.tag)
        writer.string(keyID)
        writer.data(publicKey)
        writer.string(introducerKeyID)
        return writer.bytes
    }
}

/// A published key and how it came to be published: by the database's owner role, or with a
/// cross-signature by another key.
public struct PublishedKey: Sendable, Hashable {
    public var key: PublicSigningKey
    public var introducedByOwner: Bool
    /// The key that cross-signed it, with its signature over ``KeyIntroduction``.
    public var attestedBy: String?
    public var attestation: [UInt8]?

    public init(key: PublicSigningKey, introducedByOwner: Bool, attestedBy: String?, attestation: [UInt8]?) {
        self.key = key
        self.introducedByOwner = introducedByOwner
        self.attestedBy = attestedBy
        self.attestation = attestation
    }
}

/// Which published keys to trust: those the owner role introduced, and those a trusted key
/// cross-signed, transitively. A key whose id is not its public key's, or whose cross-signature
/// does not verify, is not trusted, and neither is any key it introduced.
public enum KeyTrust {
    public static func trusted(_ published: [PublishedKey]) -> [PublicSigningKey] {
        let wellFormed = published.filter { PublicSigningKey.keyID(for: $0.key.publicKey) == $0.key.keyID }
        var trusted: [String: PublicSigningKey] = [:]
        for entry in wellFormed where entry.introducedByOwner { trusted[entry.key.keyID] = entry.key }
        var added = true
        while added {
            added = false
            for entry in wellFormed where trusted[entry.key.keyID] == nil {
                guard let introducer = entry.attestedBy.flatMap({ trusted[$0] }), let attestation = entry.attestation
                else { continue }
                let statement = KeyIntroduction(
                    keyID: entry.key.keyID,
                    publicKey: entry.key.publicKey,
                    introducerKeyID: introducer.keyID
                )
                if introducer.verifies(attestation, over: statement.canonicalBytes) {
                    trusted[entry.key.keyID] = entry.key
                    added = true
                }
            }
        }
        return wellFormed.compactMap { trusted[$0.key.keyID] }
    }
}

extension Signer {
    /// This key's cross-signature introducing `key`.
    public func introduce(_ key: PublicSigningKey) -> [UInt8] {
        sign(KeyIntroduction(keyID: key.keyID, publicKey: key.publicKey, introducerKeyID: keyID).canonicalBytes)
    }
}
