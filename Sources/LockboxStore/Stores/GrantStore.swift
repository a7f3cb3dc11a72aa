import LockboxCore

/// Grants: the access windows of approved requests, and what access checks read of them.
///
/// Reads return grants that had not ended by `nowMs` (the narrowing an index can serve);
/// whether one is active is ``Lifecycle/grantIsActive(state:window:nowMs:)``'s to say.
public protocol GrantStore: Sendable {
    /// Starts the grant of an approved request.
    func insert(_ grant: GrantRecord, _ db: PGConnection) throws

    /// Ends a grant early.
    func revoke(tenantID: String, requestID: String, nowMs: Int64, _ db: PGConnection) throws

    /// The operator's unended grants for a tenant and service, each with whether `operation`
    /// is pre-approved for the service: everything an allowed check reads, in one statement.
    /// The grants are share-locked, so a revocation in progress is waited for and then seen.
    func checkCandidates(
        operatorID: String,
        tenantID: String,
        service: ContentService,
        operation: String,
        nowMs: Int64,
        _ db: PGConnection
    ) throws -> [AccessCandidate]

    /// What explains a denial (``AccessCheck``).
    func denialFacts(
        operatorID: String,
        tenantID: String,
        service: ContentService,
        nowMs: Int64,
        _ db: PGConnection
    ) throws -> DenialFacts

    /// Unended grants, soonest end first; nil filters match any.
    func unended(tenantID: String?, operatorID: String?, nowMs: Int64, limit: Int, _ db: PGConnection) throws
        -> [GrantRecord]
}

public struct PostgresGrantStore: GrantStore {
    public init() {}

    static let columns: PGQuery = """
        g.request_id, g.operator_id, g.tenant_id, g.service, g.starts_at_ms, g.ends_at_ms, g.revoked_at_ms, r.status
        """

    static let join: PGQuery = """
        FROM grants g JOIN access_requests r ON r.tenant_id = g.tenant_id AND r.request_id = g.request_id
        """

    static let pendingStates = PGTextArray(RequestState.allCases.filter(\.isPending).map(\.rawValue))

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
            )
        )
    }

    public func insert(_ grant: GrantRecord, _ db: PGConnection) throws {
        try db.query(
            """
            INSERT INTO grants (tenant_id, request_id, operator_id, service, starts_at_ms, ends_at_ms)
            VALUES (\(grant.tenantID), \(grant.requestID), \(grant.operatorID), \(grant.service),
                    \(grant.window.startsAtMs), \(grant.window.endsAtMs))
            """
        )
    }

    public func revoke(tenantID: String, requestID: String, nowMs: Int64, _ db: PGConnection) throws {
        try db.query(
            "UPDATE grants SET revoked_at_ms = \(nowMs) WHERE tenant_id = \(tenantID) AND request_id = \(requestID)"
        )
    }

    public func checkCandidates(
        operatorID: String,
        tenantID: String,
        service: ContentService,
        operation: String,
        nowMs: Int64,
        _ db: PGConnection
    ) throws -> [AccessCandidate] {
        let rows = try db.query(
            """
            SELECT \(Self.columns),
                   EXISTS (SELECT 1 FROM preapproved_operations p
                           WHERE p.service = \(service) AND p.operation_key = lower(\(operation))) AS preapproved
            \(Self.join)
            WHERE g.operator_id = \(operatorID) AND g.tenant_id = \(tenantID) AND g.service = \(service)
              AND g.ends_at_ms > \(nowMs)
            FOR SHARE OF g
            """
        )
        return try rows.rows.map { row in
            AccessCandidate(grant: try Self.grant(row), operationPreapproved: try row.decode("preapproved"))
        }
    }

    public func denialFacts(
        operatorID: String,
        tenantID: String,
        service: ContentService,
        nowMs: Int64,
        _ db: PGConnection
    ) throws -> DenialFacts {
        let latest = try db.query(
            """
            SELECT \(Self.columns) \(Self.join)
            WHERE g.operator_id = \(operatorID) AND g.tenant_id = \(tenantID) AND g.service = \(service)
            ORDER BY g.ends_at_ms DESC
            LIMIT 1
            """
        )
        var facts = DenialFacts(latestGrant: try latest.first.map(Self.grant))
        if facts.latestGrant != nil { return facts }
        let pending = try db.query(
            """
            SELECT request_id FROM access_requests
            WHERE requester_id = \(operatorID) AND tenant_id = \(tenantID) AND service = \(service)
              AND status = ANY(\(Self.pendingStates))
            ORDER BY created_at_ms DESC LIMIT 1
            """
        )
        facts.pendingRequestID = try pending.first?.decode("request_id")
        if facts.pendingRequestID != nil { return facts }
        facts.otherGrants = try unended(tenantID: nil, operatorID: operatorID, nowMs: nowMs, limit: 100, db)
        return facts
    }

    public func unended(tenantID: String?, operatorID: String?, nowMs: Int64, limit: Int, _ db: PGConnection) throws
        -> [GrantRecord]
    {
        let rows = try db.query(
            """
            SELECT \(Self.columns) \(Self.join)
            WHERE (\(tenantID) IS NULL OR g.tenant_id = \(tenantID))
              AND (\(operatorID) IS NULL OR g.operator_id = \(operatorID))
              AND g.ends_at_ms > \(nowMs)
            ORDER BY g.ends_at_ms
            LIMIT \(limit)
            """
        )
        return try rows.rows.map(Self.grant)
    }
}
