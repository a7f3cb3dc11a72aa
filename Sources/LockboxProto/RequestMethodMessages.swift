import CLockboxProto

// Requests and responses of the health and access-request methods.

public struct PingRequest: ProtoMessage {

    public init() {}

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension PingRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__PingRequest>) {
        lockbox__v1__ping_request__init(message)
    }

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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__PingResponse>) {
        lockbox__v1__ping_response__init(message)
    }

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
    /// A scheduled start, up to 7 days ahead; 0 starts the access at approval.
    public var startsAtMs: Int64
    /// An extension: the caller's approved request whose grant this one continues.
    public var extendsRequestID: String
    /// The operations needed, a subset of those pre-approved; empty asks for all of them.
    public var operations: [String]
    /// Why, in a word; a tenant's policy may accept only some categories.
    public var category: JustificationCategory

    public init(
        tenantID: String = "",
        service: Service = Service(rawValue: 0),
        ticketNumber: String = "",
        justification: String = "",
        requestedDurationSeconds: Int64 = 0,
        startsAtMs: Int64 = 0,
        extendsRequestID: String = "",
        operations: [String] = [],
        category: JustificationCategory = .unspecified
    ) {
        self.category = category
        self.operations = operations
        self.startsAtMs = startsAtMs
        self.extendsRequestID = extendsRequestID
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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CreateAccessRequestRequest>) {
        lockbox__v1__create_access_request_request__init(message)
    }

    init(c: Lockbox__V1__CreateAccessRequestRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            service: Service(cRaw: c.service.rawValue),
            ticketNumber: try CRead.string(c.ticket_number, in: Self.self),
            justification: try CRead.string(c.justification, in: Self.self),
            requestedDurationSeconds: c.requested_duration_seconds,
            startsAtMs: c.starts_at_ms,
            extendsRequestID: try CRead.string(c.extends_request_id, in: Self.self),
            operations: try CRead.strings(c.n_operations, c.operations, in: Self.self),
            category: JustificationCategory(cRaw: c.category.rawValue)
        )
    }

    func fill(_ c: inout Lockbox__V1__CreateAccessRequestRequest, _ arena: Arena) {
        (c.n_operations, c.operations) = arena.strings(operations)
        c.category = .init(rawValue: category.cRaw)
        c.starts_at_ms = startsAtMs
        c.extends_request_id = arena.string(extendsRequestID)
        c.tenant_id = arena.string(tenantID)
        c.service = .init(rawValue: service.cRaw)
        c.ticket_number = arena.string(ticketNumber)
        c.justification = arena.string(justification)
        c.requested_duration_seconds = requestedDurationSeconds
    }
}

public struct GetAccessRequestRequest: ProtoMessage {
    public var requestID: String
    /// The key the caller will sign its decision with: the response then carries the
    /// statements to sign, when the caller may decide now.
    public var signingKeyID: String

    public init(
        requestID: String = "",
        signingKeyID: String = ""
    ) {
        self.requestID = requestID
        self.signingKeyID = signingKeyID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension GetAccessRequestRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__GetAccessRequestRequest>) {
        lockbox__v1__get_access_request_request__init(message)
    }

    init(c: Lockbox__V1__GetAccessRequestRequest) throws(ProtoDecodeError) {
        self.init(
            requestID: try CRead.string(c.request_id, in: Self.self),
            signingKeyID: try CRead.string(c.signing_key_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__GetAccessRequestRequest, _ arena: Arena) {
        c.request_id = arena.string(requestID)
        c.signing_key_id = arena.string(signingKeyID)
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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListAccessRequestsRequest>) {
        lockbox__v1__list_access_requests_request__init(message)
    }

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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListAccessRequestsResponse>) {
        lockbox__v1__list_access_requests_response__init(message)
    }

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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CancelAccessRequestRequest>) {
        lockbox__v1__cancel_access_request_request__init(message)
    }

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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__RevokeAccessRequest>) {
        lockbox__v1__revoke_access_request__init(message)
    }

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
    /// Resume after this event id (the last one seen); 0 starts at the present.
    public var since: Int64

    public init(
        tenantID: String = "",
        since: Int64 = 0
    ) {
        self.tenantID = tenantID
        self.since = since
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension WatchAccessRequestsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__WatchAccessRequestsRequest>) {
        lockbox__v1__watch_access_requests_request__init(message)
    }

    init(c: Lockbox__V1__WatchAccessRequestsRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            since: c.since
        )
    }

    func fill(_ c: inout Lockbox__V1__WatchAccessRequestsRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.since = since
    }
}

public struct AccessRequestEvent: ProtoMessage {
    public var request: AccessRequest?
    /// The audit activity that caused the event.
    public var activity: String
    /// Sent once, first, with no request: from here on every committed change is delivered.
    public var live: Bool
    /// The event's place in the feed; on the live marker, the place the watch starts after.
    public var eventID: Int64
    /// The request's status after this change.
    public var status: RequestStatus
    public var occurredAtMs: Int64

    public init(
        request: AccessRequest? = nil,
        activity: String = "",
        live: Bool = false,
        eventID: Int64 = 0,
        status: RequestStatus = RequestStatus(rawValue: 0),
        occurredAtMs: Int64 = 0
    ) {
        self.request = request
        self.activity = activity
        self.live = live
        self.eventID = eventID
        self.status = status
        self.occurredAtMs = occurredAtMs
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension AccessRequestEvent: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__AccessRequestEvent>) {
        lockbox__v1__access_request_event__init(message)
    }

    init(c: Lockbox__V1__AccessRequestEvent) throws(ProtoDecodeError) {
        self.init(
            request: try CRead.message(c.request),
            activity: try CRead.string(c.activity, in: Self.self),
            live: Bool(protobuf: c.live),
            eventID: c.event_id,
            status: RequestStatus(cRaw: c.status.rawValue),
            occurredAtMs: c.occurred_at_ms
        )
    }

    func fill(_ c: inout Lockbox__V1__AccessRequestEvent, _ arena: Arena) {
        c.request = arena.optionalMessage(request)
        c.activity = arena.string(activity)
        c.live = live.protobuf
        c.event_id = eventID
        c.status = .init(rawValue: status.cRaw)
        c.occurred_at_ms = occurredAtMs
    }
}
