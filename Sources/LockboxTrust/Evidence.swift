import LockboxIntegrity

/// What backs a grant, for a data plane to check on its own (CheckAccess with
/// `include_evidence`): the tenant's root chain, its policy, and either the approver's signed
/// decision with the certificates that chain its key to a root, or nothing more when the
/// tenant's signed policy has the lockbox off.
///
/// Encoded canonically ("lockbox/evidence/v1"): a count, then per item its kind ("root",
/// "certificate", "revocation", "policy", "delegation", "delegation-revocation" or
/// "decision"), statement, signer key id, signature, second signature (a root rotation's by the
/// previous root), authenticator data and client data (what a passkey signed).
public struct AccessEvidence: Sendable, Hashable {
    public var material: TrustMaterial
    /// The customer's signed decisions; none when the lockbox is off.
    public var decisions: [SignedBytes]

    public init(material: TrustMaterial, decisions: [SignedBytes]) {
        self.material = material
        self.decisions = decisions
    }

    public init(material: TrustMaterial, decision: SignedBytes?) {
        self.init(material: material, decisions: decision.map { [$0] } ?? [])
    }

    public static let tag = "lockbox/evidence/v1"

    public var canonicalBytes: [UInt8] {
        var items: [(String, [UInt8], String, [UInt8], [UInt8], WebAuthnAssertion?)] = []
        for root in material.roots {
            items.append(("root", root.statement, "", root.signature, root.previousSignature, nil))
        }
        for item in material.certificates {
            items.append(("certificate", item.statement, item.keyID, item.signature, [], nil))
        }
        for item in material.revocations {
            items.append(("revocation", item.statement, item.keyID, item.signature, [], nil))
        }
        for item in material.policies { items.append(("policy", item.statement, item.keyID, item.signature, [], nil)) }
        for item in material.delegations {
            items.append(("delegation", item.statement, item.keyID, item.signature, [], item.assertion))
        }
        for item in material.delegationRevocations {
            items.append(("delegation-revocation", item.statement, item.keyID, item.signature, [], item.assertion))
        }
        for decision in decisions {
            items.append(("decision", decision.statement, decision.keyID, decision.signature, [], decision.assertion))
        }
        var writer = CanonicalWriter(tag: Self.tag)
        writer.string(material.tenantID)
        writer.int64(Int64(items.count))
        for (kind, statement, keyID, signature, second, assertion) in items {
            writer.string(kind)
            writer.data(statement)
            writer.string(keyID)
            writer.data(signature)
            writer.data(second)
            writer.data(assertion?.authenticatorData ?? [])
            writer.data(assertion?.clientDataJSON ?? [])
        }
        return writer.bytes
    }

    public init(canonicalBytes bytes: [UInt8]) throws(CanonicalReader.Malformed) {
        var reader = try CanonicalReader(bytes, tag: Self.tag)
        var material = TrustMaterial(tenantID: try reader.string())
        var decisions: [SignedBytes] = []
        let count = try reader.int64()
        guard count >= 0, count <= Int64(bytes.count / 28) else { throw CanonicalReader.Malformed() }
        for _ in 0..<count {
            let kind = try reader.string()
            let statement = try reader.data()
            let keyID = try reader.string()
            let signature = try reader.data()
            let second = try reader.data()
            let authenticatorData = try reader.data()
            let clientData = try reader.data()
            var signed = SignedBytes(statement: statement, keyID: keyID, signature: signature)
            if !authenticatorData.isEmpty || !clientData.isEmpty {
                signed.assertion = WebAuthnAssertion(authenticatorData: authenticatorData, clientDataJSON: clientData)
            }
            switch kind {
            case "root":
                material.roots.append(RootRecord(statement: statement, signature: signature, previousSignature: second))
            case "certificate": material.certificates.append(signed)
            case "revocation": material.revocations.append(signed)
            case "policy": material.policies.append(signed)
            case "delegation": material.delegations.append(signed)
            case "delegation-revocation": material.delegationRevocations.append(signed)
            case "decision":
                guard decisions.count < Int(ApprovalRule.maximumApprovals) else { throw CanonicalReader.Malformed() }
                decisions.append(signed)
            default: throw CanonicalReader.Malformed()
            }
        }
        try reader.finish()
        self.material = material
        self.decisions = decisions
    }
}

