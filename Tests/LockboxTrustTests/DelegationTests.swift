import LockboxIntegrity
import LockboxTestSupport
import LockboxTrust
import Testing

/// Delegation as pure tables: a delegation's terms, which decisions it covers, how a
/// delegate's decision counts (as the delegator's, once), and which signatures make a
/// delegation and its revocation hold in a tenant's trust.
@Suite struct DelegationTests {
    static let now = TrustTests.now
    static let hour: Int64 = 3_600_000
    static let alice = TrustTests.approver
    static let bob = try! TenantSigner(seed: [UInt8](repeating: 6, count: 32))

    static func delegation(
        from delegator: String = "p_approver",
        key: String = alice.keyID,
        to delegate: String = "p_bob",
        services: [String] = [],
        starts: Int64 = now - hour,
        ends: Int64 = now + 24 * hour,
        nonce: [UInt8] = Array(repeating: 9, count: 16)
    ) -> DelegationStatement {
        DelegationStatement(
            tenantID: "contoso",
            delegatorID: delegator,
            keyID: key,
            delegateID: delegate,
            services: services,
            startsAtMs: starts,
            endsAtMs: ends,
            nonce: nonce
        )
    }

    /// `delegate`'s decision for `onBehalfOf` under `delegation`, prepared at `at`.
    static func delegated(
        _ delegation: DelegationStatement,
        by delegate: String = "p_bob",
        key: String = bob.keyID,
        for onBehalfOf: String = "p_approver",
        service: String = "exchange",
        at: Int64 = now,
        word: String = "Approve"
    ) -> DecisionStatement {
        var decision = TrustTests.decision(word, by: key, approver: delegate)
        decision.service = service
        decision.startsAtMs = at
        decision.endsAtMs = at + hour
        decision.delegationID = delegation.id
        decision.onBehalfOf = onBehalfOf
        return decision
    }

    struct Terms: Sendable, CustomTestStringConvertible {
        var name: String
        var delegation: DelegationStatement
        var problem: Bool
        var testDescription: String { name }
    }

    static let terms: [Terms] = [
        Terms(name: "a day to another approver", delegation: delegation(), problem: false),
        Terms(name: "to oneself", delegation: delegation(to: "p_approver"), problem: true),
        Terms(name: "ends before it starts", delegation: delegation(starts: now, ends: now), problem: true),
        Terms(name: "exactly 90 days", delegation: delegation(starts: now, ends: now + 90 * 24 * hour), problem: false),
        Terms(
            name: "longer than 90 days",
            delegation: delegation(starts: now, ends: now + 90 * 24 * hour + 1),
            problem: true
        ),
        Terms(name: "a short nonce", delegation: delegation(nonce: [1, 2, 3]), problem: true),
        Terms(name: "no delegate", delegation: delegation(to: ""), problem: true),
    ]

    @Test(arguments: terms) func aDelegationsOwnTerms(_ test: Terms) {
        #expect((test.delegation.termsProblem != nil) == test.problem)
    }

    struct Coverage: Sendable, CustomTestStringConvertible {
        var name: String
        var delegation: DelegationStatement
        var decision: DecisionStatement
        var covered: Bool
        var testDescription: String { name }
    }

    static let coverage: [Coverage] = {
        let all = delegation()
        let exchangeOnly = delegation(services: ["exchange"])
        var otherID = delegated(all)
        otherID.delegationID = delegation(nonce: Array(repeating: 8, count: 16)).id
        var otherTenant = delegated(all)
        otherTenant.tenantID = "fabrikam"
        return [
            Coverage(
                name: "the delegate for the delegator, inside",
                delegation: all,
                decision: delegated(all),
                covered: true
            ),
            Coverage(name: "a denial too", delegation: all, decision: delegated(all, word: "Deny"), covered: true),
            Coverage(
                name: "another delegate",
                delegation: all,
                decision: delegated(all, by: "p_carol"),
                covered: false
            ),
            Coverage(
                name: "for another delegator",
                delegation: all,
                decision: delegated(all, for: "p_dave"),
                covered: false
            ),
            Coverage(name: "naming another delegation", delegation: all, decision: otherID, covered: false),
            Coverage(name: "another tenant", delegation: all, decision: otherTenant, covered: false),
            Coverage(
                name: "a service it names",
                delegation: exchangeOnly,
                decision: delegated(exchangeOnly),
                covered: true
            ),
            Coverage(
                name: "a service it does not name",
                delegation: exchangeOnly,
                decision: delegated(exchangeOnly, service: "teams"),
                covered: false
            ),
            Coverage(
                name: "prepared at its start",
                delegation: all,
                decision: delegated(all, at: now - hour),
                covered: true
            ),
            Coverage(
                name: "prepared before its start",
                delegation: all,
                decision: delegated(all, at: now - hour - 1),
                covered: false
            ),
            Coverage(
                name: "prepared at its end",
                delegation: all,
                decision: delegated(all, at: now + 24 * hour),
                covered: false
            ),
        ]
    }()

