import LockboxIntegrity

// The statements a tenant's own keys sign (docs/audit-integrity.md, "Customer-signed
// statements"), in the canonical encoding of LockboxIntegrity: a tag and a NUL byte, then the
// fields in order. Each has a reader, so that a verifier recovers exactly what was signed.

/// What a key may sign for its tenant.
public struct Capabilities: OptionSet, Sendable, Hashable {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }

    /// Approve or deny access requests.
    public static let decide = Capabilities(rawValue: 1)
    /// Certify and revoke keys, set the tenant's policy.
    public static let administer = Capabilities(rawValue: 2)

    /// The words the CLI and the documents use: "decide", "administer".
    public var names: [String] {
        (contains(.decide) ? ["decide"] : []) + (contains(.administer) ? ["administer"] : [])
    }

    public init?(names: [String]) {
        var value = Capabilities()
        for name in names {
            switch name {
            case "decide": value.insert(.decide)
            case "administer": value.insert(.administer)
            default: return nil
            }
        }
        self = value
    }
}

/// How a key signs.
public enum KeyAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// Ed25519 over the statement's bytes; the public key is its 32 raw bytes.
    case ed25519
    /// A passkey: ECDSA P-256 with SHA-256 over WebAuthn's authenticator data and the hash of
    /// its client data, whose challenge is the statement's hash; the public key is its SPKI
    /// (DER), as a browser's `getPublicKey()` gives it.
    case es256WebAuthn = "es256-webauthn"

    /// A key's id, derived from its public key: "ed25519:" or "es256:" and the first 16 hex
    /// digits of SHA-256 over the public key's bytes.
    public func keyID(for publicKey: [UInt8]) -> String {
        switch self {
        case .ed25519: PublicSigningKey.keyID(for: publicKey)
        case .es256WebAuthn: "es256:" + String(Digest.sha256(publicKey).hex.prefix(16))
        }
    }
}

extension CanonicalWriter {
    mutating func strings(_ values: [String]) {
        int64(Int64(values.count))
        for value in values { string(value) }
    }
}

extension CanonicalReader {
    /// A count, then that many strings; a count larger than the bytes left could hold is refused.
    mutating func strings(limit: Int) throws(Malformed) -> [String] {
        let count = try int64()
        guard count >= 0, count <= Int64(limit) else { throw Malformed() }
        var values: [String] = []
        for _ in 0..<count { values.append(try string()) }
        return values
    }
}

/// A statement with its encoding.
public protocol TrustStatement: Sendable, Hashable {
    static var tag: String { get }
    var canonicalBytes: [UInt8] { get }
    init(canonicalBytes: [UInt8]) throws(CanonicalReader.Malformed)
}

/// A tenant's root key: adopted at enrollment (or once, by a tenant enrolled before roots),
/// and replaced by a statement the current root signs too. Signed by the new root itself.
public struct TenantRootStatement: TrustStatement {
    public var tenantID: String
    public var keyID: String
    /// The raw 32-byte Ed25519 public key.
    public var publicKey: [UInt8]
    /// The root this one replaces; "" for the first.
    public var previousKeyID: String

    public init(tenantID: String, publicKey: [UInt8], previousKeyID: String) {
        self.tenantID = tenantID
        self.keyID = KeyAlgorithm.ed25519.keyID(for: publicKey)
        self.publicKey = publicKey
        self.previousKeyID = previousKeyID
    }

    public static let tag = "lockbox/tenant-root/v1"

    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter(tag: Self.tag)
        writer.string(tenantID)
        writer.string(keyID)
        writer.data(publicKey)
        writer.string(previousKeyID)
        return writer.bytes
    }

    public init(canonicalBytes bytes: [UInt8]) throws(CanonicalReader.Malformed) {
        var reader = try CanonicalReader(bytes, tag: Self.tag)
        tenantID = try reader.string()
        keyID = try reader.string()
        publicKey = try reader.data()
        previousKeyID = try reader.string()
        try reader.finish()
    }
}

/// lockboxd's word that it accepted a tenant root: signed by a server key the database trusts,
/// so that a root written into the database behind lockboxd's back is not trusted.
public struct RootAttestation: TrustStatement {
    public var tenantID: String
    public var rootKeyID: String
    /// SHA-256 of the root statement's canonical bytes.
    public var statementHash: [UInt8]
    public var serverKeyID: String

