import LockboxCore
import LockboxIntegrity
import LockboxStore
import LockboxTrust
import NIOConcurrencyHelpers

/// A tenant's trust as lockboxd verified it: what is stored, and what that establishes.
struct VerifiedTrust: Sendable {
    let stored: StoredTrust
    let trust: TenantTrust
    /// The policy in force: the highest signed version, or the initial one. Worked out once,
    /// when the trust is verified (CheckAccess reads it on every check).
    let policy: TenantPolicy

    init(stored: StoredTrust, trust: TenantTrust) {
        self.stored = stored
        self.trust = trust
        self.policy = trust.policy ?? TenantPolicy.initial(tenantID: stored.tenantID)
    }

    /// Keys lockboxd revoked itself when their principal lost the role they served: not signed
    /// by the tenant, so known to lockboxd only, which refuses them too.
    var serverRevoked: Set<String> {
        Set(stored.revocations.filter { $0.signed.statement.isEmpty }.map(\.keyID))
    }

    /// A decision verified, and neither its key nor, for a delegate's, the delegator's key
    /// that signed the delegation revoked by lockboxd either.
    func verifyDecision(_ signed: SignedBytes) -> Result<(DecisionStatement, UInt32), TrustProblem> {
        if serverRevoked.contains(signed.keyID) { return .failure(.revoked(signed.keyID)) }
        let result = trust.verifyDecision(signed)
        if case .success(let (decision, _)) = result, !decision.delegationID.isEmpty,
            let delegation = trust.delegations[decision.delegationID], serverRevoked.contains(delegation.keyID)
        {
            return .failure(.revoked(delegation.keyID))
        }
        return result
    }

    /// The material as LockboxTrust reads it.
    static func material(_ stored: StoredTrust) -> TrustMaterial {
        TrustMaterial(
            tenantID: stored.tenantID,
            roots: roots(stored),
            certificates: stored.certificates.map { $0.signed.bytes },
            revocations: stored.revocations.filter { !$0.signed.statement.isEmpty }.map { $0.signed.bytes },
            policies: stored.policies.map { $0.signed.bytes },
            // Only rows whose id is the one their statement names: the revocations are read by
            // that column.
            delegations: stored.delegations.filter {
                $0.delegationID == DelegationStatement.id(of: $0.signed.statement)
            }.map { $0.signed.bytes(with: $0.assertion) },
            delegationRevocations: stored.delegationRevocations.filter {
                (try? DelegationRevocation(canonicalBytes: $0.signed.statement))?.delegationID == $0.delegationID
            }.map { $0.signed.bytes(with: $0.assertion) }
        )
    }

    static func roots(_ stored: StoredTrust) -> [RootRecord] {
        stored.roots.map {
            RootRecord(statement: $0.statement, signature: $0.signature, previousSignature: $0.previousSignature)
        }
    }

    /// How many distinct principals hold a key certified to decide, valid at `nowMs` and not
    /// revoked: the M of an N-of-M rule.
    func eligibleApprovers(nowMs: Int64) -> Int {
        let revoked = trust.revoked.union(serverRevoked)
        return Set(
            trust.certificates.values.filter {
                $0.capabilities.contains(.decide) && !revoked.contains($0.keyID) && $0.notBeforeMs <= nowMs
                    && nowMs < $0.notAfterMs
            }.map(\.principalID)
        ).count
    }

    /// The evidence behind a grant: every root, the policy in force if signed, for each
    /// decision the certificates that chain its key to a root, and for a delegate's decision
    /// the delegation and the certificates of the delegator's key.
    func evidence(for decisions: [SignedBytes]) -> AccessEvidence {
        var material = TrustMaterial(tenantID: stored.tenantID, roots: Self.roots(stored))
        if policy.version > 0, let signed = stored.policies.first(where: { $0.version == policy.version }) {
            material.policies = [signed.signed.bytes]
        }
        var signers = decisions.map(\.keyID)
        for decision in decisions {
            guard let statement = try? DecisionStatement(canonicalBytes: decision.statement),
                !statement.delegationID.isEmpty,
                let delegation = stored.delegations.first(where: { $0.delegationID == statement.delegationID }),
                !material.delegations.contains(delegation.signed.bytes(with: delegation.assertion))
            else { continue }
            material.delegations.append(delegation.signed.bytes(with: delegation.assertion))
            signers.append(delegation.signed.issuerKeyID)
        }
        var seen: Set<String> = []
        for signer in signers {
            var next: String? = signer
            while let keyID = next, !seen.contains(keyID),
                let certificate = stored.certificates.first(where: { $0.keyID == keyID })
            {
                seen.insert(keyID)
                material.certificates.append(certificate.signed.bytes)
                next = certificate.signed.issuerKeyID
            }
        }
        return AccessEvidence(material: material, decisions: decisions)
    }
}

