import LockboxCore
import Testing

/// The authorization policy as a pure table: every permission × every role × every kind of
/// data, against an expectation written out here from DESIGN.md ("Actors and roles"), not
/// derived from the policy's own table.
@Suite struct AuthorizationTests {
    enum Data: String, CaseIterable, Sendable {
        /// Provider-wide data: provider principals, roles, operations.
        case provider
        /// Data of the tenant a tenant role is assigned in ("contoso").
        case ownTenant
        /// Another tenant's data ("fabrikam").
        case otherTenant
        /// A request in contoso filed by the caller.
        case ownRequest
        /// A request in contoso filed by someone else.
        case othersRequest

        func target(callerID: String) -> Target {
            switch self {
            case .provider: .provider
            case .ownTenant: .tenant("contoso")
            case .otherTenant: .tenant("fabrikam")
            case .ownRequest: Target(tenantID: "contoso", ownerID: callerID)
            case .othersRequest: Target(tenantID: "contoso", ownerID: "someone-else")
            }
        }
    }

    static let everything = Set(Data.allCases)
    /// What a tenant role reaches: its own tenant's data, whoever filed it.
    static let ownTenant: Set<Data> = [.ownTenant, .ownRequest, .othersRequest]
    static let mine: Set<Data> = [.ownRequest]
    static let providerOnly: Set<Data> = [.provider]

    /// Who may do what, on which data. Absent roles may do nothing.
    static let expected: [Permission: [Role: Set<Data>]] = [
        .createRequest: [.operator: everything],
        .cancelRequest: [.operator: mine, .globalAdmin: ownTenant, .lockboxApprover: ownTenant],
        .readRequests: [
            .operator: mine, .supportManager: everything, .auditor: everything, .globalAdmin: ownTenant,
            .lockboxApprover: ownTenant,
        ],
        .decideInternal: [.supportManager: everything],
        .decideCustomer: [.globalAdmin: ownTenant, .lockboxApprover: ownTenant],
        .revokeAccess: [
            .operator: mine, .supportManager: everything, .globalAdmin: ownTenant, .lockboxApprover: ownTenant,
        ],
        .createTenant: [.providerAdmin: everything],
        .issueEnrollmentCode: [.providerAdmin: everything],
        .readTenantSettings: [.globalAdmin: ownTenant, .lockboxApprover: ownTenant],
        .writeTenantSettings: [.globalAdmin: ownTenant],
        .managePrincipals: [.providerAdmin: providerOnly, .globalAdmin: ownTenant],
        .suspendPrincipals: [.providerAdmin: providerOnly, .globalAdmin: ownTenant],
        .manageRoles: [.providerAdmin: providerOnly, .globalAdmin: ownTenant],
        .readRoles: [.providerAdmin: providerOnly, .globalAdmin: ownTenant],
        .readAudit: [.auditor: everything, .globalAdmin: ownTenant, .lockboxApprover: ownTenant],
        .checkAccess: [.service: everything],
        .readGrants: [
            .operator: mine, .supportManager: everything, .auditor: everything, .service: everything,
            .globalAdmin: ownTenant, .lockboxApprover: ownTenant,
        ],
        .readOperations: Dictionary(uniqueKeysWithValues: Role.allCases.map { ($0, everything) }),
        .manageOperations: [.providerAdmin: providerOnly],
        // A tenant's endpoints by its global admins; the provider's (every tenant's events) by provider admins.
        .manageWebhooks: [.providerAdmin: providerOnly, .globalAdmin: ownTenant],
        // Delivery failures are the provider's to fix: its admins see every tenant's (addresses masked).
        .readNotifications: [.providerAdmin: everything, .globalAdmin: ownTenant],
        .manageTrust: [.globalAdmin: ownTenant],
        .readTrust: [.globalAdmin: ownTenant, .lockboxApprover: ownTenant, .auditor: everything, .service: everything],
        .delegate: [.globalAdmin: ownTenant, .lockboxApprover: ownTenant],
    ]

    /// A caller holding only `role`: tenant roles in contoso.
    static func caller(_ role: Role) -> Caller {
        let tenant = role.isTenantRole ? "contoso" : ""
        return Caller(
            id: "me",
            displayName: "Me",
            tenantID: role.isTenantRole ? "contoso" : nil,
            assignments: [Caller.Assignment(role: role, tenantID: tenant)],
            ip: "10.0.0.1"
        )
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var permission: Permission
        var role: Role
        var data: Data
        var allowed: Bool
        var testDescription: String { "\(role) \(permission) on \(data)" }
    }

    static let rows: [Row] = Permission.allCases.flatMap { permission in
        Role.allCases.flatMap { role in
            Data.allCases.map { data in
                Row(
                    permission: permission,
                    role: role,
                    data: data,
                    allowed: expected[permission]?[role]?.contains(data) ?? false
                )
            }
        }
    }

