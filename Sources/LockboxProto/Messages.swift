import CLockboxProto

/// The header of one call, sent by the client.
public struct RequestHeader: ProtoMessage {
    /// Chosen by the client, unique among the calls in flight on its connection.
    /// Must be non-zero: 0 is reserved for connection-level frames.
    public var callID: UInt64
    /// Full method name, such as "lockbox.v1.Lockbox/Ping".
    public var method: String
    /// Relative deadline in milliseconds, measured by the server from the moment
    /// the frame is read. 0 means none given: the server then applies its default
    /// to unary calls (60 s unless configured) and no deadline to streaming calls.
    /// The server never reads the client's clock.
    public var timeoutMs: UInt32
    /// Bearer token. "" means none (only Ping accepts that).
    public var authToken: String
    /// Idempotency key for create calls. "" means none.
    public var idempotencyKey: String

    public init(
        callID: UInt64 = 0,
        method: String = "",
        timeoutMs: UInt32 = 0,
        authToken: String = "",
        idempotencyKey: String = ""
    ) {
        self.callID = callID
        self.method = method
        self.timeoutMs = timeoutMs
        self.authToken = authToken
        self.idempotencyKey = idempotencyKey
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension RequestHeader: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__RequestHeader>) { lockbox__v1__request_header__init(message) }

