import CLockboxProto

// Domain messages: requests, decisions, grants, audit records, principals, tokens, operations.

public struct AccessRequest: ProtoMessage {
    public var id: String
    public var tenantID: String
    public var service: Service
    public var ticketNumber: String
    public var justification: String
    public var requestedDurationSeconds: Int64
    public var requesterID: String
    public var status: RequestStatus
    public var createdAtMs: Int64
    public var updatedAtMs: Int64
    /// Deadline for the customer's decision; 0 before internal approval.
    public var customerDeadlineMs: Int64
    /// Present once the request was decided internally.
    public var internalDecision: InternalDecision?
    /// Present once the customer decided (approve, deny or cancel).
    public var customerDecision: CustomerDecision?
    /// Present once the request was approved.
    public var grant: Grant?
    /// Usage of the grant: operations checked under it, and the last one's time
    /// (0 when none).
    public var operationsPerformed: Int64
    public var lastOperationAtMs: Int64
    /// Present once the customer approved or denied: the server's signed statement of the
    /// decision and, for an approval, the grant it created and the operations it allows.
    public var approval: SignedApproval?
    /// The requester's display name as it is now, to read beside `requesterID`.
    public var requesterName: String
    /// The statements to sign to approve or deny, for a caller who may decide now and named
    /// its key (GetAccessRequest's `signingKeyID`).
    public var approveStatement: [UInt8]
    public var denyStatement: [UInt8]
    /// The customer's signed decision, once there is one.
    public var customerSignature: SignedDecision?
    /// How many approvers' signed decisions the tenant's policy asks for (N of M); 0 for a
    /// tenant without a root.
    public var approvalsRequired: Int32
    /// Each approver's signed decision so far, oldest first.
    public var customerVotes: [CustomerVote]
    /// When the access starts, if not at approval: a scheduled start, or for an extension the
    /// end of the grant it extends; 0 otherwise.
    public var startsAtMs: Int64
    /// For an extension: the request whose grant it continues.
    public var extendsRequestID: String
    /// The operations the request asked for; empty: all those pre-approved for the service.
    public var requestedOperations: [String]
    /// Why, in a word.
    public var category: JustificationCategory
    /// The support managers who approved internally so far, in order.
    public var internalApprovers: [String]

    public init(
        id: String = "",
        tenantID: String = "",
        service: Service = Service(rawValue: 0),
        ticketNumber: String = "",
        justification: String = "",
        requestedDurationSeconds: Int64 = 0,
        requesterID: String = "",
        status: RequestStatus = RequestStatus(rawValue: 0),
        createdAtMs: Int64 = 0,
        updatedAtMs: Int64 = 0,
        customerDeadlineMs: Int64 = 0,
        internalDecision: InternalDecision? = nil,
        customerDecision: CustomerDecision? = nil,
        grant: Grant? = nil,
        operationsPerformed: Int64 = 0,
        lastOperationAtMs: Int64 = 0,
        approval: SignedApproval? = nil,
        requesterName: String = "",
        approveStatement: [UInt8] = [],
        denyStatement: [UInt8] = [],
        customerSignature: SignedDecision? = nil,
        approvalsRequired: Int32 = 0,
        customerVotes: [CustomerVote] = [],
        startsAtMs: Int64 = 0,
        extendsRequestID: String = "",
        requestedOperations: [String] = [],
        category: JustificationCategory = .unspecified,
        internalApprovers: [String] = []
    ) {
        self.internalApprovers = internalApprovers
        self.category = category
        self.requestedOperations = requestedOperations
        self.startsAtMs = startsAtMs
        self.extendsRequestID = extendsRequestID
        self.approvalsRequired = approvalsRequired
        self.customerVotes = customerVotes
        self.id = id
        self.tenantID = tenantID
        self.service = service
        self.ticketNumber = ticketNumber
        self.justification = justification
        self.requestedDurationSeconds = requestedDurationSeconds
        self.requesterID = requesterID
        self.status = status
        self.createdAtMs = createdAtMs
        self.updatedAtMs = updatedAtMs
        self.customerDeadlineMs = customerDeadlineMs
        self.internalDecision = internalDecision
        self.customerDecision = customerDecision
        self.grant = grant
        self.operationsPerformed = operationsPerformed
        self.lastOperationAtMs = lastOperationAtMs
        self.approval = approval
        self.requesterName = requesterName
        self.approveStatement = approveStatement
        self.denyStatement = denyStatement
        self.customerSignature = customerSignature
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension AccessRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__AccessRequest>) {
        lockbox__v1__access_request__init(message)
    }

