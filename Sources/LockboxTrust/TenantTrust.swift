import LockboxIntegrity

/// A tenant root as stored: its statement, signed by itself, and for a rotation also by the
/// root it replaces.
public struct RootRecord: Sendable, Hashable {
    public var statement: [UInt8]
    public var signature: [UInt8]
    /// The previous root's signature over the same bytes; empty for the first root.
    public var previousSignature: [UInt8]

    public init(statement: [UInt8], signature: [UInt8], previousSignature: [UInt8] = []) {
        self.statement = statement
        self.signature = signature
        self.previousSignature = previousSignature
    }
}

/// Everything a tenant's keys signed about its own trust, as stored or as evidence carries it.
public struct TrustMaterial: Sendable, Hashable {
    public var tenantID: String
    /// In the order they were adopted.
    public var roots: [RootRecord]
    /// Key certificates, each signed by its issuer (`keyID` is the issuer's).
    public var certificates: [SignedBytes]
    public var revocations: [SignedBytes]
    public var policies: [SignedBytes]
    /// Approvers' delegations (`keyID` is the delegator's), and their revocations.
    public var delegations: [SignedBytes]
    public var delegationRevocations: [SignedBytes]

    public init(
        tenantID: String,
        roots: [RootRecord] = [],
        certificates: [SignedBytes] = [],
        revocations: [SignedBytes] = [],
        policies: [SignedBytes] = [],
        delegations: [SignedBytes] = [],
        delegationRevocations: [SignedBytes] = []
    ) {
        self.tenantID = tenantID
        self.roots = roots
        self.certificates = certificates
        self.revocations = revocations
        self.policies = policies
        self.delegations = delegations
        self.delegationRevocations = delegationRevocations
    }
}

/// What a tenant's trust material establishes, verified: the root chain from an anchor the
/// verifier trusts (lockboxd: a root it attested; a data plane: a root it pins), the keys
/// certified through it and not revoked, and the policy in force.
///
/// Rules: each root is signed by itself and, from the second, by the root before it. A
/// certificate is signed by a root of the chain or by a certified Ed25519 key that may
/// administer; a revoked key, and every certificate it issued, counts for nothing. The policy
/// is the highest version signed by an administering key; without one, the initial policy
/// holds (lockbox on, decisions signed, passkeys user-verified). A delegation holds when a key
/// certified to its delegator to decide, valid at its start, signed it, and no revocation by
/// such a key or by an administering key withdrew it.
public struct TenantTrust: Sendable {
    public let tenantID: String
    /// The trusted roots, oldest first; empty when no root is trusted.
    public private(set) var roots: [TenantRootStatement] = []
    public private(set) var certificates: [String: KeyCertificate] = [:]
    public private(set) var revoked: Set<String> = []
    public private(set) var policy: TenantPolicy?
    /// The delegations that hold, by id; and the ids of those withdrawn.
    public private(set) var delegations: [String: DelegationStatement] = [:]
    public private(set) var revokedDelegations: Set<String> = []
    /// For each revoked delegation, the first revocation that verified.
    public private(set) var delegationRevokedBy: [String: SignedBytes] = [:]
    /// Every delegation its delegator's key signed, revoked since or not.
    public private(set) var signedDelegations: [String: DelegationStatement] = [:]
    /// What was passed over, and why.
    public private(set) var problems: [TrustProblem] = []

    /// - Parameter anchor: whether a root may start the chain.
    public init(_ material: TrustMaterial, anchor: (TenantRootStatement, RootRecord) -> Bool) {
        tenantID = material.tenantID
        verifyRoots(material, anchor: anchor)
        guard !roots.isEmpty else {
            problems.append(.noRoot("no root of tenant \(material.tenantID) is trusted"))
            return
        }
        var rootKeys: [String: TrustKey] = [:]
        for root in roots {
            rootKeys[root.keyID] = TrustKey(keyID: root.keyID, algorithm: .ed25519, publicKey: root.publicKey)
        }
        // Revocations count from any key that could issue, revoked or not: a revoked key's
        // own revocations of others stand.
        let everyIssuer = issuedCertificates(material.certificates, roots: rootKeys, excluding: [])
        var issuers = rootKeys
        for certificate in everyIssuer.values where Self.mayIssue(certificate) {
            issuers[certificate.keyID] = certificate.key
        }
        for signed in material.revocations {
            guard let revocation = try? KeyRevocation(canonicalBytes: signed.statement) else {
                problems.append(.malformed("a key revocation"))
                continue
            }
            guard revocation.tenantID == tenantID, revocation.issuerKeyID == signed.keyID,
                let issuer = issuers[signed.keyID], case .success = issuer.verify(signed, rules: nil)
            else {
                problems.append(.badSignature("the revocation of \(revocation.keyID)"))
                continue
            }
            revoked.insert(revocation.keyID)
        }
        certificates = issuedCertificates(material.certificates, roots: rootKeys, excluding: revoked)
        policy = verifyPolicies(material.policies, rootKeys: rootKeys) ?? TenantPolicy.initial(tenantID: tenantID)
        verifyDelegations(material, rootKeys: rootKeys, everyCertificate: everyIssuer)
    }

