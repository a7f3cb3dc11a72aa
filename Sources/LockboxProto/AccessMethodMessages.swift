import CLockboxProto

// Requests and responses of the access and pre-approved operation methods.

public struct CheckAccessRequest: ProtoMessage {
    public var tenantID: String
    public var service: Service
    public var operatorID: String
    public var operation: String
    /// The operator's client IP as seen by the calling service.
    public var clientIP: String
    /// Return, with an allowed answer, the evidence that backs the grant.
    public var includeEvidence: Bool

    public init(
        tenantID: String = "",
        service: Service = Service(rawValue: 0),
        operatorID: String = "",
        operation: String = "",
        clientIP: String = "",
        includeEvidence: Bool = false
    ) {
        self.tenantID = tenantID
        self.service = service
        self.operatorID = operatorID
        self.operation = operation
        self.clientIP = clientIP
        self.includeEvidence = includeEvidence
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CheckAccessRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CheckAccessRequest>) {
        lockbox__v1__check_access_request__init(message)
    }

    init(c: Lockbox__V1__CheckAccessRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            service: Service(cRaw: c.service.rawValue),
            operatorID: try CRead.string(c.operator_id, in: Self.self),
            operation: try CRead.string(c.operation, in: Self.self),
            clientIP: try CRead.string(c.client_ip, in: Self.self),
            includeEvidence: Bool(protobuf: c.include_evidence)
        )
    }

    func fill(_ c: inout Lockbox__V1__CheckAccessRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.service = .init(rawValue: service.cRaw)
        c.operator_id = arena.string(operatorID)
        c.operation = arena.string(operation)
        c.client_ip = arena.string(clientIP)
        c.include_evidence = includeEvidence.protobuf
    }
}

public struct CheckAccessResponse: ProtoMessage {
    public var allowed: Bool
    public var reason: AccessDenyReason
    /// Set when allowed.
    public var requestID: String
    public var grantEndsAtMs: Int64
    /// With `includeEvidence`: the canonical "lockbox/evidence/v1" bytes.
    public var evidence: [UInt8]

    public init(
        allowed: Bool = false,
        reason: AccessDenyReason = AccessDenyReason(rawValue: 0),
        requestID: String = "",
        grantEndsAtMs: Int64 = 0,
        evidence: [UInt8] = []
    ) {
        self.allowed = allowed
        self.reason = reason
        self.requestID = requestID
        self.grantEndsAtMs = grantEndsAtMs
        self.evidence = evidence
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension CheckAccessResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__CheckAccessResponse>) {
        lockbox__v1__check_access_response__init(message)
    }

    init(c: Lockbox__V1__CheckAccessResponse) throws(ProtoDecodeError) {
        self.init(
            allowed: Bool(protobuf: c.allowed),
            reason: AccessDenyReason(cRaw: c.reason.rawValue),
            requestID: try CRead.string(c.request_id, in: Self.self),
            grantEndsAtMs: c.grant_ends_at_ms,
            evidence: CRead.bytes(c.evidence)
        )
    }

    func fill(_ c: inout Lockbox__V1__CheckAccessResponse, _ arena: Arena) {
        c.allowed = allowed.protobuf
        c.reason = .init(rawValue: reason.cRaw)
        c.request_id = arena.string(requestID)
        c.grant_ends_at_ms = grantEndsAtMs
        c.evidence = arena.bytes(evidence)
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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListGrantsRequest>) {
        lockbox__v1__list_grants_request__init(message)
    }

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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListGrantsResponse>) {
        lockbox__v1__list_grants_response__init(message)
    }

    init(c: Lockbox__V1__ListGrantsResponse) throws(ProtoDecodeError) {
        self.init(
            grants: try CRead.repeated(c.n_grants, c.grants)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListGrantsResponse, _ arena: Arena) {
        (c.n_grants, c.grants) = arena.repeated(grants)
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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListPreapprovedOperationsRequest>) {
        lockbox__v1__list_preapproved_operations_request__init(message)
    }

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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListPreapprovedOperationsResponse>) {
        lockbox__v1__list_preapproved_operations_response__init(message)
    }

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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__RemovePreapprovedOperationRequest>) {
        lockbox__v1__remove_preapproved_operation_request__init(message)
    }

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
