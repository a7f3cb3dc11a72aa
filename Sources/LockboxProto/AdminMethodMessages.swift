import CLockboxProto

// Requests and responses of the tenant, principal, token and role methods.

public struct CreateTenantRequest: ProtoMessage {
    public var tenantID: String
    public var displayName: String
    /// The tenant's first global admin.
    public var adminDisplayName: String

    public init(
        tenantID: String = "",
        displayName: String = "",
        adminDisplayName: String = ""
    ) {
        self.tenantID = tenantID
        self.displayName = displayName
        self.adminDisplayName = adminDisplayName
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
            displayName: try CRead.string(c.display_name, in: Self.self),
            adminDisplayName: try CRead.string(c.admin_display_name, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__CreateTenantRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.display_name = arena.string(displayName)
        c.admin_display_name = arena.string(adminDisplayName)
    }
}

public struct CreateTenantResponse: ProtoMessage {
    public var tenant: Tenant?
    public var admin: Principal?
    public var adminToken: IssuedToken?

    public init(
        tenant: Tenant? = nil,
        admin: Principal? = nil,
        adminToken: IssuedToken? = nil
    ) {
        self.tenant = tenant
        self.admin = admin
        self.adminToken = adminToken
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
            admin: try CRead.message(c.admin),
            adminToken: try CRead.message(c.admin_token)
        )
    }

    func fill(_ c: inout Lockbox__V1__CreateTenantResponse, _ arena: Arena) {
        c.tenant = arena.optionalMessage(tenant)
        c.admin = arena.optionalMessage(admin)
        c.admin_token = arena.optionalMessage(adminToken)
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
