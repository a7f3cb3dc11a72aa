import Crypto
import Foundation
import LockboxIntegrity

/// A passkey's assertion over a statement, relayed as the browser gave it.
public struct WebAuthnAssertion: Sendable, Hashable {
    public var authenticatorData: [UInt8]
    public var clientDataJSON: [UInt8]

    public init(authenticatorData: [UInt8], clientDataJSON: [UInt8]) {
        self.authenticatorData = authenticatorData
        self.clientDataJSON = clientDataJSON
    }

    /// The challenge a passkey signs for `statement`: SHA-256 of its bytes, in base64url
    /// without padding, as `clientDataJSON` carries it.
    public static func challenge(for statement: [UInt8]) -> String {
        Data(Digest.sha256(statement)).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// A statement's bytes and their signature by one key (and, for a passkey, its assertion).
public struct SignedBytes: Sendable, Hashable {
    public var statement: [UInt8]
    public var keyID: String
    public var signature: [UInt8]
    public var assertion: WebAuthnAssertion?

    public init(statement: [UInt8], keyID: String, signature: [UInt8], assertion: WebAuthnAssertion? = nil) {
        self.statement = statement
        self.keyID = keyID
        self.signature = signature
        self.assertion = assertion
    }
}

/// Why a signature or a chain does not hold. Each says what a person can check.
public enum TrustProblem: Error, Sendable, Hashable, CustomStringConvertible {
    case malformed(String)
    case badSignature(String)
    case unknownKey(String)
    case revoked(String)
    case expired(String)
    case notAllowed(String)
    case mismatch(String)
    case webAuthn(String)
    case noRoot(String)

    public var description: String {
        switch self {
        case .malformed(let what): "\(what) is not in the canonical encoding"
        case .badSignature(let what): "the signature of \(what) does not verify"
        case .unknownKey(let key): "key \(key) is not certified for this tenant"
        case .revoked(let key): "key \(key) was revoked"
        case .expired(let key): "key \(key)'s certificate is not valid at that time"
        case .notAllowed(let what): what
        case .mismatch(let what): what
        case .webAuthn(let what): "the passkey's assertion does not hold: \(what)"
        case .noRoot(let what): what
        }
    }
}

/// A key that may sign for a tenant: its algorithm and public key.
public struct TrustKey: Sendable, Hashable {
    public var keyID: String
    public var algorithm: KeyAlgorithm
    public var publicKey: [UInt8]

    public init(keyID: String, algorithm: KeyAlgorithm, publicKey: [UInt8]) {
        self.keyID = keyID
        self.algorithm = algorithm
        self.publicKey = publicKey
    }

    /// What a passkey's assertion must show: the relying party and origins of the tenant's
    /// policy, and whether the user must be verified.
    public struct PasskeyRules: Sendable, Hashable {
        public var rpID: String
        public var origins: [String]
        public var userVerificationRequired: Bool

        public init(rpID: String, origins: [String], userVerificationRequired: Bool) {
            self.rpID = rpID
            self.origins = origins
            self.userVerificationRequired = userVerificationRequired
        }
    }

    /// Checks `signed` as this key's. For a passkey, as a WebAuthn relying party checks an
    /// assertion: the client data's type, challenge (the statement's hash) and origin, the
    /// relying party's id hash, the user-present flag and, when the rules ask, user-verified;
    /// then the ECDSA signature over the authenticator data and the client data's hash.
    /// Returns the authenticator's signature counter (0 for Ed25519).
    public func verify(_ signed: SignedBytes, rules: PasskeyRules?) -> Result<UInt32, TrustProblem> {
        switch algorithm {
        case .ed25519:
            guard signed.assertion == nil,
                let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey),
                key.isValidSignature(signed.signature, for: signed.statement)
            else { return .failure(.badSignature("the statement signed by \(keyID)")) }
            return .success(0)
        case .es256WebAuthn:
            guard let assertion = signed.assertion else {
                return .failure(.webAuthn("a passkey's signature comes with its authenticator data and client data"))
            }
            guard let rules else { return .failure(.webAuthn("the tenant's policy names no relying party")) }
            guard
                let client = try? JSONSerialization.jsonObject(with: Data(assertion.clientDataJSON)) as? [String: Any]
            else { return .failure(.webAuthn("clientDataJSON is not a JSON object")) }
            guard client["type"] as? String == "webauthn.get" else {
                return .failure(.webAuthn("clientDataJSON's type is not webauthn.get"))
            }
            guard client["challenge"] as? String == WebAuthnAssertion.challenge(for: signed.statement) else {
                return .failure(.webAuthn("the challenge is not this statement's"))
            }
            guard let origin = client["origin"] as? String, rules.origins.contains(origin) else {
                return .failure(.webAuthn("the origin is not one of the tenant's"))
            }
            let data = assertion.authenticatorData
            guard data.count >= 37 else { return .failure(.webAuthn("the authenticator data is too short")) }
            guard Array(data[0..<32]) == Digest.sha256(Array(rules.rpID.utf8)), !rules.rpID.isEmpty else {
                return .failure(.webAuthn("the relying party is not the tenant's"))
            }
            let flags = data[32]
            guard flags & 0x01 != 0 else { return .failure(.webAuthn("the user was not present")) }
            guard !rules.userVerificationRequired || flags & 0x04 != 0 else {
                return .failure(.webAuthn("the user was not verified, and the tenant's policy requires it"))
            }
            let counter = data[33..<37].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard let key = try? P256.Signing.PublicKey(derRepresentation: publicKey),
                let signature = try? P256.Signing.ECDSASignature(derRepresentation: signed.signature)
            else { return .failure(.badSignature("the statement signed by \(keyID)")) }
            let message = data + Digest.sha256(assertion.clientDataJSON)
            guard key.isValidSignature(signature, for: message) else {
                return .failure(.badSignature("the statement signed by \(keyID)"))
            }
            return .success(counter)
        }
    }
}

/// A tenant key in a file, for the CLI and libraries: an Ed25519 private key (its 32-byte
/// seed, base64, as `lockbox keys generate` writes it).
public struct TenantSigner: Sendable {
    private let seed: [UInt8]
    public let publicKey: [UInt8]
    public let keyID: String

    public init(seed: [UInt8]) throws(Signer.InvalidKey) {
        let signer = try Signer(seed: seed)
        self.seed = seed
        self.publicKey = signer.publicKey.publicKey
        self.keyID = signer.keyID
    }

    public static func newSeed() -> [UInt8] { Signer.newSeed() }

    /// The statement's bytes, signed.
    public func sign<Statement: TrustStatement>(_ statement: Statement) -> SignedBytes {
        let bytes = statement.canonicalBytes
        return SignedBytes(statement: bytes, keyID: keyID, signature: signature(over: bytes))
    }

    public func signature(over bytes: [UInt8]) -> [UInt8] {
        // The seed was valid when this signer was made.
        (try? Signer(seed: seed).sign(bytes)) ?? []
    }
}