    @Test(arguments: coverage) func whatADelegationCovers(_ test: Coverage) {
        #expect(test.delegation.covers(test.decision) == test.covered)
    }

    @Test func statementsReadBackAsWrittenAndAnIDNamesTheBytes() throws {
        let given = Self.delegation(services: ["teams", "exchange"])
        #expect(given.services == ["exchange", "teams"])
        #expect(try DelegationStatement(canonicalBytes: given.canonicalBytes) == given)
        #expect(given.id == DelegationStatement.id(of: given.canonicalBytes))
        #expect(given.id.hasPrefix("dlg_") && given.id.count == 36)
        #expect(Self.delegation(nonce: Array(repeating: 8, count: 16)).id != given.id)
        // The same id the Python client computes for these terms (clients/python/tests/test_trust_unit.py).
        #expect(Self.delegation(services: ["exchange"]).id == "dlg_93c5cf870b3400698b057ee103c7398e")
        let revocation = DelegationRevocation(tenantID: "contoso", delegationID: given.id, issuerKeyID: "k")
        #expect(try DelegationRevocation(canonicalBytes: revocation.canonicalBytes) == revocation)

        // A delegate's decision is v3, with its threshold; without a delegation it is v1 or v2 as before.
        var decision = Self.delegated(given)
        #expect(decision.canonicalBytes.starts(with: Array("lockbox/decision/v3".utf8) + [0]))
        #expect(try DecisionStatement(canonicalBytes: decision.canonicalBytes) == decision)
        #expect(decision.countedApproverID == "p_approver")
        decision.approvalsRequired = 3
        #expect(try DecisionStatement(canonicalBytes: decision.canonicalBytes) == decision)
        let own = TrustTests.decision()
        #expect(own.canonicalBytes.starts(with: Array("lockbox/decision/v1".utf8) + [0]))
        #expect(own.countedApproverID == "p_approver")

        // v3 without a delegator, or with a threshold out of range, is refused: one encoding each.
        var writer = CanonicalWriter(tag: DecisionStatement.tagWithDelegation)
        for text in ["contoso", "req_1", "p_op", "exchange"] { writer.string(text) }
        writer.int64(0)
        writer.int64(1)
        writer.int64(2)
        for text in ["Approve", "p_bob", "k"] { writer.string(text) }
        writer.data([1])
        writer.int64(1)
        writer.int64(0)
        var missing = writer
        missing.string(given.id)
        missing.string("")
        #expect(throws: CanonicalReader.Malformed.self) { try DecisionStatement(canonicalBytes: missing.bytes) }
        writer.string(given.id)
        writer.string("p_approver")
        #expect(try DecisionStatement(canonicalBytes: writer.bytes).onBehalfOf == "p_approver")
        // v3 also carries the rule's "each person counts once", with or without a delegation;
        // with neither, it is not v3.
        var once = TrustTests.decision()
        once.personCountsOnce = true
        #expect(once.canonicalBytes.starts(with: Array("lockbox/decision/v3".utf8) + [0]))
        #expect(try DecisionStatement(canonicalBytes: once.canonicalBytes) == once)
        var flagged = Self.delegated(given)
        flagged.personCountsOnce = true
        #expect(try DecisionStatement(canonicalBytes: flagged.canonicalBytes) == flagged)
        var empty = CanonicalWriter(tag: DecisionStatement.tagWithDelegation)
        for text in ["contoso", "req_1", "p_op", "exchange"] { empty.string(text) }
        empty.int64(0)
        empty.int64(1)
        empty.int64(2)
        for text in ["Approve", "p_bob", "k"] { empty.string(text) }
        empty.data([1])
        empty.int64(1)
        empty.int64(0)
        empty.string("")
        empty.string("")
        #expect(throws: CanonicalReader.Malformed.self) { try DecisionStatement(canonicalBytes: empty.bytes) }
    }

    struct Counting: Sendable, CustomTestStringConvertible {
        var name: String
        var votes: [DecisionStatement]
        var required: Int64
        var expected: Quorum.Outcome
        var testDescription: String { name }
    }

