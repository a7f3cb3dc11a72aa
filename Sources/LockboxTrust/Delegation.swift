import LockboxIntegrity

/// An approver's word that another approver of the same tenant may decide in their place for a
/// period (issue 20, "Delegation"): signed by a key certified to the delegator to decide, so
/// that nothing on the provider's side can make one. A delegate's decision names the delegation
/// and counts as the delegator's (``DecisionStatement/countedApproverID``).
///
/// Its id is derived from its bytes ("dlg_" and 32 hex digits of their SHA-256), so a decision
/// that names it names exactly what was signed. The delegator's nonce makes two delegations
/// with the same terms two.
public struct DelegationStatement: TrustStatement {
    public var tenantID: String
    public var delegatorID: String
    /// The delegator's key that signs it.
    public var keyID: String
    public var delegateID: String
    /// The services the delegate may decide on, lower-case and sorted; empty: every service.
    public var services: [String]
    public var startsAtMs: Int64
    public var endsAtMs: Int64
    public var nonce: [UInt8]

    /// The longest period a delegation covers.
    public static let maximumPeriodMs: Int64 = 90 * 86_400_000

    public init(
        tenantID: String,
        delegatorID: String,
        keyID: String,
        delegateID: String,
        services: [String] = [],
        startsAtMs: Int64,
        endsAtMs: Int64,
        nonce: [UInt8]
    ) {
        self.tenantID = tenantID
        self.delegatorID = delegatorID
        self.keyID = keyID
        self.delegateID = delegateID
        self.services = Array(Set(services)).sorted()
        self.startsAtMs = startsAtMs
        self.endsAtMs = endsAtMs
        self.nonce = nonce
    }

    public static let tag = "lockbox/delegation/v1"

    /// "dlg_" and the first 32 hex digits of SHA-256 over the canonical bytes.
    public var id: String { Self.id(of: canonicalBytes) }

    public static func id(of bytes: [UInt8]) -> String { "dlg_" + String(Digest.sha256(bytes).hex.prefix(32)) }

    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter(tag: Self.tag)
        writer.string(tenantID)
        writer.string(delegatorID)
        writer.string(keyID)
        writer.string(delegateID)
        writer.strings(services)
        writer.int64(startsAtMs)
        writer.int64(endsAtMs)
        writer.data(nonce)
        return writer.bytes
    }

    public init(canonicalBytes bytes: [UInt8]) throws(CanonicalReader.Malformed) {
        var reader = try CanonicalReader(bytes, tag: Self.tag)
        tenantID = try reader.string()
        delegatorID = try reader.string()
        keyID = try reader.string()
        delegateID = try reader.string()
        services = try reader.strings(limit: 16)
        startsAtMs = try reader.int64()
        endsAtMs = try reader.int64()
        nonce = try reader.data()
        try reader.finish()
        guard zip(services, services.dropFirst()).allSatisfy({ $0 < $1 }) else { throw CanonicalReader.Malformed() }
    }

    /// Why the delegation's own terms do not hold, or nil: two different principals, a period
    /// that ends after it starts and is at most ``maximumPeriodMs`` long, and a nonce.
    public var termsProblem: String? {
        if delegatorID.isEmpty || delegateID.isEmpty { return "a delegation names its delegator and its delegate" }
        if delegatorID == delegateID { return "an approver cannot delegate to themselves" }
        if endsAtMs <= startsAtMs { return "the delegation's period ends before it starts" }
        if endsAtMs - startsAtMs > Self.maximumPeriodMs { return "a delegation covers at most 90 days" }
        if nonce.count < 16 { return "a delegation carries a nonce of at least 16 bytes" }
        return nil
    }

    /// Whether `decision` may count as the delegator's under this delegation: it names this
    /// delegation, is signed by the delegate for the delegator, on a service the delegation
    /// covers, and was prepared inside the delegation's period. Pure; the delegation's own
    /// signature and revocation are ``TenantTrust``'s to check.
    public func covers(_ decision: DecisionStatement) -> Bool {
        decision.delegationID == id && decision.tenantID == tenantID && decision.approverID == delegateID
            && decision.onBehalfOf == delegatorID && (services.isEmpty || services.contains(decision.service))
            && startsAtMs <= decision.startsAtMs && decision.startsAtMs < endsAtMs
    }
}

/// A delegation withdrawn: decisions made under it count for nothing from then on, as a
/// revoked key's do. Signed by a key certified to the delegator to decide, or by a key that
/// administers the tenant (the root, or a key certified to administer).
public struct DelegationRevocation: TrustStatement {
    public var tenantID: String
    public var delegationID: String
    public var issuerKeyID: String

    public init(tenantID: String, delegationID: String, issuerKeyID: String) {
        self.tenantID = tenantID
        self.delegationID = delegationID
        self.issuerKeyID = issuerKeyID
    }

    public static let tag = "lockbox/delegation-revocation/v1"

    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter(tag: Self.tag)
        writer.string(tenantID)
        writer.string(delegationID)
        writer.string(issuerKeyID)
        return writer.bytes
    }

    public init(canonicalBytes bytes: [UInt8]) throws(CanonicalReader.Malformed) {
        var reader = try CanonicalReader(bytes, tag: Self.tag)
        tenantID = try reader.string()
        delegationID = try reader.string()
        issuerKeyID = try reader.string()
        try reader.finish()
    }
}
