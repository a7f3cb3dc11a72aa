import CLockboxProto

// The tenant's own trust: its roots, certified keys, policy, and signed decisions
// (docs/audit-integrity.md, "Customer-signed statements").

/// A decision the approver's own key signed.
public struct SignedDecision: ProtoMessage {
    /// The "lockbox/decision/v1" statement's bytes.
    public var statement: [UInt8]
    public var keyID: String
    public var signature: [UInt8]
    /// A passkey's assertion: empty for an Ed25519 key.
    public var authenticatorData: [UInt8]
    public var clientDataJSON: [UInt8]

    public init(
        statement: [UInt8] = [],
        keyID: String = "",
        signature: [UInt8] = [],
        authenticatorData: [UInt8] = [],
        clientDataJSON: [UInt8] = []
    ) {
        self.statement = statement
        self.keyID = keyID
        self.signature = signature
        self.authenticatorData = authenticatorData
        self.clientDataJSON = clientDataJSON
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension SignedDecision: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__SignedDecision>) {
        lockbox__v1__signed_decision__init(message)
    }

    init(c: Lockbox__V1__SignedDecision) throws(ProtoDecodeError) {
        self.init(
            statement: CRead.bytes(c.statement),
            keyID: try CRead.string(c.key_id, in: Self.self),
            signature: CRead.bytes(c.signature),
            authenticatorData: CRead.bytes(c.authenticator_data),
            clientDataJSON: CRead.bytes(c.client_data_json)
        )
    }

    func fill(_ c: inout Lockbox__V1__SignedDecision, _ arena: Arena) {
        c.statement = arena.bytes(statement)
        c.key_id = arena.string(keyID)
        c.signature = arena.bytes(signature)
        c.authenticator_data = arena.bytes(authenticatorData)
        c.client_data_json = arena.bytes(clientDataJSON)
    }
}

/// A tenant root as adopted, with lockboxd's attestation.
public struct TenantRoot: ProtoMessage {
    public var tenantID: String
    public var keyID: String
    public var publicKey: [UInt8]
    public var statement: [UInt8]
    public var signature: [UInt8]
    public var previousSignature: [UInt8]
    public var attestedBy: String
    public var attestation: [UInt8]
    public var adoptedAtMs: Int64

    public init(
        tenantID: String = "",
        keyID: String = "",
        publicKey: [UInt8] = [],
        statement: [UInt8] = [],
        signature: [UInt8] = [],
        previousSignature: [UInt8] = [],
        attestedBy: String = "",
        attestation: [UInt8] = [],
        adoptedAtMs: Int64 = 0
    ) {
        self.tenantID = tenantID
        self.keyID = keyID
        self.publicKey = publicKey
        self.statement = statement
        self.signature = signature
        self.previousSignature = previousSignature
        self.attestedBy = attestedBy
        self.attestation = attestation
        self.adoptedAtMs = adoptedAtMs
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension TenantRoot: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__TenantRoot>) {
        lockbox__v1__tenant_root__init(message)
    }

    init(c: Lockbox__V1__TenantRoot) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            keyID: try CRead.string(c.key_id, in: Self.self),
            publicKey: CRead.bytes(c.public_key),
            statement: CRead.bytes(c.statement),
            signature: CRead.bytes(c.signature),
            previousSignature: CRead.bytes(c.previous_signature),
            attestedBy: try CRead.string(c.attested_by, in: Self.self),
            attestation: CRead.bytes(c.attestation),
            adoptedAtMs: c.adopted_at_ms
        )
    }

    func fill(_ c: inout Lockbox__V1__TenantRoot, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.key_id = arena.string(keyID)
        c.public_key = arena.bytes(publicKey)
        c.statement = arena.bytes(statement)
        c.signature = arena.bytes(signature)
        c.previous_signature = arena.bytes(previousSignature)
        c.attested_by = arena.string(attestedBy)
        c.attestation = arena.bytes(attestation)
        c.adopted_at_ms = adoptedAtMs
    }
}

