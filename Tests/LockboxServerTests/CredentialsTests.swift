import Foundation
import Testing

@testable import LockboxServer

/// Tokens and enrollment codes carry a checksum keyed by the deployment: one that fails it
/// cannot be ours, and is told apart in memory.
@Suite struct CredentialsTests {
    static let key = Array(repeating: UInt8(7), count: 32)
    static let otherKey = Array(repeating: UInt8(8), count: 32)

    @Test func aNewTokenPassesItsChecksumAndNothingElseDoes() {
        let token = Credentials.newSecret(key: Self.key)
        #expect(token.hasPrefix("lbx_") && token.utf8.count == 55)
        #expect(Credentials.judge(token, key: Self.key) == .checksummed)
        // Another deployment's key, a changed character, a cut or grown token: not ours.
        #expect(Credentials.judge(token, key: Self.otherKey) == .refused)
        for index in [5, 20, 54] {
            var characters = Array(token)
            characters[index] = characters[index] == "A" ? "B" : "A"
            #expect(Credentials.judge(String(characters), key: Self.key) == .refused, "changed at \(index)")
        }
        // Every spelling of the last character but the issued one: its unused bits count too.
        for replacement in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        where replacement != token.last {
            #expect(Credentials.judge(String(token.dropLast()) + String(replacement), key: Self.key) == .refused)
        }
        #expect(Credentials.judge(String(token.dropLast()), key: Self.key) == .refused)
        #expect(Credentials.judge(token + "A", key: Self.key) == .refused)
        #expect(Credentials.judge("lbx_" + String(repeating: "+", count: 51), key: Self.key) == .refused)
        #expect(Credentials.judge("", key: Self.key) == .refused)
        #expect(Credentials.judge(String(repeating: "a", count: 1000), key: Self.key) == .refused)
        // Two tokens are never the same.
        #expect(token != Credentials.newSecret(key: Self.key))
    }

    @Test func theOldFormIsToldApartForTheKnownHashesToDecide() {
        let old = "lbx_" + String(repeating: "x", count: 43)
        #expect(Credentials.judge(old, key: Self.key) == .legacy)
        // Enrollment codes have no old form that is accepted.
        #expect(
            Credentials.judge("lbxe_" + String(repeating: "x", count: 43), key: Self.key, prefix: "lbxe_") == .refused
        )
    }

    @Test func tokensAndEnrollmentCodesAreNeverMistakenForEachOther() {
        let code = Credentials.newEnrollmentCode(key: Self.key)
        #expect(Credentials.judge(code, key: Self.key, prefix: Credentials.enrollmentPrefix) == .checksummed)
        #expect(Credentials.judge(code, key: Self.key) == .refused)
        let token = Credentials.newSecret(key: Self.key)
        #expect(Credentials.judge(token, key: Self.key, prefix: Credentials.enrollmentPrefix) == .refused)
    }

    /// The hand-written base64url agrees with Foundation's, both ways, at every length, and
    /// refuses what is not base64url.
    @Test func base64URLAgreesWithFoundation() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let foundation = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(Credentials.base64URL(bytes) == foundation, "length \(length)")
            #expect(Credentials.fromBase64URL(Substring(foundation)) == bytes, "length \(length)")
        }
        for refused in ["A", "AAAAA", "AB+C", "AB/C", "AB=C", "AB C", "ABé", "AB\u{0}C"] {
            #expect(Credentials.fromBase64URL(Substring(refused)) == nil, "\(refused)")
        }
    }
}
