/// JSON strings written as `JSONEncoder` writes them with `.withoutEscapingSlashes`: `"` and `\`
/// escaped, the short escapes for backspace, form feed, line feed, carriage return and tab,
/// `\u00xx` (lower-case) for the other control characters, everything else (slashes,
/// non-ASCII) as it is. What the export lines are built from, byte for byte as the encoder
/// built them before (the tests hold the two equal), without its cost.
package enum JSONText {
    private static let hex = Array("0123456789abcdef".utf8)

    /// Appends `text` as a JSON string, with its quotes.
    package static func append(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends `,"name":` (without the comma for the first field).
    package static func key(_ name: String, first: Bool = false, to out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    /// Appends `,"name":"value"`.
    package static func field(_ name: String, _ value: String, first: Bool = false, to out: inout [UInt8]) {
        key(name, first: first, to: &out)
        append(value, to: &out)
    }

    /// Appends `,"name":value` for an integer.
    package static func field(_ name: String, _ value: Int64, to out: inout [UInt8]) {
        key(name, to: &out)
        out.append(contentsOf: String(value).utf8)
    }
}
