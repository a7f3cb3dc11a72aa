import LockboxCore

/// Filters of an audit search; nil and "" match any.
public struct AuditFilter: Sendable, Hashable {
    public var tenantID: String?
    public var kind: AuditKind?
    /// Inclusive lower and exclusive upper bound on the record's time.
    public var fromMs: Int64
    public var toMs: Int64
    public var activity: String?
    public var actorID: String?
    public var item: String?

    public init(
        tenantID: String? = nil,
        kind: AuditKind? = nil,
        fromMs: Int64 = 0,
        toMs: Int64 = .max,
        activity: String? = nil,
        actorID: String? = nil,
        item: String? = nil
    ) {
        self.tenantID = tenantID
        self.kind = kind
        self.fromMs = fromMs
        self.toMs = toMs
        self.activity = activity
        self.actorID = actorID
        self.item = item
    }
}

/// The append-only audit log. There is deliberately no update or delete here, and the
/// database refuses both (migrations/0001_initial.sql).
public protocol AuditStore: Sendable {
    /// Appends a record at `nowMs`, in the caller's transaction.
    func append(_ entry: AuditEntry, nowMs: Int64, _ db: PGConnection) throws

    /// Records with an id below `beforeID`, newest first.
    func search(_ filter: AuditFilter, beforeID: Int64, limit: Int, _ db: PGConnection) throws -> [StoredAuditRecord]

    /// Records with an id above `afterID`, oldest first: one page of an export.
    func page(_ filter: AuditFilter, afterID: Int64, limit: Int, _ db: PGConnection) throws -> [StoredAuditRecord]
}

public struct PostgresAuditStore: AuditStore {
    public init() {}

    static let columns: PGQuery = """
        SELECT audit_id, recorded_at_ms, tenant_id, kind, actor_id, actor_display, actor_ip, activity, item, decision,
               details::text AS details
        FROM audit_records
        """

    static func record(_ row: PGRow) throws -> StoredAuditRecord {
        StoredAuditRecord(
            id: try row.decode("audit_id"),
            timeMs: try row.decode("recorded_at_ms"),
            tenantID: try row.decode("tenant_id"),
            kind: AuditKind(rawValue: try row.decode("kind")),
            actorID: try row.decode("actor_id"),
            actorDisplay: try row.decode("actor_display"),
            actorIP: try row.decode("actor_ip"),
            activity: try row.decode("activity"),
            item: try row.decode("item"),
            decision: try row.decode("decision"),
            detailsJSON: try row.decode("details")
        )
    }

    static func matching(_ filter: AuditFilter) -> PGQuery {
        """
        (\(filter.tenantID) IS NULL OR tenant_id = \(filter.tenantID))
          AND (\(filter.kind) IS NULL OR kind = \(filter.kind))
          AND recorded_at_ms >= \(filter.fromMs) AND recorded_at_ms < \(filter.toMs)
          AND (\(filter.activity) IS NULL OR activity = \(filter.activity))
          AND (\(filter.actorID) IS NULL OR actor_id = \(filter.actorID))
          AND (\(filter.item) IS NULL OR item = \(filter.item))
        """
    }

    public func append(_ entry: AuditEntry, nowMs: Int64, _ db: PGConnection) throws {
        try db.query(
            """
            INSERT INTO audit_records (tenant_id, recorded_at_ms, kind, actor_id, actor_display, actor_ip, activity,
                                       item, decision, details)
            VALUES (\(entry.tenantID), \(nowMs), \(entry.kind), \(entry.actorID), \(entry.actorDisplay), \(entry.actorIP),
                    \(entry.activity), \(entry.item), \(entry.decision), \(PGJSON(JSONValue.object(entry.details))))
            """
        )
    }

    public func search(_ filter: AuditFilter, beforeID: Int64, limit: Int, _ db: PGConnection) throws
        -> [StoredAuditRecord]
    {
        let rows = try db.query(
            """
            \(Self.columns)
            WHERE \(Self.matching(filter)) AND audit_id < \(beforeID)
            ORDER BY audit_id DESC
            LIMIT \(limit)
            """
        )
        return try rows.rows.map(Self.record)
    }

    public func page(_ filter: AuditFilter, afterID: Int64, limit: Int, _ db: PGConnection) throws
        -> [StoredAuditRecord]
    {
        let rows = try db.query(
            """
            \(Self.columns)
            WHERE \(Self.matching(filter)) AND audit_id > \(afterID)
            ORDER BY audit_id
            LIMIT \(limit)
            """
        )
        return try rows.rows.map(Self.record)
    }
}
