import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxServer
import LockboxTestSupport
import Testing

/// Every RPC × every role, allowed or denied, from one table.
@Suite struct AuthorizationMatrixTests {
    typealias Role = LockboxCore.Role

    struct Entry: Sendable {
        var method: String
        var allowed: Set<Role>
        /// Makes the call as a principal holding only `role`, with a payload that fits that role
        /// (its own tenant for tenant roles). Returns the status code.
        var call: @Sendable (Harness, Context, Role, String) async -> StatusCode
    }

    struct Context: Sendable {
        var requestID: String
    }

    static func scoped(_ role: Role) -> String { role.isTenantRole ? "contoso" : "" }

    static let everyone = Set(Role.allCases)
    static let readers: Set<Role> = [.operator, .supportManager, .auditor, .globalAdmin, .lockboxApprover]
    static let admins: Set<Role> = [.providerAdmin, .globalAdmin]

    static let table: [Entry] = [
        Entry(method: LockboxMethods.ping.name, allowed: everyone) { h, _, _, token in
            await h.status(LockboxMethods.ping, PingRequest(), token: token)
        },
        Entry(method: LockboxMethods.createAccessRequest.name, allowed: [.operator]) { h, _, _, token in
            await h.status(
                LockboxMethods.createAccessRequest,
                CreateAccessRequestRequest(
                    tenantID: "contoso",
                    service: .exchange,
                    ticketNumber: "T",
                    justification: "j",
                    requestedDurationSeconds: 600
                ),
                token: token
            )
        },
        Entry(method: LockboxMethods.getAccessRequest.name, allowed: readers) { h, c, _, token in
            await h.status(
                LockboxMethods.getAccessRequest,
                GetAccessRequestRequest(requestID: c.requestID),
                token: token
            )
        },
        Entry(method: LockboxMethods.listAccessRequests.name, allowed: readers) { h, _, role, token in
            await h.status(
                LockboxMethods.listAccessRequests,
                ListAccessRequestsRequest(tenantID: scoped(role)),
                token: token
            )
        },
        Entry(method: LockboxMethods.cancelAccessRequest.name, allowed: [.operator, .globalAdmin, .lockboxApprover]) {
            h,
            _,
            _,
            token in
            await h.status(
                LockboxMethods.cancelAccessRequest,
                CancelAccessRequestRequest(requestID: "req_none"),
                token: token
            )
        },
        Entry(method: LockboxMethods.decideInternal.name, allowed: [.supportManager]) { h, _, _, token in
            await h.status(
                LockboxMethods.decideInternal,
                InternalDecision(requestID: "req_none", approve: true),
                token: token
            )
        },
        Entry(method: LockboxMethods.decideCustomer.name, allowed: [.globalAdmin, .lockboxApprover]) { h, _, _, token in
            await h.status(
                LockboxMethods.decideCustomer,
                CustomerDecision(requestID: "req_none", decision: .approve),
                token: token
            )
        },
        Entry(
            method: LockboxMethods.revokeAccess.name,
            allowed: [.operator, .supportManager, .globalAdmin, .lockboxApprover]
        ) {
            h,
            _,
            _,
            token in
            await h.status(LockboxMethods.revokeAccess, RevokeAccessRequest(requestID: "req_none"), token: token)
        },
        Entry(method: LockboxMethods.createTenant.name, allowed: [.providerAdmin]) { h, _, _, token in
            await h.status(
                LockboxMethods.createTenant,
                CreateTenantRequest(tenantID: "t-" + String(UInt32.random(in: 0...UInt32.max)), displayName: "T"),
                token: token
            )
        },
        Entry(method: LockboxMethods.getTenantSettings.name, allowed: [.globalAdmin, .lockboxApprover]) {
            h,
            _,
            _,
            token in
            await h.status(
                LockboxMethods.getTenantSettings,
                GetTenantSettingsRequest(tenantID: "contoso"),
                token: token
            )
        },
        Entry(method: LockboxMethods.setTenantSettings.name, allowed: [.globalAdmin]) { h, _, _, token in
            await h.status(
                LockboxMethods.setTenantSettings,
                SetTenantSettingsRequest(tenantID: "contoso", approvalWindowSeconds: Int64Value(value: 3600)),
                token: token
            )
        },
        Entry(method: LockboxMethods.setLockboxEnabled.name, allowed: [.globalAdmin]) { h, _, _, token in
            await h.status(
                LockboxMethods.setLockboxEnabled,
                SetLockboxEnabledRequest(tenantID: "contoso", enabled: true),
                token: token
            )
        },
        Entry(method: LockboxMethods.issueEnrollmentCode.name, allowed: [.providerAdmin]) { h, _, _, token in
            // contoso has its global admin: FAILED_PRECONDITION for the provider admin, refused to everyone else.
            await h.status(
                LockboxMethods.issueEnrollmentCode,
                IssueEnrollmentCodeRequest(tenantID: "contoso"),
                token: token
            )
        },
        Entry(method: LockboxMethods.bindCertificate.name, allowed: admins) { h, _, _, token in
            await h.status(
                LockboxMethods.bindCertificate,
                BindCertificateRequest(principalID: "p_none", certificateSHA256: Array(repeating: 1, count: 32)),
                token: token
            )
        },
        Entry(method: LockboxMethods.suspendPrincipal.name, allowed: admins) { h, _, _, token in
            await h.status(
                LockboxMethods.suspendPrincipal,
                SuspendPrincipalRequest(principalID: "p_none", reason: "offboarding"),
                token: token
            )
        },
        Entry(method: LockboxMethods.reactivatePrincipal.name, allowed: admins) { h, _, _, token in
            await h.status(
                LockboxMethods.reactivatePrincipal,
                ReactivatePrincipalRequest(principalID: "p_none"),
                token: token
            )
        },
        Entry(method: LockboxMethods.createPrincipal.name, allowed: admins) { h, _, role, token in
            await h.status(
                LockboxMethods.createPrincipal,
                CreatePrincipalRequest(displayName: "P", tenantID: scoped(role)),
                token: token
            )
        },
        Entry(method: LockboxMethods.listPrincipals.name, allowed: admins) { h, _, role, token in
            await h.status(LockboxMethods.listPrincipals, ListPrincipalsRequest(tenantID: scoped(role)), token: token)
        },
        Entry(method: LockboxMethods.issueToken.name, allowed: admins) { h, _, _, token in
            await h.status(LockboxMethods.issueToken, IssueTokenRequest(principalID: "p_none"), token: token)
        },
        Entry(method: LockboxMethods.revokeToken.name, allowed: admins) { h, _, _, token in
            await h.status(LockboxMethods.revokeToken, RevokeTokenRequest(tokenID: "tok_none"), token: token)
        },
        Entry(method: LockboxMethods.assignRole.name, allowed: admins) { h, _, role, token in
            await h.status(
                LockboxMethods.assignRole,
                RoleAssignment(
                    principalID: "p_none",
                    role: role.isTenantRole ? .lockboxApprover : .auditor,
                    tenantID: scoped(role)
                ),
                token: token
            )
        },
        Entry(method: LockboxMethods.removeRole.name, allowed: admins) { h, _, role, token in
            await h.status(
                LockboxMethods.removeRole,
                RoleAssignment(
                    principalID: "p_none",
                    role: role.isTenantRole ? .lockboxApprover : .auditor,
                    tenantID: scoped(role)
                ),
                token: token
            )
        },
        Entry(method: LockboxMethods.listRoleAssignments.name, allowed: admins) { h, _, role, token in
            await h.status(
                LockboxMethods.listRoleAssignments,
                ListRoleAssignmentsRequest(tenantID: scoped(role)),
                token: token
            )
        },
        Entry(method: LockboxMethods.searchAudit.name, allowed: [.auditor, .globalAdmin, .lockboxApprover]) {
            h,
            _,
            role,
            token in
            await h.status(LockboxMethods.searchAudit, SearchAuditRequest(tenantID: scoped(role)), token: token)
        },
        Entry(method: LockboxMethods.exportAudit.name, allowed: [.auditor, .globalAdmin, .lockboxApprover]) {
            h,
            _,
            role,
            token in
            do {
                for try await _ in h.client.serverStream(
                    LockboxMethods.exportAudit,
                    ExportAuditRequest(tenantID: scoped(role)),
                    options: CallOptions(authToken: token)
                ) {}
                return .ok
            } catch let error as RPCError {
                return error.code
            } catch {
                return .unknown
            }
        },
        Entry(method: LockboxMethods.watchAccessRequests.name, allowed: readers) { h, _, role, token in
            // A watch never ends by itself: allowed callers run into a short deadline; denied and
            // anonymous ones are refused at once, and get a deadline long enough for a busy
            // machine, so that their refusal, not the deadline, is what answers.
            let refused = token.isEmpty || !readers.contains(role)
            do {
                for try await _ in h.client.serverStream(
                    LockboxMethods.watchAccessRequests,
                    WatchAccessRequestsRequest(tenantID: scoped(role)),
                    options: CallOptions(timeout: refused ? .seconds(30) : .milliseconds(300), authToken: token)
                ) {}
                return .ok
            } catch let error as RPCError {
                return error.code
            } catch {
                return .unknown
            }
        },
        Entry(method: LockboxMethods.checkAccess.name, allowed: [.service]) { h, _, _, token in
            await h.status(
                LockboxMethods.checkAccess,
                CheckAccessRequest(
                    tenantID: "contoso",
                    service: .exchange,
                    operatorID: "p_x",
                    operation: "Get-Mailbox",
                    clientIP: "10.1.2.3"
                ),
                token: token
            )
        },
        Entry(
            method: LockboxMethods.listGrants.name,
            allowed: [.operator, .supportManager, .auditor, .service, .globalAdmin, .lockboxApprover]
        ) {
            h,
            _,
            role,
            token in
            await h.status(LockboxMethods.listGrants, ListGrantsRequest(tenantID: scoped(role)), token: token)
        },
        Entry(method: LockboxMethods.listPreapprovedOperations.name, allowed: everyone) { h, _, _, token in
            await h.status(
                LockboxMethods.listPreapprovedOperations,
                ListPreapprovedOperationsRequest(),
                token: token
            )
        },
        Entry(method: LockboxMethods.addPreapprovedOperation.name, allowed: [.providerAdmin]) { h, _, _, token in
            await h.status(
                LockboxMethods.addPreapprovedOperation,
                PreapprovedOperation(service: .teams, operation: "Get-Thing-\(UInt32.random(in: 0...UInt32.max))"),
                token: token
            )
        },
        Entry(method: LockboxMethods.listSigningKeys.name, allowed: everyone) { h, _, _, token in
            await h.status(LockboxMethods.listSigningKeys, ListSigningKeysRequest(), token: token)
        },
        Entry(method: LockboxMethods.listCheckpoints.name, allowed: [.auditor, .globalAdmin, .lockboxApprover]) {
            h,
            _,
            role,
            token in
            await h.status(LockboxMethods.listCheckpoints, ListCheckpointsRequest(tenantID: scoped(role)), token: token)
        },
        Entry(method: LockboxMethods.createCheckpoint.name, allowed: [.auditor, .globalAdmin, .lockboxApprover]) {
            h,
            _,
            role,
            token in
            await h.status(
                LockboxMethods.createCheckpoint,
                CreateCheckpointRequest(tenantID: scoped(role)),
                token: token
            )
        },
        Entry(method: LockboxMethods.removePreapprovedOperation.name, allowed: [.providerAdmin]) { h, _, _, token in
            await h.status(
                LockboxMethods.removePreapprovedOperation,
                RemovePreapprovedOperationRequest(service: .teams, operation: "No-Such-Op"),
                token: token
            )
        },
        Entry(method: LockboxMethods.setPrincipalEmail.name, allowed: admins) { h, _, _, token in
            await h.status(
                LockboxMethods.setPrincipalEmail,
                SetPrincipalEmailRequest(principalID: "p_none", email: "a@b.example"),
                token: token
            )
        },
        Entry(method: LockboxMethods.addWebhook.name, allowed: admins) { h, _, role, token in
            await h.status(
                LockboxMethods.addWebhook,
                AddWebhookRequest(tenantID: scoped(role), url: "https://hooks.example/lockbox"),
                token: token
            )
        },
        Entry(method: LockboxMethods.listWebhooks.name, allowed: admins) { h, _, role, token in
            await h.status(LockboxMethods.listWebhooks, ListWebhooksRequest(tenantID: scoped(role)), token: token)
        },
        Entry(method: LockboxMethods.removeWebhook.name, allowed: admins) { h, _, _, token in
            await h.status(LockboxMethods.removeWebhook, RemoveWebhookRequest(webhookID: "wh_none"), token: token)
        },
        Entry(method: LockboxMethods.listNotifications.name, allowed: admins) { h, _, role, token in
            await h.status(
                LockboxMethods.listNotifications,
                ListNotificationsRequest(tenantID: scoped(role)),
                token: token
            )
        },
        // The tenant's own trust: its global admins change it (each change also needs a
        // statement a tenant key signed; these carry none, and are refused as malformed).
        Entry(method: LockboxMethods.adoptTenantRoot.name, allowed: [.globalAdmin]) { h, _, _, token in
            await h.status(LockboxMethods.adoptTenantRoot, AdoptTenantRootRequest(tenantID: "contoso"), token: token)
        },
        Entry(method: LockboxMethods.certifyKey.name, allowed: [.globalAdmin]) { h, _, _, token in
            await h.status(LockboxMethods.certifyKey, SignedStatementRequest(tenantID: "contoso"), token: token)
        },
        Entry(method: LockboxMethods.revokeKey.name, allowed: [.globalAdmin]) { h, _, _, token in
            await h.status(LockboxMethods.revokeKey, SignedStatementRequest(tenantID: "contoso"), token: token)
        },
        Entry(method: LockboxMethods.setTenantPolicy.name, allowed: [.globalAdmin]) { h, _, _, token in
            await h.status(LockboxMethods.setTenantPolicy, SignedStatementRequest(tenantID: "contoso"), token: token)
        },
        Entry(
            method: LockboxMethods.getTenantTrust.name,
            allowed: [.globalAdmin, .lockboxApprover, .auditor, .service]
        ) { h, _, _, token in
            await h.status(LockboxMethods.getTenantTrust, GetTenantTrustRequest(tenantID: "contoso"), token: token)
        },
        // Delegations: an approver (or a global admin, who may decide too) gives and withdraws
        // them, each with a statement a tenant key signed (none here: refused as malformed).
        Entry(method: LockboxMethods.createDelegation.name, allowed: [.globalAdmin, .lockboxApprover]) {
            h,
            _,
            _,
            token in
            await h.status(LockboxMethods.createDelegation, SignedStatementRequest(tenantID: "contoso"), token: token)
        },
        Entry(method: LockboxMethods.revokeDelegation.name, allowed: [.globalAdmin, .lockboxApprover]) {
            h,
            _,
            _,
            token in
            await h.status(LockboxMethods.revokeDelegation, SignedStatementRequest(tenantID: "contoso"), token: token)
        },
        Entry(
            method: LockboxMethods.listDelegations.name,
            allowed: [.globalAdmin, .lockboxApprover, .auditor, .service]
        ) { h, _, _, token in
            await h.status(LockboxMethods.listDelegations, ListDelegationsRequest(tenantID: "contoso"), token: token)
        },
    ]

