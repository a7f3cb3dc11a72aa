import LockboxCore
import LockboxRPC
import LockboxStore
import Logging
import Testing

@testable import LockboxServer

/// The server's own rules that need no database: which permission each method needs, and
/// which failures a client may see.
@Suite struct MethodPermissionsTests {
    @Test func everyMethodNeedsAPermissionExceptTheOpenOnes() {
        #expect(
            MethodPermissions.open == [
                LockboxMethods.ping.name, LockboxMethods.enrollTenantAdmin.name, LockboxMethods.listSigningKeys.name,
            ]
        )
        for method in LockboxMethods.all {
            if MethodPermissions.open.contains(method.name) {
                #expect(MethodPermissions.table[method.name] == nil)
            } else {
                #expect(MethodPermissions.table[method.name] != nil, "\(method.name) has no permission")
            }
        }
        #expect(Set(MethodPermissions.table.keys).isSubset(of: Set(LockboxMethods.all.map(\.name))))
    }

    /// The method-level view of the policy: who may call each method at all.
    static let callers: [String: Set<Role>] = {
        let readers: Set<Role> = [.operator, .supportManager, .auditor, .globalAdmin, .lockboxApprover]
        let admins: Set<Role> = [.providerAdmin, .globalAdmin]
        let customer: Set<Role> = [.globalAdmin, .lockboxApprover]
        return [
            LockboxMethods.createAccessRequest.name: [.operator],
            LockboxMethods.getAccessRequest.name: readers,
            LockboxMethods.listAccessRequests.name: readers,
            LockboxMethods.watchAccessRequests.name: readers,
            LockboxMethods.cancelAccessRequest.name: customer.union([.operator]),
            LockboxMethods.decideInternal.name: [.supportManager],
            LockboxMethods.decideCustomer.name: customer,
            LockboxMethods.revokeAccess.name: customer.union([.operator, .supportManager]),
            LockboxMethods.createTenant.name: [.providerAdmin],
            LockboxMethods.issueEnrollmentCode.name: [.providerAdmin],
            LockboxMethods.setLockboxEnabled.name: [.globalAdmin],
            LockboxMethods.suspendPrincipal.name: admins,
            LockboxMethods.reactivatePrincipal.name: admins,
            LockboxMethods.getTenantSettings.name: customer,
            LockboxMethods.setTenantSettings.name: [.globalAdmin],
            LockboxMethods.createPrincipal.name: admins,
            LockboxMethods.bindCertificate.name: admins,
            LockboxMethods.listPrincipals.name: admins,
            LockboxMethods.issueToken.name: admins,
            LockboxMethods.revokeToken.name: admins,
            LockboxMethods.assignRole.name: admins,
            LockboxMethods.removeRole.name: admins,
            LockboxMethods.listRoleAssignments.name: admins,
            LockboxMethods.searchAudit.name: customer.union([.auditor]),
            LockboxMethods.exportAudit.name: customer.union([.auditor]),
            LockboxMethods.listCheckpoints.name: customer.union([.auditor]),
            LockboxMethods.createCheckpoint.name: customer.union([.auditor]),
            LockboxMethods.checkAccess.name: [.service],
            LockboxMethods.listGrants.name: readers.union([.service]),
            LockboxMethods.listPreapprovedOperations.name: Set(Role.allCases),
            LockboxMethods.addPreapprovedOperation.name: [.providerAdmin],
            LockboxMethods.removePreapprovedOperation.name: [.providerAdmin],
            LockboxMethods.setPrincipalEmail.name: admins,
            LockboxMethods.addWebhook.name: admins,
            LockboxMethods.listWebhooks.name: admins,
            LockboxMethods.removeWebhook.name: admins,
            LockboxMethods.listNotifications.name: admins,
            LockboxMethods.adoptTenantRoot.name: [.globalAdmin],
            LockboxMethods.certifyKey.name: [.globalAdmin],
            LockboxMethods.revokeKey.name: [.globalAdmin],
            LockboxMethods.setTenantPolicy.name: [.globalAdmin],
            LockboxMethods.getTenantTrust.name: [.globalAdmin, .lockboxApprover, .auditor, .service],
            LockboxMethods.createDelegation.name: [.globalAdmin, .lockboxApprover],
            LockboxMethods.revokeDelegation.name: [.globalAdmin, .lockboxApprover],
            LockboxMethods.listDelegations.name: [.globalAdmin, .lockboxApprover, .auditor, .service],
        ]
    }()

    @Test("method × role", arguments: LockboxMethods.all.filter { !MethodPermissions.open.contains($0.name) })
    func whoMayCall(method: AnyRPCMethod) throws {
        let permission = try #require(MethodPermissions.table[method.name])
        let expected = try #require(Self.callers[method.name])
        for role in Role.allCases {
            let caller = Caller(
                id: "me",
                displayName: "Me",
                tenantID: role.isTenantRole ? "contoso" : nil,
                assignments: [Caller.Assignment(role: role, tenantID: role.isTenantRole ? "contoso" : "")],
                ip: ""
            )
            #expect(Authorization.admits(caller, permission) == expected.contains(role), "\(role) \(method.shortName)")
        }
    }

    @Test func failuresNeverLeakInternals() {
        let gate = Gatekeeper(
            pool: PGPool(
                configuration: PGPoolConfiguration(url: "postgresql://nobody@127.0.0.1:1/none", size: 1),
                logger: Logger(label: "test")
            ),
            clock: ManualClock(millis: 0),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let secret = "ERROR: relation \"api_tokens\" SELECT token_hash FROM api_tokens"
        #expect(
            gate.rpcError(StoreError(.other, sqlState: "42P01", detail: secret), gate.logger)
                == RPCError(.internal, "internal error")
        )
        #expect(
            gate.rpcError(StoreError(.decoding, detail: secret), gate.logger) == RPCError(.internal, "internal error")
        )
        #expect(
            gate.rpcError(StoreError(.unavailable, sqlState: "08006", detail: secret), gate.logger)
                == RPCError(.unavailable, "database unavailable; try again")
        )
        #expect(
            gate.rpcError(DomainError.notFound("no such request"), gate.logger)
                == RPCError(.notFound, "no such request")
        )
        #expect(
            gate.rpcError(DomainError.permissionDenied, gate.logger) == RPCError(.permissionDenied, "permission denied")
        )
        struct Unexpected: Error {}
        #expect(gate.rpcError(Unexpected(), gate.logger) == RPCError(.internal, "internal error"))
    }
}

/// Audit exports as a spreadsheet opens them.
@Suite struct AuditFormatTests {
    @Test(
        "a cell a spreadsheet would run is neutralised",
        arguments: ["=SUM(A1)", "+1", "-2+3", "@cmd", "\tindent", "\rreturn"]
    )
    func neutralised(cell: String) {
        let field = AuditFormat.csvField(cell)
        #expect(field.hasPrefix("\"'"), "\(field)")
        #expect(field.dropFirst(2).hasPrefix(cell.prefix(1)))
    }

    @Test func ordinaryCellsAreLeftAlone() {
        #expect(AuditFormat.csvField("Get-Mailbox") == "Get-Mailbox")
        #expect(AuditFormat.csvField("a,b") == "\"a,b\"")
        #expect(AuditFormat.csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(AuditFormat.csvField("1-2") == "1-2")
    }
}
