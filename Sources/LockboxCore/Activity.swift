/// What an audit record is about. Search filters on it and exports include it, so a
/// lifecycle activity such as `CustomerApprove` can never be read from an operator action.
package enum AuditKind: String, Sendable, Hashable, CaseIterable {
    /// A request's state changed.
    case lifecycle
    /// A CheckAccess, allowed or denied; its activity is the operation's name.
    case operatorAction = "operator_action"
    case roleChange = "role_change"
    /// A tenant's settings, the lockbox switched on or off.
    case settings
    /// A principal created, suspended or reactivated.
    case principal
    case token
    case tenant
    /// A pre-approved operation added or removed.
    case operation
    /// An enrollment code issued, redeemed or refused.
    case enrollment
    /// An email or webhook delivered or given up on; an endpoint added, removed or disabled;
    /// a principal's address set.
    case notification
    /// A server signing key introduced.
    case key
    /// A tenant root adopted, a key certified or revoked, a tenant policy set.
    case trust
}

/// The decision recorded in an audit record, where one applies.
package enum AuditDecision: Int16, Sendable, Hashable, CaseIterable {
    case none = 0
    case approve = 1
    case deny = 2
    case cancel = 3
}

/// Audit activities written by Lockbox itself: the one list. Operator actions use the
/// operation's name instead, which may be none of these (``isReserved(_:)``).
package enum Activity: String, Sendable, Hashable, CaseIterable {
    case requestCreated = "AccessRequestCreated"
    case internalApprove = "InternalApprove"
    case internalDeny = "InternalDeny"
    case customerApprove = "CustomerApprove"
    case customerDeny = "CustomerDeny"
    case customerCancel = "CustomerCancel"
    /// An approver's signed decision counted toward the tenant's threshold without deciding
    /// the request (an N-of-M policy).
    case customerDecisionCounted = "CustomerDecisionCounted"
    /// An extension withdrawn, pending or approved, because the grant it continues was revoked.
    case extensionWithdrawn = "ExtensionWithdrawn"
    /// A request approved by the tenant's signed pre-approval (its policy's auto-approval
    /// rule), without an approver.
    case autoApproved = "AutoApproved"
    case requesterCancel = "RequesterCancel"
    /// A provider admin suspended the requester, which withdraws its pending requests.
    case suspensionCancel = "SuspensionCancel"
    case accessRevoked = "AccessRevoked"
    case requestExpired = "RequestExpired"
    case grantCompleted = "GrantCompleted"
    case tenantCreated = "TenantCreated"
    case tenantSettingsChanged = "TenantSettingsChanged"
    case principalCreated = "PrincipalCreated"
    case tokenIssued = "TokenIssued"
    case tokenRevoked = "TokenRevoked"
    case roleAssigned = "RoleAssigned"
    case roleRemoved = "RoleRemoved"
    case operationAdded = "PreapprovedOperationAdded"
    case operationRemoved = "PreapprovedOperationRemoved"
    case enrollmentCodeIssued = "EnrollmentCodeIssued"
    case tenantAdminEnrolled = "TenantAdminEnrolled"
    case enrollmentRefused = "EnrollmentRefused"
    case principalSuspended = "PrincipalSuspended"
    case certificateBound = "PrincipalCertificateBound"
    case certificateUnbound = "PrincipalCertificateUnbound"
    case principalReactivated = "PrincipalReactivated"
    case lockboxEnabled = "LockboxEnabled"
    case lockboxDisabled = "LockboxDisabled"
    case notificationSent = "NotificationSent"
    case notificationFailed = "NotificationFailed"
    case webhookAdded = "WebhookAdded"
    case webhookRemoved = "WebhookRemoved"
    case webhookDisabled = "WebhookDisabled"
    case principalEmailSet = "PrincipalEmailSet"
    // Written by the database's own triggers (migrations/0011), for changes that no call of
    // lockboxd makes: someone changed the tables directly.
    case principalChanged = "PrincipalChanged"
    case principalDeleted = "PrincipalDeleted"
    case tokenChanged = "TokenChanged"
    case tokenDeleted = "TokenDeleted"
    case tenantDeleted = "TenantDeleted"
    case enrollmentCodeSuperseded = "EnrollmentCodeSuperseded"
    case enrollmentCodeChanged = "EnrollmentCodeChanged"
    case webhookChanged = "WebhookChanged"
    case operationChanged = "PreapprovedOperationChanged"
    case signingKeyAdded = "SigningKeyAdded"
    // The tenant's own trust (migrations/0012).
    case tenantRootAdopted = "TenantRootAdopted"
    case keyCertified = "KeyCertified"
    case keyRevoked = "KeyRevoked"
    case tenantPolicySet = "TenantPolicySet"

    /// The activities of a request's own moves: what the event feed records.
    package static let lifecycle: Set<Activity> = [
        .requestCreated, .internalApprove, .internalDeny, .customerApprove, .customerDeny, .customerCancel,
        .requesterCancel, .suspensionCancel, .accessRevoked, .requestExpired, .grantCompleted,
        .customerDecisionCounted, .extensionWithdrawn, .autoApproved,
    ]

    /// Every activity above, lower-cased: derived from the list, so a new activity is reserved
    /// the moment it exists.
    static let reserved: Set<String> = Set(allCases.map { $0.rawValue.lowercased() })

    /// Whether an operation name would read as one of Lockbox's own activities (compared
    /// case-insensitively, as operation names are). Such names are refused.
    package static func isReserved(_ name: String) -> Bool { reserved.contains(name.lowercased()) }
}
