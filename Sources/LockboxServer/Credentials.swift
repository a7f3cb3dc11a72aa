import Foundation
import LockboxStore

/// Bearer tokens and identifiers: 256 random bits per token, shown once, stored as SHA-256.
enum Credentials {
    static let tokenPrefix = "lbx_"
    /// The longest token secret accepted; ours are 47 characters.
    static let maxTokenLength = 128

    /// A new token secret from the system's CSPRNG (getrandom on Linux).
    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let base64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return tokenPrefix + base64
    }

    /// Whether a presented token could be one of ours at all.
    static func isWellFormed(_ token: String) -> Bool {
        token.hasPrefix(tokenPrefix) && token.utf8.count <= maxTokenLength
    }

    static func hash(_ secret: String) -> [UInt8] { Hashing.sha256(secret) }

    static let enrollmentPrefix = "lbxe_"

    /// A new enrollment code: 256 random bits, like a token, under its own prefix so that
    /// neither can be mistaken for the other.
    static func newEnrollmentCode() -> String {
        enrollmentPrefix + newSecret().dropFirst(tokenPrefix.count)
    }

    static func isWellFormedEnrollmentCode(_ code: String) -> Bool {
        code.hasPrefix(enrollmentPrefix) && code.utf8.count <= maxTokenLength
    }

    /// A new id such as `req_3f2a…`: a kind and 128 random bits.
    static func newID(_ kind: String) -> String {
        kind + "_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    }
}
