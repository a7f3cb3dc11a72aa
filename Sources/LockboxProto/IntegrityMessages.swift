import CLockboxProto

// The audit log's integrity: signed approvals, signing keys and checkpoints
// (proto/lockbox.proto; docs/audit-integrity.md).

public struct SignedApproval: ProtoMessage {
    /// The statement's exact canonical bytes.
    public var statement: [UInt8]
    public var keyID: String
    public var signature: [UInt8]

    public init(statement: [UInt8] = [], keyID: String = "", signature: [UInt8] = []) {
        self.statement = statement
        self.keyID = keyID
        self.signature = signature
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension SignedApproval: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__SignedApproval>) {
        lockbox__v1__signed_approval__init(message)
    }

    init(c: Lockbox__V1__SignedApproval) throws(ProtoDecodeError) {
        self.init(
            statement: CRead.bytes(c.statement),
            keyID: try CRead.string(c.key_id, in: Self.self),
            signature: CRead.bytes(c.signature)
        )
    }

    func fill(_ c: inout Lockbox__V1__SignedApproval, _ arena: Arena) {
        c.statement = arena.bytes(statement)
        c.key_id = arena.string(keyID)
        c.signature = arena.bytes(signature)
    }
}

public struct SigningKey: ProtoMessage {
    public var keyID: String
    /// The raw 32-byte Ed25519 public key.
    public var publicKey: [UInt8]
    public var firstSeenAtMs: Int64
    public var introducedByOwner: Bool
    /// The key that cross-signed it; "" when the database's owner introduced it.
    public var attestedBy: String
    public var attestation: [UInt8]

    public init(
        keyID: String = "",
        publicKey: [UInt8] = [],
        firstSeenAtMs: Int64 = 0,
        introducedByOwner: Bool = false,
        attestedBy: String = "",
        attestation: [UInt8] = []
    ) {
        self.keyID = keyID
        self.publicKey = publicKey
        self.firstSeenAtMs = firstSeenAtMs
        self.introducedByOwner = introducedByOwner
        self.attestedBy = attestedBy
        self.attestation = attestation
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension SigningKey: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__SigningKey>) {
        lockbox__v1__signing_key__init(message)
    }

    init(c: Lockbox__V1__SigningKey) throws(ProtoDecodeError) {
        self.init(
            keyID: try CRead.string(c.key_id, in: Self.self),
            publicKey: CRead.bytes(c.public_key),
            firstSeenAtMs: c.first_seen_at_ms,
            introducedByOwner: Bool(protobuf: c.introduced_by_owner),
            attestedBy: try CRead.string(c.attested_by, in: Self.self),
            attestation: CRead.bytes(c.attestation)
        )
    }

    func fill(_ c: inout Lockbox__V1__SigningKey, _ arena: Arena) {
        c.key_id = arena.string(keyID)
        c.public_key = arena.bytes(publicKey)
        c.first_seen_at_ms = firstSeenAtMs
        c.introduced_by_owner = introducedByOwner.protobuf
        c.attested_by = arena.string(attestedBy)
        c.attestation = arena.bytes(attestation)
    }
}

public struct Checkpoint: ProtoMessage {
    /// A tenant id, or "" for the provider-wide chain.
    public var scope: String
    public var seq: Int64
    public var hash: [UInt8]
    public var signedAtMs: Int64
    public var keyID: String
    public var signature: [UInt8]

    public init(
        scope: String = "",
        seq: Int64 = 0,
        hash: [UInt8] = [],
        signedAtMs: Int64 = 0,
        keyID: String = "",
        signature: [UInt8] = []
    ) {
        self.scope = scope
        self.seq = seq
        self.hash = hash
        self.signedAtMs = signedAtMs
        self.keyID = keyID
        self.signature = signature
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension Checkpoint: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__Checkpoint>) {
        lockbox__v1__checkpoint__init(message)
    }

