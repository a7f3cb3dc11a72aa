import LockboxCore

/// Grants: the access windows of approved requests, and what access checks read of them.
///
/// Reads return open grants: not revoked, and not ended by `nowMs`, the narrowing an index
/// can serve. Whether one is active is ``Lifecycle/grantIsActive(state:window:nowMs:)``'s to say.
package struct GrantStore: Sendable {
    package init() {}

    /// Open grants an allowed check reads, newest end first. An operator has one at a time in
    /// practice; a few more keep a grant that has not started yet from hiding one that has.
    static let checkCandidateLimit = 4

    static let columns: PGQuery = """
        g.request_id, g.operator_id, g.tenant_id, g.service, g.starts_at_ms, g.ends_at_ms, g.revoked_at_ms, r.status,
        array_to_string(g.operations, ',') AS operations
        """

    static let join: PGQuery = """
        FROM grants g JOIN access_requests r ON r.tenant_id = g.tenant_id AND r.request_id = g.request_id
        """

    static func grant(_ row: PGRow) throws -> GrantRecord {
        GrantRecord(
            requestID: try row.decode("request_id"),
            operatorID: try row.decode("operator_id"),
            tenantID: try row.decode("tenant_id"),
            service: try row.decode("service"),
            requestState: try row.decode("status"),
            window: GrantWindow(
                startsAtMs: try row.decode("starts_at_ms"),
                endsAtMs: try row.decode("ends_at_ms"),
                revokedAtMs: try row.decode("revoked_at_ms")
            ),
            // Operation names hold no commas (InputLimits.checkOperation).
            operations: try row.decode("operations", as: String.self).split(separator: ",").map(String.init)
        )
    }

    /// Starts the grant of an approved request.
    package func insert(_ grant: GrantRecord, _ db: PGConnection) throws {
        try db.query(
            """
            INSERT INTO grants (tenant_id, request_id, operator_id, service, starts_at_ms, ends_at_ms, operations)
            VALUES (\(grant.tenantID), \(grant.requestID), \(grant.operatorID), \(grant.service),
                    \(grant.window.startsAtMs), \(grant.window.endsAtMs), \(PGTextArray(grant.operations)))
            """
        )
    }

    /// Ends a grant early.
    package func revoke(tenantID: String, requestID: String, nowMs: Int64, _ db: PGConnection) throws {
        try db.query(
            "UPDATE grants SET revoked_at_ms = \(nowMs) WHERE tenant_id = \(tenantID) AND request_id = \(requestID)"
        )
    }

    /// The operator's standing, as a column: ``OperatorStatus`` `active` or `suspended`, or NULL
    /// (no such operator).
    static func operatorStatus(_ operatorID: String) -> PGQuery {
        """
        (SELECT CASE WHEN p.suspended_at_ms IS NULL THEN \(literal: OperatorStatus.active) ELSE \(literal: OperatorStatus.suspended) END
           FROM principals p JOIN role_assignments ra ON ra.principal_id = p.principal_id
          WHERE p.principal_id = \(operatorID) AND ra.role = \(Role.operator) AND ra.tenant_id = '')
        """
    }

    static func operatorStatus(_ row: PGRow) throws -> OperatorStatus {
        try row.decode("operator_status", as: OperatorStatus?.self) ?? .unknown
    }

    /// The operator's status and open grants for a tenant and service, each with whether
    /// `operation` is in the grant's scope (fixed when it was approved) and still pre-approved
    /// (a removal narrows live grants at once): everything an allowed check reads, in one
    /// statement. The grants are share-locked, so a revocation in progress is waited for and
    /// then seen.
    package func checkFacts(_ check: CheckKey, nowMs: Int64, _ db: PGConnection) throws -> CheckFacts {
        try Self.checkFacts(from: db.query(checkFactsQuery(check, nowMs: nowMs)))
    }

    /// The statement of ``checkFacts(_:nowMs:_:)``, for a group of checks that sends theirs in
    /// one flight (``PGConnection/queryAll(_:)``).
    func checkFactsQuery(_ check: CheckKey, nowMs: Int64) -> PGQuery {
        """
        SELECT \(Self.columns),
               lower(\(check.operation)) = ANY (g.operations)
               AND EXISTS (SELECT 1 FROM preapproved_operations p
                           WHERE p.service = \(check.service) AND p.operation_key = lower(\(check.operation))) AS preapproved,
               \(Self.operatorStatus(check.operatorID)) AS operator_status,
               (SELECT max(change_id) FROM trust_changes WHERE tenant_id = \(check.tenantID)) AS trust_version
        \(Self.join)
        WHERE g.operator_id = \(check.operatorID) AND g.tenant_id = \(check.tenantID) AND g.service = \(check.service)
          AND g.revoked_at_ms IS NULL AND g.ends_at_ms > \(nowMs)
        ORDER BY g.ends_at_ms DESC
        LIMIT \(Self.checkCandidateLimit)
        FOR SHARE OF g
        """
    }

    /// The facts in the rows of ``checkFactsQuery(_:nowMs:)``.
    static func checkFacts(from rows: PGRows) throws -> CheckFacts {
        let candidates = try rows.rows.map { row in
            AccessCandidate(grant: try Self.grant(row), operationPreapproved: try row.decode("preapproved"))
        }
        return CheckFacts(
            operatorStatus: try rows.first.map(Self.operatorStatus),
            candidates: candidates,
            trustVersion: try rows.first?.decode("trust_version", as: Int64?.self)
        )
    }

    /// What a group of checks reads, in one flight: whether each token still holds (as
    /// ``TokenStore/stillValid(_:nowMs:_:)``) and each check's facts (as
    /// ``checkFacts(_:nowMs:_:)``, share-locking the grants).
    package func checkFacts(
        for checks: [CheckKey],
        confirming tokens: [AuthenticatedToken],
        nowMs: Int64,
        _ db: PGConnection
    ) throws -> (stillValid: [Bool], facts: [CheckFacts]) {
        let store = TokenStore()
        let queries =
            tokens.map { store.stillValidQuery($0, nowMs: nowMs) }
            + checks.map { checkFactsQuery($0, nowMs: nowMs) }
        let results = try db.queryAll(queries)
        return (
            try results.prefix(tokens.count).map(TokenStore.stillValid(from:)),
            try results.dropFirst(tokens.count).map(Self.checkFacts(from:))
        )
    }

    /// What explains a denial (``AccessCheck``).
    package func denialFacts(
        operatorID: String,
        tenantID: String,
        service: ContentService,
        nowMs: Int64,
        _ db: PGConnection
    ) throws -> DenialFacts {
        let status = try db.query(
            """
            SELECT \(Self.operatorStatus(operatorID)) AS operator_status,
                   EXISTS (SELECT 1 FROM tenants WHERE tenant_id = \(tenantID)) AS tenant_exists
            """
        )
        var facts = DenialFacts(
            tenantExists: try status.first?.decode("tenant_exists") ?? false,
            operatorStatus: try status.first.map(Self.operatorStatus) ?? .unknown
        )
        guard facts.tenantExists, facts.operatorStatus == .active else { return facts }
        let newest = try db.query(
            """
            SELECT r.request_id, r.status, r.requested_duration_seconds, r.internal_deadline_ms, r.customer_deadline_ms,
                   g.starts_at_ms, g.ends_at_ms, g.revoked_at_ms
            FROM access_requests r
            LEFT JOIN grants g ON g.tenant_id = r.tenant_id AND g.request_id = r.request_id
            WHERE r.requester_id = \(operatorID) AND r.tenant_id = \(tenantID) AND r.service = \(service)
            ORDER BY r.created_at_ms DESC, r.request_id DESC
            LIMIT 1
            """
        )
        if let row = newest.first {
            var grant: GrantWindow?
            if let starts = try row.decode("starts_at_ms", as: Int64?.self) {
                grant = GrantWindow(
                    startsAtMs: starts,
                    endsAtMs: try row.decode("ends_at_ms"),
                    revokedAtMs: try row.decode("revoked_at_ms")
                )
            }
            facts.newestRequest = NewestRequest(
                id: try row.decode("request_id"),
                facts: RequestFacts(
                    state: try row.decode("status"),
                    tenantID: tenantID,
                    requesterID: operatorID,
                    requestedDurationSeconds: try row.decode("requested_duration_seconds"),
                    internalDeadlineMs: try row.decode("internal_deadline_ms"),
                    customerDeadlineMs: try row.decode("customer_deadline_ms"),
                    grant: grant
                )
            )
        }
        facts.otherGrants = try openGrants(tenantID: nil, operatorID: operatorID, nowMs: nowMs, limit: 100, db)
        return facts
    }

    /// Open grants (not revoked, not ended), soonest end first; nil filters match any.
    package func openGrants(tenantID: String?, operatorID: String?, nowMs: Int64, limit: Int, _ db: PGConnection) throws
        -> [GrantRecord]
    {
        var conditions: [PGQuery] = ["g.revoked_at_ms IS NULL", "g.ends_at_ms > \(nowMs)"]
        if let tenantID { conditions.append("g.tenant_id = \(tenantID)") }
        if let operatorID { conditions.append("g.operator_id = \(operatorID)") }
        let rows = try db.query(
            """
            SELECT \(Self.columns) \(Self.join)
            WHERE \(PGQuery.all(conditions))
            ORDER BY g.ends_at_ms
            LIMIT \(limit)
            """
        )
        return try rows.rows.map(Self.grant)
    }

    /// Counts the operations of `uses` against their grants, queued with the transaction's
    /// COMMIT: one write per grant, however many uses name it, and the grants in one order, so
    /// that two transactions counting the same grants never wait on each other.
    package func recordUses(_ uses: [GrantUse], _ db: PGConnection) throws {
        var merged: [GrantUse.Grant: GrantUse] = [:]
        for use in uses {
            merged[use.grant, default: GrantUse(grant: use.grant, operations: 0, lastAtMs: use.lastAtMs)].add(use)
        }
        for grant in merged.keys.sorted() {
            let use = merged[grant]!
            try db.queue(
                """
                INSERT INTO grant_usage AS u (tenant_id, request_id, shard, operations, last_operation_at_ms)
                VALUES (\(grant.tenantID), \(grant.requestID), pg_backend_pid() % 16, \(use.operations), \(use.lastAtMs))
                ON CONFLICT (tenant_id, request_id, shard) DO UPDATE
                SET operations = u.operations + excluded.operations,
                    last_operation_at_ms = greatest(u.last_operation_at_ms, excluded.last_operation_at_ms)
                """
            )
        }
    }
}

