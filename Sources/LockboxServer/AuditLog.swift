import Foundation
import LockboxCore
import LockboxStore

/// A JSON value for audit details.
enum JSONValue: Hashable, Sendable {
    /// Writes the value as JSON text.
    func write(to out: inout String) {
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
    static func object(_ fields: [String: JSONValue]) -> String {
        var out = "{"
        for (index, key) in fields.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            writeString(key, to: &out)
            out += ":"
            fields[key]!.write(to: &out)
        }
        return out + "}"
    }

    case string(String)
    case int(Int64)
    case bool(Bool)
    case null
}

struct AuditEntry {
    var tenantID: String
    var actorID: String
    var actorDisplay: String
    var actorIP: String
    var activity: String
    var item: String = ""
    var decision: AuditDecision = .none
    var details: [String: JSONValue] = [:]
}

/// Appends audit records. There is deliberately no update or delete here, and the
/// database refuses both (migrations/0001_initial.sql).
enum AuditLog {
    static let systemActorID = "lockbox"
    static let systemActorDisplay = "Lockbox"

    static func append(_ entry: AuditEntry, nowMs: Int64, db: PGConnection) throws {
        let details = JSONValue.object(entry.details)
        try db.query(
            """
            INSERT INTO audit_records (tenant_id, recorded_at_ms, actor_id, actor_display, actor_ip, activity, item,
                                       decision, details)
            VALUES ($1, $2::bigint, $3, $4, $5, $6, $7, $8::smallint, $9::jsonb)
            """,
            [
                entry.tenantID, String(nowMs), entry.actorID, entry.actorDisplay, entry.actorIP, entry.activity,
                entry.item, String(entry.decision.rawValue), details,
            ]
        )
    }
}