/// A key the tenant certified, and whether it is revoked.
public struct TenantKey: ProtoMessage {
    public var tenantID: String
    public var keyID: String
    public var principalID: String
    /// "ed25519" or "es256-webauthn".
    public var algorithm: String
    public var publicKey: [UInt8]
    /// "decide", "administer".
    public var capabilities: [String]
    public var notBeforeMs: Int64
    public var notAfterMs: Int64
    public var issuerKeyID: String
    public var statement: [UInt8]
    public var signature: [UInt8]
    public var revoked: Bool
    public var revokedAtMs: Int64
    public var certifiedAtMs: Int64

    public init(
        tenantID: String = "",
        keyID: String = "",
        principalID: String = "",
        algorithm: String = "",
        publicKey: [UInt8] = [],
        capabilities: [String] = [],
        notBeforeMs: Int64 = 0,
        notAfterMs: Int64 = 0,
        issuerKeyID: String = "",
        statement: [UInt8] = [],
        signature: [UInt8] = [],
        revoked: Bool = false,
        revokedAtMs: Int64 = 0,
        certifiedAtMs: Int64 = 0
    ) {
        self.tenantID = tenantID
        self.keyID = keyID
        self.principalID = principalID
        self.algorithm = algorithm
        self.publicKey = publicKey
        self.capabilities = capabilities
        self.notBeforeMs = notBeforeMs
        self.notAfterMs = notAfterMs
        self.issuerKeyID = issuerKeyID
        self.statement = statement
        self.signature = signature
        self.revoked = revoked
        self.revokedAtMs = revokedAtMs
        self.certifiedAtMs = certifiedAtMs
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension TenantKey: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__TenantKey>) {
        lockbox__v1__tenant_key__init(message)
    }

    init(c: Lockbox__V1__TenantKey) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            keyID: try CRead.string(c.key_id, in: Self.self),
            principalID: try CRead.string(c.principal_id, in: Self.self),
            algorithm: try CRead.string(c.algorithm, in: Self.self),
            publicKey: CRead.bytes(c.public_key),
            capabilities: try CRead.strings(c.n_capabilities, c.capabilities, in: Self.self),
            notBeforeMs: c.not_before_ms,
            notAfterMs: c.not_after_ms,
            issuerKeyID: try CRead.string(c.issuer_key_id, in: Self.self),
            statement: CRead.bytes(c.statement),
            signature: CRead.bytes(c.signature),
            revoked: Bool(protobuf: c.revoked),
            revokedAtMs: c.revoked_at_ms,
            certifiedAtMs: c.certified_at_ms
        )
    }

    func fill(_ c: inout Lockbox__V1__TenantKey, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.key_id = arena.string(keyID)
        c.principal_id = arena.string(principalID)
        c.algorithm = arena.string(algorithm)
        c.public_key = arena.bytes(publicKey)
        (c.n_capabilities, c.capabilities) = arena.strings(capabilities)
        c.not_before_ms = notBeforeMs
        c.not_after_ms = notAfterMs
        c.issuer_key_id = arena.string(issuerKeyID)
        c.statement = arena.bytes(statement)
        c.signature = arena.bytes(signature)
        c.revoked = revoked.protobuf
        c.revoked_at_ms = revokedAtMs
        c.certified_at_ms = certifiedAtMs
    }
}

/// The tenant's policy in force.
public struct TenantPolicyRecord: ProtoMessage {
    public var tenantID: String
    public var version: Int64
    public var lockboxEnabled: Bool
    public var signaturesRequired: Bool
    public var userVerificationRequired: Bool
    public var rpID: String
    public var origins: [String]
    public var issuerKeyID: String
    public var statement: [UInt8]
    public var signature: [UInt8]
    public var setAtMs: Int64
    /// How many approvers decide each service's requests.
    public var approvalRules: [ApprovalRuleRecord]
    /// The justification categories the tenant accepts requests with; empty accepts any.
    public var justificationCategories: [String]
    /// The tenant's pre-approvals.
    public var autoApprovals: [AutoApprovalRecord]