    public init(tenantID: String, rootKeyID: String, statementHash: [UInt8], serverKeyID: String) {
        self.tenantID = tenantID
        self.rootKeyID = rootKeyID
        self.statementHash = statementHash
        self.serverKeyID = serverKeyID
    }

    public static let tag = "lockbox/root-attestation/v1"

    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter(tag: Self.tag)
        writer.string(tenantID)
        writer.string(rootKeyID)
        writer.data(statementHash)
        writer.string(serverKeyID)
        return writer.bytes
    }

    public init(canonicalBytes bytes: [UInt8]) throws(CanonicalReader.Malformed) {
        var reader = try CanonicalReader(bytes, tag: Self.tag)
        tenantID = try reader.string()
        rootKeyID = try reader.string()
        statementHash = try reader.data()
        serverKeyID = try reader.string()
        try reader.finish()
    }
}

/// A key of one of the tenant's principals, certified by the root or by an administering key
/// that chains to it.
public struct KeyCertificate: TrustStatement {
    public var tenantID: String
    public var principalID: String
    public var keyID: String
    public var algorithm: KeyAlgorithm
    public var publicKey: [UInt8]
    public var capabilities: Capabilities
    /// The certificate's validity, as its issuer states it; checked against the verifier's clock.
    public var notBeforeMs: Int64
    public var notAfterMs: Int64
    public var issuerKeyID: String

    public init(
        tenantID: String,
        principalID: String,
        algorithm: KeyAlgorithm,
        publicKey: [UInt8],
        capabilities: Capabilities,
        notBeforeMs: Int64,
        notAfterMs: Int64,
        issuerKeyID: String
    ) {
        self.tenantID = tenantID
        self.principalID = principalID
        self.keyID = algorithm.keyID(for: publicKey)
        self.algorithm = algorithm
        self.publicKey = publicKey
        self.capabilities = capabilities
        self.notBeforeMs = notBeforeMs
        self.notAfterMs = notAfterMs
        self.issuerKeyID = issuerKeyID
    }

    public static let tag = "lockbox/key-certificate/v1"

    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter(tag: Self.tag)
        writer.string(tenantID)
        writer.string(principalID)
        writer.string(keyID)
        writer.string(algorithm.rawValue)
        writer.data(publicKey)
        writer.int64(capabilities.rawValue)
        writer.int64(notBeforeMs)
        writer.int64(notAfterMs)
        writer.string(issuerKeyID)
        return writer.bytes
    }

    public init(canonicalBytes bytes: [UInt8]) throws(CanonicalReader.Malformed) {
        var reader = try CanonicalReader(bytes, tag: Self.tag)
        tenantID = try reader.string()
        principalID = try reader.string()
        keyID = try reader.string()
        guard let algorithm = KeyAlgorithm(rawValue: try reader.string()) else { throw CanonicalReader.Malformed() }
        self.algorithm = algorithm
        publicKey = try reader.data()
        capabilities = Capabilities(rawValue: try reader.int64())
        notBeforeMs = try reader.int64()
        notAfterMs = try reader.int64()
        issuerKeyID = try reader.string()
        try reader.finish()
    }
}

/// A certified key withdrawn: nothing it signed counts from then on.
public struct KeyRevocation: TrustStatement {
    public var tenantID: String
    public var keyID: String
    public var issuerKeyID: String

    public init(tenantID: String, keyID: String, issuerKeyID: String) {
        self.tenantID = tenantID
        self.keyID = keyID
        self.issuerKeyID = issuerKeyID
    }

    public static let tag = "lockbox/key-revocation/v1"

    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter(tag: Self.tag)
        writer.string(tenantID)
        writer.string(keyID)
        writer.string(issuerKeyID)
        return writer.bytes
    }

    public init(canonicalBytes bytes: [UInt8]) throws(CanonicalReader.Malformed) {
        var reader = try CanonicalReader(bytes, tag: Self.tag)
        tenantID = try reader.string()
        keyID = try reader.string()
        issuerKeyID = try reader.string()
        try reader.finish()
    }
}

/// How many of a tenant's approvers decide its requests for one service (N of M), and what a
/// denial does. Part of the tenant's signed policy, so that nothing on the provider's side can
/// lower the number.
public struct ApprovalRule: Sendable, Hashable {
    /// The most approvals a rule may require.
    public static let maximumApprovals: Int64 = 5

