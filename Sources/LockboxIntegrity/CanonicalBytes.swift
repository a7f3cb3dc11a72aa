/// The canonical byte encoding that chained hashes and signatures cover
/// (docs/audit-integrity.md, "Canonical encoding"): a domain tag and a NUL byte, then each
/// field in a fixed order; integers as fixed-width big-endian, strings and byte strings as
/// a 4-byte big-endian length and the bytes (UTF-8 for strings).
public struct CanonicalWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(tag: String) {
        bytes.append(contentsOf: Array(tag.utf8))
        bytes.append(0)
    }

    public mutating func int64(_ value: Int64) { unsigned(UInt64(bitPattern: value)) }

    public mutating func unsigned(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    public mutating func string(_ value: String) { data(Array(value.utf8)) }

    public mutating func data(_ value: [UInt8]) {
        let count = UInt32(value.count)
        for shift in stride(from: 24, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: count >> UInt32(shift)))
        }
        bytes.append(contentsOf: value)
    }
}

/// Reads back what ``CanonicalWriter`` wrote: how a verifier recovers the fields of a signed
/// statement it was given as bytes. Every read throws on a short or malformed input.
public struct CanonicalReader: Sendable {
    public struct Malformed: Error, CustomStringConvertible {
        public init() {}
        public var description: String { "the statement is not in the canonical encoding" }
    }

    private let bytes: [UInt8]
    private var offset = 0

    /// Checks the tag and its NUL byte.
    public init(_ bytes: [UInt8], tag: String) throws(Malformed) {
        self.bytes = bytes
        let expected = Array(tag.utf8) + [0]
        guard bytes.count >= expected.count, Array(bytes[0..<expected.count]) == expected else { throw Malformed() }
        offset = expected.count
    }

    public mutating func int64() throws(Malformed) -> Int64 { Int64(bitPattern: try unsigned()) }

    public mutating func unsigned() throws(Malformed) -> UInt64 {
        guard offset + 8 <= bytes.count else { throw Malformed() }
        var value: UInt64 = 0
        for byte in bytes[offset..<(offset + 8)] { value = value << 8 | UInt64(byte) }
        offset += 8
        return value
    }

    public mutating func data() throws(Malformed) -> [UInt8] {
        guard offset + 4 <= bytes.count else { throw Malformed() }
        var count = 0
        for byte in bytes[offset..<(offset + 4)] { count = count << 8 | Int(byte) }
        offset += 4
        guard count <= bytes.count - offset else { throw Malformed() }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    public mutating func string() throws(Malformed) -> String {
        guard let value = String(validating: try data(), as: UTF8.self) else { throw Malformed() }
        return value
    }

    /// Throws unless every byte was read.
    public func finish() throws(Malformed) { guard offset == bytes.count else { throw Malformed() } }
}

extension Array where Element == UInt8 {
    /// Lower-case hexadecimal.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses lower- or upper-case hexadecimal; nil unless every character is a hex digit.
    public init?(hex: String) {
        let text = Array(hex.utf8)
        guard text.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count / 2)
        var index = 0
        while index < text.count {
            guard let high = nibble(text[index]), let low = nibble(text[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self = bytes
    }
}
