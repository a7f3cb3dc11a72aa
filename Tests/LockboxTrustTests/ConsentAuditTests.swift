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

    /// A delegate's decision counts when the chain holds the delegation its delegator signed;
    /// once the chain records its revocation, the next action it backed is a finding.
    @Test func aDelegatesDecisionCountsWhileTheChainHoldsTheDelegation() {
        let bob = DelegationTests.bob
        let bobCertificate = TrustTests.certify(key: bob.publicKey, principal: "p_bob", may: .decide)
        let given = DelegationTests.delegation()
        let signedDelegation = Self.approver.sign(given)
        let decision = DelegationTests.delegated(given)
        let revocation = Self.approver.sign(
            DelegationRevocation(tenantID: "contoso", delegationID: given.id, issuerKeyID: Self.approver.keyID)
        )
        func history(delegation: Bool, revoked: Bool) -> [ChainedRecord] {
            var records = Self.history(approvalSignedBy: nil, check: false)
            records.append(
                Self.record(
                    3,
                    "KeyCertified",
                    [
                        "statement": bobCertificate.statement.hex, "issuer_key_id": bobCertificate.keyID,
                        "signature": bobCertificate.signature.hex,
                    ]
                )
            )
            if delegation {
                records.append(
                    Self.record(
                        4,
                        "DelegationGranted",
                        item: given.id,
                        [
                            "statement": signedDelegation.statement.hex, "issuer_key_id": signedDelegation.keyID,
                            "signature": signedDelegation.signature.hex,
                        ]
                    )
                )
            }
            records.append(
                Self.record(
                    5,
                    "CustomerApprove",
                    kind: "lifecycle",
                    item: "req_1",
                    [
                        "decision_statement": decision.canonicalBytes.hex, "decision_key_id": bob.keyID,
                        "decision_signature": bob.signature(over: decision.canonicalBytes).hex,
                    ]
                )
            )
            records.append(
                Self.record(
                    6,
                    "Get-Mailbox",
                    kind: "operator_action",
                    item: "req_1",
                    ["allowed": true, "service": "exchange"]
                )
            )
            if revoked {
                records.append(
                    Self.record(
                        7,
                        "DelegationRevoked",
                        item: given.id,
                        [
                            "statement": revocation.statement.hex, "issuer_key_id": revocation.keyID,
                            "signature": revocation.signature.hex,
                        ]
                    )
                )
                records.append(
                    Self.record(
                        8,
                        "Get-Mailbox",
                        kind: "operator_action",
                        item: "req_1",
                        ["allowed": true, "service": "exchange"]
                    )
                )
            }
            return records
        }
        let held = ConsentAudit.check(history(delegation: true, revoked: false), pinnedRoots: [Self.root.publicKey])
        #expect(held.findings.isEmpty, "\(held.findings)")
        let missing = ConsentAudit.check(history(delegation: false, revoked: false), pinnedRoots: [Self.root.publicKey])
        #expect(
            missing.findings.contains { $0.contains("does not chain") && $0.contains("delegation") },
            "\(missing.findings)"
        )
        #expect(missing.findings.contains { $0.contains("record seq 6") })
        let revoked = ConsentAudit.check(history(delegation: true, revoked: true), pinnedRoots: [Self.root.publicKey])
        #expect(revoked.findings.count == 1 && revoked.findings[0].contains("record seq 8"), "\(revoked.findings)")
        // A revocation the chain records but no tenant key signed withdraws nothing: a finding of
        // its own, and the action after it is backed still.
        var forged = history(delegation: true, revoked: true)
        forged[6] = Self.record(
            7,
            "DelegationRevoked",
            item: given.id,
            [
                "statement": revocation.statement.hex, "issuer_key_id": revocation.keyID,
                "signature": bob.signature(over: revocation.statement).hex,
            ]
        )
        let unsigned = ConsentAudit.check(forged, pinnedRoots: [Self.root.publicKey])
        #expect(
            unsigned.findings.count == 1 && unsigned.findings[0].contains("record seq 7")
                && unsigned.findings[0].contains("withdraws nothing"),
            "\(unsigned.findings)"
        )
    }

    /// A pre-approved grant counts while the signed policy in force holds its rule; an
    /// extension is never pre-approved, and a policy that withdraws the rule makes the next
    /// action a finding.
    @Test func aPreApprovedGrantCountsWhileItsRuleIsInForce() {
        let root = TrustTests.rootRecord()
        let rule = AutoApprovalRule(
            service: "exchange",
            category: "incident",
            maxDurationSeconds: 3600,
            operations: ["get-mailbox"]
        )
        func policy(_ version: Int64, _ rules: [AutoApprovalRule]) -> [String: Any] {
            let signed = Self.root.sign(
                TenantPolicy(tenantID: "contoso", version: version, autoApprovals: rules, issuerKeyID: Self.root.keyID)
            )
            return [
                "statement": signed.statement.hex, "issuer_key_id": signed.keyID, "signature": signed.signature.hex,
            ]
        }
        func preapproved(_ seq: Int64, _ item: String) -> ChainedRecord {
            Self.record(
                seq,
                "AutoApproved",
                kind: "lifecycle",
                item: item,
                [
                    "auto_approval_policy_version": 1, "auto_approval_rule": 1, "service": "exchange",
                    "justification_category": "incident", "operations": "get-mailbox",
                    "grant_starts_at_ms": Int(TrustTests.now), "grant_ends_at_ms": Int(TrustTests.now + 1_800_000),
                ]
            )
        }
        func action(_ seq: Int64, _ item: String) -> ChainedRecord {
            Self.record(
                seq,
                "Get-Mailbox",
                kind: "operator_action",
                item: item,
                ["allowed": true, "service": "exchange"]
            )
        }
        let start = [
            Self.record(
                1,
                "TenantRootAdopted",
                ["statement": root.statement.hex, "signature": root.signature.hex, "previous_signature": ""]
            ),
            Self.record(2, "TenantPolicySet", policy(1, [rule])),
        ]
        let covered = ConsentAudit.check(start + [preapproved(3, "req_1"), action(4, "req_1")], pinnedRoots: nil)
        #expect(covered.findings.isEmpty, "\(covered.findings)")
        let extended = ConsentAudit.check(
            start + [
                Self.record(
                    3,
                    "AccessRequestCreated",
                    kind: "lifecycle",
                    item: "req_2",
                    ["extends_request_id": "req_1"]
                ),
                preapproved(4, "req_2"), action(5, "req_2"),
            ],
            pinnedRoots: nil
        )
        #expect(extended.findings.count == 2, "\(extended.findings)")
        let withdrawn = ConsentAudit.check(
            start + [preapproved(3, "req_1"), Self.record(4, "TenantPolicySet", policy(2, [])), action(5, "req_1")],
            pinnedRoots: nil
        )
        #expect(withdrawn.findings.count == 1, "\(withdrawn.findings)")
    }
}
