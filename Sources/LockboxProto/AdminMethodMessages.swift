import CLockboxProto

// Requests and responses of the tenant, principal, token and role methods.

public struct CreateTenantRequest: ProtoMessage {
    public var tenantID: String
    public var displayName: String

    public init(
        tenantID: String = "",
        displayName: String = ""
    ) {
        self.tenantID = tenantID
        self.displayName = displayName
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CreateTenantRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CreateTenantRequest>) {
        lockbox__v1__create_tenant_request__init(message)
    }

    init(c: Lockbox__V1__CreateTenantRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            displayName: try CRead.string(c.display_name, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__CreateTenantRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.display_name = arena.string(displayName)
    }
}

public struct CreateTenantResponse: ProtoMessage {
    public var tenant: Tenant?
    /// Hand this to the customer's first global admin, out of band.
    public var enrollment: EnrollmentCode?

    public init(
        tenant: Tenant? = nil,
        enrollment: EnrollmentCode? = nil
    ) {
        self.tenant = tenant
        self.enrollment = enrollment
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CreateTenantResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CreateTenantResponse>) {
        lockbox__v1__create_tenant_response__init(message)
    }

    init(c: Lockbox__V1__CreateTenantResponse) throws(ProtoDecodeError) {
        self.init(
            tenant: try CRead.message(c.tenant),
            enrollment: try CRead.message(c.enrollment)
        )
    }

    func fill(_ c: inout Lockbox__V1__CreateTenantResponse, _ arena: Arena) {
        c.tenant = arena.optionalMessage(tenant)
        c.enrollment = arena.optionalMessage(enrollment)
    }
}

public struct GetTenantSettingsRequest: ProtoMessage {
    public var tenantID: String

    public init(
        tenantID: String = ""
    ) {
        self.tenantID = tenantID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension GetTenantSettingsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__GetTenantSettingsRequest>) {
        lockbox__v1__get_tenant_settings_request__init(message)
    }

    init(c: Lockbox__V1__GetTenantSettingsRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__GetTenantSettingsRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
    }
}

public struct CreatePrincipalRequest: ProtoMessage {
    public var displayName: String
    /// "" creates a provider principal (provider_admin only); otherwise a
    /// principal of that tenant (its global admins only).
    public var tenantID: String
    /// Roles to assign at creation.
    public var roles: [RoleAssignment]

    public init(
        displayName: String = "",
        tenantID: String = "",
        roles: [RoleAssignment] = []
    ) {
        self.displayName = displayName
        self.tenantID = tenantID
        self.roles = roles
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CreatePrincipalRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CreatePrincipalRequest>) {
        lockbox__v1__create_principal_request__init(message)
    }

    init(c: Lockbox__V1__CreatePrincipalRequest) throws(ProtoDecodeError) {
        self.init(
            displayName: try CRead.string(c.display_name, in: Self.self),
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            roles: try CRead.repeated(c.n_roles, c.roles)
        )
    }

    func fill(_ c: inout Lockbox__V1__CreatePrincipalRequest, _ arena: Arena) {
        c.display_name = arena.string(displayName)
        c.tenant_id = arena.string(tenantID)
        (c.n_roles, c.roles) = arena.repeated(roles)
    }
}

public struct ListPrincipalsRequest: ProtoMessage {
    public var tenantID: String

    public init(
        tenantID: String = ""
    ) {
        self.tenantID = tenantID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListPrincipalsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListPrincipalsRequest>) {
        lockbox__v1__list_principals_request__init(message)
    }

    init(c: Lockbox__V1__ListPrincipalsRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListPrincipalsRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
    }
}

public struct ListPrincipalsResponse: ProtoMessage {
    public var principals: [Principal]

    public init(
        principals: [Principal] = []
    ) {
        self.principals = principals
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListPrincipalsResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListPrincipalsResponse>) {
        lockbox__v1__list_principals_response__init(message)
    }

    init(c: Lockbox__V1__ListPrincipalsResponse) throws(ProtoDecodeError) {
        self.init(
            principals: try CRead.repeated(c.n_principals, c.principals)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListPrincipalsResponse, _ arena: Arena) {
        (c.n_principals, c.principals) = arena.repeated(principals)
    }
}

public struct IssueTokenRequest: ProtoMessage {
    public var principalID: String
    /// 0 = no expiry.
    public var ttlSeconds: Int64

    public init(
        principalID: String = "",
        ttlSeconds: Int64 = 0
    ) {
        self.principalID = principalID
        self.ttlSeconds = ttlSeconds
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension IssueTokenRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__IssueTokenRequest>) {
        lockbox__v1__issue_token_request__init(message)
    }