    /// The current root: the last of the chain.
    public var root: TenantRootStatement? { roots.last }

    static func mayIssue(_ certificate: KeyCertificate) -> Bool {
        certificate.capabilities.contains(.administer) && certificate.algorithm == .ed25519
    }

    private mutating func verifyRoots(
        _ material: TrustMaterial,
        anchor: (TenantRootStatement, RootRecord) -> Bool
    ) {
        var previous: TenantRootStatement?
        for record in material.roots {
            guard let root = try? TenantRootStatement(canonicalBytes: record.statement),
                root.tenantID == material.tenantID,
                root.keyID == KeyAlgorithm.ed25519.keyID(for: root.publicKey)
            else {
                problems.append(.malformed("a tenant root"))
                break
            }
            let key = TrustKey(keyID: root.keyID, algorithm: .ed25519, publicKey: root.publicKey)
            let selfSigned = SignedBytes(statement: record.statement, keyID: root.keyID, signature: record.signature)
            guard case .success = key.verify(selfSigned, rules: nil) else {
                problems.append(.badSignature("tenant root \(root.keyID)"))
                break
            }
            if roots.isEmpty {
                // Before the anchor nothing is trusted; the anchor starts the chain.
                if anchor(root, record) { roots.append(root) }
                previous = root
                continue
            }
            guard let before = previous, root.previousKeyID == before.keyID else {
                problems.append(.mismatch("tenant root \(root.keyID) does not name the root it replaces"))
                break
            }
            let rotation = SignedBytes(
                statement: record.statement,
                keyID: before.keyID,
                signature: record.previousSignature
            )
            let beforeKey = TrustKey(keyID: before.keyID, algorithm: .ed25519, publicKey: before.publicKey)
            guard case .success = beforeKey.verify(rotation, rules: nil) else {
                problems.append(.badSignature("the rotation to tenant root \(root.keyID)"))
                break
            }
            roots.append(root)
            previous = root
        }
    }

    /// The certificates that chain to a root through keys not in `excluding`.
    private func issuedCertificates(
        _ signed: [SignedBytes],
        roots: [String: TrustKey],
        excluding: Set<String>
    ) -> [String: KeyCertificate] {
        var issuers = roots
        var issued: [String: KeyCertificate] = [:]
        var pending = signed.compactMap { item -> (SignedBytes, KeyCertificate)? in
            guard let certificate = try? KeyCertificate(canonicalBytes: item.statement),
                certificate.tenantID == tenantID, certificate.issuerKeyID == item.keyID,
                certificate.keyID == certificate.algorithm.keyID(for: certificate.publicKey),
                !excluding.contains(certificate.keyID)
            else { return nil }
            return (item, certificate)
        }
        var progress = true
        while progress {
            progress = false
            pending.removeAll { item, certificate in
                guard let issuer = issuers[item.keyID], case .success = issuer.verify(item, rules: nil) else {
                    return false
                }
                issued[certificate.keyID] = certificate
                if Self.mayIssue(certificate) { issuers[certificate.keyID] = certificate.key }
                progress = true
                return true
            }
        }
        return issued
    }

    private mutating func verifyPolicies(_ signed: [SignedBytes], rootKeys: [String: TrustKey]) -> TenantPolicy? {
        var best: TenantPolicy?
        for item in signed {
            guard let policy = try? TenantPolicy(canonicalBytes: item.statement), policy.tenantID == tenantID,
                policy.issuerKeyID == item.keyID
            else {
                problems.append(.malformed("a tenant policy"))
                continue
            }
            let issuer =
                rootKeys[item.keyID]
                ?? certificates[item.keyID].flatMap { Self.mayIssue($0) ? $0.key : nil }
            guard let issuer, case .success = issuer.verify(item, rules: nil) else {
                problems.append(.badSignature("tenant policy version \(policy.version)"))
                continue
            }
            if policy.version > best?.version ?? 0 { best = policy }
        }
        return best
    }

