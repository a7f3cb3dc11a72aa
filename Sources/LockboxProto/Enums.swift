// Open enums of proto/lockbox.proto. Written by hand; kept in step by the round-trip tests.

/// gRPC status codes, with gRPC's numbers and meanings.
public struct StatusCode: ProtoEnum {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let ok = StatusCode(rawValue: 0)
    public static let cancelled = StatusCode(rawValue: 1)
    public static let unknown = StatusCode(rawValue: 2)
    public static let invalidArgument = StatusCode(rawValue: 3)
    public static let deadlineExceeded = StatusCode(rawValue: 4)
    public static let notFound = StatusCode(rawValue: 5)
    public static let alreadyExists = StatusCode(rawValue: 6)
    public static let permissionDenied = StatusCode(rawValue: 7)
    public static let resourceExhausted = StatusCode(rawValue: 8)
    public static let failedPrecondition = StatusCode(rawValue: 9)
    public static let aborted = StatusCode(rawValue: 10)
    public static let outOfRange = StatusCode(rawValue: 11)
    public static let unimplemented = StatusCode(rawValue: 12)
    public static let `internal` = StatusCode(rawValue: 13)
    public static let unavailable = StatusCode(rawValue: 14)
    public static let dataLoss = StatusCode(rawValue: 15)
    public static let unauthenticated = StatusCode(rawValue: 16)
    public static let names: [Int32: String] = [
        0: "OK",
        1: "CANCELLED",
        2: "UNKNOWN",
        3: "INVALID_ARGUMENT",
        4: "DEADLINE_EXCEEDED",
        5: "NOT_FOUND",
        6: "ALREADY_EXISTS",
        7: "PERMISSION_DENIED",
        8: "RESOURCE_EXHAUSTED",
        9: "FAILED_PRECONDITION",
        10: "ABORTED",
        11: "OUT_OF_RANGE",
        12: "UNIMPLEMENTED",
        13: "INTERNAL",
        14: "UNAVAILABLE",
        15: "DATA_LOSS",
        16: "UNAUTHENTICATED",
    ]
}

/// The customer-content services a request can cover.
/// Why access is needed (CreateAccessRequest.category).
public struct JustificationCategory: ProtoEnum {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let unspecified = JustificationCategory(rawValue: 0)
    public static let incident = JustificationCategory(rawValue: 1)
    public static let serviceRequest = JustificationCategory(rawValue: 2)
    public static let securityInvestigation = JustificationCategory(rawValue: 3)
    public static let customerRequested = JustificationCategory(rawValue: 4)
    public static let names: [Int32: String] = [
        0: "JUSTIFICATION_CATEGORY_UNSPECIFIED",
        1: "JUSTIFICATION_CATEGORY_INCIDENT",
        2: "JUSTIFICATION_CATEGORY_SERVICE_REQUEST",
        3: "JUSTIFICATION_CATEGORY_SECURITY_INVESTIGATION",
        4: "JUSTIFICATION_CATEGORY_CUSTOMER_REQUESTED",
    ]
}

public struct Service: ProtoEnum {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let unspecified = Service(rawValue: 0)
    public static let exchange = Service(rawValue: 1)
    public static let sharepoint = Service(rawValue: 2)
    public static let onedrive = Service(rawValue: 3)
    public static let teams = Service(rawValue: 4)
    public static let names: [Int32: String] = [
        0: "SERVICE_UNSPECIFIED",
        1: "SERVICE_EXCHANGE",
        2: "SERVICE_SHAREPOINT",
        3: "SERVICE_ONEDRIVE",
        4: "SERVICE_TEAMS",
    ]
}

/// The state of an access request.
public struct RequestStatus: ProtoEnum {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let unspecified = RequestStatus(rawValue: 0)
    public static let pendingInternal = RequestStatus(rawValue: 1)
    public static let pendingCustomer = RequestStatus(rawValue: 2)
    public static let approved = RequestStatus(rawValue: 3)
    public static let denied = RequestStatus(rawValue: 4)
    public static let expired = RequestStatus(rawValue: 5)
    public static let canceled = RequestStatus(rawValue: 6)
    public static let revoked = RequestStatus(rawValue: 7)
    public static let completed = RequestStatus(rawValue: 8)
    public static let names: [Int32: String] = [
        0: "REQUEST_STATUS_UNSPECIFIED",
        1: "REQUEST_STATUS_PENDING_INTERNAL",
        2: "REQUEST_STATUS_PENDING_CUSTOMER",
        3: "REQUEST_STATUS_APPROVED",
        4: "REQUEST_STATUS_DENIED",
        5: "REQUEST_STATUS_EXPIRED",
        6: "REQUEST_STATUS_CANCELED",
        7: "REQUEST_STATUS_REVOKED",
        8: "REQUEST_STATUS_COMPLETED",
    ]
}

/// A role a principal can hold.
public struct Role: ProtoEnum {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let unspecified = Role(rawValue: 0)
    public static let `operator` = Role(rawValue: 1)
    public static let supportManager = Role(rawValue: 2)
    public static let providerAdmin = Role(rawValue: 3)
    public static let service = Role(rawValue: 4)
    public static let auditor = Role(rawValue: 5)
    public static let globalAdmin = Role(rawValue: 6)
    public static let lockboxApprover = Role(rawValue: 7)
    public static let names: [Int32: String] = [
        0: "ROLE_UNSPECIFIED",
        1: "ROLE_OPERATOR",
        2: "ROLE_SUPPORT_MANAGER",
        3: "ROLE_PROVIDER_ADMIN",
        4: "ROLE_SERVICE",
        5: "ROLE_AUDITOR",
        6: "ROLE_GLOBAL_ADMIN",
        7: "ROLE_LOCKBOX_APPROVER",
    ]
}