    /// The lower-case service name: exchange, sharepoint, onedrive or teams.
    public var service: String
    /// How many distinct approvers must approve: 1 to ``maximumApprovals``.
    public var approvalsRequired: Int64
    /// Whether one denial ends the request (the default), or only counts against the threshold:
    /// the request is then denied once too few approvers are left to reach it.
    public var denialEnds: Bool
    /// Whether each person counts once on a request, whether deciding for themselves or in a
    /// delegator's place: a delegate who decided in their own name cannot also decide for the
    /// delegator, and the other way round. Off (the default), a delegate's decision for the
    /// delegator counts beside their own, so that an approver away does not block an N-of-M
    /// rule.
    public var personCountsOnce: Bool

    public init(service: String, approvalsRequired: Int64, denialEnds: Bool = true, personCountsOnce: Bool = false) {
        self.service = service
        self.approvalsRequired = approvalsRequired
        self.denialEnds = denialEnds
        self.personCountsOnce = personCountsOnce
    }

    /// The rule's flags as the policy encodes them: 1 a denial ends the request, 2 each person
    /// counts once.
    var flags: Int64 { (denialEnds ? 1 : 0) | (personCountsOnce ? 2 : 0) }

    /// What holds for a service the policy names no rule for: one approval decides.
    public static func single(service: String) -> ApprovalRule {
        ApprovalRule(service: service, approvalsRequired: 1)
    }

    /// The rule as `decisions` signed it too: each person counts once when any of them says so,
    /// whatever policy the verifier holds (evidence may carry an older one, or none).
    public func signedInto(_ decisions: [DecisionStatement]) -> ApprovalRule {
        var rule = self
        if decisions.contains(where: \.personCountsOnce) { rule.personCountsOnce = true }
        return rule
    }
}

/// A tenant's pre-approval of low-risk work (issue 20): requests for `service` whose
/// justification category is `category`, for at most `maxDurationSeconds`, asking only for
/// some of `operations`, are approved by the tenant's signed policy itself, without an
/// approver. Part of the policy, so a new policy version withdraws it.
public struct AutoApprovalRule: Sendable, Hashable {
    public var service: String
    public var category: String
    public var maxDurationSeconds: Int64
    /// Lower-cased and sorted.
    public var operations: [String]

    public init(service: String, category: String, maxDurationSeconds: Int64, operations: [String]) {
        self.service = service
        self.category = category
        self.maxDurationSeconds = maxDurationSeconds
        self.operations = Array(Set(operations.map { $0.lowercased() })).sorted()
    }

    /// The operations a request gets under this rule: those it asked for (nil: all those
    /// pre-approved, `preapproved`) that the rule names; nil when the request does not match
    /// (another service or category, longer, or asking for an operation the rule does not name).
    public func grants(
        service: String,
        category: String?,
        durationSeconds: Int64,
        asked: [String]?,
        preapproved: [String]
    ) -> [String]? {
        guard service == self.service, category == self.category, durationSeconds <= maxDurationSeconds else {
            return nil
        }
        let allowed = Set(operations)
        if let asked, !asked.allSatisfy(allowed.contains) { return nil }
        let granted = (asked ?? preapproved).filter { allowed.contains($0) && preapproved.contains($0) }
        return granted.isEmpty ? nil : granted
    }
}

/// The tenant's rules, signed by its root or an administering key: whether the lockbox is on,
/// whether decisions must be signed, what a passkey's assertion must show, and how many
/// approvers decide each service's requests. The highest version in force wins.
///
/// A policy without approval rules is encoded as "lockbox/tenant-policy/v1", as before rules
/// existed; one with rules as "lockbox/tenant-policy/v2", which adds them before the issuer.
public struct TenantPolicy: TrustStatement {
    public var tenantID: String
    public var version: Int64
    public var lockboxEnabled: Bool
    public var signaturesRequired: Bool
    /// Whether a passkey's assertion must carry the user-verified flag (not only user-present).
    public var userVerificationRequired: Bool
    /// The WebAuthn relying-party id the tenant's passkeys are registered for, and the origins
    /// its portal signs from.
    public var rpID: String
    public var origins: [String]
    /// At most one per service, sorted by service; a service without one takes one approval.
    public var approvalRules: [ApprovalRule]
    /// The justification categories the tenant accepts a request with, sorted; empty accepts
    /// any, and none.
    public var justificationCategories: [String]
    /// The tenant's pre-approvals, in the order signed.
    public var autoApprovals: [AutoApprovalRule]
    public var issuerKeyID: String

