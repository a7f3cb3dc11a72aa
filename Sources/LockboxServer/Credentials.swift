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

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func fromBase64URL(_ text: Substring) -> [UInt8]? {
        guard text.utf8.allSatisfy({ $0 < 0x80 && ($0.isAlphanumeric || $0 == 0x2d || $0 == 0x5f) }) else {
            return nil
        }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map(Array.init)
    }

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
