import LockboxIntegrity

/// A PostgreSQL type, by its OID, as libpq is told for each bound parameter.
package struct PGType: Hashable, Sendable {
    package let oid: UInt32

    package static let bool = PGType(oid: 16)
    package static let bytea = PGType(oid: 17)
    package static let int8 = PGType(oid: 20)
    package static let int2 = PGType(oid: 21)
    package static let int4 = PGType(oid: 23)
    package static let text = PGType(oid: 25)
    package static let jsonb = PGType(oid: 3802)
    package static let textArray = PGType(oid: 1009)
    package static let int8Array = PGType(oid: 1016)
}

/// One bound parameter: its type and its value in PostgreSQL's text format (nil is NULL).
package struct PGBind: Hashable, Sendable {
    package var type: PGType
    package var text: String?
}

/// A Swift value that binds as a parameter of a known PostgreSQL type.
package protocol PGEncodable: Sendable {
    static var pgType: PGType { get }
    /// The value in PostgreSQL's text input format.
    var pgText: String { get }
}

extension String: PGEncodable {
    package static var pgType: PGType { .text }
    package var pgText: String { self }
}

extension Int64: PGEncodable {
    package static var pgType: PGType { .int8 }
    package var pgText: String { String(self) }
}

extension Int: PGEncodable {
    package static var pgType: PGType { .int8 }
    package var pgText: String { String(self) }
}

extension Int16: PGEncodable {
    package static var pgType: PGType { .int2 }
    package var pgText: String { String(self) }
}

extension Bool: PGEncodable {
    package static var pgType: PGType { .bool }
    package var pgText: String { self ? "t" : "f" }
}

/// Binary data, bound as `bytea`.
package struct PGBytes: PGEncodable, Hashable {
    package var bytes: [UInt8]

    package init(_ bytes: [UInt8]) { self.bytes = bytes }

    package static var pgType: PGType { .bytea }
    package var pgText: String { "\\x" + bytes.hex }
}

/// JSON text, bound as `jsonb`.
package struct PGJSON: PGEncodable, Hashable {
    package var text: String

    package init(_ text: String) { self.text = text }

    package static var pgType: PGType { .jsonb }
    package var pgText: String { text }
}

/// A list of texts, bound as `text[]`, for `= ANY(…)`.
package struct PGTextArray: PGEncodable, Hashable {
    package var elements: [String]

    package init(_ elements: [String]) { self.elements = elements }

    package static var pgType: PGType { .textArray }
    package var pgText: String {
        // Byte by byte: a group of checks binds its records' columns as arrays on every commit.
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(2 + elements.reduce(0) { $0 + $1.utf8.count + 3 })
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            for byte in element.utf8 {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

/// A list of integers, bound as `bigint[]`: a parameter of the array's own type, which the
/// server reads once, where a cast from `text[]` in a WHERE clause is made again for every row.
package struct PGInt64Array: PGEncodable, Hashable {
    package var elements: [Int64]

    package init(_ elements: [Int64]) { self.elements = elements }

    package static var pgType: PGType { .int8Array }
    package var pgText: String { "{" + elements.map(String.init).joined(separator: ",") + "}" }
}

/// Enums stored as their raw text (states, roles, services).
package protocol PGTextEnum: PGEncodable, RawRepresentable where RawValue == String {}

extension PGTextEnum {
    package static var pgType: PGType { .text }
    package var pgText: String { rawValue }
}

/// A statement with its parameters, written as string interpolation: every interpolated value
/// becomes a bound parameter (`$1`, `$2`, …) with its PostgreSQL type, and nothing a caller
/// supplies is ever part of the SQL text.
///
///     let query: PGQuery = "SELECT status FROM access_requests WHERE request_id = \(id)"
///
/// A `PGQuery` may be interpolated into another to compose a statement from fixed fragments;
/// its parameters are renumbered.
package struct PGQuery: Sendable, Hashable, ExpressibleByStringInterpolation {
    private enum Part: Sendable, Hashable {
        case sql(String)
        case bind(Int)
    }

    private var parts: [Part] = []
    package private(set) var binds: [PGBind] = []

    package init(stringLiteral value: String) { parts = [.sql(value)] }

    package init(stringInterpolation: StringInterpolation) { self = stringInterpolation.query }

    /// The statement, with `$n` placeholders.
    package var sql: String {
        var text = ""
        for part in parts {
            switch part {
            case .sql(let fragment): text += fragment
            case .bind(let index): text += "$\(index + 1)"
            }
        }
        return text
    }

    package struct StringInterpolation: StringInterpolationProtocol {
        fileprivate var query = PGQuery(parts: [], binds: [])

        package init(literalCapacity: Int, interpolationCount: Int) {}

        package mutating func appendLiteral(_ literal: String) { query.parts.append(.sql(literal)) }

        package mutating func appendInterpolation<Value: PGEncodable>(_ value: Value) {
            query.append(PGBind(type: Value.pgType, text: value.pgText))
        }

        package mutating func appendInterpolation<Value: PGEncodable>(_ value: Value?) {
            query.append(PGBind(type: Value.pgType, text: value?.pgText))
        }

        /// A stored enum's value written into the SQL text as a literal, not bound: for the values
        /// a partial index's predicate names (`state = 'pending'`), which the generic plan of a
        /// bound parameter would not match. Enum values are the program's own constants, never
        /// a caller's text.
        package mutating func appendInterpolation<Value: PGTextEnum>(literal value: Value) {
            precondition(
                value.rawValue.unicodeScalars.allSatisfy { $0 != "'" && $0 != "\\" && $0.value >= 0x20 },
                "an enum value that cannot be a plain SQL literal"
            )
            query.parts.append(.sql("'" + value.rawValue + "'"))
        }

        /// A fragment of SQL with its own parameters.
        package mutating func appendInterpolation(_ fragment: PGQuery) { query.append(fragment) }
    }

    private init(parts: [Part], binds: [PGBind]) {
        self.parts = parts
        self.binds = binds
    }

    private mutating func append(_ bind: PGBind) {
        parts.append(.bind(binds.count))
        binds.append(bind)
    }

    /// Appends another query's SQL and parameters.
    package mutating func append(_ other: PGQuery) {
        let offset = binds.count
        for part in other.parts {
            switch part {
            case .sql(let fragment): parts.append(.sql(fragment))
            case .bind(let index): parts.append(.bind(index + offset))
            }
        }
        binds += other.binds
    }

    /// The conditions joined by AND, or TRUE when there are none. List statements are built
    /// from the filters a call has, never as `$1 IS NULL OR column = $1`: such a statement's
    /// generic plan cannot use an index for the column.
    package static func all(_ conditions: [PGQuery]) -> PGQuery {
        conditions.isEmpty ? "TRUE" : joined(conditions, separator: " AND ")
    }

    /// This query with `prefix` before its SQL and the same parameters (`EXPLAIN …`).
    package func prefixed(_ prefix: String) -> PGQuery {
        PGQuery(parts: [.sql(prefix)] + parts, binds: binds)
    }

    /// Joins fragments with a separator, such as `" OR "`.
    package static func joined(_ fragments: [PGQuery], separator: String) -> PGQuery {
        var result = PGQuery(parts: [], binds: [])
        for (index, fragment) in fragments.enumerated() {
            if index > 0 { result.parts.append(.sql(separator)) }
            result.append(fragment)
        }
        return result
    }
}
