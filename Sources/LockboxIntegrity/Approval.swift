/// What a signed approval states: the customer's decision, and the grant it created.
public struct ApprovalStatement: Sendable, Hashable {
    public var tenantID: String
    public var requestID: String
    public var operatorID: String
    public var service: String
    /// The grant's window.
    public var startsAtMs: Int64
    public var endsAtMs: Int64
    /// The operations the grant allows, lower-cased and sorted: the service's pre-approved
    /// operations when the customer decided. Empty in statements of version 1, which bound
    /// only the service.
    public var operations: [String]
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
        operations: [String],
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
        self.operations = operations
        self.approverID = approverID
        self.decision = decision
        self.decidedAtMs = decidedAtMs
        self.keyID = keyID
    }

    public static let tag = "lockbox/approval/v2"
    /// Statements signed before the scope was part of them.
    public static let tagV1 = "lockbox/approval/v1"

    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter(tag: Self.tag)
        writer.string(tenantID)
        writer.string(requestID)
        writer.string(operatorID)
        writer.string(service)
        writer.int64(startsAtMs)
        writer.int64(endsAtMs)
        writer.int64(Int64(operations.count))
        for operation in operations { writer.string(operation) }
        writer.string(approverID)
        writer.string(decision)
        writer.int64(decidedAtMs)
        writer.string(keyID)
        return writer.bytes
    }

    /// Reads a statement back from its canonical bytes (version 2, or version 1 with no scope).
    public init(canonicalBytes bytes: [UInt8]) throws(CanonicalReader.Malformed) {
        let version2 = (try? CanonicalReader(bytes, tag: Self.tag)) != nil
        var reader = try CanonicalReader(bytes, tag: version2 ? Self.tag : Self.tagV1)
        tenantID = try reader.string()
        requestID = try reader.string()
        operatorID = try reader.string()
        service = try reader.string()
        startsAtMs = try reader.int64()
        endsAtMs = try reader.int64()
        operations = []
        if version2 {
            let count = try reader.int64()
            // Each operation takes at least its 4-byte length: a larger count is malformed.
            guard count >= 0, count <= Int64(bytes.count / 4) else { throw CanonicalReader.Malformed() }
            for _ in 0..<count { operations.append(try reader.string()) }
        }
        approverID = try reader.string()
        decision = try reader.string()
        decidedAtMs = try reader.int64()
        keyID = try reader.string()
        try reader.finish()
    }

    /// Whether the grant's window contains `timeMs`.
    public func isInForce(atMs timeMs: Int64) -> Bool { startsAtMs <= timeMs && timeMs < endsAtMs }

    /// Whether the statement approves `operation` (compared case-insensitively, as operation
    /// names are). A version 1 statement states no scope, and approves none by itself.
    public func allows(operation: String) -> Bool { operations.contains(operation.lowercased()) }
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