/// A customer decision, as recorded in the audit log.
public struct Decision: ProtoEnum {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let unspecified = Decision(rawValue: 0)
    public static let approve = Decision(rawValue: 1)
    public static let deny = Decision(rawValue: 2)
    public static let cancel = Decision(rawValue: 3)
    public static let names: [Int32: String] = [
        0: "DECISION_UNSPECIFIED",
        1: "DECISION_APPROVE",
        2: "DECISION_DENY",
        3: "DECISION_CANCEL",
    ]
}

/// The format of an audit export stream.
public struct AuditExportFormat: ProtoEnum {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let unspecified = AuditExportFormat(rawValue: 0)
    public static let jsonLines = AuditExportFormat(rawValue: 1)
    public static let csv = AuditExportFormat(rawValue: 2)
    public static let names: [Int32: String] = [
        0: "AUDIT_EXPORT_FORMAT_UNSPECIFIED",
        1: "AUDIT_EXPORT_FORMAT_JSON_LINES",
        2: "AUDIT_EXPORT_FORMAT_CSV",
    ]
}

/// Why CheckAccess denied an operation.
public struct AccessDenyReason: ProtoEnum {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let unspecified = AccessDenyReason(rawValue: 0)
    public static let noGrant = AccessDenyReason(rawValue: 1)
    public static let notApproved = AccessDenyReason(rawValue: 2)
    public static let grantExpired = AccessDenyReason(rawValue: 3)
    public static let revoked = AccessDenyReason(rawValue: 4)
    public static let operationNotPreapproved = AccessDenyReason(rawValue: 5)
    public static let tenantServiceMismatch = AccessDenyReason(rawValue: 6)
    public static let unknownOperator = AccessDenyReason(rawValue: 7)
    public static let operatorSuspended = AccessDenyReason(rawValue: 8)
    public static let requestExpired = AccessDenyReason(rawValue: 9)
    public static let unverifiedApproval = AccessDenyReason(rawValue: 10)
    public static let notStarted = AccessDenyReason(rawValue: 11)
    public static let names: [Int32: String] = [
        0: "ACCESS_DENY_REASON_UNSPECIFIED",
        1: "ACCESS_DENY_REASON_NO_GRANT",
        2: "ACCESS_DENY_REASON_NOT_APPROVED",
        3: "ACCESS_DENY_REASON_GRANT_EXPIRED",
        4: "ACCESS_DENY_REASON_REVOKED",
        5: "ACCESS_DENY_REASON_OPERATION_NOT_PREAPPROVED",
        6: "ACCESS_DENY_REASON_TENANT_SERVICE_MISMATCH",
        7: "ACCESS_DENY_REASON_UNKNOWN_OPERATOR",
        8: "ACCESS_DENY_REASON_OPERATOR_SUSPENDED",
        9: "ACCESS_DENY_REASON_REQUEST_EXPIRED",
        10: "ACCESS_DENY_REASON_UNVERIFIED_APPROVAL",
        11: "ACCESS_DENY_REASON_NOT_STARTED",
    ]
}

/// What an audit record is about. A lifecycle activity such as CustomerApprove
/// only ever appears with `.lifecycle`; operator actions carry the operation's
/// name as their activity and `.operatorAction`.
public struct AuditKind: ProtoEnum {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let unspecified = AuditKind(rawValue: 0)
    public static let lifecycle = AuditKind(rawValue: 1)
    public static let operatorAction = AuditKind(rawValue: 2)
    public static let roleChange = AuditKind(rawValue: 3)
    public static let settings = AuditKind(rawValue: 4)
    public static let principal = AuditKind(rawValue: 5)
    public static let token = AuditKind(rawValue: 6)
    public static let tenant = AuditKind(rawValue: 7)
    public static let operation = AuditKind(rawValue: 8)
    public static let enrollment = AuditKind(rawValue: 9)
    public static let notification = AuditKind(rawValue: 10)
    public static let key = AuditKind(rawValue: 11)
    public static let trust = AuditKind(rawValue: 12)
    public static let names: [Int32: String] = [
        0: "AUDIT_KIND_UNSPECIFIED",
        1: "AUDIT_KIND_LIFECYCLE",
        2: "AUDIT_KIND_OPERATOR_ACTION",
        3: "AUDIT_KIND_ROLE_CHANGE",
        4: "AUDIT_KIND_SETTINGS",
        5: "AUDIT_KIND_PRINCIPAL",
        6: "AUDIT_KIND_TOKEN",
        7: "AUDIT_KIND_TENANT",
        8: "AUDIT_KIND_OPERATION",
        9: "AUDIT_KIND_ENROLLMENT",
        10: "AUDIT_KIND_NOTIFICATION",
        11: "AUDIT_KIND_KEY",
        12: "AUDIT_KIND_TRUST",
    ]
}
extension ProtoEnum {
    /// The value as the C enum's raw value.
    var cRaw: UInt32 { UInt32(bitPattern: rawValue) }
    init(cRaw: UInt32) { self.init(rawValue: Int32(bitPattern: cRaw)) }
}