    init(c: Lockbox__V1__AccessRequest) throws(ProtoDecodeError) {
        self.init(
            id: try CRead.string(c.id, in: Self.self),
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            service: Service(cRaw: c.service.rawValue),
            ticketNumber: try CRead.string(c.ticket_number, in: Self.self),
            justification: try CRead.string(c.justification, in: Self.self),
            requestedDurationSeconds: c.requested_duration_seconds,
            requesterID: try CRead.string(c.requester_id, in: Self.self),
            status: RequestStatus(cRaw: c.status.rawValue),
            createdAtMs: c.created_at_ms,
            updatedAtMs: c.updated_at_ms,
            customerDeadlineMs: c.customer_deadline_ms,
            internalDecision: try CRead.message(c.internal_decision),
            customerDecision: try CRead.message(c.customer_decision),
            grant: try CRead.message(c.grant),
            operationsPerformed: c.operations_performed,
            lastOperationAtMs: c.last_operation_at_ms,
            approval: try CRead.message(c.approval),
            requesterName: try CRead.string(c.requester_name, in: Self.self),
            approveStatement: CRead.bytes(c.approve_statement),
            denyStatement: CRead.bytes(c.deny_statement),
            customerSignature: try CRead.message(c.customer_signature),
            approvalsRequired: c.approvals_required,
            customerVotes: try CRead.repeated(c.n_customer_votes, c.customer_votes),
            startsAtMs: c.starts_at_ms,
            extendsRequestID: try CRead.string(c.extends_request_id, in: Self.self),
            requestedOperations: try CRead.strings(c.n_requested_operations, c.requested_operations, in: Self.self),
            category: JustificationCategory(cRaw: c.category.rawValue),
            internalApprovers: try CRead.strings(c.n_internal_approvers, c.internal_approvers, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__AccessRequest, _ arena: Arena) {
        c.id = arena.string(id)
        c.tenant_id = arena.string(tenantID)
        c.service = .init(rawValue: service.cRaw)
        c.ticket_number = arena.string(ticketNumber)
        c.justification = arena.string(justification)
        c.requested_duration_seconds = requestedDurationSeconds
        c.requester_id = arena.string(requesterID)
        c.status = .init(rawValue: status.cRaw)
        c.created_at_ms = createdAtMs
        c.updated_at_ms = updatedAtMs
        c.customer_deadline_ms = customerDeadlineMs
        c.internal_decision = arena.optionalMessage(internalDecision)
        c.customer_decision = arena.optionalMessage(customerDecision)
        c.grant = arena.optionalMessage(grant)
        c.requester_name = arena.string(requesterName)
        c.approve_statement = arena.bytes(approveStatement)
        c.deny_statement = arena.bytes(denyStatement)
        c.customer_signature = arena.optionalMessage(customerSignature)
        c.approvals_required = approvalsRequired
        (c.n_customer_votes, c.customer_votes) = arena.repeated(customerVotes)
        c.starts_at_ms = startsAtMs
        c.extends_request_id = arena.string(extendsRequestID)
        (c.n_requested_operations, c.requested_operations) = arena.strings(requestedOperations)
        (c.n_internal_approvers, c.internal_approvers) = arena.strings(internalApprovers)
        c.category = .init(rawValue: category.cRaw)
        c.operations_performed = operationsPerformed
        c.last_operation_at_ms = lastOperationAtMs
        c.approval = arena.optionalMessage(approval)
    }
}

/// One approver's signed decision on a request: approve or deny.
public struct CustomerVote: ProtoMessage {
    public var approverID: String
    public var decision: Decision
    public var keyID: String
    public var decidedAtMs: Int64
    /// For a delegate's decision: who signed it, and the delegation it names.
    public var delegateID: String
    public var delegationID: String

    public init(
        approverID: String = "",
        decision: Decision = Decision(rawValue: 0),
        keyID: String = "",
        decidedAtMs: Int64 = 0,
        delegateID: String = "",
        delegationID: String = ""
    ) {
        self.approverID = approverID
        self.decision = decision
        self.keyID = keyID
        self.decidedAtMs = decidedAtMs
        self.delegateID = delegateID
        self.delegationID = delegationID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CustomerVote: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CustomerVote>) {
        lockbox__v1__customer_vote__init(message)
    }

    init(c: Lockbox__V1__CustomerVote) throws(ProtoDecodeError) {
        self.init(
            approverID: try CRead.string(c.approver_id, in: Self.self),
            decision: Decision(cRaw: c.decision.rawValue),
            keyID: try CRead.string(c.key_id, in: Self.self),
            decidedAtMs: c.decided_at_ms,
            delegateID: try CRead.string(c.delegate_id, in: Self.self),
            delegationID: try CRead.string(c.delegation_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__CustomerVote, _ arena: Arena) {
        c.approver_id = arena.string(approverID)
        c.decision = .init(rawValue: decision.cRaw)
        c.key_id = arena.string(keyID)
        c.decided_at_ms = decidedAtMs
        c.delegate_id = arena.string(delegateID)
        c.delegation_id = arena.string(delegationID)
    }
}

public struct InternalDecision: ProtoMessage {
    public var requestID: String
    /// true approves, false denies.
    public var approve: Bool
    /// Comment on an approval or reason for a denial.
    public var comment: String
    /// Set by the server in responses.
    public var decidedBy: String
    public var decidedAtMs: Int64

    public init(
        requestID: String = "",
        approve: Bool = false,
        comment: String = "",
        decidedBy: String = "",
        decidedAtMs: Int64 = 0
    ) {
        self.requestID = requestID
        self.approve = approve
        self.comment = comment
        self.decidedBy = decidedBy
        self.decidedAtMs = decidedAtMs
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension InternalDecision: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__InternalDecision>) {
        lockbox__v1__internal_decision__init(message)
    }

    init(c: Lockbox__V1__InternalDecision) throws(ProtoDecodeError) {
        self.init(
            requestID: try CRead.string(c.request_id, in: Self.self),
            approve: Bool(protobuf: c.approve),
            comment: try CRead.string(c.comment, in: Self.self),
            decidedBy: try CRead.string(c.decided_by, in: Self.self),
            decidedAtMs: c.decided_at_ms
        )
    }

    func fill(_ c: inout Lockbox__V1__InternalDecision, _ arena: Arena) {
        c.request_id = arena.string(requestID)
        c.approve = approve.protobuf
        c.comment = arena.string(comment)
        c.decided_by = arena.string(decidedBy)
        c.decided_at_ms = decidedAtMs
    }
}

public struct CustomerDecision: ProtoMessage {
    public var requestID: String
    public var decision: Decision
    /// Comment on an approval, reason for a denial or cancellation.
    public var comment: String
    /// With DECISION_APPROVE: a shorter grant than requested, in seconds.
    /// 0 means "as requested". Never lengthens the grant.
    public var approvedDurationSeconds: Int64
    /// Set by the server in responses.
    public var decidedBy: String
    public var decidedAtMs: Int64
    /// The approver's signed decision: required on a tenant whose policy requires signatures.
    public var signedDecision: SignedDecision?

    public init(
        requestID: String = "",
        decision: Decision = Decision(rawValue: 0),
        comment: String = "",
        approvedDurationSeconds: Int64 = 0,
        decidedBy: String = "",
        decidedAtMs: Int64 = 0,
        signedDecision: SignedDecision? = nil
    ) {
        self.requestID = requestID
        self.decision = decision
        self.comment = comment
        self.approvedDurationSeconds = approvedDurationSeconds
        self.decidedBy = decidedBy
        self.decidedAtMs = decidedAtMs
        self.signedDecision = signedDecision
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CustomerDecision: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CustomerDecision>) {
        lockbox__v1__customer_decision__init(message)
    }

    init(c: Lockbox__V1__CustomerDecision) throws(ProtoDecodeError) {
        self.init(
            requestID: try CRead.string(c.request_id, in: Self.self),
            decision: Decision(cRaw: c.decision.rawValue),
            comment: try CRead.string(c.comment, in: Self.self),
            approvedDurationSeconds: c.approved_duration_seconds,
            decidedBy: try CRead.string(c.decided_by, in: Self.self),
            decidedAtMs: c.decided_at_ms,
            signedDecision: try CRead.message(c.signed_decision)
        )
    }

    func fill(_ c: inout Lockbox__V1__CustomerDecision, _ arena: Arena) {
        c.signed_decision = arena.optionalMessage(signedDecision)
        c.request_id = arena.string(requestID)
        c.decision = .init(rawValue: decision.cRaw)
        c.comment = arena.string(comment)
        c.approved_duration_seconds = approvedDurationSeconds
        c.decided_by = arena.string(decidedBy)
        c.decided_at_ms = decidedAtMs
    }
}

public struct Grant: ProtoMessage {
    public var requestID: String
    public var operatorID: String
    public var tenantID: String
    public var service: Service
    public var startsAtMs: Int64
    public var endsAtMs: Int64
    /// Computed by the server against its clock at the time of the response.
    public var active: Bool
    public var secondsLeft: Int64
    /// The operations the grant allows (lower-cased), fixed when the customer approved.
    public var operations: [String]

    public init(
        requestID: String = "",
        operatorID: String = "",
        tenantID: String = "",
        service: Service = Service(rawValue: 0),
        startsAtMs: Int64 = 0,
        endsAtMs: Int64 = 0,
        active: Bool = false,
        secondsLeft: Int64 = 0,
        operations: [String] = []
    ) {
        self.requestID = requestID
        self.operatorID = operatorID
        self.tenantID = tenantID
        self.service = service
        self.startsAtMs = startsAtMs
        self.endsAtMs = endsAtMs
        self.active = active
        self.secondsLeft = secondsLeft
        self.operations = operations
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension Grant: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__Grant>) { lockbox__v1__grant__init(message) }

    init(c: Lockbox__V1__Grant) throws(ProtoDecodeError) {
        self.init(
            requestID: try CRead.string(c.request_id, in: Self.self),
            operatorID: try CRead.string(c.operator_id, in: Self.self),
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            service: Service(cRaw: c.service.rawValue),
            startsAtMs: c.starts_at_ms,
            endsAtMs: c.ends_at_ms,
            active: Bool(protobuf: c.active),
            secondsLeft: c.seconds_left,
            operations: try CRead.strings(c.n_operations, c.operations, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__Grant, _ arena: Arena) {
        c.request_id = arena.string(requestID)
        c.operator_id = arena.string(operatorID)
        c.tenant_id = arena.string(tenantID)
        c.service = .init(rawValue: service.cRaw)
        c.starts_at_ms = startsAtMs
        c.ends_at_ms = endsAtMs
        c.active = active.protobuf
        c.seconds_left = secondsLeft
        (c.n_operations, c.operations) = arena.strings(operations)
    }
}

public struct AuditRecord: ProtoMessage {
    /// Monotonic per database; the cursor of SearchAudit.
    public var id: Int64
    public var timeMs: Int64
    /// "" for provider-wide records.
    public var tenantID: String
    public var actorID: String
    public var actorDisplay: String
    public var actorIP: String
    public var activity: String
    /// The access request id the record is about, or "".
    public var item: String
    public var decision: Decision
    /// Structured details, a JSON object.
    public var detailsJSON: String
    public var kind: AuditKind
    /// The record's place in its chain and its hash; 0 and empty while not sealed yet.
    public var seq: Int64
    public var hash: [UInt8]

    public init(
        id: Int64 = 0,
        timeMs: Int64 = 0,
        tenantID: String = "",
        actorID: String = "",
        actorDisplay: String = "",
        actorIP: String = "",
        activity: String = "",
        item: String = "",
        decision: Decision = Decision(rawValue: 0),
        detailsJSON: String = "",
        kind: AuditKind = AuditKind(rawValue: 0),
        seq: Int64 = 0,
        hash: [UInt8] = []
    ) {
        self.id = id
        self.timeMs = timeMs
        self.tenantID = tenantID
        self.actorID = actorID
        self.actorDisplay = actorDisplay
        self.actorIP = actorIP
        self.activity = activity
        self.item = item
        self.decision = decision
        self.detailsJSON = detailsJSON
        self.kind = kind
        self.seq = seq
        self.hash = hash
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension AuditRecord: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__AuditRecord>) {
        lockbox__v1__audit_record__init(message)
    }

    init(c: Lockbox__V1__AuditRecord) throws(ProtoDecodeError) {
        self.init(
            id: c.id,
            timeMs: c.time_ms,
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            actorID: try CRead.string(c.actor_id, in: Self.self),
            actorDisplay: try CRead.string(c.actor_display, in: Self.self),
            actorIP: try CRead.string(c.actor_ip, in: Self.self),
            activity: try CRead.string(c.activity, in: Self.self),
            item: try CRead.string(c.item, in: Self.self),
            decision: Decision(cRaw: c.decision.rawValue),
            detailsJSON: try CRead.string(c.details_json, in: Self.self),
            kind: AuditKind(cRaw: c.kind.rawValue),
            seq: c.seq,
            hash: CRead.bytes(c.hash)
        )
    }

    func fill(_ c: inout Lockbox__V1__AuditRecord, _ arena: Arena) {
        c.id = id
        c.time_ms = timeMs
        c.tenant_id = arena.string(tenantID)
        c.actor_id = arena.string(actorID)
        c.actor_display = arena.string(actorDisplay)
        c.actor_ip = arena.string(actorIP)
        c.activity = arena.string(activity)
        c.item = arena.string(item)
        c.decision = .init(rawValue: decision.cRaw)
        c.details_json = arena.string(detailsJSON)
        c.kind = .init(rawValue: kind.cRaw)
        c.seq = seq
        c.hash = arena.bytes(hash)
    }
}

public struct RoleAssignment: ProtoMessage {
    public var principalID: String
    public var role: Role
    /// "" for provider roles.
    public var tenantID: String
    public var assignedBy: String
    public var assignedAtMs: Int64

    public init(
        principalID: String = "",
        role: Role = Role(rawValue: 0),
        tenantID: String = "",
        assignedBy: String = "",
        assignedAtMs: Int64 = 0
    ) {
        self.principalID = principalID
        self.role = role
        self.tenantID = tenantID
        self.assignedBy = assignedBy
        self.assignedAtMs = assignedAtMs
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension RoleAssignment: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__RoleAssignment>) {
        lockbox__v1__role_assignment__init(message)
    }

    init(c: Lockbox__V1__RoleAssignment) throws(ProtoDecodeError) {
        self.init(
            principalID: try CRead.string(c.principal_id, in: Self.self),
            role: Role(cRaw: c.role.rawValue),
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            assignedBy: try CRead.string(c.assigned_by, in: Self.self),
            assignedAtMs: c.assigned_at_ms
        )
    }

    func fill(_ c: inout Lockbox__V1__RoleAssignment, _ arena: Arena) {
        c.principal_id = arena.string(principalID)
        c.role = .init(rawValue: role.cRaw)
        c.tenant_id = arena.string(tenantID)
        c.assigned_by = arena.string(assignedBy)
        c.assigned_at_ms = assignedAtMs
    }
}

public struct TenantSettings: ProtoMessage {
    public var tenantID: String
    public var lockboxEnabled: Bool
    /// Customer approval window in seconds; 0 in a Set call means "keep".
    public var approvalWindowSeconds: Int64
    /// Tenant cap on requested durations, in seconds; 0 in a Set call means "keep".
    public var maxAccessDurationSeconds: Int64

    public init(
        tenantID: String = "",
        lockboxEnabled: Bool = false,
        approvalWindowSeconds: Int64 = 0,
        maxAccessDurationSeconds: Int64 = 0
    ) {
        self.tenantID = tenantID
        self.lockboxEnabled = lockboxEnabled
        self.approvalWindowSeconds = approvalWindowSeconds
        self.maxAccessDurationSeconds = maxAccessDurationSeconds
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension TenantSettings: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__TenantSettings>) {
        lockbox__v1__tenant_settings__init(message)
    }

    init(c: Lockbox__V1__TenantSettings) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            lockboxEnabled: Bool(protobuf: c.lockbox_enabled),
            approvalWindowSeconds: c.approval_window_seconds,
            maxAccessDurationSeconds: c.max_access_duration_seconds
        )
    }

    func fill(_ c: inout Lockbox__V1__TenantSettings, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.lockbox_enabled = lockboxEnabled.protobuf
        c.approval_window_seconds = approvalWindowSeconds
        c.max_access_duration_seconds = maxAccessDurationSeconds
    }
}

public struct Tenant: ProtoMessage {
    public var id: String
    public var displayName: String
    public var settings: TenantSettings?
    public var createdAtMs: Int64

    public init(
        id: String = "",
        displayName: String = "",
        settings: TenantSettings? = nil,
        createdAtMs: Int64 = 0
    ) {
        self.id = id
        self.displayName = displayName
        self.settings = settings
        self.createdAtMs = createdAtMs
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension Tenant: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__Tenant>) { lockbox__v1__tenant__init(message) }

    init(c: Lockbox__V1__Tenant) throws(ProtoDecodeError) {
        self.init(
            id: try CRead.string(c.id, in: Self.self),
            displayName: try CRead.string(c.display_name, in: Self.self),
            settings: try CRead.message(c.settings),
            createdAtMs: c.created_at_ms
        )
    }

    func fill(_ c: inout Lockbox__V1__Tenant, _ arena: Arena) {
        c.id = arena.string(id)
        c.display_name = arena.string(displayName)
        c.settings = arena.optionalMessage(settings)
        c.created_at_ms = createdAtMs
    }
}

public struct Principal: ProtoMessage {
    public var id: String
    public var displayName: String
    /// "" for provider principals.
    public var tenantID: String
    public var roles: [RoleAssignment]
    public var createdAtMs: Int64
    /// 0 when active. A suspended principal cannot authenticate, and an operator's
    /// checks are denied.
    public var suspendedAtMs: Int64
    /// Where Lockbox emails the principal; "" when it has no address.
    public var email: String

    public init(
        id: String = "",
        displayName: String = "",
        tenantID: String = "",
        roles: [RoleAssignment] = [],
        createdAtMs: Int64 = 0,
        suspendedAtMs: Int64 = 0,
        email: String = ""
    ) {
        self.email = email
        self.id = id
        self.displayName = displayName
        self.tenantID = tenantID
        self.roles = roles
        self.createdAtMs = createdAtMs
        self.suspendedAtMs = suspendedAtMs
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension Principal: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__Principal>) { lockbox__v1__principal__init(message) }

    init(c: Lockbox__V1__Principal) throws(ProtoDecodeError) {
        self.init(
            id: try CRead.string(c.id, in: Self.self),
            displayName: try CRead.string(c.display_name, in: Self.self),
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            roles: try CRead.repeated(c.n_roles, c.roles),
            createdAtMs: c.created_at_ms,
            suspendedAtMs: c.suspended_at_ms,
            email: try CRead.string(c.email, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__Principal, _ arena: Arena) {
        c.id = arena.string(id)
        c.display_name = arena.string(displayName)
        c.tenant_id = arena.string(tenantID)
        (c.n_roles, c.roles) = arena.repeated(roles)
        c.created_at_ms = createdAtMs
        c.suspended_at_ms = suspendedAtMs
        c.email = arena.string(email)
    }
}

/// Token metadata. The secret itself appears only in IssuedToken, once.
public struct Token: ProtoMessage {
    public var id: String
    public var principalID: String
    public var createdAtMs: Int64
    /// 0 means no expiry.
    public var expiresAtMs: Int64
    public var revoked: Bool

    public init(
        id: String = "",
        principalID: String = "",
        createdAtMs: Int64 = 0,
        expiresAtMs: Int64 = 0,
        revoked: Bool = false
    ) {
        self.id = id
        self.principalID = principalID
        self.createdAtMs = createdAtMs
        self.expiresAtMs = expiresAtMs
        self.revoked = revoked
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension Token: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__Token>) { lockbox__v1__token__init(message) }

    init(c: Lockbox__V1__Token) throws(ProtoDecodeError) {
        self.init(
            id: try CRead.string(c.id, in: Self.self),
            principalID: try CRead.string(c.principal_id, in: Self.self),
            createdAtMs: c.created_at_ms,
            expiresAtMs: c.expires_at_ms,
            revoked: Bool(protobuf: c.revoked)
        )
    }

    func fill(_ c: inout Lockbox__V1__Token, _ arena: Arena) {
        c.id = arena.string(id)
        c.principal_id = arena.string(principalID)
        c.created_at_ms = createdAtMs
        c.expires_at_ms = expiresAtMs
        c.revoked = revoked.protobuf
    }
}

public struct IssuedToken: ProtoMessage {
    public var token: Token?
    /// The bearer secret. Shown once; the server keeps only its hash.
    public var secret: String

    public init(
        token: Token? = nil,
        secret: String = ""
    ) {
        self.token = token
        self.secret = secret
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension IssuedToken: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__IssuedToken>) {
        lockbox__v1__issued_token__init(message)
    }

    init(c: Lockbox__V1__IssuedToken) throws(ProtoDecodeError) {
        self.init(
            token: try CRead.message(c.token),
            secret: try CRead.string(c.secret, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__IssuedToken, _ arena: Arena) {
        c.token = arena.optionalMessage(token)
        c.secret = arena.string(secret)
    }
}

public struct PreapprovedOperation: ProtoMessage {
    public var service: Service
    public var operation: String
    public var description: String

    public init(
        service: Service = Service(rawValue: 0),
        operation: String = "",
        description: String = ""
    ) {
        self.service = service
        self.operation = operation
        self.description = description
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension PreapprovedOperation: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__PreapprovedOperation>) {
        lockbox__v1__preapproved_operation__init(message)
    }

    init(c: Lockbox__V1__PreapprovedOperation) throws(ProtoDecodeError) {
        self.init(
            service: Service(cRaw: c.service.rawValue),
            operation: try CRead.string(c.operation, in: Self.self),
            description: try CRead.string(c.description, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__PreapprovedOperation, _ arena: Arena) {
        c.service = .init(rawValue: service.cRaw)
        c.operation = arena.string(operation)
        c.description = arena.string(description)
    }
}

/// A single-use code with which a tenant's first global admin enrolls. The
/// provider sees it once, when it is issued; the server keeps only its hash.
public struct EnrollmentCode: ProtoMessage {
    public var tenantID: String
    public var code: String
    public var expiresAtMs: Int64

    public init(
        tenantID: String = "",
        code: String = "",
        expiresAtMs: Int64 = 0
    ) {
        self.tenantID = tenantID
        self.code = code
        self.expiresAtMs = expiresAtMs
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension EnrollmentCode: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__EnrollmentCode>) {
        lockbox__v1__enrollment_code__init(message)
    }

    init(c: Lockbox__V1__EnrollmentCode) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            code: try CRead.string(c.code, in: Self.self),
            expiresAtMs: c.expires_at_ms
        )
    }

    func fill(_ c: inout Lockbox__V1__EnrollmentCode, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.code = arena.string(code)
        c.expires_at_ms = expiresAtMs
    }
}

/// A wrapper that gives an int64 presence: absent (NULL) means "not sent".
public struct Int64Value: ProtoMessage {
    public var value: Int64

    public init(
        value: Int64 = 0
    ) {
        self.value = value
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension Int64Value: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__Int64Value>) {
        lockbox__v1__int64_value__init(message)
    }

    init(c: Lockbox__V1__Int64Value) throws(ProtoDecodeError) {
        self.init(
            value: c.value
        )
    }

    func fill(_ c: inout Lockbox__V1__Int64Value, _ arena: Arena) {
        c.value = value
    }
}
