/// A JSON value for audit details.
package enum JSONValue: Hashable, Sendable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case null

    /// Writes the value as JSON text.
    package func write(to out: inout String) {
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
    package static func object(_ fields: [String: JSONValue]) -> String {
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

/// Who acts in a transaction, as the records the database's triggers write name them.
package struct AuditActor: Sendable, Hashable {
    package var id: String
    package var display: String
    package var ip: String
    /// The token the call carried; "" for none.
    package var tokenID: String

    package init(id: String, display: String, ip: String, tokenID: String) {
        self.id = id
        self.display = display
        self.ip = ip
        self.tokenID = tokenID
    }

    package init(_ caller: Caller) {
        self.init(id: caller.id, display: caller.displayName, ip: caller.ip, tokenID: caller.tokenID)
    }

    /// Lockbox itself: sweepers, the dispatcher, bootstrap.
    package static let system = AuditActor(
        id: AuditEntry.systemActorID,
        display: AuditEntry.systemActorDisplay,
        ip: "",
        tokenID: ""
    )
}

/// One audit record to append. The database adds the id and the time.
package struct AuditEntry: Sendable, Hashable {
    package var tenantID: String
    package var kind: AuditKind
    package var actorID: String
    package var actorDisplay: String
    package var actorIP: String
    package var activity: String
    package var item: String
    package var decision: AuditDecision
    package var details: [String: JSONValue]

    package init(
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
    package init(
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
    package init(
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
    package static let systemActorID = "lockbox"
    package static let systemActorDisplay = "Lockbox"
    /// The display name of every operator action; the operator's own identity is in the details.
    package static let providerOperatorDisplay = "Provider Operator"
    /// The actor of a call that carried no credential (enrollment refusals).
    package static let unauthenticatedDisplay = "Unauthenticated caller"
    /// The names above, lower-cased: no principal may take one.
    static let reservedDisplayNames: Set<String> = Set(
        [systemActorDisplay, providerOperatorDisplay, unauthenticatedDisplay].map { $0.lowercased() }
    )
}

/// An audit record as stored.
package struct StoredAuditRecord: Sendable, Hashable {
    package var id: Int64
    package var timeMs: Int64
    package var tenantID: String
    /// nil for records written before kinds existed.
    package var kind: AuditKind?
    package var actorID: String
    package var actorDisplay: String
    package var actorIP: String
    package var activity: String
    package var item: String
    package var decision: AuditDecision
    /// The details, a JSON object as text.
    package var detailsJSON: String
    /// The record's place in its chain and its hash, once sealed; nil before.
    package var seal: AuditSeal?

    package init(
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
package struct AuditSeal: Sendable, Hashable {
    package var seq: Int64
    package var hash: [UInt8]
    /// The database's time when it was sealed, when the hash covers it (hash version 2).
    package var sealedAtMs: Int64?

    package init(seq: Int64, hash: [UInt8], sealedAtMs: Int64?) {
        self.seq = seq
        self.hash = hash
        self.sealedAtMs = sealedAtMs
    }
}

/// Bytes the server signed: the exact statement, the key's id and the Ed25519 signature.
package struct SignedStatement: Sendable, Hashable {
    package var statement: [UInt8]
    package var keyID: String
    package var signature: [UInt8]

    package init(statement: [UInt8], keyID: String, signature: [UInt8]) {
        self.statement = statement
        self.keyID = keyID
        self.signature = signature
    }
}

/// A signed head of one chain, as stored.
package struct StoredCheckpoint: Sendable, Hashable {
    package var id: Int64
    /// A tenant's id, or "" for the provider-wide chain.
    package var scope: String
    package var seq: Int64
    package var hash: [UInt8]
    package var signedAtMs: Int64
    package var keyID: String
    package var signature: [UInt8]

    package init(
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
package struct StoredSigningKey: Sendable, Hashable {
    package var keyID: String
    package var publicKey: [UInt8]
    /// When the database first saw it (its own clock).
    package var firstSeenAtMs: Int64
    /// Whether the database's owner role added it; otherwise a cross-signature introduces it.
    package var introducedByOwner: Bool
    package var attestedBy: String?
    package var attestation: [UInt8]?

    package init(
        keyID: String,
        publicKey: [UInt8],
        firstSeenAtMs: Int64,
        introducedByOwner: Bool = false,
        attestedBy: String? = nil,
        attestation: [UInt8]? = nil
    ) {
        self.keyID = keyID
        self.publicKey = publicKey
        self.firstSeenAtMs = firstSeenAtMs
        self.introducedByOwner = introducedByOwner
        self.attestedBy = attestedBy
        self.attestation = attestation
    }
}

/// Where a page of an audit search ends, and where the next one starts: after `pageSize`
/// matches when more were found; below the lowest id read when the read stopped at its limit
/// (a page may then be short, or empty, and still have a next one); else nowhere.
package struct SearchPageCut: Sendable, Hashable {
    /// How many of the matches the page holds.
    package var count: Int
    /// The next page's ids are below this; nil when the search is done.
    package var nextBefore: Int64?

    /// - Parameters:
    ///   - matches: the ids found, newest first, at most `pageSize + 1`.
    ///   - scannedTo: the lowest id read, when the read stopped at its limit.
    package init(matches: [Int64], pageSize: Int, scannedTo: Int64?) {
        if matches.count > pageSize {
            count = pageSize
            nextBefore = pageSize > 0 ? matches[pageSize - 1] : nil
        } else {
            count = matches.count
            nextBefore = scannedTo
        }
    }
}
