import Foundation
import LockboxIntegrity

/// What a tenant's audit chain says about consent, checked from the chain alone: every root
/// change, every decision whose signature does not chain to the tenant's root, and every
/// operator action allowed without a decision the customer's key signed (where the tenant had
/// a root and its signed policy did not turn the lockbox off). The chain carries each
/// statement and signature in its records' details (migrations/0012 and RequestWorkflow), so
/// no server is asked.
public enum ConsentAudit {
    public struct Report: Sendable, Hashable {
        /// What breaks the customer's guarantee.
        public var findings: [String] = []
        /// What the customer should know: root changes, and where the chain's trust starts.
        public var notices: [String] = []
    }

    /// - Parameter pinnedRoots: the tenant root public keys the customer keeps; nil trusts the
    ///   chain's first root (and says so).
    public static func check(_ records: [ChainedRecord], pinnedRoots: [[UInt8]]?) -> Report {
        var report = Report()
        guard let tenantID = records.first?.scope, !tenantID.isEmpty else { return report }
        var material = TrustMaterial(tenantID: tenantID)
        var trust: TenantTrust?
        /// Each request's verified decisions, oldest first: every approver's under an N-of-M policy.
        var decisions: [String: [DecisionStatement]] = [:]
        /// The grants the tenant's signed pre-approvals made: their operations and window.
        var preapproved:
            [String: (rule: AutoApprovalRule, operations: Set<String>, startsAtMs: Int64, endsAtMs: Int64)] = [:]
        /// Requests filed as extensions: re-approved by approvers, never pre-approved.
        var extensions = Set<String>()
        var firstRoot: [UInt8]?
        func current() -> TenantTrust {
            if let trust { return trust }
            let made = TenantTrust(material) { root, _ in
                if let pinnedRoots { return pinnedRoots.contains(root.publicKey) }
                return root.publicKey == firstRoot
            }
            trust = made
            return made
        }
        for record in records {
            guard let details = try? JSONSerialization.jsonObject(with: Data(record.details.utf8)) as? [String: Any]
            else { continue }
            func hex(_ key: String) -> [UInt8] { (details[key] as? String).flatMap { [UInt8](hex: $0) } ?? [] }
            let named = "record seq \(record.seq)"
            switch record.activity {
            case "TenantRootAdopted":
                let root = RootRecord(
                    statement: hex("statement"),
                    signature: hex("signature"),
                    previousSignature: hex("previous_signature")
                )
                material.roots.append(root)
                trust = nil
                let statement = try? TenantRootStatement(canonicalBytes: root.statement)
                if firstRoot == nil { firstRoot = statement?.publicKey }
                let key = statement?.keyID ?? "?"
                report.notices.append(
                    statement?.previousKeyID.isEmpty ?? true
                        ? "\(named): tenant root \(key) adopted"
                        : "\(named): tenant root \(key) replaced \(statement?.previousKeyID ?? "?")"
                )
            case "KeyCertified":
                material.certificates.append(signed(details, hex))
                trust = nil
            case "KeyRevoked":
                if !hex("statement").isEmpty {
                    material.revocations.append(signed(details, hex))
                    trust = nil
                }
            case "TenantPolicySet":
                material.policies.append(signed(details, hex))
                trust = nil
            case "DelegationGranted":
                let given = signed(details, hex)
                material.delegations.append(given)
                trust = nil
                let id = DelegationStatement.id(of: given.statement)
                if current().delegations[id] == nil && !current().revokedDelegations.contains(id) {
                    report.notices.append(
                        "\(named): delegation \(id) is not signed by a key certified to its delegator: it grants nothing"
                    )
                }
            case "DelegationRevoked":
                let withdrawn = signed(details, hex)
                material.delegationRevocations.append(withdrawn)
                trust = nil
                // A revocation that does not verify withdraws nothing, though the chain records it:
                // the customer must know the delegation still holds.
                let id = (try? DelegationRevocation(canonicalBytes: withdrawn.statement))?.delegationID ?? "?"
                if !current().revokedDelegations.contains(id) {
                    report.findings.append(
                        "\(named): the revocation of delegation \(id) is not signed by its delegator's key or one "
                            + "that administers the tenant: it withdraws nothing"
                    )
                }
            case "AccessRequestCreated":
                if let extended = details["extends_request_id"] as? String, !extended.isEmpty {
                    extensions.insert(record.item)
                }
            case "AutoApproved":
                // Approved by a pre-approval of the policy in force: the record names the rule,
                // and the rule must cover the request's service, category, length and operations.
                let version = details["auto_approval_policy_version"] as? Int ?? -1
                let index = (details["auto_approval_rule"] as? Int ?? 0) - 1
                let starts = Int64(details["grant_starts_at_ms"] as? Int ?? 0)
                let ends = Int64(details["grant_ends_at_ms"] as? Int ?? 0)
                let operations = (details["operations"] as? String ?? "").split(separator: ",").map(String.init)
                guard !extensions.contains(record.item), let policy = current().policy,
                    Int64(version) == policy.version,
                    policy.autoApprovals.indices.contains(index),
                    policy.autoApprovals[index].grants(
                        service: details["service"] as? String ?? "",
                        category: details["justification_category"] as? String,
                        durationSeconds: (ends - starts) / 1000,
                        asked: operations,
                        preapproved: operations
                    ) == operations
                else {
                    report.findings.append(
                        "\(named): \(record.item) was approved as pre-approved, but no pre-approval of the tenant's "
                            + "signed policy in force covers it"
                    )
                    continue
                }
                preapproved[record.item] = (policy.autoApprovals[index], Set(operations), starts, ends)
            case "CustomerApprove", "CustomerDeny", "CustomerDecisionCounted":
                let statement = hex("decision_statement")
                guard !statement.isEmpty else {
                    if !material.roots.isEmpty, current().policy?.signaturesRequired ?? true {
                        report.findings.append(
                            "\(named): \(record.activity) on \(record.item) carries no signature of the customer's key"
                        )
                    }
                    continue
                }
                let authenticator = hex("decision_authenticator_data")
                let decision = SignedBytes(
                    statement: statement,
                    keyID: details["decision_key_id"] as? String ?? "",
                    signature: hex("decision_signature"),
                    assertion: authenticator.isEmpty
                        ? nil
                        : WebAuthnAssertion(
                            authenticatorData: authenticator,
                            clientDataJSON: hex("decision_client_data")
                        )
                )
                switch current().verifyDecision(decision) {
                case .success(let (verified, _)):
                    guard verified.requestID == record.item else {
                        report.findings.append(
                            "\(named): the signed decision on \(record.item) is about \(verified.requestID)"
                        )
                        continue
                    }
                    decisions[record.item, default: []].append(verified)
                    let asked = (current().policy ?? TenantPolicy.initial(tenantID: tenantID))
                        .approvalRule(service: verified.service).approvalsRequired
                    if verified.approvalsRequired < asked {
                        report.findings.append(
                            "\(named): the decision on \(record.item) was signed for \(verified.approvalsRequired) "
                                + "approval(s) where the tenant's policy asked for \(asked)"
                        )
                    }
                case .failure(let problem):
                    report.findings.append(
                        "\(named): the decision on \(record.item) is signed by \(decision.keyID), which does not chain "
                            + "to the tenant's root: \(problem)"
                    )
                }
            default:
                guard record.kind == "operator_action", details["allowed"] as? Bool == true, !material.roots.isEmpty
                else { continue }
                let trust = current()
                if let policy = trust.policy, !policy.lockboxEnabled, policy.version > 0 { continue }
                // A pre-approved grant counts while the policy in force still holds its rule, for
                // its service and operations, inside its window.
                if let made = preapproved[record.item], made.operations.contains(record.activity.lowercased()),
                    made.startsAtMs <= record.timeMs, record.timeMs < made.endsAtMs,
                    details["service"] as? String == made.rule.service,
                    trust.policy?.autoApprovals.contains(made.rule) == true
                {
                    continue
                }
                let service = details["service"] as? String ?? ""
                let rule = (trust.policy ?? TenantPolicy.initial(tenantID: tenantID)).approvalRule(service: service)
                // A decision made under a delegation withdrawn since counts no more.
                let mine = (decisions[record.item] ?? []).filter {
                    $0.service == service && ($0.delegationID.isEmpty || trust.delegations[$0.delegationID] != nil)
                }
                if Quorum.backs(mine, rule: rule, operation: record.activity, atMs: record.timeMs) { continue }
                report.findings.append(
                    rule.approvalsRequired == 1
                        ? "\(named): \(record.activity) was allowed under \(record.item) without a decision the "
                            + "customer's key signed"
                        : "\(named): \(record.activity) was allowed under \(record.item) without the "
                            + "\(rule.approvalsRequired) approvers' signed decisions the tenant's policy asks for"
                )
            }
        }
        if pinnedRoots == nil, let firstRoot {
            report.notices.append(
                "the chain's first root (public key \(firstRoot.hex)) is trusted as it stands; "
                    + "pass --tenant-root to check it against the one you keep"
            )
        }
        if let pinnedRoots, !material.roots.isEmpty, current().roots.isEmpty {
            report.findings.append(
                "no tenant root in the chain is one you keep (\(pinnedRoots.map(\.hex).joined(separator: ", ")))"
            )
        }
        return report
    }

    static func signed(_ details: [String: Any], _ hex: (String) -> [UInt8]) -> SignedBytes {
        let authenticator = hex("authenticator_data")
        return SignedBytes(
            statement: hex("statement"),
            keyID: details["issuer_key_id"] as? String ?? "",
            signature: hex("signature"),
            assertion: authenticator.isEmpty
                ? nil : WebAuthnAssertion(authenticatorData: authenticator, clientDataJSON: hex("client_data"))
        )
    }
}
