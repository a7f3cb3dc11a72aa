import Foundation
import LockboxIntegrity
import LockboxTrust
import Testing

/// The customer's verifier reads consent from the chain alone.
@Suite struct ConsentAuditTests {
    static let root = TrustTests.root
    static let approver = TrustTests.approver

    static func record(
        _ seq: Int64,
        _ activity: String,
        kind: String = "trust",
        item: String = "",
        _ details: [String: Any]
    )
        -> ChainedRecord
    {
        let json = String(
            decoding: try! JSONSerialization.data(withJSONObject: details, options: [.sortedKeys]),
            as: UTF8.self
        )
        return ChainedRecord(
            scope: "contoso",
            seq: seq,
            auditID: seq,
            timeMs: TrustTests.now + 10,
            kind: kind,
            actorID: "x",
            actorDisplay: "x",
            actorIP: "",
            activity: activity,
            item: item,
            decision: "",
            details: json
        )
    }

    static func history(approvalSignedBy signer: TenantSigner?, check: Bool = true) -> [ChainedRecord] {
        let root = TrustTests.rootRecord()
        let certificate = TrustTests.certify(key: approver.publicKey, principal: "p_approver", may: .decide)
        var records = [
            record(
                1,
                "TenantRootAdopted",
                [
                    "statement": root.statement.hex, "signature": root.signature.hex, "previous_signature": "",
                ]
            ),
            record(
                2,
                "KeyCertified",
                [
                    "statement": certificate.statement.hex, "issuer_key_id": certificate.keyID,
                    "signature": certificate.signature.hex,
                ]
            ),
        ]
        if let signer {
            let decision = TrustTests.decision(by: signer.keyID)
            records.append(
                record(
                    3,
                    "CustomerApprove",
                    kind: "lifecycle",
                    item: "req_1",
                    [
                        "decision_statement": decision.canonicalBytes.hex, "decision_key_id": signer.keyID,
                        "decision_signature": signer.signature(over: decision.canonicalBytes).hex,
                    ]
                )
            )
        }
        if check {
            records.append(
                record(
                    4,
                    "Get-Mailbox",
                    kind: "operator_action",
                    item: "req_1",
                    ["allowed": true, "service": "exchange"]
                )
            )
        }
        return records
    }

    @Test func anActionWithoutSignedConsentIsAFinding() {
        let consented = ConsentAudit.check(
            Self.history(approvalSignedBy: Self.approver),
            pinnedRoots: [Self.root.publicKey]
        )
        #expect(consented.findings.isEmpty, "\(consented.findings)")
        #expect(consented.notices.contains { $0.contains("tenant root \(Self.root.keyID) adopted") })
        let unsigned = ConsentAudit.check(Self.history(approvalSignedBy: nil), pinnedRoots: [Self.root.publicKey])
        #expect(
            unsigned.findings.count == 1
                && unsigned.findings[0].contains("without a decision the customer's key signed")
        )
        let stranger = ConsentAudit.check(
            Self.history(approvalSignedBy: TrustTests.stranger),
            pinnedRoots: [Self.root.publicKey]
        )
        #expect(
            stranger.findings.contains { $0.contains("does not chain to the tenant's root") },
            "\(stranger.findings)"
        )
        // The chain's root is not the one the customer keeps: said, and nothing verifies.
        let foreign = ConsentAudit.check(
            Self.history(approvalSignedBy: Self.approver),
            pinnedRoots: [TrustTests.stranger.publicKey]
        )
        #expect(foreign.findings.contains { $0.contains("no tenant root in the chain is one you keep") })
        // Trusting the chain's first root, it says so.
        let unpinned = ConsentAudit.check(Self.history(approvalSignedBy: Self.approver), pinnedRoots: nil)
        #expect(unpinned.findings.isEmpty && unpinned.notices.contains { $0.contains("trusted as it stands") })
    }
}
