import LockboxIntegrity
import LockboxTestSupport
import LockboxTrust
import Testing

/// N of M as pure tables: how a rule counts approvers' decisions, what a denial does, the
/// window a grant gets, what backs an operation, the policy that carries the rules, and
/// evidence that must carry as many approvals as the rule asks for.
@Suite struct QuorumTests {
    static let now: Int64 = 1_800_000_000_000
    static let minute: Int64 = 60_000

    /// A decision by `approver`, signed at `start` (minutes from now) for `length` minutes.
    static func vote(_ approver: String, _ word: String = "Approve", start: Int64 = 0, length: Int64 = 60)
        -> DecisionStatement
    {
        DecisionStatement(
            tenantID: "contoso",
            requestID: "req_1",
            operatorID: "p_op",
            service: "exchange",
            operations: ["get-mailbox"],
            startsAtMs: now + start * minute,
            endsAtMs: now + (start + length) * minute,
            decision: word,
            approverID: approver,
            keyID: "k_" + approver,
            nonce: [1]
        )
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var votes: [DecisionStatement]
        var required: Int64
        var denialEnds = true
        var eligible = 3
        /// Minutes from now at which the tally is made.
        var at: Int64 = 0
        var expected: Quorum.Outcome
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "one of one approves",
            votes: [vote("a")],
            required: 1,
            expected: .approved(approvedBy: ["a"], startsAtMs: now, endsAtMs: now + 60 * minute)
        ),
        Case(
            name: "one of two is pending",
            votes: [vote("a")],
            required: 2,
            expected: .pending(approvedBy: ["a"], deniedBy: [])
        ),
        Case(
            name: "the same approver twice counts once",
            votes: [vote("a"), vote("a", start: 1)],
            required: 2,
            expected: .pending(approvedBy: ["a"], deniedBy: [])
        ),
        Case(
            // lockboxd never stores both (an approver decides once); rows ordered otherwise
            // behind its back cannot turn a denial into an approval.
            name: "an approver with both an approval and a denial counts as denying",
            votes: [vote("a"), vote("a", "Deny")],
            required: 2,
            expected: .denied(deniedBy: ["a"])
        ),
        Case(
            name: "two of two: the window every approval holds, latest start to earliest end",
            votes: [vote("a", length: 60), vote("b", start: 10, length: 240)],
            required: 2,
            at: 10,
            expected: .approved(approvedBy: ["a", "b"], startsAtMs: now + 10 * minute, endsAtMs: now + 60 * minute)
        ),
        Case(
            name: "an approval whose window has ended does not count",
            votes: [vote("a", length: 30), vote("b", start: 40)],
            required: 2,
            at: 40,
            expected: .pending(approvedBy: ["b"], deniedBy: [])
        ),
        Case(
            name: "an approver whose approval lapsed approves again, and counts once",
            votes: [vote("a", length: 30), vote("b", start: 40), vote("a", start: 40)],
            required: 2,
            at: 40,
            expected: .approved(approvedBy: ["b", "a"], startsAtMs: now + 40 * minute, endsAtMs: now + 100 * minute)
        ),
        Case(
            name: "a denial ends the request by default",
            votes: [vote("a"), vote("b", "Deny")],
            required: 2,
            expected: .denied(deniedBy: ["b"])
        ),
        Case(
            name: "a denial that only counts leaves 2 of 3 reachable",
            votes: [vote("a"), vote("b", "Deny")],
            required: 2,
            denialEnds: false,
            expected: .pending(approvedBy: ["a"], deniedBy: ["b"])
        ),
        Case(
            name: "a counted denial, then the threshold reached",
            votes: [vote("a"), vote("b", "Deny"), vote("c")],
            required: 2,
            denialEnds: false,
            expected: .approved(approvedBy: ["a", "c"], startsAtMs: now, endsAtMs: now + 60 * minute)
        ),
        Case(
            name: "two counted denials leave 1 of 3: too few for 2",
            votes: [vote("a", "Deny"), vote("b", "Deny")],
            required: 2,
            denialEnds: false,
            expected: .denied(deniedBy: ["a", "b"])
        ),
        Case(
            name: "more approvers required than eligible stays pending without a denial",
            votes: [vote("a")],
            required: 5,
            denialEnds: false,
            expected: .pending(approvedBy: ["a"], deniedBy: [])
        ),
        Case(
            name: "a word that is neither approve nor deny counts for nothing",
            votes: [vote("a", "Maybe"), vote("b")],
            required: 1,
            expected: .approved(approvedBy: ["b"], startsAtMs: now, endsAtMs: now + 60 * minute)
        ),
    ]

    @Test func anApproverWithADenialNeverAlsoCountsAsApproving() {
        // Two rows of one approver (as a database could order them): the denial wins.
        let rule = ApprovalRule(service: "exchange", approvalsRequired: 2, denialEnds: false)
        let votes = [Self.vote("a"), Self.vote("b"), Self.vote("a", "Deny")]
        #expect(
            Quorum.tally(votes, rule: rule, eligible: 4, nowMs: Self.now)
                == .pending(approvedBy: ["b"], deniedBy: ["a"])
        )
        #expect(!Quorum.backs(votes, rule: rule, operation: "Get-Mailbox", atMs: Self.now + 1))
        let one = ApprovalRule(service: "exchange", approvalsRequired: 1, denialEnds: false)
        #expect(
            !Quorum.backs(
                [Self.vote("a"), Self.vote("a", "Deny")],
                rule: one,
                operation: "Get-Mailbox",
                atMs: Self.now + 1
            )
        )
    }

    @Test func aLapsedApprovalLeavesItsApproverFreeToDecideAgain() {
        let lapsed = Self.vote("a", length: 30)
        #expect(Quorum.hasStanding("a", in: [lapsed], nowMs: Self.now + 10 * Self.minute))
        #expect(!Quorum.hasStanding("a", in: [lapsed], nowMs: Self.now + 30 * Self.minute))
        // A denial stands whatever its window.
        #expect(Quorum.hasStanding("a", in: [Self.vote("a", "Deny", length: 30)], nowMs: Self.now + 40 * Self.minute))
        #expect(!Quorum.hasStanding("b", in: [lapsed], nowMs: Self.now))
    }

    @Test(arguments: cases) func tally(_ test: Case) {
        let rule = ApprovalRule(service: "exchange", approvalsRequired: test.required, denialEnds: test.denialEnds)
        #expect(
            Quorum.tally(test.votes, rule: rule, eligible: test.eligible, nowMs: Self.now + test.at * Self.minute)
                == test.expected
        )
    }

    struct Backing: Sendable, CustomTestStringConvertible {
        var name: String
        var votes: [DecisionStatement]
        var required: Int64
        var denialEnds = true
        var operation = "Get-Mailbox"
        var at: Int64 = 5
        var backed: Bool
        var testDescription: String { name }
    }

    static let backings: [Backing] = [
        Backing(name: "two approvers of two", votes: [vote("a"), vote("b")], required: 2, backed: true),
        Backing(name: "one approver of two", votes: [vote("a")], required: 2, backed: false),
        Backing(
            name: "one approver's two statements",
            votes: [vote("a"), vote("a", start: 1)],
            required: 2,
            backed: false
        ),
        Backing(
            name: "an operation outside the approved scope",
            votes: [vote("a"), vote("b")],
            required: 2,
            operation: "Set-Mailbox",
            backed: false
        ),
        Backing(
            name: "after the first approval's window ends",
            votes: [vote("a", length: 30), vote("b")],
            required: 2,
            at: 30,
            backed: false
        ),
        Backing(
            name: "a denial beside the approvals, under a rule where it ends the request",
            votes: [vote("a"), vote("b"), vote("c", "Deny")],
            required: 2,
            backed: false
        ),
        Backing(
            name: "a denial beside the approvals, under a rule where it only counts",
            votes: [vote("a"), vote("b"), vote("c", "Deny")],
            required: 2,
            denialEnds: false,
            backed: true
        ),
        Backing(name: "one of one", votes: [vote("a")], required: 1, backed: true),
        Backing(name: "before the window starts", votes: [vote("a", start: 10)], required: 1, at: 5, backed: false),
    ]

    @Test func aThresholdAnApprovalSignedCountsWhateverTheRuleAtHand() {
        var a = Self.vote("a")
        a.approvalsRequired = 2
        // Evidence without the policy (or with an older one) reads the one-approval rule: the
        // signed threshold still asks for two.
        #expect(!Quorum.backs([a], rule: .single(service: "exchange"), operation: "Get-Mailbox", atMs: Self.now))
        var b = Self.vote("b")
        b.approvalsRequired = 2
        #expect(Quorum.backs([a, b], rule: .single(service: "exchange"), operation: "Get-Mailbox", atMs: Self.now))
        #expect(
            Quorum.tally([a], rule: .single(service: "exchange"), eligible: 3, nowMs: Self.now)
                == .pending(approvedBy: ["a"], deniedBy: [])
        )
    }

    @Test func aDecisionSignsItsThresholdAboveOneOnly() throws {
        let single = Self.vote("a")
        #expect(single.canonicalBytes.starts(with: Array("lockbox/decision/v1".utf8) + [0]))
        var several = single
        several.approvalsRequired = 3
        #expect(several.canonicalBytes.starts(with: Array("lockbox/decision/v2".utf8) + [0]))
        #expect(try DecisionStatement(canonicalBytes: several.canonicalBytes) == several)
        #expect(try DecisionStatement(canonicalBytes: single.canonicalBytes) == single)
        for bad in [Int64(6), 1, 0] {
            var wrong = single
            wrong.approvalsRequired = bad
            // v2 bytes by hand: the v1 fields, then the threshold.
            var bytes = Array("lockbox/decision/v2".utf8) + [0]
            bytes += single.canonicalBytes.dropFirst(Array("lockbox/decision/v1".utf8).count + 1)
            bytes += withUnsafeBytes(of: bad.bigEndian) { Array($0) }
            #expect(throws: CanonicalReader.Malformed.self) { try DecisionStatement(canonicalBytes: bytes) }
        }
    }

    @Test(arguments: backings) func backs(_ test: Backing) {
        let rule = ApprovalRule(service: "exchange", approvalsRequired: test.required, denialEnds: test.denialEnds)
        #expect(
            Quorum.backs(test.votes, rule: rule, operation: test.operation, atMs: Self.now + test.at * Self.minute)
                == test.backed
        )
    }

    @Test func policyRulesReadBackAndKeepTheirVersionOneEncodingWithout() throws {
        let plain = TenantPolicy(tenantID: "t", version: 1, issuerKeyID: "i")
        #expect(plain.canonicalBytes.starts(with: Array("lockbox/tenant-policy/v1".utf8) + [0]))
        let ruled = TenantPolicy(
            tenantID: "t",
            version: 2,
            approvalRules: [
                ApprovalRule(service: "teams", approvalsRequired: 3, denialEnds: false),
                ApprovalRule(service: "exchange", approvalsRequired: 2),
            ],
            issuerKeyID: "i"
        )
        #expect(ruled.canonicalBytes.starts(with: Array("lockbox/tenant-policy/v2".utf8) + [0]))
        let read = try TenantPolicy(canonicalBytes: ruled.canonicalBytes)
        #expect(read == ruled)
        #expect(read.approvalRules.map(\.service) == ["exchange", "teams"])
        #expect(
            read.approvalRule(service: "teams")
                == ApprovalRule(service: "teams", approvalsRequired: 3, denialEnds: false)
        )
        #expect(read.approvalRule(service: "onedrive") == .single(service: "onedrive"))
        let categorized = TenantPolicy(
            tenantID: "t",
            version: 3,
            justificationCategories: ["security_investigation", "incident", "incident"],
            issuerKeyID: "i"
        )
        #expect(categorized.justificationCategories == ["incident", "security_investigation"])
        #expect(categorized.canonicalBytes.starts(with: Array("lockbox/tenant-policy/v2".utf8) + [0]))
        #expect(try TenantPolicy(canonicalBytes: categorized.canonicalBytes) == categorized)
        // A v2 policy with neither rules nor categories has the v1 encoding, not a second one.
        var empty = Array("lockbox/tenant-policy/v2".utf8) + [0]
        empty += plain.canonicalBytes.dropFirst(Array("lockbox/tenant-policy/v1".utf8).count + 1).dropLast(
            4 + "i".utf8.count
        )
        empty += [0, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 0, 1] + Array("i".utf8)
        #expect(throws: CanonicalReader.Malformed.self) { try TenantPolicy(canonicalBytes: empty) }
        // A threshold out of 1...5, a service twice, or out of order: refused as malformed.
        for rules in [
            [ApprovalRule(service: "exchange", approvalsRequired: 6)],
            [ApprovalRule(service: "exchange", approvalsRequired: 0)],
            [
                ApprovalRule(service: "exchange", approvalsRequired: 2),
                ApprovalRule(service: "exchange", approvalsRequired: 3),
            ],
        ] {
            let bad = TenantPolicy(tenantID: "t", version: 2, approvalRules: rules, issuerKeyID: "i")
            #expect(throws: CanonicalReader.Malformed.self) { try TenantPolicy(canonicalBytes: bad.canonicalBytes) }
        }
    }

    struct PreApproval: Sendable, CustomTestStringConvertible {
        var name: String
        var service = "exchange"
        var category: String? = "incident"
        var seconds: Int64 = 1800
        var asked: [String]? = nil
        var granted: [String]?
        var testDescription: String { name }
    }

    static let preapprovals: [PreApproval] = [
        PreApproval(name: "all it asks, within the rule", granted: ["get-mailbox", "get-messagetrace"]),
        PreApproval(name: "a subset it names", asked: ["get-mailbox"], granted: ["get-mailbox"]),
        PreApproval(
            name: "an operation the rule does not name",
            asked: ["get-mailbox", "search-mailbox"],
            granted: nil
        ),
        PreApproval(name: "longer than the rule", seconds: 3601, granted: nil),
        PreApproval(name: "exactly as long", seconds: 3600, granted: ["get-mailbox", "get-messagetrace"]),
        PreApproval(name: "another category", category: "service_request", granted: nil),
        PreApproval(name: "no category", category: nil, granted: nil),
        PreApproval(name: "another service", service: "teams", granted: nil),
    ]

    @Test(arguments: preapprovals) func aPreApprovalCoversOnlyWhatItNames(_ test: PreApproval) throws {
        let rule = AutoApprovalRule(
            service: "exchange",
            category: "incident",
            maxDurationSeconds: 3600,
            operations: ["Get-MessageTrace", "Get-Mailbox", "Test-MailFlow"]
        )
        // Test-MailFlow is in the rule but no longer pre-approved by the provider: never granted.
        let preapproved = ["get-mailbox", "get-messagetrace", "search-mailbox"]
        #expect(
            rule.grants(
                service: test.service,
                category: test.category,
                durationSeconds: test.seconds,
                asked: test.asked,
                preapproved: preapproved
            ) == test.granted
        )
        let policy = TenantPolicy(tenantID: "t", version: 4, autoApprovals: [rule], issuerKeyID: "i")
        #expect(try TenantPolicy(canonicalBytes: policy.canonicalBytes) == policy)
    }

    @Test func evidenceMustCarryAsManyApprovalsAsThePolicyAsks() throws {
        let root = try TenantSigner(seed: [UInt8](repeating: 1, count: 32))
        let keys = ["a", "b"].map { name in
            (name, try! TenantSigner(seed: [UInt8](repeating: name == "a" ? 7 : 8, count: 32)))
        }
        let rootStatement = TenantRootStatement(tenantID: "contoso", publicKey: root.publicKey, previousKeyID: "")
        let policy = root.sign(
            TenantPolicy(
                tenantID: "contoso",
                version: 1,
                approvalRules: [ApprovalRule(service: "exchange", approvalsRequired: 2)],
                issuerKeyID: root.keyID
            )
        )
        let material = TrustMaterial(
            tenantID: "contoso",
            roots: [
                RootRecord(
                    statement: rootStatement.canonicalBytes,
                    signature: root.signature(over: rootStatement.canonicalBytes)
                )
            ],
            certificates: keys.map { name, key in
                root.sign(
                    KeyCertificate(
                        tenantID: "contoso",
                        principalID: name,
                        algorithm: .ed25519,
                        publicKey: key.publicKey,
                        capabilities: .decide,
                        notBeforeMs: Self.now - 86_400_000,
                        notAfterMs: Self.now + 86_400_000,
                        issuerKeyID: root.keyID
                    )
                )
            },
            policies: [policy]
        )
        let signed = keys.map { name, key in
            var statement = Self.vote(name)
            statement.keyID = key.keyID
            return key.sign(statement)
        }
        let verifier = EvidenceVerifier(pinnedRoots: ["contoso": [root.publicKey]])
        func verdict(_ decisions: [SignedBytes]) -> Bool {
            let evidence = AccessEvidence(material: material, decisions: decisions)
            guard let decoded = try? AccessEvidence(canonicalBytes: evidence.canonicalBytes), decoded == evidence else {
                return false
            }
            return
                (try? verifier.verify(
                    decoded,
                    tenantID: "contoso",
                    operatorID: "p_op",
                    service: "exchange",
                    operation: "Get-Mailbox",
                    nowMs: Self.now + Self.minute
                ).get()) != nil
        }
        #expect(verdict(signed))
        #expect(!verdict([signed[0]]))
        #expect(!verdict([signed[0], signed[0]]))
        // The second approval is of another request: approvals of two requests never add up.
        var other = Self.vote("b")
        other.requestID = "req_2"
        other.keyID = keys[1].1.keyID
        #expect(!verdict([signed[0], keys[1].1.sign(other)]))
    }
}
