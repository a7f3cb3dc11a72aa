import Crypto
import Foundation

/// SHA-256, for what the store keeps only as a hash: token secrets and request fingerprints.
public enum Hashing {
    public static func sha256(_ text: String) -> [UInt8] { Array(SHA256.hash(data: Data(text.utf8))) }

    /// Lower-case hex of the SHA-256 of the UTF-8 text.
    public static func sha256Hex(_ text: String) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in SHA256.hash(data: Data(text.utf8)) {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