    static let counting: [Counting] = {
        let bobsOwn = TrustTests.decision(by: bob.keyID, approver: "p_bob")
        let alicesOwn = TrustTests.decision()
        let forAlice = delegated(delegation())
        let window = (startsAtMs: now, endsAtMs: now + hour)
        return [
            Counting(
                name: "a delegate's approval counts as the delegator's",
                votes: [forAlice],
                required: 1,
                expected: .approved(
                    approvedBy: ["p_approver"],
                    startsAtMs: window.startsAtMs,
                    endsAtMs: window.endsAtMs
                )
            ),
            Counting(
                name: "the delegate's own and the delegator's make two",
                votes: [bobsOwn, forAlice],
                required: 2,
                expected: .approved(
                    approvedBy: ["p_bob", "p_approver"],
                    startsAtMs: window.startsAtMs,
                    endsAtMs: window.endsAtMs
                )
            ),
            Counting(
                name: "the delegator and their delegate count once",
                votes: [alicesOwn, forAlice],
                required: 2,
                expected: .pending(approvedBy: ["p_approver"], deniedBy: [])
            ),
            Counting(
                name: "a delegate's denial is the delegator's",
                votes: [delegated(delegation(), word: "Deny")],
                required: 2,
                expected: .denied(deniedBy: ["p_approver"])
            ),
        ]
    }()

    @Test(arguments: counting) func aDelegatesDecisionCountsAsTheDelegators(_ test: Counting) {
        let rule = ApprovalRule(service: "exchange", approvalsRequired: test.required)
        #expect(Quorum.tally(test.votes, rule: rule, eligible: 3, nowMs: Self.now) == test.expected)
    }

    // MARK: In a tenant's trust

    /// A second administering key, and a second decide key of the delegator: both certified by
    /// the root, so that revoking them touches nothing else.
    static let otherAdmin = try! TenantSigner(seed: [UInt8](repeating: 7, count: 32))
    static let aliceSpare = try! TenantSigner(seed: [UInt8](repeating: 8, count: 32))

    static func trust(
        delegations: [SignedBytes],
        revocations: [SignedBytes] = [],
        keyRevocations: [SignedBytes] = [],
        aliceUntil: Int64 = now + TrustTests.year
    ) -> TenantTrust {
        var material = TrustTests.material(
            certificates: [
                TrustTests.certify(key: TrustTests.admin.publicKey, principal: "p_admin", may: .administer),
                TrustTests.certify(key: alice.publicKey, principal: "p_approver", may: .decide, until: aliceUntil),
                TrustTests.certify(key: aliceSpare.publicKey, principal: "p_approver", may: .decide),
                TrustTests.certify(key: otherAdmin.publicKey, principal: "p_admin2", may: .administer),
                TrustTests.certify(key: bob.publicKey, principal: "p_bob", may: .decide, by: TrustTests.admin),
            ],
            revocations: keyRevocations
        )
        material.delegations = delegations
        material.delegationRevocations = revocations
        return TenantTrust(material, anchor: TrustTests.trusting([TrustTests.root.publicKey]))
    }

    static func signedDecision(_ statement: DecisionStatement) -> SignedBytes { bob.sign(statement) }

    struct Holding: Sendable, CustomTestStringConvertible {
        var name: String
        var delegations: [SignedBytes]
        var revocations: [SignedBytes] = []
        var keyRevocations: [SignedBytes] = []
        var holds: Bool
        var testDescription: String { name }
    }