extension StoredStatement {
    var bytes: SignedBytes { SignedBytes(statement: statement, keyID: issuerKeyID, signature: signature) }

    func bytes(with assertion: StoredAssertion) -> SignedBytes {
        SignedBytes(
            statement: statement,
            keyID: issuerKeyID,
            signature: signature,
            assertion: assertion.authenticatorData.isEmpty && assertion.clientData.isEmpty
                ? nil
                : WebAuthnAssertion(
                    authenticatorData: assertion.authenticatorData,
                    clientDataJSON: assertion.clientData
                )
        )
    }
}

extension CustomerSignature {
    var bytes: SignedBytes {
        SignedBytes(
            statement: statement,
            keyID: keyID,
            signature: signature,
            assertion: authenticatorData.isEmpty && clientData.isEmpty
                ? nil : WebAuthnAssertion(authenticatorData: authenticatorData, clientDataJSON: clientData)
        )
    }
}

/// Keeps each tenant's verified trust, as of its last trust change, and what each grant's
/// signed decision was verified to allow: CheckAccess pays for signature work once per
/// change, not per call.
///
/// A tenant's chain starts at a root lockboxd attested with a key the database trusts
/// (``AuditIntegrity``), so a root written into the database behind lockboxd's back is not
/// trusted. Entries are only hints: every use compares the version the call's own transaction
/// read with the cached one.
final class TrustKeeper: Sendable {
    let integrity: AuditIntegrity
    private let tenants = NIOLockedValueBox<[String: VerifiedTrust]>([:])
    /// Each grant's verified decisions, with the trust change they were verified at.
    private let grants = NIOLockedValueBox<[String: (version: Int64, decisions: [DecisionStatement])]>([:])
    private let store = TrustStore()
    static let capacity = 50_000

    init(integrity: AuditIntegrity) { self.integrity = integrity }

    /// The tenant's verified trust at `version` (the one the caller's transaction read); nil
    /// when the tenant never had trust material (a tenant enrolled before roots).
    func trust(tenantID: String, version: Int64?, _ db: PGConnection) throws -> VerifiedTrust? {
        guard let version else { return nil }
        if let cached = tenants.withLockedValue({ $0[tenantID] }), cached.stored.version == version {
            return cached
        }
        let stored = try store.load(tenantID: tenantID, db)
        let serverKeys = integrity.knownKeys()
        let verified = Self.verify(stored, serverKeys: serverKeys)
        if verified.trust.roots.isEmpty,
            stored.roots.contains(where: { root in !serverKeys.contains { $0.keyID == root.attestedBy } })
        {
            // Attested by a key this replica has not read yet (another replica's, introduced
            // since): read the keys again, and keep nothing until then.
            _ = integrity.knownKeys(refreshing: true)
            return verified
        }
        tenants.withLockedValue { tenants in
            if tenants.count >= Self.capacity { tenants.removeAll() }
            tenants[tenantID] = verified
        }
        return verified
    }

    /// The stored material, verified: the chain starts at the first root whose attestation
    /// one of `serverKeys` made.
    static func verify(_ stored: StoredTrust, serverKeys: [PublicSigningKey]) -> VerifiedTrust {
        let attestations = Dictionary(
            stored.roots.map { (Digest.sha256($0.statement), $0) },
            uniquingKeysWith: { first, _ in first }
        )
        let trust = TenantTrust(VerifiedTrust.material(stored)) { root, record in
            guard let stored = attestations[Digest.sha256(record.statement)],
                let key = serverKeys.first(where: { $0.keyID == stored.attestedBy })
            else { return false }
            let attestation = RootAttestation(
                tenantID: root.tenantID,
                rootKeyID: root.keyID,
                statementHash: Digest.sha256(record.statement),
                serverKeyID: key.keyID
            )
            return key.verifies(stored.attestation, over: attestation.canonicalBytes)
        }
        return VerifiedTrust(stored: stored, trust: trust)
    }

    /// The decisions verified for a grant at the tenant's trust change `version`, if they were:
    /// a revocation since is a new change, and the decisions are verified again.
    func verifiedDecisions(tenantID: String, requestID: String, version: Int64) -> [DecisionStatement]? {
        grants.withLockedValue { grants in
            guard let cached = grants[tenantID + "/" + requestID], cached.version == version else { return nil }
            return cached.decisions
        }
    }

    func remember(_ decisions: [DecisionStatement], tenantID: String, requestID: String, version: Int64) {
        grants.withLockedValue { grants in
            if grants.count >= Self.capacity { grants.removeAll() }
            grants[tenantID + "/" + requestID] = (version, decisions)
        }
    }
}