    public init(
        tenantID: String = "",
        version: Int64 = 0,
        lockboxEnabled: Bool = false,
        signaturesRequired: Bool = false,
        userVerificationRequired: Bool = false,
        rpID: String = "",
        origins: [String] = [],
        issuerKeyID: String = "",
        statement: [UInt8] = [],
        signature: [UInt8] = [],
        setAtMs: Int64 = 0,
        approvalRules: [ApprovalRuleRecord] = [],
        justificationCategories: [String] = [],
        autoApprovals: [AutoApprovalRecord] = []
    ) {
        self.autoApprovals = autoApprovals
        self.justificationCategories = justificationCategories
        self.approvalRules = approvalRules
        self.tenantID = tenantID
        self.version = version
        self.lockboxEnabled = lockboxEnabled
        self.signaturesRequired = signaturesRequired
        self.userVerificationRequired = userVerificationRequired
        self.rpID = rpID
        self.origins = origins
        self.issuerKeyID = issuerKeyID
        self.statement = statement
        self.signature = signature
        self.setAtMs = setAtMs
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension TenantPolicyRecord: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__TenantPolicyRecord>) {
        lockbox__v1__tenant_policy_record__init(message)
    }

    init(c: Lockbox__V1__TenantPolicyRecord) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            version: c.version,
            lockboxEnabled: Bool(protobuf: c.lockbox_enabled),
            signaturesRequired: Bool(protobuf: c.signatures_required),
            userVerificationRequired: Bool(protobuf: c.user_verification_required),
            rpID: try CRead.string(c.rp_id, in: Self.self),
            origins: try CRead.strings(c.n_origins, c.origins, in: Self.self),
            issuerKeyID: try CRead.string(c.issuer_key_id, in: Self.self),
            statement: CRead.bytes(c.statement),
            signature: CRead.bytes(c.signature),
            setAtMs: c.set_at_ms,
            approvalRules: try CRead.repeated(c.n_approval_rules, c.approval_rules),
            justificationCategories: try CRead.strings(
                c.n_justification_categories,
                c.justification_categories,
                in: Self.self
            ),
            autoApprovals: try CRead.repeated(c.n_auto_approvals, c.auto_approvals)
        )
    }

    func fill(_ c: inout Lockbox__V1__TenantPolicyRecord, _ arena: Arena) {
        (c.n_approval_rules, c.approval_rules) = arena.repeated(approvalRules)
        (c.n_justification_categories, c.justification_categories) = arena.strings(justificationCategories)
        (c.n_auto_approvals, c.auto_approvals) = arena.repeated(autoApprovals)
        c.tenant_id = arena.string(tenantID)
        c.version = version
        c.lockbox_enabled = lockboxEnabled.protobuf
        c.signatures_required = signaturesRequired.protobuf
        c.user_verification_required = userVerificationRequired.protobuf
        c.rp_id = arena.string(rpID)
        (c.n_origins, c.origins) = arena.strings(origins)
        c.issuer_key_id = arena.string(issuerKeyID)
        c.statement = arena.bytes(statement)
        c.signature = arena.bytes(signature)
        c.set_at_ms = setAtMs
    }
}

public struct AdoptTenantRootRequest: ProtoMessage {
    public var tenantID: String
    public var publicKey: [UInt8]
    public var signature: [UInt8]
    /// For a rotation: the current root's signature over the new root's statement.
    public var previousSignature: [UInt8]

    public init(
        tenantID: String = "",
        publicKey: [UInt8] = [],
        signature: [UInt8] = [],
        previousSignature: [UInt8] = []
    ) {
        self.tenantID = tenantID
        self.publicKey = publicKey
        self.signature = signature
        self.previousSignature = previousSignature
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension AdoptTenantRootRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__AdoptTenantRootRequest>) {
        lockbox__v1__adopt_tenant_root_request__init(message)
    }