    static let holding: [Holding] = {
        let given = delegation()
        let revoke = DelegationRevocation(tenantID: "contoso", delegationID: given.id, issuerKeyID: alice.keyID)
        let byAdmin = DelegationRevocation(
            tenantID: "contoso",
            delegationID: given.id,
            issuerKeyID: TrustTests.admin.keyID
        )
        let byDelegate = DelegationRevocation(tenantID: "contoso", delegationID: given.id, issuerKeyID: bob.keyID)
        return [
            Holding(name: "signed by the delegator's decide key", delegations: [alice.sign(given)], holds: true),
            Holding(
                name: "signed by the delegate's key in the delegator's name",
                delegations: [bob.sign(delegation(key: bob.keyID))],
                holds: false
            ),
            Holding(
                name: "signed by an administering key, not the delegator's",
                delegations: [TrustTests.admin.sign(delegation(key: TrustTests.admin.keyID))],
                holds: false
            ),
            Holding(
                name: "a signature over other bytes",
                delegations: [
                    SignedBytes(
                        statement: given.canonicalBytes,
                        keyID: alice.keyID,
                        signature: alice.signature(over: delegation(to: "p_carol").canonicalBytes)
                    )
                ],
                holds: false
            ),
            Holding(
                name: "starting after the delegator's key expires",
                delegations: [
                    alice.sign(delegation(starts: now + 2 * TrustTests.year, ends: now + 2 * TrustTests.year + hour))
                ],
                holds: false
            ),
            Holding(
                name: "revoked by the delegator",
                delegations: [alice.sign(given)],
                revocations: [alice.sign(revoke)],
                holds: false
            ),
            Holding(
                name: "revoked by an administering key",
                delegations: [alice.sign(given)],
                revocations: [TrustTests.admin.sign(byAdmin)],
                holds: false
            ),
            Holding(
                name: "a revocation by the delegate counts for nothing",
                delegations: [alice.sign(given)],
                revocations: [bob.sign(byDelegate)],
                holds: true
            ),
            Holding(
                name: "revoked by an administering key that is revoked later: the revocation stands",
                delegations: [alice.sign(given)],
                revocations: [
                    otherAdmin.sign(
                        DelegationRevocation(tenantID: "contoso", delegationID: given.id, issuerKeyID: otherAdmin.keyID)
                    )
                ],
                keyRevocations: [
                    TrustTests.root.sign(
                        KeyRevocation(tenantID: "contoso", keyID: otherAdmin.keyID, issuerKeyID: TrustTests.root.keyID)
                    )
                ],
                holds: false
            ),
            Holding(
                name: "revoked with the delegator's other key, revoked later: the revocation stands",
                delegations: [alice.sign(given)],
                revocations: [
                    aliceSpare.sign(
                        DelegationRevocation(tenantID: "contoso", delegationID: given.id, issuerKeyID: aliceSpare.keyID)
                    )
                ],
                keyRevocations: [
                    TrustTests.root.sign(
                        KeyRevocation(tenantID: "contoso", keyID: aliceSpare.keyID, issuerKeyID: TrustTests.root.keyID)
                    )
                ],
                holds: false
            ),
            Holding(
                name: "the delegator's signing key revoked",
                delegations: [alice.sign(given)],
                keyRevocations: [
                    TrustTests.root.sign(
                        KeyRevocation(tenantID: "contoso", keyID: alice.keyID, issuerKeyID: TrustTests.root.keyID)
                    )
                ],
                holds: false
            ),
        ]
    }()

    @Test(arguments: holding) func whichSignaturesMakeADelegationHold(_ test: Holding) {
        let trust = Self.trust(
            delegations: test.delegations,
            revocations: test.revocations,
            keyRevocations: test.keyRevocations
        )
        let id = (try? DelegationStatement(canonicalBytes: test.delegations[0].statement))?.id ?? ""
        #expect((trust.delegations[id] != nil) == test.holds)
        let verified = trust.verifyDecision(Self.signedDecision(Self.delegated(Self.delegation())))
        if test.holds {
            #expect(verified.map(\.0.countedApproverID) == .success("p_approver"))
        } else {
            #expect(throws: TrustProblem.self) { try verified.get() }
        }
    }

    @Test func aDelegationDoesNotOutliveTheDelegatorsKey() {
        // Alice's key expires half an hour after now; her delegation runs a day.
        let given = Self.delegation()
        let trust = Self.trust(delegations: [Self.alice.sign(given)], aliceUntil: Self.now + Self.hour / 2)
        #expect(trust.delegations[given.id] != nil)
        #expect(throws: Never.self) { try trust.verifyDecision(Self.signedDecision(Self.delegated(given))).get() }
        let later = Self.delegated(given, at: Self.now + Self.hour)
        #expect(throws: TrustProblem.self) { try trust.verifyDecision(Self.signedDecision(later)).get() }
    }

