import LockboxCore

/// A registered webhook endpoint.
package struct WebhookRecord: Sendable, Hashable {
    package var id: String
    /// nil for a provider endpoint, which receives every tenant's events.
    package var tenantID: String?
    package var url: String
    /// Signs deliveries; never shown after registration.
    package var secret: String
    package var createdBy: String
    package var createdAtMs: Int64
    package var consecutiveFailures: Int
    package var disabledAtMs: Int64?

    package init(
        id: String,
        tenantID: String?,
        url: String,
        secret: String,
        createdBy: String,
        createdAtMs: Int64,
        consecutiveFailures: Int = 0,
        disabledAtMs: Int64? = nil
    ) {
        self.id = id
        self.tenantID = tenantID
        self.url = url
        self.secret = secret
        self.createdBy = createdBy
        self.createdAtMs = createdAtMs
        self.consecutiveFailures = consecutiveFailures
        self.disabledAtMs = disabledAtMs
    }

    /// What authorization looks at: the tenant's, or the provider's ("").
    package var target: Target { Target(tenantID: tenantID ?? "") }
}

package struct WebhookStore: Sendable {
    package init() {}

    static func record(_ row: PGRow) throws -> WebhookRecord {
        WebhookRecord(
            id: try row.decode("webhook_id"),
            tenantID: try row.decode("tenant_id"),
            url: try row.decode("url"),
            secret: try row.decode("secret"),
            createdBy: try row.decode("created_by"),
            createdAtMs: try row.decode("created_at_ms"),
            consecutiveFailures: Int(try row.decode("consecutive_failures", as: Int64.self)),
            disabledAtMs: try row.decode("disabled_at_ms")
        )
    }

    static let columns: PGQuery =
        "webhook_id, tenant_id, url, secret, created_by, created_at_ms, consecutive_failures, disabled_at_ms"

    package func add(_ w: WebhookRecord, _ db: PGConnection) throws {
        try db.query(
            """
            INSERT INTO webhooks (webhook_id, tenant_id, url, secret, created_by, created_at_ms)
            VALUES (\(w.id), \(w.tenantID), \(w.url), \(w.secret), \(w.createdBy), \(w.createdAtMs))
            """
        )
    }

    /// Endpoints not removed, of a tenant, or the provider's (nil).
    package func list(tenantID: String?, limit: Int, _ db: PGConnection) throws -> [WebhookRecord] {
        try db.query(
            """
            SELECT \(Self.columns) FROM webhooks WHERE \(PrincipalStore.home(tenantID)) AND removed_at_ms IS NULL
            ORDER BY created_at_ms, webhook_id LIMIT \(limit)
            """
        ).rows.map(Self.record)
    }

    package func find(id: String, _ db: PGConnection) throws -> WebhookRecord? {
        try db.query("SELECT \(Self.columns) FROM webhooks WHERE webhook_id = \(id) AND removed_at_ms IS NULL")
            .first.map(Self.record)
    }

    /// Removes an endpoint; false when it was removed already.
    package func remove(id: String, nowMs: Int64, _ db: PGConnection) throws -> Bool {
        try db.query(
            "UPDATE webhooks SET removed_at_ms = \(nowMs) WHERE webhook_id = \(id) AND removed_at_ms IS NULL"
        ).affected > 0
    }

    /// Enabled endpoints that receive `tenantID`'s events: the tenant's and the provider's.
    package func receiving(tenantID: String, limit: Int, _ db: PGConnection) throws -> [WebhookRecord] {
        try db.query(
            """
            SELECT \(Self.columns) FROM webhooks
            WHERE (tenant_id = \(tenantID) OR tenant_id IS NULL) AND removed_at_ms IS NULL AND disabled_at_ms IS NULL
            ORDER BY webhook_id LIMIT \(limit)
            """
        ).rows.map(Self.record)
    }

    /// Counts a failed delivery; disables the endpoint when it reaches `disableAfter` failures
    /// in a row, and then returns true (only once).
    package func recordFailure(id: String, disableAfter: Int, nowMs: Int64, _ db: PGConnection) throws -> Bool {
        let row = try db.query(
            """
            UPDATE webhooks SET consecutive_failures = consecutive_failures + 1,
                   disabled_at_ms = CASE WHEN disabled_at_ms IS NULL AND consecutive_failures + 1 >= \(disableAfter)
                                         THEN \(nowMs) ELSE disabled_at_ms END
            WHERE webhook_id = \(id)
            RETURNING disabled_at_ms = \(nowMs) AS disabled_now
            """
        ).first
        return try row?.decode("disabled_now", as: Bool?.self) ?? false
    }

    package func recordSuccess(id: String, _ db: PGConnection) throws {
        try db.query("UPDATE webhooks SET consecutive_failures = 0 WHERE webhook_id = \(id)")
    }
}