    init(c: Lockbox__V1__AdoptTenantRootRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            publicKey: CRead.bytes(c.public_key),
            signature: CRead.bytes(c.signature),
            previousSignature: CRead.bytes(c.previous_signature)
        )
    }

    func fill(_ c: inout Lockbox__V1__AdoptTenantRootRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.public_key = arena.bytes(publicKey)
        c.signature = arena.bytes(signature)
        c.previous_signature = arena.bytes(previousSignature)
    }
}

/// A statement a tenant key signed: a key certificate, a revocation or a policy.
public struct SignedStatementRequest: ProtoMessage {
    public var tenantID: String
    public var statement: [UInt8]
    public var issuerKeyID: String
    public var signature: [UInt8]
    /// What a passkey signed beside the statement (a delegation or its revocation only).
    public var authenticatorData: [UInt8]
    public var clientDataJSON: [UInt8]

    public init(
        tenantID: String = "",
        statement: [UInt8] = [],
        issuerKeyID: String = "",
        signature: [UInt8] = [],
        authenticatorData: [UInt8] = [],
        clientDataJSON: [UInt8] = []
    ) {
        self.tenantID = tenantID
        self.statement = statement
        self.issuerKeyID = issuerKeyID
        self.signature = signature
        self.authenticatorData = authenticatorData
        self.clientDataJSON = clientDataJSON
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension SignedStatementRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__SignedStatementRequest>) {
        lockbox__v1__signed_statement_request__init(message)
    }

    init(c: Lockbox__V1__SignedStatementRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            statement: CRead.bytes(c.statement),
            issuerKeyID: try CRead.string(c.issuer_key_id, in: Self.self),
            signature: CRead.bytes(c.signature),
            authenticatorData: CRead.bytes(c.authenticator_data),
            clientDataJSON: CRead.bytes(c.client_data_json)
        )
    }

    func fill(_ c: inout Lockbox__V1__SignedStatementRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.statement = arena.bytes(statement)
        c.issuer_key_id = arena.string(issuerKeyID)
        c.signature = arena.bytes(signature)
        c.authenticator_data = arena.bytes(authenticatorData)
        c.client_data_json = arena.bytes(clientDataJSON)
    }
}

/// An approver's delegation, and whether it holds.
public struct Delegation: ProtoMessage {
    public var tenantID: String
    public var delegationID: String
    public var delegatorID: String
    public var delegateID: String
    public var services: [String]
    public var startsAtMs: Int64
    public var endsAtMs: Int64
    public var keyID: String
    public var statement: [UInt8]
    public var signature: [UInt8]
    public var createdAtMs: Int64
    public var revoked: Bool
    public var revokedAtMs: Int64
    public var revokedByKeyID: String
    public var holds: Bool

    public init(
        tenantID: String = "",
        delegationID: String = "",
        delegatorID: String = "",
        delegateID: String = "",
        services: [String] = [],
        startsAtMs: Int64 = 0,
        endsAtMs: Int64 = 0,
        keyID: String = "",
        statement: [UInt8] = [],
        signature: [UInt8] = [],
        createdAtMs: Int64 = 0,
        revoked: Bool = false,
        revokedAtMs: Int64 = 0,
        revokedByKeyID: String = "",
        holds: Bool = false
    ) {
        self.tenantID = tenantID
        self.delegationID = delegationID
        self.delegatorID = delegatorID
        self.delegateID = delegateID
        self.services = services
        self.startsAtMs = startsAtMs
        self.endsAtMs = endsAtMs
        self.keyID = keyID
        self.statement = statement
        self.signature = signature
        self.createdAtMs = createdAtMs
        self.revoked = revoked
        self.revokedAtMs = revokedAtMs
        self.revokedByKeyID = revokedByKeyID
        self.holds = holds
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension Delegation: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__Delegation>) {
        lockbox__v1__delegation__init(message)
    }

