import CLockboxProto

// Requests and responses of the audit methods.

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
    /// AUDIT_KIND_UNSPECIFIED = any.
    public var kind: AuditKind

    public init(
        tenantID: String = "",
        fromMs: Int64 = 0,
        toMs: Int64 = 0,
        activity: String = "",
        actorID: String = "",
        item: String = "",
        pageSize: UInt32 = 0,
        pageToken: String = "",
        kind: AuditKind = AuditKind(rawValue: 0)
    ) {
        self.tenantID = tenantID
        self.fromMs = fromMs
        self.toMs = toMs
        self.activity = activity
        self.actorID = actorID
        self.item = item
        self.pageSize = pageSize
        self.pageToken = pageToken
        self.kind = kind
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension SearchAuditRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__SearchAuditRequest>) {
        lockbox__v1__search_audit_request__init(message)
    }

    init(c: Lockbox__V1__SearchAuditRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            fromMs: c.from_ms,
            toMs: c.to_ms,
            activity: try CRead.string(c.activity, in: Self.self),
            actorID: try CRead.string(c.actor_id, in: Self.self),
            item: try CRead.string(c.item, in: Self.self),
            pageSize: c.page_size,
            pageToken: try CRead.string(c.page_token, in: Self.self),
            kind: AuditKind(cRaw: c.kind.rawValue)
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
        c.kind = .init(rawValue: kind.cRaw)
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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__SearchAuditResponse>) {
        lockbox__v1__search_audit_response__init(message)
    }

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
    /// The whole chain with sequence numbers, hashes and checkpoints, ending with one
    /// signed now: what `lockbox audit verify` checks offline.
    public var includeIntegrity: Bool

    public init(
        tenantID: String = "",
        fromMs: Int64 = 0,
        toMs: Int64 = 0,
        format: AuditExportFormat = AuditExportFormat(rawValue: 0),
        includeIntegrity: Bool = false
    ) {
        self.tenantID = tenantID
        self.fromMs = fromMs
        self.toMs = toMs
        self.format = format
        self.includeIntegrity = includeIntegrity
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ExportAuditRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ExportAuditRequest>) {
        lockbox__v1__export_audit_request__init(message)
    }

    init(c: Lockbox__V1__ExportAuditRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            fromMs: c.from_ms,
            toMs: c.to_ms,
            format: AuditExportFormat(cRaw: c.format.rawValue),
            includeIntegrity: Bool(protobuf: c.include_integrity)
        )
    }

    func fill(_ c: inout Lockbox__V1__ExportAuditRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.from_ms = fromMs
        c.to_ms = toMs
        c.format = .init(rawValue: format.cRaw)
        c.include_integrity = includeIntegrity.protobuf
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
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__AuditExportChunk>) {
        lockbox__v1__audit_export_chunk__init(message)
    }

    init(c: Lockbox__V1__AuditExportChunk) throws(ProtoDecodeError) {
        self.init(
            data: CRead.bytes(c.data)
        )
    }

    func fill(_ c: inout Lockbox__V1__AuditExportChunk, _ arena: Arena) {
        c.data = arena.bytes(data)
    }
}