    public init(
        tenantID: String,
        version: Int64,
        lockboxEnabled: Bool = true,
        signaturesRequired: Bool = true,
        userVerificationRequired: Bool = true,
        rpID: String = "",
        origins: [String] = [],
        approvalRules: [ApprovalRule] = [],
        justificationCategories: [String] = [],
        autoApprovals: [AutoApprovalRule] = [],
        issuerKeyID: String
    ) {
        self.autoApprovals = autoApprovals
        self.justificationCategories = Array(Set(justificationCategories)).sorted()
        self.tenantID = tenantID
        self.version = version
        self.lockboxEnabled = lockboxEnabled
        self.signaturesRequired = signaturesRequired
        self.userVerificationRequired = userVerificationRequired
        self.rpID = rpID
        self.origins = origins
        self.approvalRules = approvalRules.sorted { $0.service < $1.service }
        self.issuerKeyID = issuerKeyID
    }

    public static let tag = "lockbox/tenant-policy/v1"
    public static let tagWithRules = "lockbox/tenant-policy/v2"
    /// The most approval rules a policy holds: one per service, with room for services to come.
    public static let maximumRules = 16

    /// Whether the policy needs the v2 encoding.
    var hasV2Fields: Bool { !approvalRules.isEmpty || !justificationCategories.isEmpty || !autoApprovals.isEmpty }

    var flags: Int64 {
        (lockboxEnabled ? 1 : 0) | (signaturesRequired ? 2 : 0) | (userVerificationRequired ? 4 : 0)
    }

    /// The first pre-approval that approves a request of `service`, `category` and duration
    /// asking for `asked` (nil: all of `preapproved`), with the operations it grants; nil when none does.
    public func autoApproval(
        service: String,
        category: String?,
        durationSeconds: Int64,
        asked: [String]?,
        preapproved: [String]
    ) -> (index: Int, operations: [String])? {
        for (index, rule) in autoApprovals.enumerated() {
            if let granted = rule.grants(
                service: service,
                category: category,
                durationSeconds: durationSeconds,
                asked: asked,
                preapproved: preapproved
            ) {
                return (index, granted)
            }
        }
        return nil
    }