    @Test func theTableCoversEveryPermissionRoleAndData() {
        #expect(Set(Self.expected.keys) == Set(Permission.allCases))
        #expect(Self.rows.count == Permission.allCases.count * Role.allCases.count * Data.allCases.count)
    }

    @Test("permission × role × data", arguments: rows)
    func matrix(row: Row) {
        let caller = Self.caller(row.role)
        #expect(Authorization.allows(caller, row.permission, on: row.data.target(callerID: caller.id)) == row.allowed)
        // Admitted to the method at all exactly when some data is allowed.
        let anywhere = !(Self.expected[row.permission]?[row.role]?.isEmpty ?? true)
        #expect(Authorization.admits(caller, row.permission) == anywhere)
    }

    @Test func noRoleIsDeniedEverything() {
        let nobody = Caller(id: "x", displayName: "X", tenantID: nil, assignments: [], ip: "")
        for permission in Permission.allCases {
            #expect(!Authorization.admits(nobody, permission))
            for data in Data.allCases {
                #expect(!Authorization.allows(nobody, permission, on: data.target(callerID: "x")))
            }
        }
    }

    @Test func anotherTenantsDataIsNotFoundToTenantPrincipalsAndForbiddenToOthers() {
        let admin = Self.caller(.globalAdmin)
        #expect(throws: DomainError.notFound("no such tenant")) {
            try Authorization.require(admin, .readTenantSettings, on: .tenant("fabrikam"))
        }
        #expect(throws: DomainError.permissionDenied) {
            try Authorization.require(Self.caller(.providerAdmin), .readTenantSettings, on: .tenant("contoso"))
        }
        // A request the caller may not see does not exist for it, whoever it is; an auditor
        // reads every request and may act on none.
        for role in [Role.operator, .globalAdmin, .service] {
            #expect(!Authorization.mayRead(Self.caller(role), request: Target(tenantID: "fabrikam", ownerID: "x")))
        }
        #expect(Authorization.mayRead(Self.caller(.auditor), request: .tenant("contoso")))
        for action in RequestAction.allCases {
            #expect(Lifecycle.reach(action, for: .auditor) == nil)
        }
    }

    /// Who may act on a request, row by row: the role, how it stands to the request, and the
    /// capacity it acts in. A tenant's own roles act as the customer; nothing else ever does.
    struct ActorRow: Sendable, CustomTestStringConvertible {
        var action: RequestAction
        var roles: [Role]
        var tenant: String
        var isRequester: Bool
        var expected: ActingAs?
        var testDescription: String {
            let tenant = tenant.isEmpty ? "" : "@" + tenant
            return "\(action) by \(roles.map(\.rawValue))\(tenant)\(isRequester ? " (requester)" : "")"
        }
    }

    static let actorRows: [ActorRow] = {
        var rows: [ActorRow] = []
        func row(
            _ action: RequestAction,
            _ roles: [Role],
            tenant: String = "",
            requester: Bool = false,
            _ expected: ActingAs?
        ) {
            rows.append(
                ActorRow(action: action, roles: roles, tenant: tenant, isRequester: requester, expected: expected)
            )
        }
        row(.decideInternal, [.supportManager], .supportManager)
        row(.decideInternal, [.operator, .supportManager], requester: true, nil)
        row(.decideInternal, [.operator], nil)
        row(.decideInternal, [.globalAdmin], tenant: "contoso", nil)
        for role in [Role.globalAdmin, .lockboxApprover] {
            row(.decideCustomer, [role], tenant: "contoso", .customer)
            row(.decideCustomer, [role], tenant: "fabrikam", nil)
            row(.cancel, [role], tenant: "contoso", .customer)
            row(.cancel, [role], tenant: "fabrikam", nil)
            row(.revoke, [role], tenant: "contoso", .customer)
            row(.revoke, [role], tenant: "fabrikam", nil)
        }
        for role in [Role.supportManager, .providerAdmin, .service, .auditor, .operator] {
            row(.decideCustomer, [role], nil)
        }
        row(.cancel, [.operator], requester: true, .requester)
        row(.cancel, [.operator, .supportManager], requester: true, .requester)
        row(.cancel, [.operator], nil)
        row(.cancel, [.supportManager], nil)
        row(.cancel, [.providerAdmin], nil)
        row(.revoke, [.operator], requester: true, .requester)
        row(.revoke, [.operator], nil)
        row(.revoke, [.supportManager], .supportManager)
        row(.revoke, [.providerAdmin], nil)
        row(.revoke, [.service], nil)
        row(.revoke, [.auditor], nil)
        return rows
    }()

    @Test("who may act on a request", arguments: actorRows)
    func actors(row: ActorRow) {
        let caller = Caller(
            id: row.isRequester ? "op" : "me",
            displayName: "Me",
            tenantID: row.tenant.isEmpty ? nil : row.tenant,
            assignments: Set(
                row.roles.map { Caller.Assignment(role: $0, tenantID: $0.isTenantRole ? row.tenant : "") }
            ),
            ip: ""
        )
        let request = RequestFacts(
            state: .pendingInternal,
            tenantID: "contoso",
            requesterID: "op",
            requestedDurationSeconds: 60
        )
        #expect(Lifecycle.allows(row.action, by: caller, facts: request) == row.expected)
        // The gatekeeper's coarse check never refuses what a row allows.
        if row.expected != nil {
            #expect(Authorization.admits(caller, row.action.permission))
        }
    }

    /// The coarse reach of the four request permissions is the actor table's, not a second list.
    @Test func requestPermissionsReachAsTheActorTableSays() {
        for action in RequestAction.allCases {
            #expect(action.permission.requestAction == action)
            for role in Role.allCases {
                #expect(action.permission.reach(for: role) == Lifecycle.reach(action, for: role))
            }
        }
        #expect(Lifecycle.reach(.decideCustomer, for: .lockboxApprover) == .ownTenant)
        #expect(Lifecycle.reach(.cancel, for: .operator) == .ownRequests)
        #expect(Lifecycle.reach(.revoke, for: .supportManager) == .everywhere)
        #expect(Lifecycle.reach(.decideInternal, for: .operator) == nil)
    }

    struct ScopeRow: Sendable, CustomTestStringConvertible {
        var permission: Permission
        var role: Role
        var requested: String
        var expected: Result<QueryScope, DomainError>
        var testDescription: String { "\(role) \(permission) asking for \"\(requested)\"" }
    }

    /// Who sees which rows of a list, search or stream.
    static let scopeRows: [ScopeRow] = [
        // Roles that reach everywhere see what they ask for ("": everything).
        ScopeRow(
            permission: .readRequests,
            role: .supportManager,
            requested: "",
            expected: .success(.init(tenantID: nil, requesterID: nil))
        ),
        ScopeRow(
            permission: .readRequests,
            role: .auditor,
            requested: "fabrikam",
            expected: .success(.init(tenantID: "fabrikam", requesterID: nil))
        ),
        ScopeRow(
            permission: .readGrants,
            role: .service,
            requested: "",
            expected: .success(.init(tenantID: nil, requesterID: nil))
        ),
        ScopeRow(
            permission: .readAudit,
            role: .auditor,
            requested: "",
            expected: .success(.init(tenantID: nil, requesterID: nil))
        ),
        // Tenant roles see their own tenant; "" means it; another tenant does not exist.
        ScopeRow(
            permission: .readRequests,
            role: .lockboxApprover,
            requested: "",
            expected: .success(.init(tenantID: "contoso", requesterID: nil))
        ),
        ScopeRow(
            permission: .readRequests,
            role: .globalAdmin,
            requested: "contoso",
            expected: .success(.init(tenantID: "contoso", requesterID: nil))
        ),
        ScopeRow(
            permission: .readRequests,
            role: .globalAdmin,
            requested: "fabrikam",
            expected: .failure(.notFound("no such tenant"))
        ),
        ScopeRow(
            permission: .readGrants,
            role: .lockboxApprover,
            requested: "fabrikam",
            expected: .failure(.notFound("no such tenant"))
        ),
        ScopeRow(
            permission: .readAudit,
            role: .lockboxApprover,
            requested: "fabrikam",
            expected: .failure(.notFound("no such tenant"))
        ),
        // Operators see their own requests and grants, in whatever tenant they ask for.
        ScopeRow(
            permission: .readRequests,
            role: .operator,
            requested: "",
            expected: .success(.init(tenantID: nil, requesterID: "me"))
        ),
        ScopeRow(
            permission: .readGrants,
            role: .operator,
            requested: "fabrikam",
            expected: .success(.init(tenantID: "fabrikam", requesterID: "me"))
        ),
        // Anyone else is refused.
        ScopeRow(permission: .readRequests, role: .providerAdmin, requested: "", expected: .failure(.permissionDenied)),
        ScopeRow(permission: .readAudit, role: .operator, requested: "contoso", expected: .failure(.permissionDenied)),
    ]

    @Test("query scope", arguments: scopeRows)
    func scope(row: ScopeRow) {
        let got = Result { () throws(DomainError) -> QueryScope in
            try Authorization.scope(Self.caller(row.role), row.permission, requestedTenant: row.requested)
        }
        #expect(got == row.expected)
    }
}