    @Test func underARuleWhereEachPersonCountsOnceADelegateCountsOnce() throws {
        let bobsOwn = TrustTests.decision(by: Self.bob.keyID, approver: "p_bob")
        let forAlice = Self.delegated(Self.delegation())
        let once = ApprovalRule(service: "exchange", approvalsRequired: 2, personCountsOnce: true)
        #expect(
            Quorum.tally([bobsOwn, forAlice], rule: once, eligible: 3, nowMs: Self.now)
                == .pending(approvedBy: ["p_bob"], deniedBy: [])
        )
        #expect(!Quorum.backs([bobsOwn, forAlice], rule: once, operation: "Get-Mailbox", atMs: Self.now + 1))
        var twice = once
        twice.personCountsOnce = false
        #expect(Quorum.backs([bobsOwn, forAlice], rule: twice, operation: "Get-Mailbox", atMs: Self.now + 1))
        // Signed into the decisions too: evidence whose policy says nothing of it (an older one, or
        // none) still counts each person once.
        var bobsSigned = bobsOwn
        bobsSigned.personCountsOnce = true
        var forAliceSigned = forAlice
        forAliceSigned.personCountsOnce = true
        #expect(
            !Quorum.backs(
                [bobsSigned, forAliceSigned],
                rule: ApprovalRule(service: "exchange", approvalsRequired: 2),
                operation: "Get-Mailbox",
                atMs: Self.now + 1
            )
        )
        // The rule's flag is signed with the policy, and reads back.
        let policy = TenantPolicy(tenantID: "t", version: 2, approvalRules: [once], issuerKeyID: "i")
        #expect(try TenantPolicy(canonicalBytes: policy.canonicalBytes).approvalRules == [once])
    }

    @Test func aDelegatesDecisionMustFitTheDelegationItNames() {
        let given = Self.delegation(services: ["exchange"])
        let trust = Self.trust(delegations: [Self.alice.sign(given)])
        #expect(throws: Never.self) { try trust.verifyDecision(Self.signedDecision(Self.delegated(given))).get() }
        let wrongs = [
            Self.delegated(given, service: "teams"),
            Self.delegated(given, for: "p_admin"),
            Self.delegated(given, at: Self.now + 25 * Self.hour),
        ]
        for wrong in wrongs {
            #expect(throws: TrustProblem.self) { try trust.verifyDecision(Self.signedDecision(wrong)).get() }
        }
        // The delegator's own key cannot sign as the delegate: the key is certified to the delegator.
        var asAlice = Self.delegated(given, key: Self.alice.keyID)
        asAlice.keyID = Self.alice.keyID
        #expect(throws: TrustProblem.self) { try trust.verifyDecision(Self.alice.sign(asAlice)).get() }
    }

    @Test func evidenceCarriesADelegationAndADataPlaneCountsIt() throws {
        let given = Self.delegation()
        let decision = Self.signedDecision(Self.delegated(given))
        var material = TrustTests.material()
        material.certificates.append(
            TrustTests.certify(key: Self.bob.publicKey, principal: "p_bob", may: .decide, by: TrustTests.admin)
        )
        let verifier = EvidenceVerifier(pinnedRoots: ["contoso": [TrustTests.root.publicKey]])
        func verdict(_ delegations: [SignedBytes]) throws -> Bool {
            var carried = material
            carried.delegations = delegations
            let evidence = try AccessEvidence(
                canonicalBytes: AccessEvidence(material: carried, decisions: [decision]).canonicalBytes
            )
            #expect(evidence.material.delegations == delegations)
            let result = verifier.verify(
                evidence,
                tenantID: "contoso",
                operatorID: "p_op",
                service: "exchange",
                operation: "Get-Mailbox",
                nowMs: Self.now + 1
            )
            if case .success = result { return true }
            return false
        }
        #expect(try verdict([Self.alice.sign(given)]))
        #expect(try !verdict([]))
        #expect(try !verdict([Self.bob.sign(Self.delegation(key: Self.bob.keyID))]))
    }

    @Test func aPasskeySignsADelegationAsItSignsADecision() {
        var passkey = SoftwarePasskey()
        let policy = TrustTests.root.sign(
            TenantPolicy(
                tenantID: "contoso",
                version: 1,
                rpID: passkey.rpID,
                origins: [passkey.origin],
                issuerKeyID: TrustTests.root.keyID
            )
        )
        let given = Self.delegation(key: passkey.keyID)
        func holds(_ signed: SignedBytes) -> Bool {
            var material = TrustTests.material(
                certificates: [
                    TrustTests.certify(
                        .es256WebAuthn,
                        key: passkey.publicKey,
                        principal: "p_approver",
                        may: .decide
                    ),
                    TrustTests.certify(key: Self.bob.publicKey, principal: "p_bob", may: .decide),
                ],
                policies: [policy]
            )
            material.delegations = [signed]
            let trust = TenantTrust(material, anchor: TrustTests.trusting([TrustTests.root.publicKey]))
            return trust.delegations[given.id] != nil
        }
        #expect(holds(passkey.assert(given.canonicalBytes)))
        #expect(!holds(passkey.assert(given.canonicalBytes, origin: "https://evil.example")))
        var bare = passkey.assert(given.canonicalBytes)
        bare.assertion = nil
        #expect(!holds(bare))
    }
}