    init(c: Lockbox__V1__IssueTokenRequest) throws(ProtoDecodeError) {
        self.init(
            principalID: try CRead.string(c.principal_id, in: Self.self),
            ttlSeconds: c.ttl_seconds
        )
    }

    func fill(_ c: inout Lockbox__V1__IssueTokenRequest, _ arena: Arena) {
        c.principal_id = arena.string(principalID)
        c.ttl_seconds = ttlSeconds
    }
}

public struct RevokeTokenRequest: ProtoMessage {
    public var tokenID: String

    public init(
        tokenID: String = ""
    ) {
        self.tokenID = tokenID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension RevokeTokenRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__RevokeTokenRequest>) {
        lockbox__v1__revoke_token_request__init(message)
    }

    init(c: Lockbox__V1__RevokeTokenRequest) throws(ProtoDecodeError) {
        self.init(
            tokenID: try CRead.string(c.token_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__RevokeTokenRequest, _ arena: Arena) {
        c.token_id = arena.string(tokenID)
    }
}

public struct ListRoleAssignmentsRequest: ProtoMessage {
    public var tenantID: String

    public init(
        tenantID: String = ""
    ) {
        self.tenantID = tenantID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListRoleAssignmentsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListRoleAssignmentsRequest>) {
        lockbox__v1__list_role_assignments_request__init(message)
    }

    init(c: Lockbox__V1__ListRoleAssignmentsRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListRoleAssignmentsRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
    }
}

public struct ListRoleAssignmentsResponse: ProtoMessage {
    public var assignments: [RoleAssignment]

    public init(
        assignments: [RoleAssignment] = []
    ) {
        self.assignments = assignments
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListRoleAssignmentsResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListRoleAssignmentsResponse>) {
        lockbox__v1__list_role_assignments_response__init(message)
    }

    init(c: Lockbox__V1__ListRoleAssignmentsResponse) throws(ProtoDecodeError) {
        self.init(
            assignments: try CRead.repeated(c.n_assignments, c.assignments)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListRoleAssignmentsResponse, _ arena: Arena) {
        (c.n_assignments, c.assignments) = arena.repeated(assignments)
    }
}

public struct IssueEnrollmentCodeRequest: ProtoMessage {
    public var tenantID: String

    public init(
        tenantID: String = ""
    ) {
        self.tenantID = tenantID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension IssueEnrollmentCodeRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__IssueEnrollmentCodeRequest>) {
        lockbox__v1__issue_enrollment_code_request__init(message)
    }

    init(c: Lockbox__V1__IssueEnrollmentCodeRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__IssueEnrollmentCodeRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
    }
}

public struct EnrollTenantAdminRequest: ProtoMessage {
    public var tenantID: String
    public var code: String
    /// The new global admin's display name.
    public var displayName: String
    /// The tenant's root: its raw Ed25519 public key, and its signature over the root statement.
    public var rootPublicKey: [UInt8]
    public var rootSignature: [UInt8]

    public init(
        tenantID: String = "",
        code: String = "",
        displayName: String = "",
        rootPublicKey: [UInt8] = [],
        rootSignature: [UInt8] = []
    ) {
        self.tenantID = tenantID
        self.code = code
        self.displayName = displayName
        self.rootPublicKey = rootPublicKey
        self.rootSignature = rootSignature
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension EnrollTenantAdminRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__EnrollTenantAdminRequest>) {
        lockbox__v1__enroll_tenant_admin_request__init(message)
    }

    init(c: Lockbox__V1__EnrollTenantAdminRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            code: try CRead.string(c.code, in: Self.self),
            displayName: try CRead.string(c.display_name, in: Self.self),
            rootPublicKey: CRead.bytes(c.root_public_key),
            rootSignature: CRead.bytes(c.root_signature)
        )
    }

    func fill(_ c: inout Lockbox__V1__EnrollTenantAdminRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.code = arena.string(code)
        c.display_name = arena.string(displayName)
        c.root_public_key = arena.bytes(rootPublicKey)
        c.root_signature = arena.bytes(rootSignature)
    }
}

public struct EnrollTenantAdminResponse: ProtoMessage {
    public var admin: Principal?
    /// The admin's own token; shown to nobody else.
    public var token: IssuedToken?

    public init(
        admin: Principal? = nil,
        token: IssuedToken? = nil
    ) {
        self.admin = admin
        self.token = token
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension EnrollTenantAdminResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__EnrollTenantAdminResponse>) {
        lockbox__v1__enroll_tenant_admin_response__init(message)
    }

    init(c: Lockbox__V1__EnrollTenantAdminResponse) throws(ProtoDecodeError) {
        self.init(
            admin: try CRead.message(c.admin),
            token: try CRead.message(c.token)
        )
    }

    func fill(_ c: inout Lockbox__V1__EnrollTenantAdminResponse, _ arena: Arena) {
        c.admin = arena.optionalMessage(admin)
        c.token = arena.optionalMessage(token)
    }
}

public struct SetTenantSettingsRequest: ProtoMessage {
    public var tenantID: String
    /// Absent: unchanged.
    public var approvalWindowSeconds: Int64Value?
    /// Absent: unchanged.
    public var maxAccessDurationSeconds: Int64Value?

    public init(
        tenantID: String = "",
        approvalWindowSeconds: Int64Value? = nil,
        maxAccessDurationSeconds: Int64Value? = nil
    ) {
        self.tenantID = tenantID
        self.approvalWindowSeconds = approvalWindowSeconds
        self.maxAccessDurationSeconds = maxAccessDurationSeconds
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension SetTenantSettingsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__SetTenantSettingsRequest>) {
        lockbox__v1__set_tenant_settings_request__init(message)
    }

    init(c: Lockbox__V1__SetTenantSettingsRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            approvalWindowSeconds: try CRead.message(c.approval_window_seconds),
            maxAccessDurationSeconds: try CRead.message(c.max_access_duration_seconds)
        )
    }

    func fill(_ c: inout Lockbox__V1__SetTenantSettingsRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.approval_window_seconds = arena.optionalMessage(approvalWindowSeconds)
        c.max_access_duration_seconds = arena.optionalMessage(maxAccessDurationSeconds)
    }
}

public struct SetLockboxEnabledRequest: ProtoMessage {
    public var tenantID: String
    public var enabled: Bool
    /// Recorded in the audit log. Required to switch the lockbox off.
    public var reason: String

