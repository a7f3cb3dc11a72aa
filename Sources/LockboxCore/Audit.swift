/// A JSON value for audit details.
public enum JSONValue: Hashable, Sendable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case null

    /// Writes the value as JSON text.
    public func write(to out: inout String) {
        switch self {
        case .string(let value): JSONValue.writeString(value, to: &out)
        case .int(let value): out += String(value)
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        }
    }

    static func writeString(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// An object with sorted keys, as compact JSON.
    public static func object(_ fields: [String: JSONValue]) -> String {
        var out = "{"
        for (index, key) in fields.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            writeString(key, to: &out)
            out += ":"
            fields[key]!.write(to: &out)
        }
        return out + "}"
    }
}

/// One audit record to append. The store adds the id and the time.
public struct AuditEntry: Sendable, Hashable {
    public var tenantID: String
    public var kind: AuditKind
    public var actorID: String
    public var actorDisplay: String
    public var actorIP: String
    public var activity: String
    public var item: String
    public var decision: AuditDecision
    public var details: [String: JSONValue]

    public init(
        tenantID: String,
        kind: AuditKind,
        actorID: String,
        actorDisplay: String,
        actorIP: String,
        activity: String,
        item: String = "",
        decision: AuditDecision = .none,
        details: [String: JSONValue] = [:]
    ) {
        self.tenantID = tenantID
        self.kind = kind
        self.actorID = actorID
        self.actorDisplay = actorDisplay
        self.actorIP = actorIP
        self.activity = activity
        self.item = item
        self.decision = decision
        self.details = details
    }

    /// The record a caller's own action writes; its details name the token the call carried.
    public init(
        by caller: Caller,
        tenantID: String,
        kind: AuditKind,
        activity: Activity,
        item: String = "",
        decision: AuditDecision = .none,
        details: [String: JSONValue] = [:]
    ) {
        var details = details
        if !caller.tokenID.isEmpty { details["token_id"] = .string(caller.tokenID) }
        self.init(
            tenantID: tenantID,
            kind: kind,
            actorID: caller.id,
            actorDisplay: caller.displayName,
            actorIP: caller.ip,
            activity: activity.rawValue,
            item: item,
            decision: decision,
            details: details
        )
    }

    /// The record of what Lockbox does by itself (the sweepers' moves).
    public init(
        system activity: Activity,
        tenantID: String,
        kind: AuditKind,
        item: String = "",
        details: [String: JSONValue] = [:]
    ) {
        self.init(
            tenantID: tenantID,
            kind: kind,
            actorID: Self.systemActorID,
            actorDisplay: Self.systemActorDisplay,
            actorIP: "",
            activity: activity.rawValue,
            item: item,
            details: details
        )
    }

    /// The actor of what Lockbox does by itself (sweepers).
    public static let systemActorID = "lockbox"
    public static let systemActorDisplay = "Lockbox"
    /// The display name of every operator action; the operator's own identity is in the details.
    public static let providerOperatorDisplay = "Provider Operator"
    /// The actor of a call that carried no credential (enrollment refusals).
    public static let unauthenticatedDisplay = "Unauthenticated caller"
    /// The names above, lower-cased: no principal may take one.
    static let reservedDisplayNames: Set<String> = Set(
        [systemActorDisplay, providerOperatorDisplay, unauthenticatedDisplay].map { $0.lowercased() }
    )
}

/// An audit record as stored.
public struct StoredAuditRecord: Sendable, Hashable {
    public var id: Int64
    public var timeMs: Int64
    public var tenantID: String
    /// nil for records written before kinds existed.
    public var kind: AuditKind?
    public var actorID: String
    public var actorDisplay: String
    public var actorIP: String
    public var activity: String
    public var item: String
    public var decision: AuditDecision
    /// The details, a JSON object as text.
    public var detailsJSON: String
    /// The record's place in its chain and its hash, once sealed; nil before.
    public var seal: AuditSeal?

    public init(
        id: Int64,
        timeMs: Int64,
        tenantID: String,
        kind: AuditKind?,
        actorID: String,
        actorDisplay: String,
        actorIP: String,
        activity: String,
        item: String,
        decision: AuditDecision,
        detailsJSON: String,
        seal: AuditSeal? = nil
    ) {
        self.id = id
        self.timeMs = timeMs
        self.tenantID = tenantID
        self.kind = kind
        self.actorID = actorID
        self.actorDisplay = actorDisplay
        self.actorIP = actorIP
        self.activity = activity
        self.item = item
        self.decision = decision
        self.detailsJSON = detailsJSON
        self.seal = seal
    }
}

/// Where a record sits in its hash chain (a tenant's, or the provider-wide one, "").
public struct AuditSeal: Sendable, Hashable {
    public var seq: Int64
    public var hash: [UInt8]

    public init(seq: Int64, hash: [UInt8]) {
        self.seq = seq
        self.hash = hash
    }
}

/// Bytes the server signed: the exact statement, the key's id and the Ed25519 signature.
public struct SignedStatement: Sendable, Hashable {
    public var statement: [UInt8]
    public var keyID: String
    public var signature: [UInt8]

    public init(statement: [UInt8], keyID: String, signature: [UInt8]) {
        self.statement = statement
        self.keyID = keyID
        self.signature = signature
    }
}

/// A signed head of one chain, as stored.
public struct StoredCheckpoint: Sendable, Hashable {
    public var id: Int64
    /// A tenant's id, or "" for the provider-wide chain.
    public var scope: String
    public var seq: Int64
    public var hash: [UInt8]
    public var signedAtMs: Int64
    public var keyID: String
    public var signature: [UInt8]

    public init(
        id: Int64 = 0,
        scope: String,
        seq: Int64,
        hash: [UInt8],
        signedAtMs: Int64,
        keyID: String,
        signature: [UInt8]
    ) {
        self.id = id
        self.scope = scope
        self.seq = seq
        self.hash = hash
        self.signedAtMs = signedAtMs
        self.keyID = keyID
        self.signature = signature
    }
}

/// A public key the server has signed with, and when it was first published.
public struct StoredSigningKey: Sendable, Hashable {
    public var keyID: String
    public var publicKey: [UInt8]
    public var firstSeenAtMs: Int64

    public init(keyID: String, publicKey: [UInt8], firstSeenAtMs: Int64) {
        self.keyID = keyID
        self.publicKey = publicKey
        self.firstSeenAtMs = firstSeenAtMs
    }
}
