import Foundation
import LockboxCore
import LockboxStore

/// A JSON value for audit details.
enum JSONValue: Encodable, Hashable, Sendable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case null

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }
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
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let details = String(decoding: try encoder.encode(entry.details), as: UTF8.self)
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
