import LockboxCore

/// Filters of a request list; nil means any.
package struct RequestFilter: Sendable {
    package var tenantID: String?
    package var requesterID: String?
    /// Matched against the state by the clock, not the stored one.
    package var state: RequestState?
    package var service: ContentService?
    package var requestID: String?
    /// Only requests created after this time.
    package var createdAfterMs: Int64
    /// Keyset cursor: only requests that sort after this one, newest first.
    package var before: (createdAtMs: Int64, id: String)?

    package init(
        tenantID: String? = nil,
        requesterID: String? = nil,
        state: RequestState? = nil,
        service: ContentService? = nil,
        requestID: String? = nil,
        createdAfterMs: Int64 = 0,
        before: (createdAtMs: Int64, id: String)? = nil
    ) {
        self.tenantID = tenantID
        self.requesterID = requesterID
        self.state = state
        self.service = service
        self.requestID = requestID
        self.createdAfterMs = createdAfterMs
        self.before = before
    }
}

/// What a transition writes to a request besides its new state.
package struct RequestUpdate: Sendable, Hashable {
    package var state: RequestState
    package var internalDecision: InternalDecisionRecord?
    package var customerDecision: CustomerDecisionRecord?
    package var customerDeadlineMs: Int64?
    /// A support manager whose internal approval is added to the request's levels.
    package var internalApprover: String?

    package init(
        state: RequestState,
        internalApprover: String? = nil,
        internalDecision: InternalDecisionRecord? = nil,
        customerDecision: CustomerDecisionRecord? = nil,
        customerDeadlineMs: Int64? = nil
    ) {
        self.state = state
        self.internalApprover = internalApprover
        self.internalDecision = internalDecision
        self.customerDecision = customerDecision
        self.customerDeadlineMs = customerDeadlineMs
    }
}

