import LockboxCore
import LockboxRPC

/// The permission each method needs: the one table the ``Gatekeeper`` reads. A method that is
/// served but missing here is refused to everyone (deny by default).
enum MethodPermissions {
    /// Methods anyone may call, without a token.
    static let open: Set<String> = [LockboxMethods.ping.name]

    static let table: [String: Permission] = [
        LockboxMethods.createAccessRequest.name: .createRequest,
        LockboxMethods.cancelAccessRequest.name: .cancelRequest,
        LockboxMethods.getAccessRequest.name: .readRequests,
        LockboxMethods.listAccessRequests.name: .readRequests,
        LockboxMethods.watchAccessRequests.name: .readRequests,
        LockboxMethods.decideInternal.name: .decideInternal,
        LockboxMethods.decideCustomer.name: .decideCustomer,
        LockboxMethods.revokeAccess.name: .revokeAccess,
        LockboxMethods.checkAccess.name: .checkAccess,
        LockboxMethods.listGrants.name: .readGrants,
        LockboxMethods.listPreapprovedOperations.name: .readOperations,
        LockboxMethods.addPreapprovedOperation.name: .manageOperations,
        LockboxMethods.removePreapprovedOperation.name: .manageOperations,
        LockboxMethods.createTenant.name: .createTenant,
        LockboxMethods.getTenantSettings.name: .readTenantSettings,
        LockboxMethods.setTenantSettings.name: .writeTenantSettings,
        LockboxMethods.createPrincipal.name: .managePrincipals,
        LockboxMethods.listPrincipals.name: .managePrincipals,
        LockboxMethods.issueToken.name: .managePrincipals,
        LockboxMethods.revokeToken.name: .managePrincipals,
        LockboxMethods.assignRole.name: .manageRoles,
        LockboxMethods.removeRole.name: .manageRoles,
        LockboxMethods.listRoleAssignments.name: .readRoles,
        LockboxMethods.searchAudit.name: .readAudit,
        LockboxMethods.exportAudit.name: .readAudit,
    ]
}
