import Foundation
import LockboxProto
import LockboxRPC
import LockboxTrust
import Testing

/// The fuzz target's seeds for what it feeds past the request messages (``parsers`` in
/// Fuzz/Sources/LockboxFuzz/main.swift, in that order): one well-formed input each, so the
/// fuzzer starts from the canonical encoding instead of guessing it.
/// `LOCKBOX_WRITE_FUZZ_CORPUS=1 swift test --filter TrustFuzzSeedTests` writes them again.
@Suite struct TrustFuzzSeedTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appending(path: "../../Fuzz/corpus").standardizedFileURL

    static var seeds: [(String, [UInt8])] {
        let certificate = KeyCertificate(
            tenantID: "contoso",
            principalID: "p_approver",
            algorithm: .ed25519,
            publicKey: TrustTests.approver.publicKey,
            capabilities: [.decide],
            notBeforeMs: 0,
            notAfterMs: .max,
            issuerKeyID: TrustTests.root.keyID
        )
        let policy = TenantPolicy(
            tenantID: "contoso",
            version: 2,
            lockboxEnabled: true,
            signaturesRequired: true,
            userVerificationRequired: true,
            rpID: "portal.contoso.example",
            origins: ["https://portal.contoso.example"],
            issuerKeyID: TrustTests.root.keyID
        )
        let evidence = AccessEvidence(
            material: TrustTests.material(),
            decision: TrustTests.approver.sign(TrustTests.decision())
        )
        // Authenticator data: the relying party's hash, flags (present, verified), counter 1.
        var authenticatorData = [UInt8](repeating: 0, count: 32) + [0x05, 0, 0, 0, 1]
        authenticatorData.replaceSubrange(0..<32, with: [UInt8](repeating: 7, count: 32))
        let clientData = Array(
            #"{"type":"webauthn.get","challenge":"AQID","origin":"https://portal.contoso.example"}"#.utf8
        )
        let response = ResponseFrame(callID: 1, payload: [1, 2, 3])
        return [
            (
                "trust-root",
                TenantRootStatement(
                    tenantID: "contoso",
                    publicKey: TrustTests.root.publicKey,
                    previousKeyID: ""
                ).canonicalBytes
            ),
            (
                "trust-attestation",
                RootAttestation(
                    tenantID: "contoso",
                    rootKeyID: TrustTests.root.keyID,
                    statementHash: [UInt8](repeating: 9, count: 32),
                    serverKeyID: "ed25519:0011223344556677"
                ).canonicalBytes
            ),
            ("trust-certificate", certificate.canonicalBytes),
            ("trust-revocation", KeyRevocation(tenantID: "contoso", keyID: "k", issuerKeyID: "i").canonicalBytes),
            ("trust-policy", policy.canonicalBytes),
            ("trust-decision", TrustTests.decision().canonicalBytes),
            ("trust-evidence", evidence.canonicalBytes),
            ("trust-assertion", [UInt8(authenticatorData.count)] + authenticatorData + clientData),
            ("response-frame", response.encode()),
            ("trust-delegation", DelegationTests.delegation(services: ["exchange"]).canonicalBytes),
            (
                "trust-delegation-revocation",
                DelegationRevocation(tenantID: "contoso", delegationID: "dlg_0", issuerKeyID: "i").canonicalBytes
            ),
        ]
    }

    @Test func theTrustSeedsAreCurrent() throws {
        let first = LockboxMethods.all.count + 1
        if ProcessInfo.processInfo.environment["LOCKBOX_WRITE_FUZZ_CORPUS"] == "1" {
            for (index, (name, bytes)) in Self.seeds.enumerated() {
                try Data([UInt8(first + index)] + bytes).write(to: Self.directory.appending(path: name))
            }
        }
        for (index, (name, bytes)) in Self.seeds.enumerated() {
            let stored = try? Data(contentsOf: Self.directory.appending(path: name))
            #expect(stored.map(Array.init) == [UInt8(first + index)] + bytes, "Fuzz/corpus/\(name) is stale or missing")
        }
    }
}