    /// - Parameter everyCertificate: every certificate that chains to a root, revoked or not: a
    ///   revocation stands when its key is revoked later, as a key revocation does.
    private mutating func verifyDelegations(
        _ material: TrustMaterial,
        rootKeys: [String: TrustKey],
        everyCertificate: [String: KeyCertificate]
    ) {
        var found: [String: DelegationStatement] = [:]
        for item in material.delegations {
            guard let delegation = try? DelegationStatement(canonicalBytes: item.statement),
                delegation.tenantID == tenantID, delegation.keyID == item.keyID, delegation.termsProblem == nil
            else {
                problems.append(.malformed("a delegation"))
                continue
            }
            guard
                case .success(let certificate) = key(
                    item.keyID,
                    for: .decide,
                    principalID: delegation.delegatorID,
                    atMs: delegation.startsAtMs
                ),
                case .success = certificate.key.verify(item, rules: passkeyRules)
            else {
                problems.append(.badSignature("delegation \(delegation.id)"))
                continue
            }
            found[delegation.id] = delegation
        }
        for item in material.delegationRevocations {
            guard let revocation = try? DelegationRevocation(canonicalBytes: item.statement),
                revocation.tenantID == tenantID, revocation.issuerKeyID == item.keyID
            else {
                problems.append(.malformed("a delegation revocation"))
                continue
            }
            // An administering key, or a key certified to the delegator to decide; revoked since
            // or not.
            var issuer =
                rootKeys[item.keyID] ?? everyCertificate[item.keyID].flatMap { Self.mayIssue($0) ? $0.key : nil }
            if issuer == nil, let delegation = found[revocation.delegationID],
                let certificate = everyCertificate[item.keyID], certificate.principalID == delegation.delegatorID,
                certificate.capabilities.contains(.decide)
            {
                issuer = certificate.key
            }
            guard let issuer, case .success = issuer.verify(item, rules: passkeyRules) else {
                problems.append(.badSignature("the revocation of delegation \(revocation.delegationID)"))
                continue
            }
            if revokedDelegations.insert(revocation.delegationID).inserted {
                delegationRevokedBy[revocation.delegationID] = item
            }
        }
        signedDelegations = found
        delegations = found.filter { !revokedDelegations.contains($0.key) }
    }

    /// The key `keyID`, certified to `principalID` for `capability` and valid at `timeMs`.
    public func key(
        _ keyID: String,
        for capability: Capabilities,
        principalID: String,
        atMs timeMs: Int64
    ) -> Result<KeyCertificate, TrustProblem> {
        if revoked.contains(keyID) { return .failure(.revoked(keyID)) }
        guard let certificate = certificates[keyID] else { return .failure(.unknownKey(keyID)) }
        guard certificate.principalID == principalID else {
            return .failure(.mismatch("key \(keyID) is certified to another principal"))
        }
        guard certificate.capabilities.contains(capability) else {
            return .failure(.notAllowed("key \(keyID) is not certified to \(capability.names.joined(separator: ", "))"))
        }
        guard certificate.notBeforeMs <= timeMs, timeMs < certificate.notAfterMs else {
            return .failure(.expired(keyID))
        }
        return .success(certificate)
    }

    /// The passkey rules of the policy in force.
    public var passkeyRules: TrustKey.PasskeyRules? {
        policy.map {
            TrustKey.PasskeyRules(
                rpID: $0.rpID,
                origins: $0.origins,
                userVerificationRequired: $0.userVerificationRequired
            )
        }
    }

    /// A signed decision, verified: its statement parses, names this tenant, was signed by the
    /// key it names, certified to the approver it names to decide, valid when lockboxd
    /// prepared it. Returns the statement and the authenticator's counter.
    public func verifyDecision(_ signed: SignedBytes) -> Result<(DecisionStatement, UInt32), TrustProblem> {
        guard let decision = try? DecisionStatement(canonicalBytes: signed.statement) else {
            return .failure(.malformed("the decision"))
        }
        guard decision.tenantID == tenantID else { return .failure(.mismatch("the decision is another tenant's")) }
        guard decision.keyID == signed.keyID else {
            return .failure(.mismatch("the decision names another key than the one that signed it"))
        }
        let certificate: KeyCertificate
        switch key(signed.keyID, for: .decide, principalID: decision.approverID, atMs: decision.startsAtMs) {
        case .success(let found): certificate = found
        case .failure(let problem): return .failure(problem)
        }
        if !decision.delegationID.isEmpty {
            guard let delegation = delegations[decision.delegationID] else {
                return .failure(
                    .notAllowed(
                        revokedDelegations.contains(decision.delegationID)
                            ? "delegation \(decision.delegationID) was revoked"
                            : "delegation \(decision.delegationID) is not one of this tenant's approvers signed"
                    )
                )
            }
            guard delegation.covers(decision) else {
                return .failure(
                    .mismatch(
                        "the decision does not fit delegation \(decision.delegationID): another delegate, "
                            + "delegator or service, or outside its period"
                    )
                )
            }
            // The delegator's own key must still hold when the delegate decides: a delegation
            // does not outlive the key that made it.
            if case .failure = key(
                delegation.keyID,
                for: .decide,
                principalID: delegation.delegatorID,
                atMs: decision.startsAtMs
            ) {
                return .failure(.expired(delegation.keyID))
            }
        }
        switch certificate.key.verify(signed, rules: passkeyRules) {
        case .success(let counter): return .success((decision, counter))
        case .failure(let problem): return .failure(problem)
        }
    }
}

extension KeyCertificate {
    public var key: TrustKey { TrustKey(keyID: keyID, algorithm: algorithm, publicKey: publicKey) }
}
