import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxServer
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
        Entry(method: LockboxMethod.ping, allowed: everyone) { h, _, _, token in
            await h.status(LockboxMethod.ping, PingRequest(), as: PingResponse.self, token: token)
        },
        Entry(method: LockboxMethod.createAccessRequest, allowed: [.operator]) { h, _, _, token in
            await h.status(
                LockboxMethod.createAccessRequest,
                CreateAccessRequestRequest(tenantID: "contoso", service: .exchange, ticketNumber: "T", justification: "j", requestedDurationSeconds: 600),
                as: AccessRequest.self,
                token: token
            )
        },
        Entry(method: LockboxMethod.getAccessRequest, allowed: readers) { h, c, _, token in
            await h.status(LockboxMethod.getAccessRequest, GetAccessRequestRequest(requestID: c.requestID), as: AccessRequest.self, token: token)
        },
        Entry(method: LockboxMethod.listAccessRequests, allowed: readers) { h, _, role, token in
            await h.status(
                LockboxMethod.listAccessRequests,
                ListAccessRequestsRequest(tenantID: scoped(role)),
                as: ListAccessRequestsResponse.self,
                token: token
            )
        },
        Entry(method: LockboxMethod.cancelAccessRequest, allowed: [.operator, .globalAdmin, .lockboxApprover]) { h, _, _, token in
            await h.status(LockboxMethod.cancelAccessRequest, CancelAccessRequestRequest(requestID: "req_none"), as: AccessRequest.self, token: token)
        },
        Entry(method: LockboxMethod.decideInternal, allowed: [.supportManager]) { h, _, _, token in
            await h.status(LockboxMethod.decideInternal, InternalDecision(requestID: "req_none", approve: true), as: AccessRequest.self, token: token)
        },
        Entry(method: LockboxMethod.decideCustomer, allowed: [.globalAdmin, .lockboxApprover]) { h, _, _, token in
            await h.status(
                LockboxMethod.decideCustomer,
                CustomerDecision(requestID: "req_none", decision: .approve),
                as: AccessRequest.self,
                token: token
            )
        },
        Entry(method: LockboxMethod.revokeAccess, allowed: [.operator, .globalAdmin, .lockboxApprover]) { h, _, _, token in
            await h.status(LockboxMethod.revokeAccess, RevokeAccessRequest(requestID: "req_none"), as: AccessRequest.self, token: token)
        },
        Entry(method: LockboxMethod.createTenant, allowed: [.providerAdmin]) { h, _, _, token in
            await h.status(
                LockboxMethod.createTenant,
                CreateTenantRequest(tenantID: "t-" + String(UInt32.random(in: 0...UInt32.max)), displayName: "T", adminDisplayName: "A"),
                as: CreateTenantResponse.self,
                token: token
            )
        },
        Entry(method: LockboxMethod.getTenantSettings, allowed: [.globalAdmin, .lockboxApprover]) { h, _, _, token in
            await h.status(LockboxMethod.getTenantSettings, GetTenantSettingsRequest(tenantID: "contoso"), as: TenantSettings.self, token: token)
        },
        Entry(method: LockboxMethod.setTenantSettings, allowed: [.globalAdmin]) { h, _, _, token in
            await h.status(
                LockboxMethod.setTenantSettings,
                TenantSettings(tenantID: "contoso", lockboxEnabled: true),
                as: TenantSettings.self,
                token: token
            )
        },
        Entry(method: LockboxMethod.createPrincipal, allowed: admins) { h, _, role, token in
            await h.status(
                LockboxMethod.createPrincipal,
                CreatePrincipalRequest(displayName: "P", tenantID: scoped(role)),
                as: Principal.self,
                token: token
            )
        },
        Entry(method: LockboxMethod.listPrincipals, allowed: admins) { h, _, role, token in
            await h.status(LockboxMethod.listPrincipals, ListPrincipalsRequest(tenantID: scoped(role)), as: ListPrincipalsResponse.self, token: token)
        },
        Entry(method: LockboxMethod.issueToken, allowed: admins) { h, _, _, token in
            await h.status(LockboxMethod.issueToken, IssueTokenRequest(principalID: "p_none"), as: IssuedToken.self, token: token)
        },
        Entry(method: LockboxMethod.revokeToken, allowed: admins) { h, _, _, token in
            await h.status(LockboxMethod.revokeToken, RevokeTokenRequest(tokenID: "tok_none"), as: Token.self, token: token)
        },
        Entry(method: LockboxMethod.assignRole, allowed: admins) { h, _, role, token in
            await h.status(
                LockboxMethod.assignRole,
                RoleAssignment(principalID: "p_none", role: role.isTenantRole ? .lockboxApprover : .auditor, tenantID: scoped(role)),
                as: RoleAssignment.self,
                token: token
            )
        },
        Entry(method: LockboxMethod.removeRole, allowed: admins) { h, _, role, token in
            await h.status(
                LockboxMethod.removeRole,
                RoleAssignment(principalID: "p_none", role: role.isTenantRole ? .lockboxApprover : .auditor, tenantID: scoped(role)),
                as: RoleAssignment.self,
                token: token
            )
        },
        Entry(method: LockboxMethod.listRoleAssignments, allowed: admins) { h, _, role, token in
            await h.status(
                LockboxMethod.listRoleAssignments,
                ListRoleAssignmentsRequest(tenantID: scoped(role)),
                as: ListRoleAssignmentsResponse.self,
                token: token
            )
        },
        Entry(method: LockboxMethod.searchAudit, allowed: [.auditor, .globalAdmin, .lockboxApprover]) { h, _, role, token in
            await h.status(LockboxMethod.searchAudit, SearchAuditRequest(tenantID: scoped(role)), as: SearchAuditResponse.self, token: token)
        },
        Entry(method: LockboxMethod.exportAudit, allowed: [.auditor, .globalAdmin, .lockboxApprover]) { h, _, role, token in
            do {
                for try await _ in h.client.serverStream(
                    LockboxMethod.exportAudit,
                    ExportAuditRequest(tenantID: scoped(role)),
                    as: AuditExportChunk.self,
                    options: CallOptions(authToken: token)
                ) {}
                return .ok
            } catch let error as RPCError {
                return error.code
            } catch {
                return .unknown
            }
        },
        Entry(method: LockboxMethod.watchAccessRequests, allowed: readers) { h, _, role, token in
            // A watch never ends by itself: allowed callers run into the deadline, denied ones are refused at once.
            do {
                for try await _ in h.client.serverStream(
                    LockboxMethod.watchAccessRequests,
                    WatchAccessRequestsRequest(tenantID: scoped(role)),
                    as: AccessRequestEvent.self,
                    options: CallOptions(timeout: .milliseconds(300), authToken: token)
                ) {}
                return .ok
            } catch let error as RPCError {
                return error.code
            } catch {
                return .unknown
            }
        },
        Entry(method: LockboxMethod.checkAccess, allowed: [.service]) { h, _, _, token in
            await h.status(
                LockboxMethod.checkAccess,
                CheckAccessRequest(tenantID: "contoso", service: .exchange, operatorID: "p_x", operation: "Get-Mailbox", clientIP: "10.1.2.3"),
                as: CheckAccessResponse.self,
                token: token
            )
        },
        Entry(method: LockboxMethod.listGrants, allowed: [.operator, .supportManager, .auditor, .service, .globalAdmin, .lockboxApprover]) {
            h, _, role, token in
            await h.status(LockboxMethod.listGrants, ListGrantsRequest(tenantID: scoped(role)), as: ListGrantsResponse.self, token: token)
        },
        Entry(method: LockboxMethod.listPreapprovedOperations, allowed: everyone) { h, _, _, token in
            await h.status(
                LockboxMethod.listPreapprovedOperations,
                ListPreapprovedOperationsRequest(),
                as: ListPreapprovedOperationsResponse.self,
                token: token
            )
        },
        Entry(method: LockboxMethod.addPreapprovedOperation, allowed: [.providerAdmin]) { h, _, _, token in
            await h.status(
                LockboxMethod.addPreapprovedOperation,
                PreapprovedOperation(service: .teams, operation: "Get-Thing-\(UInt32.random(in: 0...UInt32.max))"),
                as: PreapprovedOperation.self,
                token: token
            )
        },
        Entry(method: LockboxMethod.removePreapprovedOperation, allowed: [.providerAdmin]) { h, _, _, token in
            await h.status(
                LockboxMethod.removePreapprovedOperation,
                RemovePreapprovedOperationRequest(service: .teams, operation: "No-Such-Op"),
                as: Empty.self,
                token: token
            )
        },
    ]

    @Test func everyMethodIsInTheTable() async throws {
        let methods = Set(Self.table.map(\.method))
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
                        #expect(code != .permissionDenied && code != .unauthenticated, "\(entry.method) as \(role): \(code)")
                    } else {
                        #expect(code == .permissionDenied, "\(entry.method) as \(role): \(code)")
                    }
                    checked += 1
                }
                // And nobody without a token, except Ping.
                let anonymous = await entry.call(h, context, .operator, "")
                #expect(anonymous == (entry.method == LockboxMethod.ping ? .ok : .unauthenticated), "\(entry.method) anonymous")
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