/// Operations counted against one grant.
package struct GrantUse: Sendable, Hashable {
    /// A grant, by its tenant and request.
    package struct Grant: Sendable, Hashable, Comparable {
        package var tenantID: String
        package var requestID: String

        package static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.tenantID, lhs.requestID) < (rhs.tenantID, rhs.requestID)
        }
    }

    package var grant: Grant
    package var operations: Int64
    package var lastAtMs: Int64

    package init(tenantID: String, requestID: String, operations: Int64 = 1, lastAtMs: Int64) {
        self.init(grant: Grant(tenantID: tenantID, requestID: requestID), operations: operations, lastAtMs: lastAtMs)
    }

    init(grant: Grant, operations: Int64, lastAtMs: Int64) {
        self.grant = grant
        self.operations = operations
        self.lastAtMs = lastAtMs
    }

    mutating func add(_ other: GrantUse) {
        operations += other.operations
        lastAtMs = max(lastAtMs, other.lastAtMs)
    }
}

/// What one access check asks about.
package struct CheckKey: Sendable, Hashable {
    package var operatorID: String
    package var tenantID: String
    package var service: ContentService
    package var operation: String

    package init(operatorID: String, tenantID: String, service: ContentService, operation: String) {
        self.operatorID = operatorID
        self.tenantID = tenantID
        self.service = service
        self.operation = operation
    }
}
