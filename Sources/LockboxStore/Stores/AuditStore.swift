import LockboxCore

/// Filters of an audit search; nil and "" match any.
package struct AuditFilter: Sendable, Hashable {
    package var tenantID: String?
    package var kind: AuditKind?
    /// Inclusive lower and exclusive upper bound on the record's time.
    package var fromMs: Int64
    package var toMs: Int64
    package var activity: String?
    package var actorID: String?
    package var item: String?

    package init(
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

/// Where an export is: the time and id of the last record it sent.
package struct AuditCursor: Sendable, Hashable {
    package var timeMs: Int64
    package var id: Int64

    package init(timeMs: Int64, id: Int64) {
        self.timeMs = timeMs
        self.id = id
    }

    /// Before every record.
    package static let start = AuditCursor(timeMs: .min, id: .min)

    /// Just after `record`.
    package init(after record: StoredAuditRecord) { self.init(timeMs: record.timeMs, id: record.id) }
}

/// The append-only audit log. There is deliberately no update or delete here, and the
/// database refuses both (migrations/0001_initial.sql).
package struct AuditStore: Sendable {
    package init() {}

    /// Each record with its seal, if it has one yet. The seal comes from a lateral lookup so
    /// that the filters below name the record's own columns unqualified.
    static let columns: PGQuery = """
        SELECT a.audit_id, a.recorded_at_ms, a.tenant_id, a.kind, a.actor_id, a.actor_display, a.actor_ip, a.activity,
               a.item, a.decision, a.details::text AS details, s.seq, s.hash, s.hashed_seal_time
        FROM audit_records a
        LEFT JOIN LATERAL (
            SELECT seq, hash, CASE WHEN hash_version = 2 THEN sealed_at_ms END AS hashed_seal_time
            FROM audit_seals s WHERE s.tenant_id = a.tenant_id AND s.audit_id = a.audit_id
        ) s ON true
        """

    static func record(_ row: PGRow) throws -> StoredAuditRecord {
        let seq: Int64? = try row.decode("seq")
        let hash: PGBytes? = try row.decode("hash")
        return StoredAuditRecord(
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
            detailsJSON: try row.decode("details"),
            seal: try seq.map {
                AuditSeal(seq: $0, hash: hash?.bytes ?? [], sealedAtMs: try row.decode("hashed_seal_time"))
            }
        )
    }

    /// The filter's conditions, only those it has.
    static func conditions(_ filter: AuditFilter) -> [PGQuery] {
        var conditions: [PGQuery] = []
        if let tenantID = filter.tenantID { conditions.append("tenant_id = \(tenantID)") }
        if let kind = filter.kind { conditions.append("kind = \(kind)") }
        if filter.fromMs > 0 { conditions.append("recorded_at_ms >= \(filter.fromMs)") }
        if filter.toMs < .max { conditions.append("recorded_at_ms < \(filter.toMs)") }
        if let activity = filter.activity { conditions.append("activity = \(activity)") }
        if let actorID = filter.actorID { conditions.append("actor_id = \(actorID)") }
        if let item = filter.item { conditions.append("item = \(item)") }
        return conditions
    }

    /// Appends a record. The database assigns its id and time, and queues it for the sealer
    /// in the same transaction (migrations/0011): no lock is shared with any other append.
    package func append(_ entry: AuditEntry, _ db: PGConnection) throws {
        // Queued: it goes with the transaction's next statement or its COMMIT, and its error
        // fails that (and so the transaction): no round trip of its own.
        try db.queue(
            """
            INSERT INTO audit_records (tenant_id, kind, actor_id, actor_display, actor_ip, activity, item, decision,
                                       details)
            VALUES (\(entry.tenantID), \(entry.kind), \(entry.actorID), \(entry.actorDisplay), \(entry.actorIP),
                    \(entry.activity), \(entry.item), \(entry.decision), \(PGJSON(JSONValue.object(entry.details))))
            """
        )
    }

    /// Appends records in one multi-row statement, queued like ``append(_:_:)``: a group of
    /// checks writes all its records at once. They take their ids in the order given.
    package func append(all entries: [AuditEntry], _ db: PGConnection) throws {
        guard entries.count > 1 else {
            if let entry = entries.first { try append(entry, db) }
            return
        }
        func column(_ value: (AuditEntry) -> String) -> PGTextArray { PGTextArray(entries.map(value)) }
        try db.queue(
            """
            INSERT INTO audit_records (tenant_id, kind, actor_id, actor_display, actor_ip, activity, item, decision,
                                       details)
            SELECT tenant_id, kind, actor_id, actor_display, actor_ip, activity, item, decision::smallint, details::jsonb
            FROM unnest(\(column(\.tenantID)), \(column(\.kind.rawValue)), \(column(\.actorID)),
                        \(column(\.actorDisplay)), \(column(\.actorIP)), \(column(\.activity)), \(column(\.item)),
                        \(column { String($0.decision.rawValue) }), \(column { JSONValue.object($0.details) }))
                 WITH ORDINALITY AS r(tenant_id, kind, actor_id, actor_display, actor_ip, activity, item, decision,
                                      details, n)
            ORDER BY n
            """
        )
    }

    /// How many records of `activity` the tenant's log holds from the last `withinMs`, by the
    /// database's clock, which stamps them. An index covers the activities asked about
    /// (migrations/0011).
    package func count(tenantID: String, activity: Activity, withinMs: Int64, db: PGConnection) throws -> Int {
        let rows = try db.query(
            """
            SELECT count(*) AS n FROM audit_records
            WHERE tenant_id = \(tenantID) AND activity = \(activity.rawValue)
              AND recorded_at_ms >= lockbox_now_ms() - \(withinMs)
            """
        )
        return Int(try rows.first?.decode("n", as: Int64.self) ?? 0)
    }

    /// Names who acts in this transaction, for the records the database's triggers write of
    /// every change to authority (migrations/0011): a caller, the new admin an enrollment
    /// creates, or Lockbox itself.
    package func attribute(to actor: AuditActor, _ db: PGConnection) throws {
        try db.query("SELECT \(Self.attribution(actor)) AS attributed")
    }

    /// Names no one as the transaction's actor from here on (queued): what a group of checks
    /// by several callers does after confirming each, so that nothing is attributed to the
    /// last of them.
    package func forgetAttribution(_ db: PGConnection) throws {
        try db.queue(
            """
            SELECT (set_config('lockbox.actor_id', '', true), set_config('lockbox.actor_display', '', true),
                    set_config('lockbox.actor_ip', '', true), set_config('lockbox.token_id', '', true)) IS NOT NULL AS forgotten
            """
        )
    }

    /// The expression that names `actor` for the rest of the transaction: what
    /// `lockbox_attribute` (migrations/0012) does, written out, because a call of that SQL
    /// function is planned again on every call and costs a check a tenth of its database time.
    static func attribution(_ actor: AuditActor) -> PGQuery {
        """
        (set_config('lockbox.actor_id', \(actor.id), true), set_config('lockbox.actor_display', \(actor.display), true),
         set_config('lockbox.actor_ip', \(actor.ip), true), set_config('lockbox.token_id', \(actor.tokenID), true)) IS NOT NULL
        """
    }

    /// Runs `body` with `details` added to every record the triggers write meanwhile: what the
    /// change alone does not say, such as the reason a caller gave.
    package func with<Value>(
        details: [String: JSONValue],
        _ db: PGConnection,
        _ body: () throws -> Value
    ) throws -> Value {
        try db.query("SELECT set_config('lockbox.details', \(JSONValue.object(details)), true)")
        let value = try body()
        try db.query("SELECT set_config('lockbox.details', '', true)")
        return value
    }

    /// The most records of its scope (its tenant, or all, and its time range) that one page of
    /// a search with a narrower filter reads: past it the page ends where the read did, so a
    /// filter that matches little costs a bounded read, not the whole log.
    package static let searchScanLimit = 10_000

    /// One page of a search: the matches, newest first, and, when ``searchScanLimit`` ended the
    /// read before the scope did, the lowest id it read (the next page reads below it).
    package struct SearchPage: Sendable {
        package var records: [StoredAuditRecord]
        package var scannedTo: Int64?
    }

    /// Records with an id below `beforeID`, newest first, up to `limit`.
    package func search(_ filter: AuditFilter, beforeID: Int64, limit: Int, _ db: PGConnection) throws -> SearchPage {
        // Within a tenant, by id: its primary key serves the page. Across all tenants, by an
        // expression of the id that only these searches name (migrations/0013), so that a
        // tenant's search is never planned along the whole table's ids.
        let id: PGQuery = filter.tenantID == nil ? "(a.audit_id + 0)" : "a.audit_id"
        var conditions = Self.conditions(filter) + ["\(id) < \(beforeID)"]
        let scope = AuditFilter(tenantID: filter.tenantID, fromMs: filter.fromMs, toMs: filter.toMs)
        var scannedTo: Int64?
        if filter != scope {
            let window = try db.query(
                """
                SELECT min(w.audit_id) AS floor, count(*) AS n FROM (
                    SELECT a.audit_id FROM audit_records a
                    WHERE \(PGQuery.all(Self.conditions(scope) + ["\(id) < \(beforeID)"]))
                    ORDER BY \(id) DESC
                    LIMIT \(Self.searchScanLimit)
                ) w
                """
            )
            if let row = window.first, try row.decode("n", as: Int64.self) == Int64(Self.searchScanLimit),
                let floor = try row.decode("floor", as: Int64?.self)
            {
                scannedTo = floor
                conditions.append("\(id) >= \(floor)")
            }
        }
        let rows = try db.query(
            """
            \(Self.columns)
            WHERE \(PGQuery.all(conditions))
            ORDER BY \(id) DESC
            LIMIT \(limit)
            """
        )
        return SearchPage(records: try rows.rows.map(Self.record), scannedTo: scannedTo)
    }

    /// Records after `cursor`, in time order: one page of an export, one index range scan.
    package func page(_ filter: AuditFilter, after cursor: AuditCursor, limit: Int, _ db: PGConnection) throws
        -> [StoredAuditRecord]
    {
        let rows = try db.query(
            """
            \(Self.columns)
            WHERE \(PGQuery.all(Self.conditions(filter)))
              AND (recorded_at_ms, audit_id) > (\(cursor.timeMs), \(cursor.id))
            ORDER BY recorded_at_ms, audit_id
            LIMIT \(limit)
            """
        )
        return try rows.rows.map(Self.record)
    }
}
