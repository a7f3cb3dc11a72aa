/// The state of an access request (DESIGN.md, "Request lifecycle").
public enum RequestState: String, Sendable, CaseIterable, Hashable {
    case pendingInternal = "PENDING_INTERNAL"
    case pendingCustomer = "PENDING_CUSTOMER"
    case approved = "APPROVED"
    case denied = "DENIED"
    case expired = "EXPIRED"
    case canceled = "CANCELED"
    case revoked = "REVOKED"
    case completed = "COMPLETED"

    /// Terminal states never change again.
    public var isTerminal: Bool {
        switch self {
        case .pendingInternal, .pendingCustomer, .approved: false
        case .denied, .expired, .canceled, .revoked, .completed: true
        }
    }

    /// Waiting for a decision, internal or the customer's.
    public var isPending: Bool { self == .pendingInternal || self == .pendingCustomer }
}

/// A role a principal holds. Provider roles belong to no tenant; tenant roles to exactly one.
public enum Role: String, Sendable, CaseIterable, Hashable {
    case `operator` = "operator"
    case supportManager = "support_manager"
    case providerAdmin = "provider_admin"
    case service = "service"
    case auditor = "auditor"
    case globalAdmin = "global_admin"
    case lockboxApprover = "lockbox_approver"

    public var isTenantRole: Bool { self == .globalAdmin || self == .lockboxApprover }
}

/// A customer-content service that a request can cover.
public enum ContentService: String, Sendable, CaseIterable, Hashable {
    case exchange
    case sharepoint
    case onedrive
    case teams
}

/// The decision recorded in an audit record, where one applies.
public enum AuditDecision: Int16, Sendable, Hashable, CaseIterable {
    case none = 0
    case approve = 1
    case deny = 2
    case cancel = 3
}

/// A broken domain rule, with the gRPC-style class of the failure.
public struct DomainError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public static let invalidArgument = Code(name: "invalidArgument")
        public static let failedPrecondition = Code(name: "failedPrecondition")
        public static let permissionDenied = Code(name: "permissionDenied")
        /// The thing does not exist, or the caller may not know that it does.
        public static let notFound = Code(name: "notFound")
        public static let alreadyExists = Code(name: "alreadyExists")
        /// A credential the request carries (an enrollment code) is not valid.
        public static let unauthenticated = Code(name: "unauthenticated")
        public var description: String { name }
    }

    public let code: Code
    /// Safe to show to the caller.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.name): \(message)" }

    public static func invalidArgument(_ message: String) -> DomainError { DomainError(.invalidArgument, message) }
    public static func notFound(_ message: String) -> DomainError { DomainError(.notFound, message) }
    public static let permissionDenied = DomainError(.permissionDenied, "permission denied")
}

/// What an audit record is about. Search filters on it and exports include it, so a
/// lifecycle activity such as `CustomerApprove` can never be read from an operator action.
public enum AuditKind: String, Sendable, Hashable, CaseIterable {
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
}

/// Audit activities written by Lockbox itself; operator actions use the operation's name,
/// which may be none of these (``isReserved(_:)``).
public enum Activity {
    public static let requestCreated = "AccessRequestCreated"
    public static let internalApprove = "InternalApprove"
    public static let internalDeny = "InternalDeny"
    public static let customerApprove = "CustomerApprove"
    public static let customerDeny = "CustomerDeny"
    public static let customerCancel = "CustomerCancel"
    public static let requesterCancel = "RequesterCancel"
    /// A provider admin suspended the requester, which withdraws its pending requests.
    public static let suspensionCancel = "SuspensionCancel"
    public static let accessRevoked = "AccessRevoked"
    public static let requestExpired = "RequestExpired"
    public static let grantCompleted = "GrantCompleted"
    public static let tenantCreated = "TenantCreated"
    public static let tenantSettingsChanged = "TenantSettingsChanged"
    public static let principalCreated = "PrincipalCreated"
    public static let tokenIssued = "TokenIssued"
    public static let tokenRevoked = "TokenRevoked"
    public static let roleAssigned = "RoleAssigned"
    public static let roleRemoved = "RoleRemoved"
    public static let operationAdded = "PreapprovedOperationAdded"
    public static let operationRemoved = "PreapprovedOperationRemoved"
    public static let enrollmentCodeIssued = "EnrollmentCodeIssued"
    public static let tenantAdminEnrolled = "TenantAdminEnrolled"
    public static let enrollmentRefused = "EnrollmentRefused"
    public static let principalSuspended = "PrincipalSuspended"
    public static let certificateBound = "PrincipalCertificateBound"
    public static let certificateUnbound = "PrincipalCertificateUnbound"
    public static let principalReactivated = "PrincipalReactivated"
    public static let lockboxEnabled = "LockboxEnabled"
    public static let lockboxDisabled = "LockboxDisabled"
    public static let notificationSent = "NotificationSent"
    public static let notificationFailed = "NotificationFailed"
    public static let webhookAdded = "WebhookAdded"
    public static let webhookRemoved = "WebhookRemoved"
    public static let webhookDisabled = "WebhookDisabled"
    public static let principalEmailSet = "PrincipalEmailSet"

    /// Every activity Lockbox writes itself, lower-cased.
    static let reserved: Set<String> = Set(
        [
            requestCreated, internalApprove, internalDeny, customerApprove, customerDeny, customerCancel,
            requesterCancel, suspensionCancel, accessRevoked, requestExpired, grantCompleted, tenantCreated,
            tenantSettingsChanged,
            principalCreated, tokenIssued, tokenRevoked, roleAssigned, roleRemoved, operationAdded, operationRemoved,
            enrollmentCodeIssued, tenantAdminEnrolled, enrollmentRefused, principalSuspended, principalReactivated,
            lockboxEnabled, lockboxDisabled, certificateBound, certificateUnbound, notificationSent,
            notificationFailed, webhookAdded, webhookRemoved, webhookDisabled, principalEmailSet,
        ].map { $0.lowercased() }
    )

    /// Whether an operation name would read as one of Lockbox's own activities (compared
    /// case-insensitively, as operation names are). Such names are refused.
    public static func isReserved(_ name: String) -> Bool { reserved.contains(name.lowercased()) }
}