    init(c: Lockbox__V1__Checkpoint) throws(ProtoDecodeError) {
        self.init(
            scope: try CRead.string(c.scope, in: Self.self),
            seq: c.seq,
            hash: CRead.bytes(c.hash),
            signedAtMs: c.signed_at_ms,
            keyID: try CRead.string(c.key_id, in: Self.self),
            signature: CRead.bytes(c.signature)
        )
    }

    func fill(_ c: inout Lockbox__V1__Checkpoint, _ arena: Arena) {
        c.scope = arena.string(scope)
        c.seq = seq
        c.hash = arena.bytes(hash)
        c.signed_at_ms = signedAtMs
        c.key_id = arena.string(keyID)
        c.signature = arena.bytes(signature)
    }
}

public struct ListSigningKeysRequest: ProtoMessage {
    public init() {}

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListSigningKeysRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListSigningKeysRequest>) {
        lockbox__v1__list_signing_keys_request__init(message)
    }

    init(c: Lockbox__V1__ListSigningKeysRequest) {}

    func fill(_ c: inout Lockbox__V1__ListSigningKeysRequest, _ arena: Arena) {}
}

public struct ListSigningKeysResponse: ProtoMessage {
    public var keys: [SigningKey]

    public init(keys: [SigningKey] = []) { self.keys = keys }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListSigningKeysResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListSigningKeysResponse>) {
        lockbox__v1__list_signing_keys_response__init(message)
    }

    init(c: Lockbox__V1__ListSigningKeysResponse) throws(ProtoDecodeError) {
        self.init(keys: try CRead.repeated(c.n_keys, c.keys))
    }

    func fill(_ c: inout Lockbox__V1__ListSigningKeysResponse, _ arena: Arena) {
        (c.n_keys, c.keys) = arena.repeated(keys)
    }
}

public struct ListCheckpointsRequest: ProtoMessage {
    public var tenantID: String
    /// Only checkpoints of a later sequence number.
    public var afterSeq: Int64
    public var pageSize: UInt32

    public init(tenantID: String = "", afterSeq: Int64 = 0, pageSize: UInt32 = 0) {
        self.tenantID = tenantID
        self.afterSeq = afterSeq
        self.pageSize = pageSize
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListCheckpointsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListCheckpointsRequest>) {
        lockbox__v1__list_checkpoints_request__init(message)
    }

    init(c: Lockbox__V1__ListCheckpointsRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            afterSeq: c.after_seq,
            pageSize: c.page_size
        )
    }

    func fill(_ c: inout Lockbox__V1__ListCheckpointsRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.after_seq = afterSeq
        c.page_size = pageSize
    }
}

public struct ListCheckpointsResponse: ProtoMessage {
    public var checkpoints: [Checkpoint]

    public init(checkpoints: [Checkpoint] = []) { self.checkpoints = checkpoints }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListCheckpointsResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListCheckpointsResponse>) {
        lockbox__v1__list_checkpoints_response__init(message)
    }

    init(c: Lockbox__V1__ListCheckpointsResponse) throws(ProtoDecodeError) {
        self.init(checkpoints: try CRead.repeated(c.n_checkpoints, c.checkpoints))
    }

    func fill(_ c: inout Lockbox__V1__ListCheckpointsResponse, _ arena: Arena) {
        (c.n_checkpoints, c.checkpoints) = arena.repeated(checkpoints)
    }
}

public struct CreateCheckpointRequest: ProtoMessage {
    public var tenantID: String

    public init(tenantID: String = "") { self.tenantID = tenantID }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CreateCheckpointRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CreateCheckpointRequest>) {
        lockbox__v1__create_checkpoint_request__init(message)
    }

    init(c: Lockbox__V1__CreateCheckpointRequest) throws(ProtoDecodeError) {
        self.init(tenantID: try CRead.string(c.tenant_id, in: Self.self))
    }

    func fill(_ c: inout Lockbox__V1__CreateCheckpointRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
    }
}