    /// The rule for `service`: the policy's own, or one approval.
    public func approvalRule(service: String) -> ApprovalRule {
        approvalRules.first { $0.service == service } ?? .single(service: service)
    }

    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter(tag: hasV2Fields ? Self.tagWithRules : Self.tag)
        writer.string(tenantID)
        writer.int64(version)
        writer.int64(flags)
        writer.string(rpID)
        writer.strings(origins)
        if hasV2Fields {
            writer.int64(Int64(approvalRules.count))
            for rule in approvalRules {
                writer.string(rule.service)
                writer.int64(rule.approvalsRequired)
                writer.int64(rule.flags)
            }
            writer.strings(justificationCategories)
            writer.int64(Int64(autoApprovals.count))
            for rule in autoApprovals {
                writer.string(rule.service)
                writer.string(rule.category)
                writer.int64(rule.maxDurationSeconds)
                writer.strings(rule.operations)
            }
        }
        writer.string(issuerKeyID)
        return writer.bytes
    }

    public init(canonicalBytes bytes: [UInt8]) throws(CanonicalReader.Malformed) {
        let withRules = (try? CanonicalReader(bytes, tag: Self.tag)) == nil
        var reader = try CanonicalReader(bytes, tag: withRules ? Self.tagWithRules : Self.tag)
        tenantID = try reader.string()
        version = try reader.int64()
        let flags = try reader.int64()
        guard flags & ~7 == 0 else { throw CanonicalReader.Malformed() }
        lockboxEnabled = flags & 1 != 0
        signaturesRequired = flags & 2 != 0
        userVerificationRequired = flags & 4 != 0
        rpID = try reader.string()
        origins = try reader.strings(limit: 32)
        var rules: [ApprovalRule] = []
        if withRules {
            let count = try reader.int64()
            guard count >= 0, count <= Int64(Self.maximumRules) else { throw CanonicalReader.Malformed() }
            for _ in 0..<count {
                let service = try reader.string()
                let required = try reader.int64()
                let flags = try reader.int64()
                guard (1...ApprovalRule.maximumApprovals).contains(required), (0...3).contains(flags),
                    rules.last.map({ $0.service < service }) ?? true
                else { throw CanonicalReader.Malformed() }
                rules.append(
                    ApprovalRule(
                        service: service,
                        approvalsRequired: required,
                        denialEnds: flags & 1 != 0,
                        personCountsOnce: flags & 2 != 0
                    )
                )
            }
        }
        approvalRules = rules
        justificationCategories = withRules ? try reader.strings(limit: 16) : []
        var autoApprovals: [AutoApprovalRule] = []
        if withRules {
            let count = try reader.int64()
            guard count >= 0, count <= Int64(Self.maximumRules) else { throw CanonicalReader.Malformed() }
            for _ in 0..<count {
                let service = try reader.string()
                let category = try reader.string()
                let seconds = try reader.int64()
                let operations = try reader.strings(limit: 64)
                let rule = AutoApprovalRule(
                    service: service,
                    category: category,
                    maxDurationSeconds: seconds,
                    operations: operations
                )
                guard seconds > 0, !operations.isEmpty, rule.operations == operations else {
                    throw CanonicalReader.Malformed()
                }
                autoApprovals.append(rule)
            }
        }
        self.autoApprovals = autoApprovals
        // Sorted and distinct, and a v2 policy holds a rule, a category or a pre-approval: one
        // encoding per policy.
        guard zip(justificationCategories, justificationCategories.dropFirst()).allSatisfy({ $0 < $1 }),
            !withRules || !rules.isEmpty || !justificationCategories.isEmpty || !autoApprovals.isEmpty
        else { throw CanonicalReader.Malformed() }
        issuerKeyID = try reader.string()
        try reader.finish()
    }

    /// What holds for a tenant with a root and no signed policy yet: the lockbox on, decisions
    /// signed, passkeys user-verified.
    public static func initial(tenantID: String) -> TenantPolicy {
        TenantPolicy(tenantID: tenantID, version: 0, issuerKeyID: "")
    }
}

/// A customer approver's decision on one access request: what the approver's own key signs.
/// lockboxd prepares it (GetAccessRequest) and accepts it only as it prepared it, but for an
/// earlier end (a shorter grant) or the decision word.
public struct DecisionStatement: TrustStatement {
    public var tenantID: String
    public var requestID: String
    public var operatorID: String
    /// The lower-case service name: exchange, sharepoint, onedrive or teams.
    public var service: String
    /// The operations the grant allows, lower-cased and sorted.
    public var operations: [String]
    /// The window the approver allows: from when lockboxd prepared the statement to its end.
    public var startsAtMs: Int64
    public var endsAtMs: Int64
    /// "Approve" or "Deny".
    public var decision: String
    public var approverID: String
    public var keyID: String
    /// lockboxd's nonce for this request's decision.
    public var nonce: [UInt8]
    /// How many distinct approvers' decisions the tenant's policy asked for when lockboxd
    /// prepared the statement (N of M). The approver signs it, so that evidence without the
    /// policy, or with an older one, cannot count fewer. Encoded only when above 1
    /// ("lockbox/decision/v2"), so that every decision signed before N of M verifies as it was.
    public var approvalsRequired: Int64
    /// The delegation the approver decides under (``DelegationStatement/id``), and the
    /// delegator it names: the decision then counts as the delegator's. Both empty for an
    /// approver's own decision. Encoded only when set ("lockbox/decision/v3").
    public var delegationID: String
    public var onBehalfOf: String
    /// Whether the tenant's rule, when lockboxd prepared the statement, had each person count
    /// once (``ApprovalRule/personCountsOnce``). Signed, as the threshold is, so that evidence
    /// without the policy cannot count one person twice. Encoded only when set (v3).
    public var personCountsOnce: Bool

