import Crypto
import Foundation
import LockboxStore

/// Bearer tokens, enrollment codes and identifiers.
///
/// A token is `lbx_` and the URL-safe base64 of 32 random bytes followed by a 6-byte
/// checksum: the first bytes of HMAC-SHA256 over the random bytes, keyed by the deployment's
/// credential key (migrations/0010). A presented token whose checksum fails cannot be one of
/// ours, and is refused before any database work. Only the SHA-256 of the whole token is stored.
/// Enrollment codes are made the same way under `lbxe_`. Tokens issued before checksums
/// (`lbx_` and 43 characters) are accepted by their hash, which every replica holds in memory.
enum Credentials {
    static let tokenPrefix = "lbx_"
    static let enrollmentPrefix = "lbxe_"
    /// The longest token secret accepted; ours are 55 characters.
    static let maxTokenLength = 128
    static let randomBytes = 32
    static let checksumBytes = 6
    /// The length of a token issued before checksums.
    static let legacyTokenLength = tokenPrefix.count + 43

    /// A new token from the system's CSPRNG (getrandom on Linux), with its checksum.
    static func newSecret(key: [UInt8]) -> String { tokenPrefix + newBody(key: key) }

    /// A new enrollment code: like a token, under its own prefix so that neither can be
    /// mistaken for the other.
    static func newEnrollmentCode(key: [UInt8]) -> String { enrollmentPrefix + newBody(key: key) }

    private static func newBody(key: [UInt8]) -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<randomBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return base64URL(random + checksum(random, key: key))
    }

    static func checksum(_ random: [UInt8], key: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: random, using: SymmetricKey(data: key)).prefix(checksumBytes))
    }

    /// What a presented credential is, judged in memory.
    enum Presented: Equatable {
        /// Its checksum holds: it may be one of ours.
        case checksummed
        /// A token of the form issued before checksums: one of ours only if its hash is known.
        case legacy
        /// It cannot be one of ours.
        case refused
    }

    /// Judges a presented token (or, with `prefix`, an enrollment code) without the database.
    static func judge(_ presented: String, key: [UInt8], prefix: String = tokenPrefix) -> Presented {
        guard presented.hasPrefix(prefix), presented.utf8.count <= maxTokenLength else { return .refused }
        if prefix == tokenPrefix, presented.utf8.count == legacyTokenLength { return .legacy }
        // Only the one spelling of the bytes: base64's last character carries unused bits,
        // and a token whose unused bits differ is not the token that was issued.
        let body = presented.dropFirst(prefix.count)
        guard let bytes = fromBase64URL(body), bytes.count == randomBytes + checksumBytes,
            base64URL(bytes) == body
        else { return .refused }
        let expected = checksum(Array(bytes.prefix(randomBytes)), key: key)
        // Compared in constant time, as any check of a secret is.
        var difference: UInt8 = 0
        for (a, b) in zip(expected, bytes.suffix(checksumBytes)) { difference |= a ^ b }
        return difference == 0 ? .checksummed : .refused
    }

    static func hash(_ secret: String) -> [UInt8] { Hashing.sha256(secret) }

    /// Base64url without padding (RFC 4648 §5), written out: on every call's path, so without
    /// Foundation's string replacing.
    static func base64URL(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        func emit(_ group: UInt32, _ count: Int) {
            for shift in [18, 12, 6, 0].prefix(count) { out.append(alphabet[Int((group >> UInt32(shift)) & 63)]) }
        }
        var index = 0
        while index + 3 <= bytes.count {
            emit(UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]), 4)
            index += 3
        }
        switch bytes.count - index {
        case 1: emit(UInt32(bytes[index]) << 16, 2)
        case 2: emit(UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8, 3)
        default: break
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of unpadded base64url text; nil for any other character or an impossible length.
    static func fromBase64URL(_ text: Substring) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        for character in text.utf8 {
            let value = decoding[Int(character)]
            guard value != 0xFF else { return nil }
            values.append(value)
        }
        guard values.count % 4 != 1 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            var group: UInt32 = 0
            for (offset, value) in chunk.enumerated() { group |= UInt32(value) << UInt32(18 - 6 * offset) }
            for byte in 0..<(chunk.count - 1) {
                bytes.append(UInt8(truncatingIfNeeded: group >> UInt32(16 - 8 * byte)))
            }
            index += 4
        }
        return bytes
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    /// Each byte's value in ``alphabet``; 0xFF for a byte that is not in it.
    private static let decoding: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        return table
    }()

    /// A new id such as `req_3f2a…`: a kind and 128 random bits.
    static func newID(_ kind: String) -> String {
        kind + "_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    }
}

extension UInt8 {
    fileprivate var isAlphanumeric: Bool {
        (self >= 0x30 && self <= 0x39) || (self >= 0x41 && self <= 0x5a) || (self >= 0x61 && self <= 0x7a)
    }
}