/// Checks evidence the way a data plane should before it lets an operator act: against the
/// tenant roots it pins in its own configuration, not against anything lockboxd says. A
/// lockboxd whose host and key are stolen cannot make evidence that passes, unless it also
/// holds a key the tenant certified.
public struct EvidenceVerifier: Sendable {
    /// The raw Ed25519 public keys of the tenant roots this service trusts, by tenant.
    public var pinnedRoots: [String: [[UInt8]]]

    public init(pinnedRoots: [String: [[UInt8]]]) { self.pinnedRoots = pinnedRoots }

    /// What the evidence allows.
    public enum Verdict: Sendable, Hashable {
        /// The approvers' signed decisions allow the operation now: the one whose window ends first.
        case approved(DecisionStatement)
        /// The tenant's signed policy has the lockbox off: the provider's own approval is enough.
        case lockboxOff(TenantPolicy)
    }

    /// Whether `evidence` allows `operatorID` to perform `operation` on `service` of `tenantID`
    /// at `nowMs` (the data plane's own clock).
    public func verify(
        _ evidence: AccessEvidence,
        tenantID: String,
        operatorID: String,
        service: String,
        operation: String,
        nowMs: Int64
    ) -> Result<Verdict, TrustProblem> {
        guard evidence.material.tenantID == tenantID else {
            return .failure(.mismatch("the evidence is another tenant's"))
        }
        let pinned = pinnedRoots[tenantID] ?? []
        let trust = TenantTrust(evidence.material) { root, _ in pinned.contains(root.publicKey) }
        guard !trust.roots.isEmpty else {
            return .failure(.noRoot("no root in the evidence is one this service pins for \(tenantID)"))
        }
        guard !evidence.decisions.isEmpty else {
            guard let policy = trust.policy, !policy.lockboxEnabled, policy.version > 0 else {
                return .failure(
                    .notAllowed("the evidence carries no signed decision, and no signed policy turns the lockbox off")
                )
            }
            return .success(.lockboxOff(policy))
        }
        var statements: [DecisionStatement] = []
        for decision in evidence.decisions {
            switch trust.verifyDecision(decision) {
            case .failure(let problem):
                return .failure(problem)
            case .success(let (statement, _)):
                guard statement.operatorID == operatorID, statement.service == service else {
                    return .failure(.mismatch("the decision is for another operator or service"))
                }
                guard statement.decision == DecisionWord.approve.rawValue else {
                    return .failure(.notAllowed("the signed decision is \(statement.decision)"))
                }
                guard statement.operations.contains(operation.lowercased()) else {
                    return .failure(.notAllowed("the approved scope does not include \(operation)"))
                }
                guard statement.startsAtMs <= nowMs, nowMs < statement.endsAtMs else {
                    return .failure(.notAllowed("the approved window does not hold now"))
                }
                statements.append(statement)
            }
        }
        // Approvals of one request only: two requests' approvals never add up.
        guard let first = statements.first,
            statements.allSatisfy({ $0.requestID == first.requestID && $0.nonce == first.nonce })
        else { return .failure(.mismatch("the decisions are about different requests")) }
        let rule = (trust.policy ?? TenantPolicy.initial(tenantID: tenantID)).approvalRule(service: service)
        guard Quorum.backs(statements, rule: rule, operation: operation, atMs: nowMs),
            let earliest = statements.min(by: { $0.endsAtMs < $1.endsAtMs })
        else {
            return .failure(
                .notAllowed(
                    "the tenant's policy asks for \(rule.approvalsRequired) approvers' signed decisions on \(service)"
                )
            )
        }
        return .success(.approved(earliest))
    }
}
