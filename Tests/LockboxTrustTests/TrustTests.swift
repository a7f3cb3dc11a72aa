import LockboxIntegrity
import LockboxTestSupport
import LockboxTrust
import Testing

/// A tenant's chain of trust as pure tables: roots and their rotation, certificates and their
/// issuers, revocation, policy, signed decisions by file keys and by passkeys, and evidence
/// checked against pinned roots.
@Suite struct TrustTests {
    static let root = try! TenantSigner(seed: [UInt8](repeating: 1, count: 32))
    static let nextRoot = try! TenantSigner(seed: [UInt8](repeating: 2, count: 32))
    static let admin = try! TenantSigner(seed: [UInt8](repeating: 3, count: 32))
    static let approver = try! TenantSigner(seed: [UInt8](repeating: 4, count: 32))
    static let stranger = try! TenantSigner(seed: [UInt8](repeating: 5, count: 32))
    static let year: Int64 = 365 * 86_400_000
    static let now: Int64 = 1_800_000_000_000

    static func rootRecord(_ signer: TenantSigner = root, previous: TenantSigner? = nil) -> RootRecord {
        let statement = TenantRootStatement(
            tenantID: "contoso",
            publicKey: signer.publicKey,
            previousKeyID: previous?.keyID ?? ""
        ).canonicalBytes
        return RootRecord(
            statement: statement,
            signature: signer.signature(over: statement),
            previousSignature: previous?.signature(over: statement) ?? []
        )
    }

    static func certify(
        _ algorithm: KeyAlgorithm = .ed25519,
        key: [UInt8],
        principal: String,
        may: Capabilities,
        by issuer: TenantSigner = root,
        from: Int64 = now - year,
        until: Int64 = now + year
    ) -> SignedBytes {
        issuer.sign(
            KeyCertificate(
                tenantID: "contoso",
                principalID: principal,
                algorithm: algorithm,
                publicKey: key,
                capabilities: may,
                notBeforeMs: from,
                notAfterMs: until,
                issuerKeyID: issuer.keyID
            )
        )
    }

    static func decision(
        _ word: String = "Approve",
        by key: String = approver.keyID,
        approver: String = "p_approver"
    ) -> DecisionStatement {
        DecisionStatement(
            tenantID: "contoso",
            requestID: "req_1",
            operatorID: "p_op",
            service: "exchange",
            operations: ["get-mailbox"],
            startsAtMs: now,
            endsAtMs: now + 3_600_000,
            decision: word,
            approverID: approver,
            keyID: key,
            nonce: [1, 2, 3]
        )
    }

    static func material(
        roots: [RootRecord] = [rootRecord()],
        certificates: [SignedBytes] = [
            certify(key: admin.publicKey, principal: "p_admin", may: .administer),
            certify(key: approver.publicKey, principal: "p_approver", may: .decide, by: admin),
        ],
        revocations: [SignedBytes] = [],
        policies: [SignedBytes] = []
    ) -> TrustMaterial {
        TrustMaterial(
            tenantID: "contoso",
            roots: roots,
            certificates: certificates,
            revocations: revocations,
            policies: policies
        )
    }

    static func trusting(_ keys: [[UInt8]]) -> (TenantRootStatement, RootRecord) -> Bool {
        { root, _ in keys.contains(root.publicKey) }
    }

