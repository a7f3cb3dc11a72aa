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

    /// The time as the formatter writes it: what ``isoTime(_:)`` must equal.
    func formattedTime(_ millis: Int64) -> String {
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
            String(record.id), Self.isoTime(record.timeMs), record.tenantID, record.kind?.rawValue ?? "",
            record.actorID,
            record.actorDisplay,
            record.actorIP, record.activity, record.item, Self.decisionName(record.decision), record.detailsJSON,
        ].map(Self.csvField).joined(separator: ",") + "\n"
    }

    func jsonLine(_ record: StoredAuditRecord) -> String {
        var out: [UInt8] = []
        jsonLine(record, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the record's JSON line to `out`.
    func jsonLine(_ record: StoredAuditRecord, into out: inout [UInt8]) {
        guard let details = ExportJSON.parse(record.detailsJSON) else {
            out.append(contentsOf: generalJSONLine(record).utf8)
            return
        }
        out.append(UInt8(ascii: "{"))
        JSONText.field("activity", record.activity, first: true, to: &out)
        JSONText.field("actor_display", record.actorDisplay, to: &out)
        JSONText.field("actor_id", record.actorID, to: &out)
        JSONText.field("actor_ip", record.actorIP, to: &out)
        JSONText.field("decision", Self.decisionName(record.decision), to: &out)
        JSONText.key("details", to: &out)
        ExportJSON.write(details, into: &out)
        JSONText.field("id", record.id, to: &out)
        JSONText.field("item", record.item, to: &out)
        JSONText.field("kind", record.kind?.rawValue ?? "", to: &out)
        JSONText.field("tenant_id", record.tenantID, to: &out)
        JSONText.field("time", Self.isoTime(record.timeMs), to: &out)
        out.append(contentsOf: Array("}\n".utf8))
    }

    /// A time as ISO-8601 in UTC with milliseconds, as the formatter writes it
    /// (`2026-12-06T06:45:38.227Z`), without building a `Date` and a calendar for each record.
    static func isoTime(_ millis: Int64) -> String {
        let (days, dayMillis) = millis.quotientAndRemainder(dividingBy: 86_400_000)
        let (day, ms) = dayMillis < 0 ? (days - 1, dayMillis + 86_400_000) : (days, dayMillis)
        // Civil date from days since 1970-01-01 (the proleptic Gregorian calendar).
        let z = day + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let dayOfMonth = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(dayOfMonth, 2))T\(pad(ms / 3_600_000, 2)):"
            + "\(pad(ms / 60_000 % 60, 2)):\(pad(ms / 1000 % 60, 2)).\(pad(ms % 1000, 3))Z"
    }

    /// The line through `JSONEncoder`: for details the fast path does not handle byte for byte.
    func generalJSONLine(_ record: StoredAuditRecord) -> String {
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
            time: formattedTime(record.timeMs),
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
