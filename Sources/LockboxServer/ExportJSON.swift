import LockboxIntegrity

/// The export's JSON line, written byte by byte as `JSONEncoder` with `.sortedKeys` and
/// `.withoutEscapingSlashes` writes it, without its cost: an export spent four fifths of
/// lockboxd's time decoding each record's details into a dictionary and encoding it again.
/// The details arrive as PostgreSQL's jsonb text (valid JSON, keys in jsonb's order, spaces
/// after `:` and `,`), and are re-serialized compactly with sorted keys. What this writer does
/// not handle byte-for-byte as the encoder would (a number that is not a 64-bit integer) sends
/// the record to the general path instead (``AuditFormat/jsonLine(_:)``).
/// `ExportJSONTests` holds the two equal.
enum ExportJSON {
    /// A JSON value as the details hold it; numbers are 64-bit integers only.
    indirect enum Value {
        /// The string as the encoder writes it between its quotes (escaped).
        case string(ArraySlice<UInt8>)
        case integer(Int64)
        case bool(Bool)
        case null
        case array([Value])
        case object([(Key, Value)])
    }

    /// An object's key: as written (escaped) and as its UTF-8 bytes (what keys sort by).
    struct Key {
        var escaped: ArraySlice<UInt8>
        var decoded: ArraySlice<UInt8>
    }

    /// The details text as a value; nil when it is not a JSON object this writer handles.
    static func parse(_ text: String) -> [(Key, Value)]? {
        var parser = Parser(bytes: Array(text.utf8))
        guard case .object(let members)? = parser.value(depth: 0) else { return nil }
        parser.skipSpace()
        guard parser.index == parser.bytes.count else { return nil }
        return members
    }

    /// Appends `value` to `out`.
    static func write(_ value: Value, into out: inout [UInt8]) {
        switch value {
        case .string(let escaped):
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: escaped)
            out.append(UInt8(ascii: "\""))
        case .integer(let number): out.append(contentsOf: String(number).utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "null".utf8)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members): write(members, into: &out)
        }
    }

    /// Appends an object with its keys sorted as the encoder sorts them, by their UTF-8 bytes
    /// (the parser refuses repeated keys).
    static func write(_ members: [(Key, Value)], into out: inout [UInt8]) {
        let sorted = members.sorted { $0.0.decoded.lexicographicallyPrecedes($1.0.decoded) }
        out.append(UInt8(ascii: "{"))
        for (index, (key, value)) in sorted.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            write(.string(key.escaped), into: &out)
            out.append(UInt8(ascii: ":"))
            write(value, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// A recursive-descent reader of the JSON PostgreSQL writes.
    struct Parser {
        let bytes: [UInt8]
        var index = 0
        /// Deeper than this, the general path decides.
        static let maximumDepth = 32

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func take(_ literal: String) -> Bool {
            let expected = Array(literal.utf8)
            guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected
            else { return false }
            index += expected.count
            return true
        }

        mutating func value(depth: Int) -> Value? {
            guard depth <= Self.maximumDepth else { return nil }
            skipSpace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var members: [(Key, Value)] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                }
                while true {
                    skipSpace()
                    guard let key = string() else { return nil }
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                    index += 1
                    guard let member = value(depth: depth + 1) else { return nil }
                    // A repeated key (jsonb never prints one): the general path decides.
                    guard !members.contains(where: { $0.0.decoded == key.decoded }) else { return nil }
                    members.append((key, member))
                    skipSpace()
                    guard index < bytes.count else { return nil }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    guard bytes[index] == UInt8(ascii: "}") else { return nil }
                    index += 1
                    return .object(members)
                }
            case UInt8(ascii: "["):
                index += 1
                var elements: [Value] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                }
                while true {
                    guard let element = value(depth: depth + 1) else { return nil }
                    elements.append(element)
                    skipSpace()
                    guard index < bytes.count else { return nil }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    guard bytes[index] == UInt8(ascii: "]") else { return nil }
                    index += 1
                    return .array(elements)
                }
            case UInt8(ascii: "\""):
                return string().map { Value.string($0.escaped) }
            case UInt8(ascii: "t"): return take("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return take("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return take("null") ? .null : nil
            default:
                return integer().map(Value.integer)
            }
        }

        /// A number written as an integer that fits 64 bits; nil for any other number.
        mutating func integer() -> Int64? {
            let start = index
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            let digits = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > digits else { return nil }
            // A fraction or an exponent: the general path writes it as the encoder would.
            if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
                return nil
            }
            return Int64(String(decoding: bytes[start..<index], as: UTF8.self))
        }

        /// A string: as the encoder would write it between quotes, and its UTF-8 bytes; nil
        /// when malformed. Without a backslash, PostgreSQL's text is the encoder's already (only
        /// quotes, backslashes and control characters are escaped, and they all are) and is
        /// copied as it is; with one, it is decoded and written again.
        mutating func string() -> Key? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            let start = index
            var escapes = false
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") { break }
                if byte < 0x20 { return nil }
                if byte == UInt8(ascii: "\\") {
                    escapes = true
                    index += 1
                }
                index += 1
            }
            guard index < bytes.count else { return nil }
            let raw = bytes[start..<index]
            index += 1
            guard escapes else {
                guard String(validating: raw, as: UTF8.self) != nil else { return nil }
                return Key(escaped: raw, decoded: raw)
            }
            guard let decoded = Self.unescape(raw), let text = String(validating: decoded, as: UTF8.self) else {
                return nil
            }
            var escaped: [UInt8] = []
            JSONText.append(text, to: &escaped)
            return Key(escaped: escaped.dropFirst().dropLast(), decoded: decoded[...])
        }

        /// A string's escapes decoded into its UTF-8 bytes.
        static func unescape(_ raw: ArraySlice<UInt8>) -> [UInt8]? {
            var parser = Parser(bytes: Array(raw))
            var decoded: [UInt8] = []
            while parser.index < parser.bytes.count {
                let byte = parser.bytes[parser.index]
                parser.index += 1
                guard byte == UInt8(ascii: "\\") else {
                    decoded.append(byte)
                    continue
                }
                guard parser.index < parser.bytes.count else { return nil }
                let escape = parser.bytes[parser.index]
                parser.index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escape)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = parser.hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A surrogate pair: the low half must follow.
                        guard parser.take("\\u"), let low = parser.hex4(), (0xDC00..<0xE000).contains(low) else {
                            return nil
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    decoded.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: return nil
                }
            }
            return decoded
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count,
                let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
            else { return nil }
            index += 4
            return value
        }
    }
}