    /// Methods whose request carries its own credential instead of a token; EnrollmentTests
    /// checks them.
    static let ownCredential: Set<String> = [LockboxMethods.enrollTenantAdmin.name]

    @Test func everyMethodIsInTheTable() async throws {
        let methods = Set(Self.table.map(\.method)).union(Self.ownCredential)
        try await Harness.with { h in
            let served = Set(h.service.makeRouter().methods)
            #expect(served == methods)
        }
    }

    @Test func matrix() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            // One principal per role, holding only that role.
            var tokens: [Role: String] = [:]
            for role in Role.allCases {
                tokens[role] = try await h.api.principal(
                    "only \(role.rawValue)",
                    tenant: Self.scoped(role),
                    roles: [LockboxRoleProto.proto(role)],
                    by: role.isTenantRole ? w.contosoAdmin : w.providerAdmin
                ).token
            }
            let request = try await h.createRequest(w)
            let context = Context(requestID: request.id)
            var checked = 0
            for entry in Self.table {
                for role in Role.allCases {
                    let code = await entry.call(h, context, role, tokens[role]!)
                    if entry.allowed.contains(role) {
                        #expect(
                            code != .permissionDenied && code != .unauthenticated,
                            "\(entry.method) as \(role): \(code)"
                        )
                    } else {
                        #expect(code == .permissionDenied, "\(entry.method) as \(role): \(code)")
                    }
                    checked += 1
                }
                // And nobody without a token, except Ping and the public keys.
                let anonymous = await entry.call(h, context, .operator, "")
                let open = [LockboxMethods.ping.name, LockboxMethods.listSigningKeys.name]
                #expect(
                    anonymous == (open.contains(entry.method) ? .ok : .unauthenticated),
                    "\(entry.method) anonymous"
                )
            }
            #expect(checked == Self.table.count * Role.allCases.count)
        }
    }
}

enum LockboxRoleProto {
    static func proto(_ role: LockboxCore.Role) -> LockboxProto.Role {
        LockboxProto.Role(protoName: "ROLE_" + role.rawValue.uppercased())!
    }
}