    @Test func everyStatementReadsBackAsWritten() throws {
        let certificate = KeyCertificate(
            tenantID: "t",
            principalID: "p",
            algorithm: .es256WebAuthn,
            publicKey: [1, 2],
            capabilities: [.decide, .administer],
            notBeforeMs: -1,
            notAfterMs: .max,
            issuerKeyID: "i"
        )
        #expect(try KeyCertificate(canonicalBytes: certificate.canonicalBytes) == certificate)
        let policy = TenantPolicy(
            tenantID: "t",
            version: 3,
            lockboxEnabled: false,
            signaturesRequired: true,
            userVerificationRequired: false,
            rpID: "portal.example",
            origins: ["https://portal.example", "https://x.example"],
            issuerKeyID: "i"
        )
        #expect(try TenantPolicy(canonicalBytes: policy.canonicalBytes) == policy)
        #expect(try DecisionStatement(canonicalBytes: Self.decision().canonicalBytes) == Self.decision())
        let root = TenantRootStatement(tenantID: "t", publicKey: Self.root.publicKey, previousKeyID: "")
        #expect(try TenantRootStatement(canonicalBytes: root.canonicalBytes) == root)
        let revocation = KeyRevocation(tenantID: "t", keyID: "k", issuerKeyID: "i")
        #expect(try KeyRevocation(canonicalBytes: revocation.canonicalBytes) == revocation)
        // Another statement's bytes, a byte more, or a byte less: refused.
        #expect(throws: CanonicalReader.Malformed.self) { try KeyCertificate(canonicalBytes: policy.canonicalBytes) }
        #expect(throws: CanonicalReader.Malformed.self) {
            try DecisionStatement(canonicalBytes: Self.decision().canonicalBytes + [0])
        }
        #expect(throws: CanonicalReader.Malformed.self) {
            try DecisionStatement(canonicalBytes: Array(Self.decision().canonicalBytes.dropLast()))
        }
    }

    /// Which decisions a chain accepts, one change at a time.
    @Test(arguments: [
        ("as issued", true),
        ("root not anchored", false),
        ("approver key revoked", false),
        ("issuing admin revoked", false),
        ("certificate expired", false),
        ("key of another principal", false),
        ("certified by an uncertified key", false),
        ("admin certified only to decide", false),
        ("signed by a stranger", false),
        ("statement altered", false),
        ("approver certified by the root directly", true),
        ("root rotated", true),
        ("rotation not signed by the old root", false),
    ])
    func decisions(_ change: String, _ accepted: Bool) {
        var material = Self.material()
        var anchor = Self.trusting([Self.root.publicKey])
        var signed = Self.approver.sign(Self.decision())
        switch change {
        case "root not anchored": anchor = Self.trusting([Self.stranger.publicKey])
        case "approver key revoked":
            material.revocations = [
                Self.admin.sign(
                    KeyRevocation(tenantID: "contoso", keyID: Self.approver.keyID, issuerKeyID: Self.admin.keyID)
                )
            ]
        case "issuing admin revoked":
            material.revocations = [
                Self.root.sign(
                    KeyRevocation(tenantID: "contoso", keyID: Self.admin.keyID, issuerKeyID: Self.root.keyID)
                )
            ]
        case "certificate expired":
            material.certificates[1] = Self.certify(
                key: Self.approver.publicKey,
                principal: "p_approver",
                may: .decide,
                by: Self.admin,
                until: Self.now - 1
            )
        case "key of another principal":
            signed = Self.approver.sign(Self.decision(approver: "p_someone_else"))
        case "certified by an uncertified key":
            material.certificates[1] = Self.certify(
                key: Self.approver.publicKey,
                principal: "p_approver",
                may: .decide,
                by: Self.stranger
            )
        case "admin certified only to decide":
            material.certificates[0] = Self.certify(key: Self.admin.publicKey, principal: "p_admin", may: .decide)
        case "signed by a stranger":
            signed = Self.stranger.sign(Self.decision(by: Self.stranger.keyID))
        case "statement altered":
            signed.statement[signed.statement.count - 5] ^= 1
        case "approver certified by the root directly":
            material.certificates = [Self.certify(key: Self.approver.publicKey, principal: "p_approver", may: .decide)]
        case "root rotated":
            material.roots.append(Self.rootRecord(Self.nextRoot, previous: Self.root))
        case "rotation not signed by the old root":
            material.roots.append(Self.rootRecord(Self.nextRoot, previous: Self.stranger))
            anchor = Self.trusting([Self.root.publicKey])
            // Certified by the new root only: a rotation that does not hold leaves it untrusted.
            material.certificates = [
                Self.certify(key: Self.approver.publicKey, principal: "p_approver", may: .decide, by: Self.nextRoot)
            ]
        default: break
        }
        let trust = TenantTrust(material, anchor: anchor)
        let result = trust.verifyDecision(signed)
        #expect((try? result.get()) != nil ? accepted : !accepted, "\(change): \(result)")
    }

    @Test func thePolicyIsTheHighestVersionAnAdministratorSigned() {
        func policy(_ version: Int64, enabled: Bool, by signer: TenantSigner) -> SignedBytes {
            signer.sign(
                TenantPolicy(tenantID: "contoso", version: version, lockboxEnabled: enabled, issuerKeyID: signer.keyID)
            )
        }
        let initial = TenantTrust(Self.material(), anchor: Self.trusting([Self.root.publicKey]))
        #expect(initial.policy == TenantPolicy.initial(tenantID: "contoso"))
        let signed = TenantTrust(
            Self.material(policies: [
                policy(2, enabled: false, by: Self.admin), policy(1, enabled: true, by: Self.root),
                // A higher version by a key that may not administer counts for nothing.
                policy(9, enabled: true, by: Self.approver), policy(8, enabled: true, by: Self.stranger),
            ]),
            anchor: Self.trusting([Self.root.publicKey])
        )
        #expect(signed.policy?.version == 2 && signed.policy?.lockboxEnabled == false)
    }

    /// A passkey's assertion, as a relying party checks it.
    @Test(arguments: [
        ("as asserted", true),
        ("user not verified, policy requires it", false),
        ("user not verified, policy allows it", true),
        ("user not present", false),
        ("wrong type", false),
        ("another statement's challenge", false),
        ("foreign origin", false),
        ("foreign relying party", false),
        ("signature of another assertion", false),
        ("no assertion", false),
    ])
    func passkeys(_ change: String, _ accepted: Bool) {
        var passkey = SoftwarePasskey()
        let policy = Self.root.sign(
            TenantPolicy(
                tenantID: "contoso",
                version: 1,
                userVerificationRequired: change != "user not verified, policy allows it",
                rpID: passkey.rpID,
                origins: [passkey.origin],
                issuerKeyID: Self.root.keyID
            )
        )
        let material = Self.material(
            certificates: [Self.certify(.es256WebAuthn, key: passkey.publicKey, principal: "p_approver", may: .decide)],
            policies: [policy]
        )
        let statement = Self.decision(by: passkey.keyID).canonicalBytes
        var signed: SignedBytes
        switch change {
        case "user not verified, policy requires it", "user not verified, policy allows it":
            signed = passkey.assert(statement, userVerified: false)
        case "user not present": signed = passkey.assert(statement, userPresent: false)
        case "wrong type": signed = passkey.assert(statement, type: "webauthn.create")
        case "another statement's challenge":
            signed = passkey.assert(statement, challenge: WebAuthnAssertion.challenge(for: [1, 2, 3]))
        case "foreign origin": signed = passkey.assert(statement, origin: "https://evil.example")
        case "foreign relying party": signed = passkey.assert(statement, rpID: "evil.example")
        case "signature of another assertion":
            signed = passkey.assert(statement)
            signed.signature = passkey.assert(statement, userVerified: false).signature
        case "no assertion":
            signed = passkey.assert(statement)
            signed.assertion = nil
        default: signed = passkey.assert(statement)
        }
        let trust = TenantTrust(material, anchor: Self.trusting([Self.root.publicKey]))
        let result = trust.verifyDecision(signed)
        #expect((try? result.get()) != nil ? accepted : !accepted, "\(change): \(result)")
        if case .success(let (_, counter)) = result { #expect(counter == passkey.counter) }
    }

    @Test func evidenceIsCheckedAgainstPinnedRootsOnly() throws {
        let evidence = AccessEvidence(material: Self.material(), decision: Self.approver.sign(Self.decision()))
        let decoded = try AccessEvidence(canonicalBytes: evidence.canonicalBytes)
        #expect(decoded == evidence)
        let pinned = EvidenceVerifier(pinnedRoots: ["contoso": [Self.root.publicKey]])
        func verify(
            _ verifier: EvidenceVerifier,
            _ evidence: AccessEvidence,
            operation: String = "Get-Mailbox",
            at time: Int64 = Self.now + 1
        ) -> Bool {
            (try? verifier.verify(
                evidence,
                tenantID: "contoso",
                operatorID: "p_op",
                service: "exchange",
                operation: operation,
                nowMs: time
            ).get()) != nil
        }
        #expect(verify(pinned, decoded))
        #expect(!verify(pinned, decoded, operation: "Set-Mailbox"))
        #expect(!verify(pinned, decoded, at: Self.now + 3_600_000))
        // A lockboxd with a rogue root (and its own keys) makes evidence that chains to its root:
        // a data plane pinning the tenant's root refuses it.
        let rogue = AccessEvidence(
            material: TrustMaterial(
                tenantID: "contoso",
                roots: [Self.rootRecord(Self.stranger)],
                certificates: [
                    Self.certify(key: Self.approver.publicKey, principal: "p_approver", may: .decide, by: Self.stranger)
                ]
            ),
            decision: Self.approver.sign(Self.decision())
        )
        #expect(!verify(pinned, rogue))
        #expect(verify(EvidenceVerifier(pinnedRoots: ["contoso": [Self.stranger.publicKey]]), rogue))
        // A denial is no approval; nor is "no decision" without a signed policy turning the lockbox off.
        #expect(
            !verify(
                pinned,
                AccessEvidence(material: Self.material(), decision: Self.approver.sign(Self.decision("Deny")))
            )
        )
        #expect(!verify(pinned, AccessEvidence(material: Self.material(), decision: nil)))
        let off = Self.root.sign(
            TenantPolicy(tenantID: "contoso", version: 1, lockboxEnabled: false, issuerKeyID: Self.root.keyID)
        )
        #expect(verify(pinned, AccessEvidence(material: Self.material(policies: [off]), decision: nil)))
    }
}