    init(c: Lockbox__V1__RequestHeader) throws(ProtoDecodeError) {
        self.init(
            callID: c.call_id,
            method: try CRead.string(c.method, in: Self.self),
            timeoutMs: c.timeout_ms,
            authToken: try CRead.string(c.auth_token, in: Self.self),
            idempotencyKey: try CRead.string(c.idempotency_key, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__RequestHeader, _ arena: Arena) {
        c.call_id = callID
        c.method = arena.string(method)
        c.timeout_ms = timeoutMs
        c.auth_token = arena.string(authToken)
        c.idempotency_key = arena.string(idempotencyKey)
    }
}

/// Client -> server frame: one call.
public struct RequestFrame: ProtoMessage {
    public var header: RequestHeader?
    /// The encoded request message of the method.
    public var payload: [UInt8]

    public init(
        header: RequestHeader? = nil,
        payload: [UInt8] = []
    ) {
        self.header = header
        self.payload = payload
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension RequestFrame: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__RequestFrame>) { lockbox__v1__request_frame__init(message) }

    init(c: Lockbox__V1__RequestFrame) throws(ProtoDecodeError) {
        self.init(
            header: try CRead.message(c.header),
            payload: CRead.bytes(c.payload)
        )
    }

    func fill(_ c: inout Lockbox__V1__RequestFrame, _ arena: Arena) {
        c.header = arena.optionalMessage(header)
        c.payload = arena.bytes(payload)
    }
}

public struct Status: ProtoMessage {
    public var code: StatusCode
    /// Human-readable, safe to show to the caller. Never contains internals.
    public var message: String

    public init(
        code: StatusCode = StatusCode(rawValue: 0),
        message: String = ""
    ) {
        self.code = code
        self.message = message
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension Status: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__Status>) { lockbox__v1__status__init(message) }

    init(c: Lockbox__V1__Status) throws(ProtoDecodeError) {
        self.init(
            code: StatusCode(cRaw: c.code.rawValue),
            message: try CRead.string(c.message, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__Status, _ arena: Arena) {
        c.code = .init(rawValue: code.cRaw)
        c.message = arena.string(message)
    }
}

/// Marks the end of a call and carries its status.
public struct StreamEnd: ProtoMessage {
    public var status: Status?

    public init(
        status: Status? = nil
    ) {
        self.status = status
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension StreamEnd: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__StreamEnd>) { lockbox__v1__stream_end__init(message) }

    init(c: Lockbox__V1__StreamEnd) throws(ProtoDecodeError) {
        self.init(
            status: try CRead.message(c.status)
        )
    }

    func fill(_ c: inout Lockbox__V1__StreamEnd, _ arena: Arena) {
        c.status = arena.optionalMessage(status)
    }
}

/// Server -> client frame.
///
/// - Unary call: exactly one frame, with `end` present. When end.status.code is
/// OK, `payload` holds the response message.
/// - Server-streaming call: zero or more frames with `end` absent, each with
/// one response message in `payload`, then one frame with `end` present and
/// an empty payload.
/// - call_id 0 is a connection-level frame: `end.status` says why (for example
/// RESOURCE_EXHAUSTED before the server closes the connection, or
/// INVALID_ARGUMENT for a frame whose envelope could not be decoded), and
/// `goaway` is true when the server is draining: it accepts no new calls on
/// this connection but finishes the ones in flight.
public struct ResponseFrame: ProtoMessage {
    public var callID: UInt64
    public var payload: [UInt8]
    /// Present (non-NULL) on the last frame of a call.
    public var end: StreamEnd?
    public var goaway: Bool

    public init(
        callID: UInt64 = 0,
        payload: [UInt8] = [],
        end: StreamEnd? = nil,
        goaway: Bool = false
    ) {
        self.callID = callID
        self.payload = payload
        self.end = end
        self.goaway = goaway
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ResponseFrame: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ResponseFrame>) { lockbox__v1__response_frame__init(message) }

    init(c: Lockbox__V1__ResponseFrame) throws(ProtoDecodeError) {
        self.init(
            callID: c.call_id,
            payload: CRead.bytes(c.payload),
            end: try CRead.message(c.end),
            goaway: Bool(protobuf: c.goaway)
        )
    }

    func fill(_ c: inout Lockbox__V1__ResponseFrame, _ arena: Arena) {
        c.call_id = callID
        c.payload = arena.bytes(payload)
        c.end = arena.optionalMessage(end)
        c.goaway = goaway.protobuf
    }
}

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
        lastOperationAtMs: Int64 = 0
    ) {
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
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension AccessRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__AccessRequest>) { lockbox__v1__access_request__init(message) }

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
            lastOperationAtMs: c.last_operation_at_ms
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
        c.operations_performed = operationsPerformed
        c.last_operation_at_ms = lastOperationAtMs
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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__InternalDecision>) { lockbox__v1__internal_decision__init(message) }

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

    public init(
        requestID: String = "",
        decision: Decision = Decision(rawValue: 0),
        comment: String = "",
        approvedDurationSeconds: Int64 = 0,
        decidedBy: String = "",
        decidedAtMs: Int64 = 0
    ) {
        self.requestID = requestID
        self.decision = decision
        self.comment = comment
        self.approvedDurationSeconds = approvedDurationSeconds
        self.decidedBy = decidedBy
        self.decidedAtMs = decidedAtMs
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CustomerDecision: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CustomerDecision>) { lockbox__v1__customer_decision__init(message) }

    init(c: Lockbox__V1__CustomerDecision) throws(ProtoDecodeError) {
        self.init(
            requestID: try CRead.string(c.request_id, in: Self.self),
            decision: Decision(cRaw: c.decision.rawValue),
            comment: try CRead.string(c.comment, in: Self.self),
            approvedDurationSeconds: c.approved_duration_seconds,
            decidedBy: try CRead.string(c.decided_by, in: Self.self),
            decidedAtMs: c.decided_at_ms
        )
    }

    func fill(_ c: inout Lockbox__V1__CustomerDecision, _ arena: Arena) {
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

    public init(
        requestID: String = "",
        operatorID: String = "",
        tenantID: String = "",
        service: Service = Service(rawValue: 0),
        startsAtMs: Int64 = 0,
        endsAtMs: Int64 = 0,
        active: Bool = false,
        secondsLeft: Int64 = 0
    ) {
        self.requestID = requestID
        self.operatorID = operatorID
        self.tenantID = tenantID
        self.service = service
        self.startsAtMs = startsAtMs
        self.endsAtMs = endsAtMs
        self.active = active
        self.secondsLeft = secondsLeft
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
            secondsLeft: c.seconds_left
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
        detailsJSON: String = ""
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
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension AuditRecord: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__AuditRecord>) { lockbox__v1__audit_record__init(message) }

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
            detailsJSON: try CRead.string(c.details_json, in: Self.self)
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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__RoleAssignment>) { lockbox__v1__role_assignment__init(message) }

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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__TenantSettings>) { lockbox__v1__tenant_settings__init(message) }

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