    public init(
        tenantID: String,
        requestID: String,
        operatorID: String,
        service: String,
        operations: [String],
        startsAtMs: Int64,
        endsAtMs: Int64,
        decision: String,
        approverID: String,
        keyID: String,
        nonce: [UInt8],
        approvalsRequired: Int64 = 1,
        delegationID: String = "",
        onBehalfOf: String = "",
        personCountsOnce: Bool = false
    ) {
        self.approvalsRequired = approvalsRequired
        self.delegationID = delegationID
        self.onBehalfOf = onBehalfOf
        self.personCountsOnce = personCountsOnce
        self.tenantID = tenantID
        self.requestID = requestID
        self.operatorID = operatorID
        self.service = service
        self.operations = operations
        self.startsAtMs = startsAtMs
        self.endsAtMs = endsAtMs
        self.decision = decision
        self.approverID = approverID
        self.keyID = keyID
        self.nonce = nonce
    }

    public static let tag = "lockbox/decision/v1"
    public static let tagWithApprovals = "lockbox/decision/v2"
    public static let tagWithDelegation = "lockbox/decision/v3"

    /// The approver the decision counts as: the delegator it is made for, or its signer.
    public var countedApproverID: String { delegationID.isEmpty ? approverID : onBehalfOf }

    var encodingTag: String {
        if !delegationID.isEmpty || personCountsOnce { return Self.tagWithDelegation }
        return approvalsRequired == 1 ? Self.tag : Self.tagWithApprovals
    }

    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter(tag: encodingTag)
        writer.string(tenantID)
        writer.string(requestID)
        writer.string(operatorID)
        writer.string(service)
        writer.strings(operations)
        writer.int64(startsAtMs)
        writer.int64(endsAtMs)
        writer.string(decision)
        writer.string(approverID)
        writer.string(keyID)
        writer.data(nonce)
        if encodingTag != Self.tag { writer.int64(approvalsRequired) }
        if encodingTag == Self.tagWithDelegation {
            writer.int64(personCountsOnce ? 1 : 0)
            writer.string(delegationID)
            writer.string(onBehalfOf)
        }
        return writer.bytes
    }

    public init(canonicalBytes bytes: [UInt8]) throws(CanonicalReader.Malformed) {
        let tag = [Self.tag, Self.tagWithApprovals, Self.tagWithDelegation].first {
            (try? CanonicalReader(bytes, tag: $0)) != nil
        }
        guard let tag else { throw CanonicalReader.Malformed() }
        var reader = try CanonicalReader(bytes, tag: tag)
        tenantID = try reader.string()
        requestID = try reader.string()
        operatorID = try reader.string()
        service = try reader.string()
        operations = try reader.strings(limit: 1000)
        startsAtMs = try reader.int64()
        endsAtMs = try reader.int64()
        decision = try reader.string()
        approverID = try reader.string()
        keyID = try reader.string()
        nonce = try reader.data()
        approvalsRequired = 1
        delegationID = ""
        onBehalfOf = ""
        personCountsOnce = false
        if tag != Self.tag {
            approvalsRequired = try reader.int64()
            // One encoding per statement: v2 only above 1, v3 only with a delegation.
            let lowest: Int64 = tag == Self.tagWithApprovals ? 2 : 1
            guard (lowest...ApprovalRule.maximumApprovals).contains(approvalsRequired) else {
                throw CanonicalReader.Malformed()
            }
        }
        if tag == Self.tagWithDelegation {
            let flags = try reader.int64()
            delegationID = try reader.string()
            onBehalfOf = try reader.string()
            // A delegation names its delegator, and v3 holds a delegation or the flag: one
            // encoding per statement.
            guard flags == 0 || flags == 1, delegationID.isEmpty == onBehalfOf.isEmpty,
                !delegationID.isEmpty || flags == 1
            else { throw CanonicalReader.Malformed() }
            personCountsOnce = flags == 1
        }
        try reader.finish()
    }

    /// Whether the statement is an approval whose signed window has ended by `timeMs`: it counts
    /// for nothing any more.
    public func lapsed(atMs timeMs: Int64) -> Bool {
        decision == DecisionWord.approve.rawValue && endsAtMs <= timeMs
    }

    /// Whether the statement approves `operation` at `timeMs` (names compared case-insensitively).
    public func allows(operation: String, atMs timeMs: Int64) -> Bool {
        decision == DecisionWord.approve.rawValue && startsAtMs <= timeMs && timeMs < endsAtMs
            && operations.contains(operation.lowercased())
    }
}