    init(c: Lockbox__V1__Delegation) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            delegationID: try CRead.string(c.delegation_id, in: Self.self),
            delegatorID: try CRead.string(c.delegator_id, in: Self.self),
            delegateID: try CRead.string(c.delegate_id, in: Self.self),
            services: try CRead.strings(c.n_services, c.services, in: Self.self),
            startsAtMs: c.starts_at_ms,
            endsAtMs: c.ends_at_ms,
            keyID: try CRead.string(c.key_id, in: Self.self),
            statement: CRead.bytes(c.statement),
            signature: CRead.bytes(c.signature),
            createdAtMs: c.created_at_ms,
            revoked: Bool(protobuf: c.revoked),
            revokedAtMs: c.revoked_at_ms,
            revokedByKeyID: try CRead.string(c.revoked_by_key_id, in: Self.self),
            holds: Bool(protobuf: c.holds)
        )
    }

    func fill(_ c: inout Lockbox__V1__Delegation, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.delegation_id = arena.string(delegationID)
        c.delegator_id = arena.string(delegatorID)
        c.delegate_id = arena.string(delegateID)
        (c.n_services, c.services) = arena.strings(services)
        c.starts_at_ms = startsAtMs
        c.ends_at_ms = endsAtMs
        c.key_id = arena.string(keyID)
        c.statement = arena.bytes(statement)
        c.signature = arena.bytes(signature)
        c.created_at_ms = createdAtMs
        c.revoked = revoked.protobuf
        c.revoked_at_ms = revokedAtMs
        c.revoked_by_key_id = arena.string(revokedByKeyID)
        c.holds = holds.protobuf
    }
}

public struct ListDelegationsRequest: ProtoMessage {
    public var tenantID: String
    public var principalID: String
    public var includeEnded: Bool
    public var pageSize: Int32

    public init(tenantID: String = "", principalID: String = "", includeEnded: Bool = false, pageSize: Int32 = 0) {
        self.tenantID = tenantID
        self.principalID = principalID
        self.includeEnded = includeEnded
        self.pageSize = pageSize
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListDelegationsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListDelegationsRequest>) {
        lockbox__v1__list_delegations_request__init(message)
    }

    init(c: Lockbox__V1__ListDelegationsRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            principalID: try CRead.string(c.principal_id, in: Self.self),
            includeEnded: Bool(protobuf: c.include_ended),
            pageSize: c.page_size
        )
    }

    func fill(_ c: inout Lockbox__V1__ListDelegationsRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.principal_id = arena.string(principalID)
        c.include_ended = includeEnded.protobuf
        c.page_size = pageSize
    }
}

public struct ListDelegationsResponse: ProtoMessage {
    public var delegations: [Delegation]

    public init(delegations: [Delegation] = []) { self.delegations = delegations }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListDelegationsResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListDelegationsResponse>) {
        lockbox__v1__list_delegations_response__init(message)
    }

    init(c: Lockbox__V1__ListDelegationsResponse) throws(ProtoDecodeError) {
        self.init(delegations: try CRead.repeated(c.n_delegations, c.delegations))
    }

    func fill(_ c: inout Lockbox__V1__ListDelegationsResponse, _ arena: Arena) {
        (c.n_delegations, c.delegations) = arena.repeated(delegations)
    }
}

public struct GetTenantTrustRequest: ProtoMessage {
    public var tenantID: String

    public init(tenantID: String = "") { self.tenantID = tenantID }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension GetTenantTrustRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__GetTenantTrustRequest>) {
        lockbox__v1__get_tenant_trust_request__init(message)
    }

    init(c: Lockbox__V1__GetTenantTrustRequest) throws(ProtoDecodeError) {
        self.init(tenantID: try CRead.string(c.tenant_id, in: Self.self))
    }

    func fill(_ c: inout Lockbox__V1__GetTenantTrustRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
    }
}

/// A tenant's roots (oldest first), certified keys and policy.
public struct TenantTrust: ProtoMessage {
    public var roots: [TenantRoot]
    public var keys: [TenantKey]
    public var policy: TenantPolicyRecord?

