import LockboxCore
import LockboxRPC

/// The permission each method needs: the one table the ``Gatekeeper`` reads. A method that is
/// served but missing here is refused to everyone (deny by default).
enum MethodPermissions {
    /// Methods that take no token: Ping, and the enrollment of a tenant's first global admin,
    /// whose request carries its own single-use credential.
    /// The signing keys are public: anyone verifying an export needs them.
    static let open: Set<String> = [
        LockboxMethods.ping.name, LockboxMethods.enrollTenantAdmin.name, LockboxMethods.listSigningKeys.name,
    ]

    /// Methods served from the pool's reserved share (``PGLane/priority``), for tokens that
    /// have recently proved to be allowed them: what data planes call before every operation.
    static let priority: Set<String> = [LockboxMethods.checkAccess.name]

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
        LockboxMethods.issueEnrollmentCode.name: .issueEnrollmentCode,
        LockboxMethods.getTenantSettings.name: .readTenantSettings,
        LockboxMethods.adoptTenantRoot.name: .manageTrust,
        LockboxMethods.certifyKey.name: .manageTrust,
        LockboxMethods.revokeKey.name: .manageTrust,
        LockboxMethods.setTenantPolicy.name: .manageTrust,
        LockboxMethods.getTenantTrust.name: .readTrust,
        LockboxMethods.createDelegation.name: .delegate,
        LockboxMethods.revokeDelegation.name: .delegate,
        LockboxMethods.listDelegations.name: .readTrust,
        LockboxMethods.setTenantSettings.name: .writeTenantSettings,
        LockboxMethods.setLockboxEnabled.name: .writeTenantSettings,
        LockboxMethods.createPrincipal.name: .managePrincipals,
        LockboxMethods.listPrincipals.name: .managePrincipals,
        LockboxMethods.issueToken.name: .managePrincipals,
        LockboxMethods.revokeToken.name: .managePrincipals,
        LockboxMethods.bindCertificate.name: .managePrincipals,
        LockboxMethods.suspendPrincipal.name: .suspendPrincipals,
        LockboxMethods.reactivatePrincipal.name: .suspendPrincipals,
        LockboxMethods.assignRole.name: .manageRoles,
        LockboxMethods.removeRole.name: .manageRoles,
        LockboxMethods.listRoleAssignments.name: .readRoles,
        LockboxMethods.searchAudit.name: .readAudit,
        LockboxMethods.exportAudit.name: .readAudit,
        LockboxMethods.listCheckpoints.name: .readAudit,
        LockboxMethods.createCheckpoint.name: .readAudit,
        LockboxMethods.setPrincipalEmail.name: .managePrincipals,
        LockboxMethods.addWebhook.name: .manageWebhooks,
        LockboxMethods.listWebhooks.name: .manageWebhooks,
        LockboxMethods.removeWebhook.name: .manageWebhooks,
        LockboxMethods.listNotifications.name: .readNotifications,
    ]
}
