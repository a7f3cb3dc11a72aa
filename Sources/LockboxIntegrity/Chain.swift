import Crypto

/// The words a record or a signed statement uses for a decision: the one spelling of each.
public enum DecisionWord: String, Sendable, Hashable, CaseIterable {
    case approve = "Approve"
    case deny = "Deny"
    case cancel = "Cancel"
}

/// One audit record as the chain covers it: the fields of an integrity export line, in the
/// form they are exported (docs/audit-integrity.md, "Record hash").
public struct ChainedRecord: Sendable, Hashable {
    /// The chain: a tenant's id, or "" for provider-wide records.
    public var scope: String
    public var seq: Int64
    public var auditID: Int64
    public var timeMs: Int64
    public var kind: String
    public var actorID: String
    public var actorDisplay: String
    public var actorIP: String
    public var activity: String
    public var item: String
    /// A ``DecisionWord``, or "" for none.
    public var decision: String
    /// The details JSON, exactly as stored and exported; never re-encoded.
    public var details: String
    /// The hash the log holds for this record.
    public var hash: [UInt8]
    /// When the record was sealed into its chain, by the database's clock: hashed with it
    /// (``tag``). nil for records sealed before seal times were hashed (``tagV1``).
    public var sealedAtMs: Int64?

    public init(
        scope: String,
        seq: Int64,
        auditID: Int64,
        timeMs: Int64,
        kind: String,
        actorID: String,
        actorDisplay: String,
        actorIP: String,
        activity: String,
        item: String,
        decision: String,
        details: String,
        hash: [UInt8] = [],
        sealedAtMs: Int64? = nil
    ) {
        self.scope = scope
        self.seq = seq
        self.auditID = auditID
        self.timeMs = timeMs
        self.kind = kind
        self.actorID = actorID
        self.actorDisplay = actorDisplay
        self.actorIP = actorIP
        self.activity = activity
        self.item = item
        self.decision = decision
        self.details = details
        self.hash = hash
        self.sealedAtMs = sealedAtMs
    }

    /// The tag of a record sealed with its seal time (hash version 2).
    public static let tag = "lockbox/audit-record/v2"
    /// The tag of a record sealed before seal times were hashed (hash version 1).
    public static let tagV1 = "lockbox/audit-record/v1"
    /// The previous hash of a chain's first record.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// The bytes the hash covers, were this record at `seq` after a record whose hash is `previous`.
    public func canonicalBytes(seq: Int64, previous: [UInt8]) -> [UInt8] {
        var writer = CanonicalWriter(tag: sealedAtMs == nil ? Self.tagV1 : Self.tag)
        writer.int64(seq)
        writer.data(previous)
        writer.string(scope)
        writer.int64(auditID)
        writer.int64(timeMs)
        writer.string(kind)
        writer.string(actorID)
        writer.string(actorDisplay)
        writer.string(actorIP)
        writer.string(activity)
        writer.string(item)
        writer.string(decision)
        writer.string(details)
        if let sealedAtMs { writer.int64(sealedAtMs) }
        return writer.bytes
    }

    /// SHA-256 of ``canonicalBytes(seq:previous:)``.
    public func computedHash(seq: Int64, previous: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: canonicalBytes(seq: seq, previous: previous)))
    }
}

/// What a checkpoint signs: a chain's head at a moment.
public struct CheckpointStatement: Sendable, Hashable {
    public var scope: String
    public var seq: Int64
    public var hash: [UInt8]
    public var signedAtMs: Int64
    public var keyID: String

    public init(scope: String, seq: Int64, hash: [UInt8], signedAtMs: Int64, keyID: String) {
        self.scope = scope
        self.seq = seq
        self.hash = hash
        self.signedAtMs = signedAtMs
        self.keyID = keyID
    }

    public static let tag = "lockbox/audit-checkpoint/v1"

    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter(tag: Self.tag)
        writer.string(scope)
        writer.int64(seq)
        writer.data(hash)
        writer.int64(signedAtMs)
        writer.string(keyID)
        return writer.bytes
    }
}

/// A checkpoint and its Ed25519 signature over ``CheckpointStatement/canonicalBytes``.
public struct SignedCheckpoint: Sendable, Hashable {
    public var statement: CheckpointStatement
    public var signature: [UInt8]

    public init(statement: CheckpointStatement, signature: [UInt8]) {
        self.statement = statement
        self.signature = signature
    }

    /// Whether the key it names is among `keys`, and signed exactly this statement.
    public func verifies(with keys: [PublicSigningKey]) -> Bool {
        guard let key = keys.first(where: { $0.keyID == statement.keyID }) else { return false }
        return key.verifies(signature, over: statement.canonicalBytes)
    }
}
