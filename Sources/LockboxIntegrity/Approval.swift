/// What a signed approval states: the customer's decision, and the grant it created.
public struct ApprovalStatement: Sendable, Hashable {
    public var tenantID: String
    public var requestID: String
    public var operatorID: String
    public var service: String
    /// The grant's window.
    public var startsAtMs: Int64
    public var endsAtMs: Int64
    /// The customer principal who decided.
    public var approverID: String
    /// A ``DecisionWord``: approvals and denials are signed.
    public var decision: String
    public var decidedAtMs: Int64
    /// The key that signs it.
    public var keyID: String

    public init(
        tenantID: String,
        requestID: String,
        operatorID: String,
        service: String,
        startsAtMs: Int64,
        endsAtMs: Int64,
        approverID: String,
        decision: String,
        decidedAtMs: Int64,
        keyID: String
    ) {
        self.tenantID = tenantID
        self.requestID = requestID
        self.operatorID = operatorID
        self.service = service
        self.startsAtMs = startsAtMs
        self.endsAtMs = endsAtMs
        self.approverID = approverID
        self.decision = decision
        self.decidedAtMs = decidedAtMs
        self.keyID = keyID
    }

    public static let tag = "lockbox/approval/v1"

    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter(tag: Self.tag)
        writer.string(tenantID)
        writer.string(requestID)
        writer.string(operatorID)
        writer.string(service)
        writer.int64(startsAtMs)
        writer.int64(endsAtMs)
        writer.string(approverID)
        writer.string(decision)
        writer.int64(decidedAtMs)
        writer.string(keyID)
        return writer.bytes
    }

    /// Reads a statement back from its canonical bytes.
    public init(canonicalBytes bytes: [UInt8]) throws(CanonicalReader.Malformed) {
        var reader = try CanonicalReader(bytes, tag: Self.tag)
        tenantID = try reader.string()
        requestID = try reader.string()
        operatorID = try reader.string()
        service = try reader.string()
        startsAtMs = try reader.int64()
        endsAtMs = try reader.int64()
        approverID = try reader.string()
        decision = try reader.string()
        decidedAtMs = try reader.int64()
        keyID = try reader.string()
        try reader.finish()
    }

    /// Whether the grant's window contains `timeMs`.
    public func isInForce(atMs timeMs: Int64) -> Bool { startsAtMs <= timeMs && timeMs < endsAtMs }
}

/// An approval as the server signed it: the statement's exact bytes, and the signature.
public struct SignedApprovalStatement: Sendable, Hashable {
    public var statement: [UInt8]
    public var keyID: String
    public var signature: [UInt8]

    public init(statement: [UInt8], keyID: String, signature: [UInt8]) {
        self.statement = statement
        self.keyID = keyID
        self.signature = signature
    }

    public enum Problem: Error, Sendable, Hashable, CustomStringConvertible {
        case unknownKey(String)
        case badSignature
        case malformed
        case keyMismatch

        public var description: String {
            switch self {
            case .unknownKey(let id): "signed with key \(id), which is not among the trusted keys"
            case .badSignature: "the signature does not verify: the statement was altered, or not signed by that key"
            case .malformed: "the statement is not in the canonical encoding"
            case .keyMismatch: "the statement names another key than the one that signed it"
            }
        }
    }

    /// The statement, if one of `keys` signed exactly these bytes.
    public func verify(with keys: [PublicSigningKey]) -> Result<ApprovalStatement, Problem> {
        guard let key = keys.first(where: { $0.keyID == keyID }) else { return .failure(.unknownKey(keyID)) }
        guard key.verifies(signature, over: statement) else { return .failure(.badSignature) }
        guard let decoded = try? ApprovalStatement(canonicalBytes: statement) else { return .failure(.malformed) }
        guard decoded.keyID == keyID else { return .failure(.keyMismatch) }
        return .success(decoded)
    }
}

extension Signer {
    public func sign(_ statement: ApprovalStatement) -> SignedApprovalStatement {
        let bytes = statement.canonicalBytes
        return SignedApprovalStatement(statement: bytes, keyID: keyID, signature: sign(bytes))
    }
}
