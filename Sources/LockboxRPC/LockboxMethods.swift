import LockboxProto

/// Every method of `service Lockbox` in proto/lockbox.proto, with its types. The server's
/// router, the client, the CLI, the load generator and the tests all name methods from here.
public enum LockboxMethods {
    public static let service = "lockbox.v1.Lockbox"

    // Health.
    public static let ping = UnaryMethod<PingRequest, PingResponse>(service + "/Ping")

    // Requests.
    public static let createAccessRequest = UnaryMethod<CreateAccessRequestRequest, AccessRequest>(
        service + "/CreateAccessRequest"
    )
    public static let cancelAccessRequest = UnaryMethod<CancelAccessRequestRequest, AccessRequest>(
        service + "/CancelAccessRequest"
    )
    public static let getAccessRequest = UnaryMethod<GetAccessRequestRequest, AccessRequest>(
        service + "/GetAccessRequest"
    )
    public static let listAccessRequests = UnaryMethod<ListAccessRequestsRequest, ListAccessRequestsResponse>(
        service + "/ListAccessRequests"
    )
    public static let watchAccessRequests = ServerStreamingMethod<WatchAccessRequestsRequest, AccessRequestEvent>(
        service + "/WatchAccessRequests"
    )
    public static let decideInternal = UnaryMethod<InternalDecision, AccessRequest>(service + "/DecideInternal")
    public static let decideCustomer = UnaryMethod<CustomerDecision, AccessRequest>(service + "/DecideCustomer")
    public static let revokeAccess = UnaryMethod<RevokeAccessRequest, AccessRequest>(service + "/RevokeAccess")

    // Access.
    public static let checkAccess = UnaryMethod<CheckAccessRequest, CheckAccessResponse>(service + "/CheckAccess")
    public static let listGrants = UnaryMethod<ListGrantsRequest, ListGrantsResponse>(service + "/ListGrants")
    public static let listPreapprovedOperations = UnaryMethod<
        ListPreapprovedOperationsRequest, ListPreapprovedOperationsResponse
    >(service + "/ListPreapprovedOperations")
    public static let addPreapprovedOperation = UnaryMethod<PreapprovedOperation, PreapprovedOperation>(
        service + "/AddPreapprovedOperation"
    )
    public static let removePreapprovedOperation = UnaryMethod<RemovePreapprovedOperationRequest, Empty>(
        service + "/RemovePreapprovedOperation"
    )

    // Administration.
    public static let createTenant = UnaryMethod<CreateTenantRequest, CreateTenantResponse>(service + "/CreateTenant")
    public static let issueEnrollmentCode = UnaryMethod<IssueEnrollmentCodeRequest, EnrollmentCode>(
        service + "/IssueEnrollmentCode"
    )
    public static let enrollTenantAdmin = UnaryMethod<EnrollTenantAdminRequest, EnrollTenantAdminResponse>(
        service + "/EnrollTenantAdmin"
    )
    public static let getTenantSettings = UnaryMethod<GetTenantSettingsRequest, TenantSettings>(
        service + "/GetTenantSettings"
    )
    public static let setTenantSettings = UnaryMethod<SetTenantSettingsRequest, TenantSettings>(
        service + "/SetTenantSettings"
    )
    public static let setLockboxEnabled = UnaryMethod<SetLockboxEnabledRequest, TenantSettings>(
        service + "/SetLockboxEnabled"
    )
    public static let createPrincipal = UnaryMethod<CreatePrincipalRequest, Principal>(service + "/CreatePrincipal")
    public static let listPrincipals = UnaryMethod<ListPrincipalsRequest, ListPrincipalsResponse>(
        service + "/ListPrincipals"
    )
    public static let issueToken = UnaryMethod<IssueTokenRequest, IssuedToken>(service + "/IssueToken")
    public static let revokeToken = UnaryMethod<RevokeTokenRequest, Token>(service + "/RevokeToken")
    public static let bindCertificate = UnaryMethod<BindCertificateRequest, Principal>(service + "/BindCertificate")
    public static let suspendPrincipal = UnaryMethod<SuspendPrincipalRequest, Principal>(service + "/SuspendPrincipal")
    public static let reactivatePrincipal = UnaryMethod<ReactivatePrincipalRequest, Principal>(
        service + "/ReactivatePrincipal"
    )
    public static let assignRole = UnaryMethod<RoleAssignment, RoleAssignment>(service + "/AssignRole")
    public static let removeRole = UnaryMethod<RoleAssignment, RoleAssignment>(service + "/RemoveRole")
    public static let listRoleAssignments = UnaryMethod<ListRoleAssignmentsRequest, ListRoleAssignmentsResponse>(
        service + "/ListRoleAssignments"
    )

