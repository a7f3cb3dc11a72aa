import Foundation
import LockboxCore
import LockboxIntegrity

extension DecisionWord {
    /// How a stored decision is spelled in records and statements; nil for none.
    init?(_ decision: AuditDecision) {
        switch decision {
        case .approve: self = .approve
        case .deny: self = .deny
        case .cancel: self = .cancel
        case .none: return nil
        }
    }
}

/// The export formats of the audit log. One is made per export, so its date formatter and
/// JSON coders serve every line of it rather than being built again for each record.
struct AuditFormat {
    static let csvHeader = "id,time,tenant_id,kind,actor_id,actor_display,actor_ip,activity,item,decision,details\n"

    private let timeFormatter: ISO8601DateFormatter
    private let encoder: JSONEncoder
    private let decoder = JSONDecoder()

    init() {
        timeFormatter = ISO8601DateFormatter()
        timeFormatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    func isoTime(_ millis: Int64) -> String {
        timeFormatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    static func decisionName(_ decision: AuditDecision) -> String { DecisionWord(decision)?.rawValue ?? "" }

    static func csvField(_ value: String) -> String {
        var value = value
        // Cells that a spreadsheet would run as a formula (or that start with a tab or a
        // carriage return, which some import as one) are neutralised with a leading apostrophe.
        if let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || value.hasPrefix("'")
        else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    func csvLine(_ record: StoredAuditRecord) -> String {
        [
            String(record.id), isoTime(record.timeMs), record.tenantID, record.kind?.rawValue ?? "", record.actorID,
            record.actorDisplay,
            record.actorIP, record.activity, record.item, Self.decisionName(record.decision), record.detailsJSON,
        ].map(Self.csvField).joined(separator: ",") + "\n"
    }

    func jsonLine(_ record: StoredAuditRecord) -> String {
        struct Line: Encodable {
            var id: Int64
            var time: String
            var tenant_id: String
            var kind: String
            var actor_id: String
            var actor_display: String
            var actor_ip: String
            var activity: String
            var item: String
            var decision: String
            var details: RawJSON
        }
        struct RawJSON: Encodable {
            var object: [String: JSONAny]
            func encode(to encoder: any Encoder) throws { try object.encode(to: encoder) }
        }
        let details = (try? decoder.decode([String: JSONAny].self, from: Data(record.detailsJSON.utf8))) ?? [:]
        let line = Line(
            id: record.id,
            time: isoTime(record.timeMs),
            tenant_id: record.tenantID,
            kind: record.kind?.rawValue ?? "",
            actor_id: record.actorID,
            actor_display: record.actorDisplay,
            actor_ip: record.actorIP,
            activity: record.activity,
            item: record.item,
            decision: Self.decisionName(record.decision),
            details: RawJSON(object: details)
        )
        return String(decoding: (try? encoder.encode(line)) ?? Data("{}".utf8), as: UTF8.self) + "\n"
    }
}

/// Any JSON value, for passing stored details through to an export.
enum JSONAny: Codable {
    case string(String)
    case number(Double)
    case integer(Int64)
    case bool(Bool)
    case object([String: JSONAny])
    case array([JSONAny])
    case null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONAny].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONAny].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }
}