    public init(
        id: String = "",
        displayName: String = "",
        tenantID: String = "",
        roles: [RoleAssignment] = [],
        createdAtMs: Int64 = 0
    ) {
        self.id = id
        self.displayName = displayName
        self.tenantID = tenantID
        self.roles = roles
        self.createdAtMs = createdAtMs
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
            createdAtMs: c.created_at_ms
        )
    }

    func fill(_ c: inout Lockbox__V1__Principal, _ arena: Arena) {
        c.id = arena.string(id)
        c.display_name = arena.string(displayName)
        c.tenant_id = arena.string(tenantID)
        (c.n_roles, c.roles) = arena.repeated(roles)
        c.created_at_ms = createdAtMs
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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__IssuedToken>) { lockbox__v1__issued_token__init(message) }

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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__PreapprovedOperation>) { lockbox__v1__preapproved_operation__init(message) }

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

public struct PingRequest: ProtoMessage {

    public init() {}

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension PingRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__PingRequest>) { lockbox__v1__ping_request__init(message) }

    init(c: Lockbox__V1__PingRequest) {}

    func fill(_ c: inout Lockbox__V1__PingRequest, _ arena: Arena) {}
}

public struct PingResponse: ProtoMessage {
    public var version: String
    public var serverTimeMs: Int64

    public init(
        version: String = "",
        serverTimeMs: Int64 = 0
    ) {
        self.version = version
        self.serverTimeMs = serverTimeMs
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension PingResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__PingResponse>) { lockbox__v1__ping_response__init(message) }

    init(c: Lockbox__V1__PingResponse) throws(ProtoDecodeError) {
        self.init(
            version: try CRead.string(c.version, in: Self.self),
            serverTimeMs: c.server_time_ms
        )
    }

    func fill(_ c: inout Lockbox__V1__PingResponse, _ arena: Arena) {
        c.version = arena.string(version)
        c.server_time_ms = serverTimeMs
    }
}

public struct CreateAccessRequestRequest: ProtoMessage {
    public var tenantID: String
    public var service: Service
    public var ticketNumber: String
    public var justification: String
    public var requestedDurationSeconds: Int64

    public init(
        tenantID: String = "",
        service: Service = Service(rawValue: 0),
        ticketNumber: String = "",
        justification: String = "",
        requestedDurationSeconds: Int64 = 0
    ) {
        self.tenantID = tenantID
        self.service = service
        self.ticketNumber = ticketNumber
        self.justification = justification
        self.requestedDurationSeconds = requestedDurationSeconds
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CreateAccessRequestRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CreateAccessRequestRequest>) { lockbox__v1__create_access_request_request__init(message) }

    init(c: Lockbox__V1__CreateAccessRequestRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            service: Service(cRaw: c.service.rawValue),
            ticketNumber: try CRead.string(c.ticket_number, in: Self.self),
            justification: try CRead.string(c.justification, in: Self.self),
            requestedDurationSeconds: c.requested_duration_seconds
        )
    }

    func fill(_ c: inout Lockbox__V1__CreateAccessRequestRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.service = .init(rawValue: service.cRaw)
        c.ticket_number = arena.string(ticketNumber)
        c.justification = arena.string(justification)
        c.requested_duration_seconds = requestedDurationSeconds
    }
}

public struct GetAccessRequestRequest: ProtoMessage {
    public var requestID: String

    public init(
        requestID: String = ""
    ) {
        self.requestID = requestID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension GetAccessRequestRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__GetAccessRequestRequest>) { lockbox__v1__get_access_request_request__init(message) }