    public init(roots: [TenantRoot] = [], keys: [TenantKey] = [], policy: TenantPolicyRecord? = nil) {
        self.roots = roots
        self.keys = keys
        self.policy = policy
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension TenantTrust: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__TenantTrust>) {
        lockbox__v1__tenant_trust__init(message)
    }

    init(c: Lockbox__V1__TenantTrust) throws(ProtoDecodeError) {
        self.init(
            roots: try CRead.repeated(c.n_roots, c.roots),
            keys: try CRead.repeated(c.n_keys, c.keys),
            policy: try CRead.message(c.policy)
        )
    }

    func fill(_ c: inout Lockbox__V1__TenantTrust, _ arena: Arena) {
        (c.n_roots, c.roots) = arena.repeated(roots)
        (c.n_keys, c.keys) = arena.repeated(keys)
        c.policy = arena.optionalMessage(policy)
    }
}

/// A tenant policy's rule for one service: how many distinct approvers must approve, and
/// whether one denial ends the request.
public struct ApprovalRuleRecord: ProtoMessage {
    public var service: Service
    /// 1 to 5.
    public var approvalsRequired: Int32
    /// true: one denial ends the request; false: a denial only counts against the threshold.
    public var denialEnds: Bool
    /// true: each person counts once on a request, deciding for themselves or in a delegator's place.
    public var personCountsOnce: Bool

    public init(
        service: Service = Service(rawValue: 0),
        approvalsRequired: Int32 = 0,
        denialEnds: Bool = false,
        personCountsOnce: Bool = false
    ) {
        self.service = service
        self.approvalsRequired = approvalsRequired
        self.denialEnds = denialEnds
        self.personCountsOnce = personCountsOnce
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ApprovalRuleRecord: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ApprovalRuleRecord>) {
        lockbox__v1__approval_rule_record__init(message)
    }

    init(c: Lockbox__V1__ApprovalRuleRecord) throws(ProtoDecodeError) {
        self.init(
            service: Service(cRaw: c.service.rawValue),
            approvalsRequired: c.approvals_required,
            denialEnds: Bool(protobuf: c.denial_ends),
            personCountsOnce: Bool(protobuf: c.person_counts_once)
        )
    }

    func fill(_ c: inout Lockbox__V1__ApprovalRuleRecord, _ arena: Arena) {
        c.service = .init(rawValue: service.cRaw)
        c.approvals_required = approvalsRequired
        c.denial_ends = denialEnds.protobuf
        c.person_counts_once = personCountsOnce.protobuf
    }
}

/// A pre-approval: requests for `service` with justification `category`, for at most
/// `maxDurationSeconds`, asking only for some of `operations`.
public struct AutoApprovalRecord: ProtoMessage {
    public var service: Service
    public var category: JustificationCategory
    public var maxDurationSeconds: Int64
    public var operations: [String]

    public init(
        service: Service = .unspecified,
        category: JustificationCategory = .unspecified,
        maxDurationSeconds: Int64 = 0,
        operations: [String] = []
    ) {
        self.service = service
        self.category = category
        self.maxDurationSeconds = maxDurationSeconds
        self.operations = operations
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension AutoApprovalRecord: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__AutoApprovalRecord>) {
        lockbox__v1__auto_approval_record__init(message)
    }

    init(c: Lockbox__V1__AutoApprovalRecord) throws(ProtoDecodeError) {
        self.init(
            service: Service(cRaw: c.service.rawValue),
            category: JustificationCategory(cRaw: c.category.rawValue),
            maxDurationSeconds: c.max_duration_seconds,
            operations: try CRead.strings(c.n_operations, c.operations, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__AutoApprovalRecord, _ arena: Arena) {
        c.service = .init(rawValue: service.cRaw)
        c.category = .init(rawValue: category.cRaw)
        c.max_duration_seconds = maxDurationSeconds
        (c.n_operations, c.operations) = arena.strings(operations)
    }
}
