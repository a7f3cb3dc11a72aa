import CLibPQ

/// A Swift value that decodes from a column in PostgreSQL's text format.
package protocol PGDecodable: Sendable {
    /// Decodes a column's text; `nil` is SQL NULL. Throws unless the value fits the type.
    static func decode(pgText text: String?, column: String) throws(StoreError) -> Self
}

/// A non-optional value: NULL is an error.
package protocol PGNonNullDecodable: PGDecodable {
    init?(pgText text: String)
}

extension PGNonNullDecodable {
    package static func decode(pgText text: String?, column: String) throws(StoreError) -> Self {
        guard let text else { throw StoreError(.decoding, detail: "column \(column) is NULL") }
        guard let value = Self(pgText: text) else {
            throw StoreError(.decoding, detail: "column \(column) does not hold a \(Self.self)")
        }
        return value
    }
}

extension Optional: PGDecodable where Wrapped: PGNonNullDecodable {
    package static func decode(pgText text: String?, column: String) throws(StoreError) -> Self {
        guard let text else { return nil }
        return try Wrapped.decode(pgText: text, column: column)
    }
}

extension String: PGNonNullDecodable {
    package init?(pgText text: String) { self = text }
}

extension Int64: PGNonNullDecodable {
    package init?(pgText text: String) { self.init(text) }
}

extension Int: PGNonNullDecodable {
    package init?(pgText text: String) { self.init(text) }
}

extension Int16: PGNonNullDecodable {
    package init?(pgText text: String) { self.init(text) }
}

extension Bool: PGNonNullDecodable {
    package init?(pgText text: String) {
        switch text {
        case "t": self = true
        case "f": self = false
        default: return nil
        }
    }
}

extension PGTextEnum where Self: PGNonNullDecodable {
    package init?(pgText text: String) { self.init(rawValue: text) }
}

/// Rows copied out of a `PGresult`, in text format.
package struct PGRows: Sendable {
    package let columns: [String]
    package let rows: [PGRow]
    /// Rows affected, for INSERT/UPDATE/DELETE.
    package let affected: Int

    init(copying result: OpaquePointer) {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var index: [String: Int] = [:]
        for (position, name) in columns.enumerated() { index[name] = position }
        var rows: [PGRow] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) != 0 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
            }
            rows.append(PGRow(values: values, index: index))
        }
        self.rows = rows
        affected = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    package var first: PGRow? { rows.first }
    package var isEmpty: Bool { rows.isEmpty }
    package var count: Int { rows.count }
}

/// One row, read by column name into typed values. A column the statement did not select, a
/// NULL where a value is expected, or text that does not parse as the type throws: a
/// misspelled column fails loudly instead of reading as 0 or "".
package struct PGRow: Sendable {
    let values: [String?]
    let index: [String: Int]

    package func decode<Value: PGDecodable>(_ column: String, as type: Value.Type = Value.self) throws(StoreError)
        -> Value
    {
        guard let position = index[column] else {
            throw StoreError(.decoding, detail: "the statement selects no column \(column)")
        }
        return try Value.decode(pgText: values[position], column: column)
    }
}

extension PGBytes: PGNonNullDecodable {
    /// `bytea` in PostgreSQL's hex output format, `\x` and two hex digits per byte.
    package init?(pgText text: String) {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else {
            return nil
        }
        func nibble(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.init(bytes)
    }
}