    init(c: Lockbox__V1__GetAccessRequestRequest) throws(ProtoDecodeError) {
        self.init(
            requestID: try CRead.string(c.request_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__GetAccessRequestRequest, _ arena: Arena) {
        c.request_id = arena.string(requestID)
    }
}

public struct ListAccessRequestsRequest: ProtoMessage {
    /// Required for tenant principals (must be their own tenant); optional for
    /// provider principals ("" = all tenants they may see).
    public var tenantID: String
    /// REQUEST_STATUS_UNSPECIFIED = any.
    public var status: RequestStatus
    /// 0 = no lower bound.
    public var createdAfterMs: Int64
    /// SERVICE_UNSPECIFIED = any.
    public var service: Service
    /// "" = any.
    public var requestID: String
    /// 0 = server default; capped by the server.
    public var pageSize: UInt32
    /// Opaque; "" for the first page.
    public var pageToken: String

    public init(
        tenantID: String = "",
        status: RequestStatus = RequestStatus(rawValue: 0),
        createdAfterMs: Int64 = 0,
        service: Service = Service(rawValue: 0),
        requestID: String = "",
        pageSize: UInt32 = 0,
        pageToken: String = ""
    ) {
        self.tenantID = tenantID
        self.status = status
        self.createdAfterMs = createdAfterMs
        self.service = service
        self.requestID = requestID
        self.pageSize = pageSize
        self.pageToken = pageToken
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListAccessRequestsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListAccessRequestsRequest>) { lockbox__v1__list_access_requests_request__init(message) }

    init(c: Lockbox__V1__ListAccessRequestsRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            status: RequestStatus(cRaw: c.status.rawValue),
            createdAfterMs: c.created_after_ms,
            service: Service(cRaw: c.service.rawValue),
            requestID: try CRead.string(c.request_id, in: Self.self),
            pageSize: c.page_size,
            pageToken: try CRead.string(c.page_token, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListAccessRequestsRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.status = .init(rawValue: status.cRaw)
        c.created_after_ms = createdAfterMs
        c.service = .init(rawValue: service.cRaw)
        c.request_id = arena.string(requestID)
        c.page_size = pageSize
        c.page_token = arena.string(pageToken)
    }
}

public struct ListAccessRequestsResponse: ProtoMessage {
    public var requests: [AccessRequest]
    /// "" when there are no more pages.
    public var nextPageToken: String

    public init(
        requests: [AccessRequest] = [],
        nextPageToken: String = ""
    ) {
        self.requests = requests
        self.nextPageToken = nextPageToken
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListAccessRequestsResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListAccessRequestsResponse>) { lockbox__v1__list_access_requests_response__init(message) }

    init(c: Lockbox__V1__ListAccessRequestsResponse) throws(ProtoDecodeError) {
        self.init(
            requests: try CRead.repeated(c.n_requests, c.requests),
            nextPageToken: try CRead.string(c.next_page_token, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListAccessRequestsResponse, _ arena: Arena) {
        (c.n_requests, c.requests) = arena.repeated(requests)
        c.next_page_token = arena.string(nextPageToken)
    }
}

public struct CancelAccessRequestRequest: ProtoMessage {
    public var requestID: String
    public var reason: String

    public init(
        requestID: String = "",
        reason: String = ""
    ) {
        self.requestID = requestID
        self.reason = reason
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CancelAccessRequestRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CancelAccessRequestRequest>) { lockbox__v1__cancel_access_request_request__init(message) }

    init(c: Lockbox__V1__CancelAccessRequestRequest) throws(ProtoDecodeError) {
        self.init(
            requestID: try CRead.string(c.request_id, in: Self.self),
            reason: try CRead.string(c.reason, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__CancelAccessRequestRequest, _ arena: Arena) {
        c.request_id = arena.string(requestID)
        c.reason = arena.string(reason)
    }
}

public struct RevokeAccessRequest: ProtoMessage {
    public var requestID: String
    public var reason: String

    public init(
        requestID: String = "",
        reason: String = ""
    ) {
        self.requestID = requestID
        self.reason = reason
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension RevokeAccessRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__RevokeAccessRequest>) { lockbox__v1__revoke_access_request__init(message) }

    init(c: Lockbox__V1__RevokeAccessRequest) throws(ProtoDecodeError) {
        self.init(
            requestID: try CRead.string(c.request_id, in: Self.self),
            reason: try CRead.string(c.reason, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__RevokeAccessRequest, _ arena: Arena) {
        c.request_id = arena.string(requestID)
        c.reason = arena.string(reason)
    }
}

public struct WatchAccessRequestsRequest: ProtoMessage {
    /// Required for tenant principals.
    public var tenantID: String

    public init(
        tenantID: String = ""
    ) {
        self.tenantID = tenantID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension WatchAccessRequestsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__WatchAccessRequestsRequest>) { lockbox__v1__watch_access_requests_request__init(message) }

    init(c: Lockbox__V1__WatchAccessRequestsRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__WatchAccessRequestsRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
    }
}

public struct AccessRequestEvent: ProtoMessage {
    public var request: AccessRequest?
    /// The audit activity that caused the event.
    public var activity: String

    public init(
        request: AccessRequest? = nil,
        activity: String = ""
    ) {
        self.request = request
        self.activity = activity
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension AccessRequestEvent: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__AccessRequestEvent>) { lockbox__v1__access_request_event__init(message) }

    init(c: Lockbox__V1__AccessRequestEvent) throws(ProtoDecodeError) {
        self.init(
            request: try CRead.message(c.request),
            activity: try CRead.string(c.activity, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__AccessRequestEvent, _ arena: Arena) {
        c.request = arena.optionalMessage(request)
        c.activity = arena.string(activity)
    }
}

public struct CheckAccessRequest: ProtoMessage {
    public var tenantID: String
    public var service: Service
    public var operatorID: String
    public var operation: String
    /// The operator's client IP as seen by the calling service.
    public var clientIP: String

    public init(
        tenantID: String = "",
        service: Service = Service(rawValue: 0),
        operatorID: String = "",
        operation: String = "",
        clientIP: String = ""
    ) {
        self.tenantID = tenantID
        self.service = service
        self.operatorID = operatorID
        self.operation = operation
        self.clientIP = clientIP
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CheckAccessRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CheckAccessRequest>) { lockbox__v1__check_access_request__init(message) }

    init(c: Lockbox__V1__CheckAccessRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            service: Service(cRaw: c.service.rawValue),
            operatorID: try CRead.string(c.operator_id, in: Self.self),
            operation: try CRead.string(c.operation, in: Self.self),
            clientIP: try CRead.string(c.client_ip, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__CheckAccessRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.service = .init(rawValue: service.cRaw)
        c.operator_id = arena.string(operatorID)
        c.operation = arena.string(operation)
        c.client_ip = arena.string(clientIP)
    }
}

public struct CheckAccessResponse: ProtoMessage {
    public var allowed: Bool
    public var reason: AccessDenyReason
    /// Set when allowed.
    public var requestID: String
    public var grantEndsAtMs: Int64

    public init(
        allowed: Bool = false,
        reason: AccessDenyReason = AccessDenyReason(rawValue: 0),
        requestID: String = "",
        grantEndsAtMs: Int64 = 0
    ) {
        self.allowed = allowed
        self.reason = reason
        self.requestID = requestID
        self.grantEndsAtMs = grantEndsAtMs
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CheckAccessResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CheckAccessResponse>) { lockbox__v1__check_access_response__init(message) }

    init(c: Lockbox__V1__CheckAccessResponse) throws(ProtoDecodeError) {
        self.init(
            allowed: Bool(protobuf: c.allowed),
            reason: AccessDenyReason(cRaw: c.reason.rawValue),
            requestID: try CRead.string(c.request_id, in: Self.self),
            grantEndsAtMs: c.grant_ends_at_ms
        )
    }

    func fill(_ c: inout Lockbox__V1__CheckAccessResponse, _ arena: Arena) {
        c.allowed = allowed.protobuf
        c.reason = .init(rawValue: reason.cRaw)
        c.request_id = arena.string(requestID)
        c.grant_ends_at_ms = grantEndsAtMs
    }
}

public struct ListGrantsRequest: ProtoMessage {
    /// "" = the caller's own grants (operators); a tenant id = active grants on
    /// that tenant's data (tenant principals, auditors).
    public var tenantID: String
    public var operatorID: String

    public init(
        tenantID: String = "",
        operatorID: String = ""
    ) {
        self.tenantID = tenantID
        self.operatorID = operatorID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListGrantsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListGrantsRequest>) { lockbox__v1__list_grants_request__init(message) }

    init(c: Lockbox__V1__ListGrantsRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            operatorID: try CRead.string(c.operator_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListGrantsRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.operator_id = arena.string(operatorID)
    }
}

public struct ListGrantsResponse: ProtoMessage {
    public var grants: [Grant]

    public init(
        grants: [Grant] = []
    ) {
        self.grants = grants
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListGrantsResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListGrantsResponse>) { lockbox__v1__list_grants_response__init(message) }

    init(c: Lockbox__V1__ListGrantsResponse) throws(ProtoDecodeError) {
        self.init(
            grants: try CRead.repeated(c.n_grants, c.grants)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListGrantsResponse, _ arena: Arena) {
        (c.n_grants, c.grants) = arena.repeated(grants)
    }
}

public struct CreateTenantRequest: ProtoMessage {
    public var tenantID: String
    public var displayName: String
    /// The tenant's first global admin.
    public var adminDisplayName: String

    public init(
        tenantID: String = "",
        displayName: String = "",
        adminDisplayName: String = ""
    ) {
        self.tenantID = tenantID
        self.displayName = displayName
        self.adminDisplayName = adminDisplayName
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CreateTenantRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CreateTenantRequest>) { lockbox__v1__create_tenant_request__init(message) }

    init(c: Lockbox__V1__CreateTenantRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            displayName: try CRead.string(c.display_name, in: Self.self),
            adminDisplayName: try CRead.string(c.admin_display_name, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__CreateTenantRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.display_name = arena.string(displayName)
        c.admin_display_name = arena.string(adminDisplayName)
    }
}

public struct CreateTenantResponse: ProtoMessage {
    public var tenant: Tenant?
    public var admin: Principal?
    public var adminToken: IssuedToken?

    public init(
        tenant: Tenant? = nil,
        admin: Principal? = nil,
        adminToken: IssuedToken? = nil
    ) {
        self.tenant = tenant
        self.admin = admin
        self.adminToken = adminToken
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CreateTenantResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CreateTenantResponse>) { lockbox__v1__create_tenant_response__init(message) }

    init(c: Lockbox__V1__CreateTenantResponse) throws(ProtoDecodeError) {
        self.init(
            tenant: try CRead.message(c.tenant),
            admin: try CRead.message(c.admin),
            adminToken: try CRead.message(c.admin_token)
        )
    }

    func fill(_ c: inout Lockbox__V1__CreateTenantResponse, _ arena: Arena) {
        c.tenant = arena.optionalMessage(tenant)
        c.admin = arena.optionalMessage(admin)
        c.admin_token = arena.optionalMessage(adminToken)
    }
}

public struct GetTenantSettingsRequest: ProtoMessage {
    public var tenantID: String

    public init(
        tenantID: String = ""
    ) {
        self.tenantID = tenantID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension GetTenantSettingsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__GetTenantSettingsRequest>) { lockbox__v1__get_tenant_settings_request__init(message) }

    init(c: Lockbox__V1__GetTenantSettingsRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__GetTenantSettingsRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
    }
}

public struct CreatePrincipalRequest: ProtoMessage {
    public var displayName: String
    /// "" creates a provider principal (provider_admin only); otherwise a
    /// principal of that tenant (its global admins only).
    public var tenantID: String
    /// Roles to assign at creation.
    public var roles: [RoleAssignment]

    public init(
        displayName: String = "",
        tenantID: String = "",
        roles: [RoleAssignment] = []
    ) {
        self.displayName = displayName
        self.tenantID = tenantID
        self.roles = roles
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CreatePrincipalRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CreatePrincipalRequest>) { lockbox__v1__create_principal_request__init(message) }

    init(c: Lockbox__V1__CreatePrincipalRequest) throws(ProtoDecodeError) {
        self.init(
            displayName: try CRead.string(c.display_name, in: Self.self),
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            roles: try CRead.repeated(c.n_roles, c.roles)
        )
    }

    func fill(_ c: inout Lockbox__V1__CreatePrincipalRequest, _ arena: Arena) {
        c.display_name = arena.string(displayName)
        c.tenant_id = arena.string(tenantID)
        (c.n_roles, c.roles) = arena.repeated(roles)
    }
}

public struct ListPrincipalsRequest: ProtoMessage {
    public var tenantID: String

    public init(
        tenantID: String = ""
    ) {
        self.tenantID = tenantID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListPrincipalsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListPrincipalsRequest>) { lockbox__v1__list_principals_request__init(message) }

    init(c: Lockbox__V1__ListPrincipalsRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListPrincipalsRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
    }
}

public struct ListPrincipalsResponse: ProtoMessage {
    public var principals: [Principal]

    public init(
        principals: [Principal] = []
    ) {
        self.principals = principals
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListPrincipalsResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListPrincipalsResponse>) { lockbox__v1__list_principals_response__init(message) }

    init(c: Lockbox__V1__ListPrincipalsResponse) throws(ProtoDecodeError) {
        self.init(
            principals: try CRead.repeated(c.n_principals, c.principals)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListPrincipalsResponse, _ arena: Arena) {
        (c.n_principals, c.principals) = arena.repeated(principals)
    }
}

public struct IssueTokenRequest: ProtoMessage {
    public var principalID: String
    /// 0 = no expiry.
    public var ttlSeconds: Int64

    public init(
        principalID: String = "",
        ttlSeconds: Int64 = 0
    ) {
        self.principalID = principalID
        self.ttlSeconds = ttlSeconds
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension IssueTokenRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__IssueTokenRequest>) { lockbox__v1__issue_token_request__init(message) }

    init(c: Lockbox__V1__IssueTokenRequest) throws(ProtoDecodeError) {
        self.init(
            principalID: try CRead.string(c.principal_id, in: Self.self),
            ttlSeconds: c.ttl_seconds
        )
    }

    func fill(_ c: inout Lockbox__V1__IssueTokenRequest, _ arena: Arena) {
        c.principal_id = arena.string(principalID)
        c.ttl_seconds = ttlSeconds
    }
}

public struct RevokeTokenRequest: ProtoMessage {
    public var tokenID: String

    public init(
        tokenID: String = ""
    ) {
        self.tokenID = tokenID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension RevokeTokenRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__RevokeTokenRequest>) { lockbox__v1__revoke_token_request__init(message) }

    init(c: Lockbox__V1__RevokeTokenRequest) throws(ProtoDecodeError) {
        self.init(
            tokenID: try CRead.string(c.token_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__RevokeTokenRequest, _ arena: Arena) {
        c.token_id = arena.string(tokenID)
    }
}

public struct ListRoleAssignmentsRequest: ProtoMessage {
    public var tenantID: String

    public init(
        tenantID: String = ""
    ) {
        self.tenantID = tenantID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListRoleAssignmentsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListRoleAssignmentsRequest>) { lockbox__v1__list_role_assignments_request__init(message) }

    init(c: Lockbox__V1__ListRoleAssignmentsRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListRoleAssignmentsRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
    }
}

public struct ListRoleAssignmentsResponse: ProtoMessage {
    public var assignments: [RoleAssignment]

    public init(
        assignments: [RoleAssignment] = []
    ) {
        self.assignments = assignments
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListRoleAssignmentsResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListRoleAssignmentsResponse>) { lockbox__v1__list_role_assignments_response__init(message) }

    init(c: Lockbox__V1__ListRoleAssignmentsResponse) throws(ProtoDecodeError) {
        self.init(
            assignments: try CRead.repeated(c.n_assignments, c.assignments)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListRoleAssignmentsResponse, _ arena: Arena) {
        (c.n_assignments, c.assignments) = arena.repeated(assignments)
    }
}

public struct SearchAuditRequest: ProtoMessage {
    /// Required for tenant principals; "" = all tenants for auditors.
    public var tenantID: String
    /// Inclusive lower and exclusive upper bound; 0 = unbounded.
    public var fromMs: Int64
    public var toMs: Int64
    /// "" = any.
    public var activity: String
    public var actorID: String
    public var item: String
    /// 0 = server default; capped by the server.
    public var pageSize: UInt32
    /// Opaque; "" for the first page.
    public var pageToken: String

    public init(
        tenantID: String = "",
        fromMs: Int64 = 0,
        toMs: Int64 = 0,
        activity: String = "",
        actorID: String = "",
        item: String = "",
        pageSize: UInt32 = 0,
        pageToken: String = ""
    ) {
        self.tenantID = tenantID
        self.fromMs = fromMs
        self.toMs = toMs
        self.activity = activity
        self.actorID = actorID
        self.item = item
        self.pageSize = pageSize
        self.pageToken = pageToken
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension SearchAuditRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__SearchAuditRequest>) { lockbox__v1__search_audit_request__init(message) }

    init(c: Lockbox__V1__SearchAuditRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            fromMs: c.from_ms,
            toMs: c.to_ms,
            activity: try CRead.string(c.activity, in: Self.self),
            actorID: try CRead.string(c.actor_id, in: Self.self),
            item: try CRead.string(c.item, in: Self.self),
            pageSize: c.page_size,
            pageToken: try CRead.string(c.page_token, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__SearchAuditRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.from_ms = fromMs
        c.to_ms = toMs
        c.activity = arena.string(activity)
        c.actor_id = arena.string(actorID)
        c.item = arena.string(item)
        c.page_size = pageSize
        c.page_token = arena.string(pageToken)
    }
}

public struct SearchAuditResponse: ProtoMessage {
    public var records: [AuditRecord]
    public var nextPageToken: String

    public init(
        records: [AuditRecord] = [],
        nextPageToken: String = ""
    ) {
        self.records = records
        self.nextPageToken = nextPageToken
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension SearchAuditResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__SearchAuditResponse>) { lockbox__v1__search_audit_response__init(message) }

    init(c: Lockbox__V1__SearchAuditResponse) throws(ProtoDecodeError) {
        self.init(
            records: try CRead.repeated(c.n_records, c.records),
            nextPageToken: try CRead.string(c.next_page_token, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__SearchAuditResponse, _ arena: Arena) {
        (c.n_records, c.records) = arena.repeated(records)
        c.next_page_token = arena.string(nextPageToken)
    }
}

public struct ExportAuditRequest: ProtoMessage {
    public var tenantID: String
    public var fromMs: Int64
    public var toMs: Int64
    public var format: AuditExportFormat

    public init(
        tenantID: String = "",
        fromMs: Int64 = 0,
        toMs: Int64 = 0,
        format: AuditExportFormat = AuditExportFormat(rawValue: 0)
    ) {
        self.tenantID = tenantID
        self.fromMs = fromMs
        self.toMs = toMs
        self.format = format
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ExportAuditRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ExportAuditRequest>) { lockbox__v1__export_audit_request__init(message) }

    init(c: Lockbox__V1__ExportAuditRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            fromMs: c.from_ms,
            toMs: c.to_ms,
            format: AuditExportFormat(cRaw: c.format.rawValue)
        )
    }

    func fill(_ c: inout Lockbox__V1__ExportAuditRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.from_ms = fromMs
        c.to_ms = toMs
        c.format = .init(rawValue: format.cRaw)
    }
}

/// One piece of an export stream: whole lines of JSON Lines or CSV.
public struct AuditExportChunk: ProtoMessage {
    public var data: [UInt8]

    public init(
        data: [UInt8] = []
    ) {
        self.data = data
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension AuditExportChunk: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__AuditExportChunk>) { lockbox__v1__audit_export_chunk__init(message) }

    init(c: Lockbox__V1__AuditExportChunk) throws(ProtoDecodeError) {
        self.init(
            data: CRead.bytes(c.data)
        )
    }

    func fill(_ c: inout Lockbox__V1__AuditExportChunk, _ arena: Arena) {
        c.data = arena.bytes(data)
    }
}

public struct ListPreapprovedOperationsRequest: ProtoMessage {
    /// SERVICE_UNSPECIFIED = all services.
    public var service: Service

    public init(
        service: Service = Service(rawValue: 0)
    ) {
        self.service = service
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListPreapprovedOperationsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListPreapprovedOperationsRequest>) { lockbox__v1__list_preapproved_operations_request__init(message) }

    init(c: Lockbox__V1__ListPreapprovedOperationsRequest) throws(ProtoDecodeError) {
        self.init(
            service: Service(cRaw: c.service.rawValue)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListPreapprovedOperationsRequest, _ arena: Arena) {
        c.service = .init(rawValue: service.cRaw)
    }
}

public struct ListPreapprovedOperationsResponse: ProtoMessage {
    public var operations: [PreapprovedOperation]

    public init(
        operations: [PreapprovedOperation] = []
    ) {
        self.operations = operations
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListPreapprovedOperationsResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListPreapprovedOperationsResponse>) { lockbox__v1__list_preapproved_operations_response__init(message) }

    init(c: Lockbox__V1__ListPreapprovedOperationsResponse) throws(ProtoDecodeError) {
        self.init(
            operations: try CRead.repeated(c.n_operations, c.operations)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListPreapprovedOperationsResponse, _ arena: Arena) {
        (c.n_operations, c.operations) = arena.repeated(operations)
    }
}

public struct RemovePreapprovedOperationRequest: ProtoMessage {
    public var service: Service
    public var operation: String

    public init(
        service: Service = Service(rawValue: 0),
        operation: String = ""
    ) {
        self.service = service
        self.operation = operation
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension RemovePreapprovedOperationRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__RemovePreapprovedOperationRequest>) { lockbox__v1__remove_preapproved_operation_request__init(message) }

    init(c: Lockbox__V1__RemovePreapprovedOperationRequest) throws(ProtoDecodeError) {
        self.init(
            service: Service(cRaw: c.service.rawValue),
            operation: try CRead.string(c.operation, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__RemovePreapprovedOperationRequest, _ arena: Arena) {
        c.service = .init(rawValue: service.cRaw)
        c.operation = arena.string(operation)
    }
}

public struct Empty: ProtoMessage {

    public init() {}

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension Empty: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__Empty>) { lockbox__v1__empty__init(message) }

    init(c: Lockbox__V1__Empty) {}

    func fill(_ c: inout Lockbox__V1__Empty, _ arena: Arena) {}
}