    public init(
        tenantID: String = "",
        enabled: Bool = false,
        reason: String = ""
    ) {
        self.tenantID = tenantID
        self.enabled = enabled
        self.reason = reason
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension SetLockboxEnabledRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__SetLockboxEnabledRequest>) {
        lockbox__v1__set_lockbox_enabled_request__init(message)
    }

    init(c: Lockbox__V1__SetLockboxEnabledRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            enabled: Bool(protobuf: c.enabled),
            reason: try CRead.string(c.reason, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__SetLockboxEnabledRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.enabled = enabled.protobuf
        c.reason = arena.string(reason)
    }
}

/// Binds a principal to its client certificate; an empty fingerprint removes the binding.
public struct BindCertificateRequest: ProtoMessage {
    public var principalID: String
    /// SHA-256 of the certificate's DER bytes.
    public var certificateSHA256: [UInt8]

    public init(principalID: String = "", certificateSHA256: [UInt8] = []) {
        self.principalID = principalID
        self.certificateSHA256 = certificateSHA256
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension BindCertificateRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__BindCertificateRequest>) {
        lockbox__v1__bind_certificate_request__init(message)
    }

    init(c: Lockbox__V1__BindCertificateRequest) throws(ProtoDecodeError) {
        self.init(
            principalID: try CRead.string(c.principal_id, in: Self.self),
            certificateSHA256: CRead.bytes(c.certificate_sha256)
        )
    }

    func fill(_ c: inout Lockbox__V1__BindCertificateRequest, _ arena: Arena) {
        c.principal_id = arena.string(principalID)
        c.certificate_sha256 = arena.bytes(certificateSHA256)
    }
}

public struct SuspendPrincipalRequest: ProtoMessage {
    public var principalID: String
    public var reason: String

    public init(
        principalID: String = "",
        reason: String = ""
    ) {
        self.principalID = principalID
        self.reason = reason
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension SuspendPrincipalRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__SuspendPrincipalRequest>) {
        lockbox__v1__suspend_principal_request__init(message)
    }

    init(c: Lockbox__V1__SuspendPrincipalRequest) throws(ProtoDecodeError) {
        self.init(
            principalID: try CRead.string(c.principal_id, in: Self.self),
            reason: try CRead.string(c.reason, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__SuspendPrincipalRequest, _ arena: Arena) {
        c.principal_id = arena.string(principalID)
        c.reason = arena.string(reason)
    }
}

public struct ReactivatePrincipalRequest: ProtoMessage {
    public var principalID: String
    public var reason: String

    public init(
        principalID: String = "",
        reason: String = ""
    ) {
        self.principalID = principalID
        self.reason = reason
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ReactivatePrincipalRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ReactivatePrincipalRequest>) {
        lockbox__v1__reactivate_principal_request__init(message)
    }

    init(c: Lockbox__V1__ReactivatePrincipalRequest) throws(ProtoDecodeError) {
        self.init(
            principalID: try CRead.string(c.principal_id, in: Self.self),
            reason: try CRead.string(c.reason, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__ReactivatePrincipalRequest, _ arena: Arena) {
        c.principal_id = arena.string(principalID)
        c.reason = arena.string(reason)
    }
}
