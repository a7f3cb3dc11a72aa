import Crypto
import Foundation
import LockboxTrust

/// A WebAuthn authenticator in software, for tests: a P-256 key that makes assertions as a
/// browser relays them (authenticator data, client data JSON, a DER signature over the
/// authenticator data and the client data's hash).
package struct SoftwarePasskey: Sendable {
    /// The private key's raw bytes (Crypto's key type is not Sendable).
    let rawKey: [UInt8]
    var privateKey: P256.Signing.PrivateKey { try! P256.Signing.PrivateKey(rawRepresentation: rawKey) }
    package let rpID: String
    package let origin: String
    package var counter: UInt32 = 0

    package init(rpID: String = "portal.contoso.example", origin: String = "https://portal.contoso.example") {
        rawKey = Array(P256.Signing.PrivateKey().rawRepresentation)
        self.rpID = rpID
        self.origin = origin
    }

    /// The public key as a browser's `getPublicKey()` gives it: SPKI, DER.
    package var publicKey: [UInt8] { Array(privateKey.publicKey.derRepresentation) }
    package var keyID: String { KeyAlgorithm.es256WebAuthn.keyID(for: publicKey) }

    /// Asserts `statement`. The flags, type, challenge, origin and relying party may be
    /// changed to make assertions a relying party must refuse.
    package mutating func assert(
        _ statement: [UInt8],
        userVerified: Bool = true,
        userPresent: Bool = true,
        type: String = "webauthn.get",
        challenge: String? = nil,
        origin: String? = nil,
        rpID: String? = nil
    ) -> SignedBytes {
        counter += 1
        let client: [String: Any] = [
            "type": type,
            "challenge": challenge ?? WebAuthnAssertion.challenge(for: statement),
            "origin": origin ?? self.origin,
            "crossOrigin": false,
        ]
        let clientData = Array((try? JSONSerialization.data(withJSONObject: client, options: [.sortedKeys])) ?? Data())
        var authenticatorData = Array(SHA256.hash(data: Array((rpID ?? self.rpID).utf8)))
        authenticatorData.append((userPresent ? 0x01 : 0) | (userVerified ? 0x04 : 0))
        authenticatorData += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: counter >> $0) }
        let message = authenticatorData + Array(SHA256.hash(data: clientData))
        let signature = (try? privateKey.signature(for: message).derRepresentation).map { Array($0) } ?? []
        return SignedBytes(
            statement: statement,
            keyID: keyID,
            signature: signature,
            assertion: WebAuthnAssertion(authenticatorData: authenticatorData, clientDataJSON: clientData)
        )
    }
}