/// Access requests, with their grant and usage.
package struct RequestStore: Sendable {
    package init() {}

    static func signedStatement(_ row: PGRow) throws -> SignedStatement? {
        guard let statement = try row.decode("approval_statement", as: PGBytes?.self) else { return nil }
        return SignedStatement(
            statement: statement.bytes,
            keyID: try row.decode("approval_key_id"),
            signature: (try row.decode("approval_signature") as PGBytes).bytes
        )
    }

    /// A request with its grant and usage (at most 16 shard rows, however much the grant was
    /// used); the `FROM` of every read.
    static let select = select(from: "access_requests r")

    /// The columns of a ``RequestRecord``, read from `source`, a relation named `r`.
    static func select(from source: PGQuery) -> PGQuery {
        """
        SELECT r.tenant_id, r.request_id, r.service, r.ticket_number, r.justification, r.requested_duration_seconds,
               r.requester_id, r.status, r.created_at_ms, r.updated_at_ms, r.internal_deadline_ms,
               (SELECT p.display_name FROM principals p WHERE p.principal_id = r.requester_id) AS requester_name,
               r.customer_deadline_ms,
               r.request_fingerprint, r.internal_decided_by, r.internal_approve, r.internal_comment,
               r.internal_decided_at_ms, r.customer_decided_by, r.customer_decision, r.customer_comment,
               r.customer_approved_duration_seconds, r.customer_decided_at_ms,
               r.approval_statement, r.approval_key_id, r.approval_signature,
               r.decision_nonce, r.decision_statement, r.decision_key_id, r.decision_signature,
               r.decision_authenticator_data, r.decision_client_data,
               r.scheduled_start_ms, r.extends_request_id, r.chain_started_at_ms,
               array_to_string(r.requested_operations, ',') AS requested_operations, r.justification_category,
               array_to_string(r.internal_approvers, ',') AS internal_approvers,
               g.starts_at_ms AS grant_starts_at_ms, g.ends_at_ms AS grant_ends_at_ms,
               g.revoked_at_ms AS grant_revoked_at_ms, array_to_string(g.operations, ',') AS grant_operations,
               (SELECT coalesce(sum(u.operations), 0) FROM grant_usage u
                 WHERE u.tenant_id = r.tenant_id AND u.request_id = r.request_id) AS operations_performed,
               (SELECT max(u.last_operation_at_ms) FROM grant_usage u
                 WHERE u.tenant_id = r.tenant_id AND u.request_id = r.request_id) AS last_operation_at_ms
        FROM \(source)
        LEFT JOIN grants g ON g.tenant_id = r.tenant_id AND g.request_id = r.request_id
        """
    }

    /// The column a clock rule's deadline is stored in.
    static func column(_ deadline: ClockRule.Deadline) -> PGQuery {
        switch deadline {
        case .internalDecision: "r.internal_deadline_ms"
        case .customerDecision: "r.customer_deadline_ms"
        case .grantEnd: "g.ends_at_ms"
        }
    }

    /// The state by the clock, compiled from ``Lifecycle/clockRules``: the SQL twin of
    /// ``Lifecycle/effectiveState(_:nowMs:)``, which a store test holds equal to it.
    static func effectiveState(nowMs: Int64) -> PGQuery {
        var query: PGQuery = "CASE"
        for rule in Lifecycle.clockRules {
            query.append(" WHEN r.status = \(rule.from) AND \(column(rule.deadline)) <= \(nowMs) THEN \(rule.to)")
        }
        query.append(" ELSE r.status END")
        return query
    }

    static func fingerprint(_ payload: NewAccessRequest) -> String { Hashing.sha256Hex(payload.canonicalPayload) }

    static func record(_ row: PGRow) throws -> RequestRecord {
        let id: String = try row.decode("request_id")
        var record = RequestRecord(
            id: id,
            tenantID: try row.decode("tenant_id"),
            service: try row.decode("service"),
            ticketNumber: try row.decode("ticket_number"),
            justification: try row.decode("justification"),
            requestedDurationSeconds: try row.decode("requested_duration_seconds"),
            requesterID: try row.decode("requester_id"),
            state: try row.decode("status"),
            createdAtMs: try row.decode("created_at_ms"),
            updatedAtMs: try row.decode("updated_at_ms"),
            internalDeadlineMs: try row.decode("internal_deadline_ms"),
            customerDeadlineMs: try row.decode("customer_deadline_ms"),
            usage: GrantUsage(
                operationsPerformed: try row.decode("operations_performed"),
                lastOperationAtMs: try row.decode("last_operation_at_ms")
            )
        )
        record.requesterName = try row.decode("requester_name", as: String?.self) ?? ""
        // Operation names hold no commas (InputLimits.checkOperation).
        record.grantOperations =
            try row.decode("grant_operations", as: String?.self).map { $0.split(separator: ",").map(String.init) } ?? []
        if let decidedBy = try row.decode("internal_decided_by", as: String?.self) {
            record.internalDecision = InternalDecisionRecord(
                approve: try row.decode("internal_approve"),
                comment: try row.decode("internal_comment"),
                decidedBy: decidedBy,
                decidedAtMs: try row.decode("internal_decided_at_ms")
            )
        }
        if let decidedBy = try row.decode("customer_decided_by", as: String?.self) {
            record.customerDecision = CustomerDecisionRecord(
                decision: try row.decode("customer_decision"),
                comment: try row.decode("customer_comment", as: String?.self) ?? "",
                approvedDurationSeconds: try row.decode("customer_approved_duration_seconds"),
                decidedBy: decidedBy,
                decidedAtMs: try row.decode("customer_decided_at_ms"),
                signed: try Self.signedStatement(row)
            )
            if let statement = try row.decode("decision_statement", as: PGBytes?.self) {
                record.customerDecision?.customerSigned = CustomerSignature(
                    statement: statement.bytes,
                    keyID: try row.decode("decision_key_id", as: String?.self) ?? "",
                    signature: try row.decode("decision_signature", as: PGBytes?.self)?.bytes ?? [],
                    authenticatorData: try row.decode("decision_authenticator_data", as: PGBytes?.self)?.bytes ?? [],
                    clientData: try row.decode("decision_client_data", as: PGBytes?.self)?.bytes ?? []
                )
            }
        }
        record.decisionNonce = try row.decode("decision_nonce", as: PGBytes?.self)?.bytes
        record.scheduledStartMs = try row.decode("scheduled_start_ms", as: Int64?.self)
        record.extendsRequestID = try row.decode("extends_request_id", as: String?.self)
        record.chainStartedAtMs = try row.decode("chain_started_at_ms", as: Int64?.self)
        record.category = try row.decode("justification_category", as: JustificationCategory?.self)
        // Principal ids hold no commas (Credentials.newID).
        record.internalApprovers = try row.decode("internal_approvers", as: String.self).split(separator: ",").map(
            String.init
        )
        // Operation names hold no commas (InputLimits.checkOperation).
        record.requestedOperations = try row.decode("requested_operations", as: String?.self).map {
            $0.split(separator: ",").map(String.init)
        }
        if let starts = try row.decode("grant_starts_at_ms", as: Int64?.self) {
            record.grant = GrantWindow(
                startsAtMs: starts,
                endsAtMs: try row.decode("grant_ends_at_ms"),
                revokedAtMs: try row.decode("grant_revoked_at_ms")
            )
        }
        return record
    }

    /// Stores a new PENDING_INTERNAL request and returns it, unless the requester already used
    /// `idempotencyKey`; returns nil then, and stores nothing.
    package func insert(
        _ request: NewAccessRequest,
        fingerprinting sent: NewAccessRequest? = nil,
        id: String,
        requesterID: String,
        idempotencyKey: String?,
        internalDeadlineMs: Int64,
        chainStartedAtMs: Int64? = nil,
        nowMs: Int64,
        _ db: PGConnection
    ) throws -> RequestRecord? {
        // The new row comes back as a record in the same statement: no second read.
        let inserted: PGQuery = """
            INSERT INTO access_requests (tenant_id, request_id, service, ticket_number, justification,
                                         requested_duration_seconds, requester_id, status, created_at_ms,
                                         updated_at_ms, internal_deadline_ms, idempotency_key, request_fingerprint,
                                         scheduled_start_ms, extends_request_id, chain_started_at_ms,
                                         requested_operations, justification_category)
            VALUES (\(request.tenantID), \(id), \(request.service), \(request.ticketNumber), \(request.justification),
                    \(request.requestedDurationSeconds), \(requesterID), \(RequestState.pendingInternal), \(nowMs),
                    \(nowMs), \(internalDeadlineMs), \(idempotencyKey), \(Self.fingerprint(sent ?? request)),
                    \(request.scheduledStartMs), \(request.extendsRequestID), \(chainStartedAtMs),
                    \(request.operations.map(PGTextArray.init)), \(request.category))
            ON CONFLICT (tenant_id, requester_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING *
            """
        let rows = try db.query("WITH r AS (\(inserted)) \(Self.select(from: "r"))")
        return try rows.first.map(Self.record)
    }

    /// The extensions filed of `request`, oldest first, locked against concurrent transitions.
    package func extensions(of request: RequestRecord, _ db: PGConnection) throws -> [RequestRecord] {
        try db.query(
            """
            \(Self.select) WHERE r.tenant_id = \(request.tenantID) AND r.extends_request_id = \(request.id)
            ORDER BY r.created_at_ms, r.request_id LIMIT \(InputLimits.maximumListLength) FOR NO KEY UPDATE OF r
            """
        ).rows.map(Self.record)
    }

    /// The request, locked against concurrent transitions until the transaction ends when `lock` is set.
    package func find(id: String, lock: Bool, _ db: PGConnection) throws -> RequestRecord? {
        let query: PGQuery = "\(Self.select) WHERE r.request_id = \(id)"
        let rows = try db.query(lock ? "\(query) FOR NO KEY UPDATE OF r" : query)
        return try rows.first.map(Self.record)
    }

    /// The requests with these ids that exist, in no particular order: one statement for a batch.
    package func find(ids: [String], _ db: PGConnection) throws -> [RequestRecord] {
        guard !ids.isEmpty else { return [] }
        return try db.query("\(Self.select) WHERE r.request_id = ANY(\(PGTextArray(ids)))").rows.map(Self.record)
    }

    /// The request a requester filed under an idempotency key, and whether its payload was `payload`.
    package func find(
        requesterID: String,
        idempotencyKey: String,
        payload: NewAccessRequest,
        _ db: PGConnection
    ) throws -> (request: RequestRecord, samePayload: Bool)? {
        let rows = try db.query(
            """
            \(Self.select)
            WHERE r.tenant_id = \(payload.tenantID) AND r.requester_id = \(requesterID)
              AND r.idempotency_key = \(idempotencyKey)
            """
        )
        guard let row = rows.first else { return nil }
        let stored: String? = try row.decode("request_fingerprint")
        return (try Self.record(row), stored == Self.fingerprint(payload))
    }

    /// Requests newest first, by the clock's state at `nowMs`.
    package func list(_ filter: RequestFilter, nowMs: Int64, limit: Int, _ db: PGConnection) throws -> [RequestRecord] {
        var conditions: [PGQuery] = []
        if let tenantID = filter.tenantID { conditions.append("r.tenant_id = \(tenantID)") }
        if let requesterID = filter.requesterID { conditions.append("r.requester_id = \(requesterID)") }
        if let state = filter.state { conditions.append("\(Self.effectiveState(nowMs: nowMs)) = \(state)") }
        if let service = filter.service { conditions.append("r.service = \(service)") }
        if let requestID = filter.requestID { conditions.append("r.request_id = \(requestID)") }
        if filter.createdAfterMs > 0 { conditions.append("r.created_at_ms > \(filter.createdAfterMs)") }
        if let before = filter.before {
            conditions.append("(r.created_at_ms, r.request_id) < (\(before.createdAtMs), \(before.id))")
        }
        let rows = try db.query(
            """
            \(Self.select)
            WHERE \(PGQuery.all(conditions))
            ORDER BY r.created_at_ms DESC, r.request_id DESC
            LIMIT \(limit)
            """
        )
        return try rows.rows.map(Self.record)
    }

    /// Writes a transition's new state and decision.
    package func update(id: String, _ update: RequestUpdate, nowMs: Int64, _ db: PGConnection) throws {
        var query: PGQuery = "UPDATE access_requests SET status = \(update.state), updated_at_ms = \(nowMs)"
        if let decision = update.internalDecision {
            query.append(
                """
                , internal_decided_by = \(decision.decidedBy), internal_approve = \(decision.approve),
                  internal_comment = \(decision.comment), internal_decided_at_ms = \(decision.decidedAtMs)
                """
            )
        }
        if let approver = update.internalApprover {
            query.append(", internal_approvers = array_append(internal_approvers, \(approver))")
        }
        if let deadline = update.customerDeadlineMs {
            query.append(", customer_deadline_ms = \(deadline)")
        }
        if let decision = update.customerDecision {
            query.append(
                """
                , customer_decided_by = \(decision.decidedBy), customer_decision = \(decision.decision),
                  customer_comment = \(decision.comment),
                  customer_approved_duration_seconds = \(decision.approvedDurationSeconds),
                  customer_decided_at_ms = \(decision.decidedAtMs)
                """
            )
            if let signed = decision.signed {
                query.append(
                    """
                    , approval_statement = \(PGBytes(signed.statement)), approval_key_id = \(signed.keyID),
                      approval_signature = \(PGBytes(signed.signature))
                    """
                )
            }
            if let customer = decision.customerSigned {
                query.append(
                    """
                    , decision_statement = \(PGBytes(customer.statement)), decision_key_id = \(customer.keyID),
                      decision_signature = \(PGBytes(customer.signature)),
                      decision_authenticator_data = \(PGBytes(customer.authenticatorData)),
                      decision_client_data = \(PGBytes(customer.clientData))
                    """
                )
            }
        }
        query.append(" WHERE request_id = \(id)")
        try db.query(query)
    }

    /// The request's decision nonce: the one it has, or `fresh` stored now.
    package func decisionNonce(id: String, fresh: [UInt8], _ db: PGConnection) throws -> [UInt8] {
        let rows = try db.query(
            """
            UPDATE access_requests SET decision_nonce = coalesce(decision_nonce, \(PGBytes(fresh)))
            WHERE request_id = \(id) RETURNING decision_nonce
            """
        )
        return try rows.first?.decode("decision_nonce", as: PGBytes.self).bytes ?? fresh
    }

    /// Requests whose stored state a clock rule has overtaken by `nowMs`, oldest deadline first,
    /// locked; rows another transaction holds are skipped, so sweepers on several replicas share the work.
    package func overtaken(by rule: ClockRule, nowMs: Int64, limit: Int, _ db: PGConnection) throws -> [RequestRecord] {
        let deadline = Self.column(rule.deadline)
        let rows = try db.query(
            """
            \(Self.select)
            WHERE r.status = \(rule.from) AND \(deadline) <= \(nowMs)
            ORDER BY \(deadline)
            LIMIT \(limit)
            FOR UPDATE OF r SKIP LOCKED
            """
        )
        return try rows.rows.map(Self.record)
    }

    /// How many requests are in each stored state (for a gauge; it reads the table whole).
    package func countByState(_ db: PGConnection) throws -> [RequestState: Int64] {
        let rows = try db.query("SELECT status, count(*) AS n FROM access_requests GROUP BY status")
        var counts: [RequestState: Int64] = [:]
        for row in rows.rows {
            counts[try row.decode("status", as: RequestState.self)] = try row.decode("n")
        }
        return counts
    }
}
