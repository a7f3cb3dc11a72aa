import Foundation
import LockboxProto
import LockboxRPC

/// Renders protobuf messages for people (key: value lines and tables) and for scripts (JSON).
///
/// Field names come from the Swift value types by reflection and are printed in the
/// .proto's snake_case; enums print their .proto names, times (`*_ms`) ISO-8601 in UTC.
enum Render {
    static func snake(_ name: String) -> String {
        var out = ""
        var previousUpper = false
        for (index, character) in name.enumerated() {
            if character.isUppercase {
                if index > 0 && !previousUpper { out += "_" }
                out += character.lowercased()
                previousUpper = true
            } else {
                out.append(character)
                previousUpper = false
            }
        }
        return out
    }

    static let enumPrefixes = [
        "REQUEST_STATUS_", "SERVICE_", "ROLE_", "DECISION_", "AUDIT_EXPORT_FORMAT_", "ACCESS_DENY_REASON_",
        "AUDIT_KIND_", "JUSTIFICATION_CATEGORY_",
    ]

    /// An enum's name for people: without its type prefix, and blank when unspecified.
    static func shortName(_ enumeration: any ProtoEnum) -> String {
        var name = enumeration.description
        if let prefix = enumPrefixes.first(where: { name.hasPrefix($0) }) {
            name = String(name.dropFirst(prefix.count))
        }
        return name == "UNSPECIFIED" ? "" : name
    }

    /// A message as a JSON-ready dictionary (nested messages as dictionaries, lists as arrays).
    /// `human` shortens enum names for tables.
    static func object(_ value: Any, human: Bool = false) -> Any {
        if let enumeration = value as? any ProtoEnum { return human ? shortName(enumeration) : enumeration.description }
        if let bytes = value as? [UInt8] { return Data(bytes).base64EncodedString() }
        if let string = value as? String { return string }
        if let bool = value as? Bool { return bool }
        if let number = value as? Int64 { return number }
        if let number = value as? UInt64 { return number }
        if let number = value as? UInt32 { return number }
        if let number = value as? Int32 { return number }
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let child = mirror.children.first else { return NSNull() }
            return object(child.value, human: human)
        }
        if mirror.displayStyle == .collection {
            return mirror.children.map { object($0.value, human: human) }
        }
        var dictionary: [String: Any] = [:]
        for child in mirror.children {
            guard let label = child.label else { continue }
            let inner = Mirror(reflecting: child.value)
            if inner.displayStyle == .optional && inner.children.isEmpty { continue }
            dictionary[snake(label)] = object(child.value, human: human)
        }
        return dictionary
    }

    static func json(_ message: some ProtoMessage) -> String {
        let data =
            (try? JSONSerialization.data(withJSONObject: object(message), options: [.sortedKeys, .prettyPrinted]))
            ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func time(_ millis: Int64) -> String {
        guard millis != 0 else { return "-" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    /// A flat field → text view of a message: nested fields as `parent.child`.
    static func fields(_ value: Any, prefix: String = "") -> [(String, String)] {
        guard let dictionary = object(value, human: true) as? [String: Any] else { return [] }
        return flatten(dictionary, prefix: prefix)
    }

    private static func flatten(_ dictionary: [String: Any], prefix: String) -> [(String, String)] {
        var out: [(String, String)] = []
        for key in dictionary.keys.sorted() {
            let name = prefix.isEmpty ? key : prefix + "." + key
            switch dictionary[key] {
            case let nested as [String: Any]:
                out += flatten(nested, prefix: name)
            case let list as [Any]:
                out.append((name, list.isEmpty ? "-" : "\(list.count) item(s)"))
                for (index, element) in list.enumerated() {
                    if let nested = element as? [String: Any] {
                        out += flatten(nested, prefix: "\(name)[\(index)]")
                    }
                }
            case let number as Int64 where key.hasSuffix("_ms"):
                out.append((name, time(number)))
            case let value?:
                out.append((name, "\(value)"))
            case nil:
                break
            }
        }
        return out
    }

    /// `key: value` lines for one message.
    static func detail(_ message: some ProtoMessage) -> String {
        // Values are shown escaped: a line feed in a justification cannot start a forged line.
        let rows = fields(message)
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map {
            $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + printable($0.1, limit: .max)
        }.joined(
            separator: "\n"
        )
    }

    /// A table of messages with the given columns (snake_case field paths, or the names of
    /// `computed` columns).
    static func table<Message: ProtoMessage>(
        _ messages: [Message],
        columns: [String],
        computed: [String: (Message) -> String] = [:]
    ) -> String {
        let rows = messages.map { message -> [String] in
            let values = Dictionary(fields(message), uniquingKeysWith: { first, _ in first })
            // Escaped: a line feed in a name or a justification cannot break the table's rows.
            return columns.map { column in
                printable(computed[column].map { $0(message) } ?? values[column] ?? "", limit: .max)
            }
        }
        let headers = columns.map { $0.uppercased() }
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], min(cell.count, 60)) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let clipped = cell.count > 60 ? String(cell.prefix(57)) + "..." : cell
                return index == cells.count - 1
                    ? clipped : clipped.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }

    /// What an operator action came to: "allowed", or "denied: " and the reason; "" for other records.
    static func outcome(_ record: AuditRecord) -> String {
        guard record.kind == .operatorAction,
            let details = try? JSONSerialization.jsonObject(with: Data(record.detailsJSON.utf8)) as? [String: Any]
        else { return "" }
        if details["allowed"] as? Bool == true { return "allowed" }
        return "denied: " + (details["reason"] as? String ?? "?")
    }
}