    // Audit.
    public static let searchAudit = UnaryMethod<SearchAuditRequest, SearchAuditResponse>(service + "/SearchAudit")
    public static let exportAudit = ServerStreamingMethod<ExportAuditRequest, AuditExportChunk>(
        service + "/ExportAudit"
    )
    public static let listSigningKeys = UnaryMethod<ListSigningKeysRequest, ListSigningKeysResponse>(
        service + "/ListSigningKeys"
    )
    public static let listCheckpoints = UnaryMethod<ListCheckpointsRequest, ListCheckpointsResponse>(
        service + "/ListCheckpoints"
    )
    public static let createCheckpoint = UnaryMethod<CreateCheckpointRequest, Checkpoint>(service + "/CreateCheckpoint")

    // Notifications.
    public static let setPrincipalEmail = UnaryMethod<SetPrincipalEmailRequest, Principal>(
        service + "/SetPrincipalEmail"
    )
    public static let addWebhook = UnaryMethod<AddWebhookRequest, AddWebhookResponse>(service + "/AddWebhook")
    public static let listWebhooks = UnaryMethod<ListWebhooksRequest, ListWebhooksResponse>(service + "/ListWebhooks")
    public static let removeWebhook = UnaryMethod<RemoveWebhookRequest, Webhook>(service + "/RemoveWebhook")
    public static let listNotifications = UnaryMethod<ListNotificationsRequest, ListNotificationsResponse>(
        service + "/ListNotifications"
    )

    public static let adoptTenantRoot = UnaryMethod<AdoptTenantRootRequest, TenantRoot>(service + "/AdoptTenantRoot")
    public static let certifyKey = UnaryMethod<SignedStatementRequest, TenantKey>(service + "/CertifyKey")
    public static let revokeKey = UnaryMethod<SignedStatementRequest, TenantKey>(service + "/RevokeKey")
    public static let setTenantPolicy = UnaryMethod<SignedStatementRequest, TenantPolicyRecord>(
        service + "/SetTenantPolicy"
    )
    public static let getTenantTrust = UnaryMethod<GetTenantTrustRequest, TenantTrust>(service + "/GetTenantTrust")
    public static let createDelegation = UnaryMethod<SignedStatementRequest, Delegation>(service + "/CreateDelegation")
    public static let revokeDelegation = UnaryMethod<SignedStatementRequest, Delegation>(service + "/RevokeDelegation")
    public static let listDelegations = UnaryMethod<ListDelegationsRequest, ListDelegationsResponse>(
        service + "/ListDelegations"
    )

    /// Every method above.
    public static let all: [AnyRPCMethod] = [
        ping.erased, createAccessRequest.erased, cancelAccessRequest.erased, getAccessRequest.erased,
        listAccessRequests.erased, watchAccessRequests.erased, decideInternal.erased, decideCustomer.erased,
        revokeAccess.erased, checkAccess.erased, listGrants.erased, listPreapprovedOperations.erased,
        addPreapprovedOperation.erased, removePreapprovedOperation.erased, createTenant.erased,
        issueEnrollmentCode.erased, enrollTenantAdmin.erased, getTenantSettings.erased, setTenantSettings.erased,
        setLockboxEnabled.erased, createPrincipal.erased, bindCertificate.erased, suspendPrincipal.erased,
        reactivatePrincipal.erased,
        listPrincipals.erased, issueToken.erased, revokeToken.erased, assignRole.erased, removeRole.erased,
        listRoleAssignments.erased, searchAudit.erased, exportAudit.erased, listSigningKeys.erased,
        listCheckpoints.erased, createCheckpoint.erased, setPrincipalEmail.erased, addWebhook.erased,
        listWebhooks.erased, removeWebhook.erased, listNotifications.erased, adoptTenantRoot.erased,
        certifyKey.erased, revokeKey.erased, setTenantPolicy.erased, getTenantTrust.erased,
        createDelegation.erased, revokeDelegation.erased, listDelegations.erased,
    ]
}
