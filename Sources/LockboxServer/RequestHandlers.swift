import Crypto
import Foundation
import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore

/// Columns of a request with its grant and usage, as `RequestRecord` reads them.
let requestSelect = """
    SELECT r.tenant_id, r.request_id, r.service, r.ticket_number, r.justification, r.requested_duration_seconds,
           r.requester_id, r.status, r.created_at_ms, r.updated_at_ms, r.customer_deadline_ms, r.request_fingerprint,
           r.internal_decided_by, r.internal_approve, r.internal_comment, r.internal_decided_at_ms,
           r.customer_decided_by, r.customer_decision, r.customer_comment, r.customer_approved_duration_seconds,
           r.customer_decided_at_ms,
           g.starts_at_ms AS grant_starts_at_ms, g.ends_at_ms AS grant_ends_at_ms,
           g.revoked_at_ms AS grant_revoked_at_ms,
           (SELECT count(*) FROM audit_records a
             WHERE a.tenant_id = r.tenant_id AND a.item = r.request_id AND a.details->>'kind' = 'operator_action'
               AND a.details->>'allowed' = 'true')
             AS operations_performed,
           (SELECT max(a.recorded_at_ms) FROM audit_records a
             WHERE a.tenant_id = r.tenant_id AND a.item = r.request_id AND a.details->>'kind' = 'operator_action'
               AND a.details->>'allowed' = 'true')
             AS last_operation_at_ms
    FROM access_requests r
    LEFT JOIN grants g ON g.tenant_id = r.tenant_id AND g.request_id = r.request_id
    """

/// A stored request, read from one row of ``requestSelect``.
struct RequestRecord {
    var row: PGRow

    var tenantID: String { row.string("tenant_id") }
    var id: String { row.string("request_id") }
    var requesterID: String { row.string("requester_id") }
    var state: RequestState { RequestState(rawValue: row.string("status")) ?? .denied }
    var service: ContentService? { ContentService(rawValue: row.string("service")) }

    var facts: RequestFacts {
        RequestFacts(
            state: state,
            requesterID: requesterID,
            requestedDurationSeconds: row.int64("requested_duration_seconds"),
            customerDeadlineMs: row.optionalInt64("customer_deadline_ms"),
            grantEndsAtMs: row.optionalInt64("grant_ends_at_ms")
        )
    }

    /// The request as the API shows it, with its state as the clock says at `nowMs`.
    func proto(nowMs: Int64) -> AccessRequest {
        var request = AccessRequest(
            id: id,
            tenantID: tenantID,
            service: service?.proto ?? .unspecified,
            ticketNumber: row.string("ticket_number"),
            justification: row.string("justification"),
            requestedDurationSeconds: row.int64("requested_duration_seconds"),
            requesterID: requesterID,
            status: Lifecycle.effectiveState(facts, nowMs: nowMs).proto,
            createdAtMs: row.int64("created_at_ms"),
            updatedAtMs: row.int64("updated_at_ms"),
            customerDeadlineMs: row.int64("customer_deadline_ms"),
            operationsPerformed: row.int64("operations_performed"),
            lastOperationAtMs: row.int64("last_operation_at_ms")
        )
        if let decidedBy = row["internal_decided_by"] {
            request.internalDecision = InternalDecision(
                requestID: id,
                approve: row.bool("internal_approve"),
                comment: row.string("internal_comment"),
                decidedBy: decidedBy,
                decidedAtMs: row.int64("internal_decided_at_ms")
            )
        }
        if let decidedBy = row["customer_decided_by"] {
            request.customerDecision = CustomerDecision(
                requestID: id,
                decision: Decision(rawValue: Int32(row.int64("customer_decision"))),
                comment: row.string("customer_comment"),
                approvedDurationSeconds: row.int64("customer_approved_duration_seconds"),
                decidedBy: decidedBy,
                decidedAtMs: row.int64("customer_decided_at_ms")
            )
        }
        if let starts = row.optionalInt64("grant_starts_at_ms") {
            let ends = row.int64("grant_ends_at_ms")
            let active = Lifecycle.grantIsActive(facts, nowMs: nowMs)
            request.grant = Grant(
                requestID: id,
                operatorID: requesterID,
                tenantID: tenantID,
                service: service?.proto ?? .unspecified,
                startsAtMs: starts,
                endsAtMs: ends,
                active: active,
                secondsLeft: active ? (ends - nowMs) / 1000 : 0
            )
        }
        return request
    }
}

extension LockboxService {
    func registerRequestMethods(_ router: inout RPCRouter) {
        unary(&router, LockboxMethod.createAccessRequest, .createRequest) { (request: CreateAccessRequestRequest, env) in
            try Self.create(request, env)
        }
        unary(&router, LockboxMethod.getAccessRequest, .readRequests) { (request: GetAccessRequestRequest, env) in
            try InputLimits.check(request.requestID, field: "request_id", max: InputLimits.idLength)
            let record = try Self.readable(request.requestID, env)
            return record.proto(nowMs: env.nowMs)
        }
        unary(&router, LockboxMethod.listAccessRequests, .readRequests) { (request: ListAccessRequestsRequest, env) in
            try Self.list(request, env)
        }
        unary(&router, LockboxMethod.decideInternal, .decideInternal) { (request: InternalDecision, env) in
            try InputLimits.check(request.comment, field: "comment", max: InputLimits.commentLength, required: false)
            return try Self.transition(request.requestID, permission: .decideInternal, env) { _ in
                (request.approve ? .approveInternal : .denyInternal, .provider(env.caller.id))
            } update: { transition in
                (
                    """
                    internal_decided_by = $4, internal_approve = $5::boolean, internal_comment = $6,
                    internal_decided_at_ms = $3::bigint, customer_deadline_ms = $7::bigint
                    """,
                    [
                        env.caller.id, request.approve ? "true" : "false", request.comment,
                        transition.customerDeadlineMs.map(String.init),
                    ]
                )
            } details: { transition in
                var details: [String: JSONValue] = ["comment": .string(request.comment)]
                if let required = transition.customerApprovalRequired {
                    details["customer_approval_required"] = .bool(required)
                }
                if let deadline = transition.customerDeadlineMs { details["customer_deadline_ms"] = .int(deadline) }
                return details
            }
        }
        unary(&router, LockboxMethod.decideCustomer, .decideCustomer) { (request: CustomerDecision, env) in
            try InputLimits.check(request.comment, field: "comment", max: InputLimits.commentLength, required: false)
            let action: LifecycleAction
            switch request.decision {
            case .approve: action = .approveCustomer(approvedDurationSeconds: request.approvedDurationSeconds)
            case .deny: action = .denyCustomer
            case .cancel: action = .cancel
            default: throw RPCError.invalidArgument("decision must be DECISION_APPROVE, DECISION_DENY or DECISION_CANCEL")
            }
            guard request.approvedDurationSeconds >= 0 else {
                throw RPCError.invalidArgument("approved_duration_seconds must not be negative")
            }
            return try Self.transition(request.requestID, permission: .decideCustomer, env) { _ in
                (action, .customer(env.caller.id))
            } update: { transition in
                let approved = transition.grantEndsAtMs.flatMap { ends in transition.grantStartsAtMs.map { (ends - $0) / 1000 } }
                return (
                    """
                    customer_decided_by = $4, customer_decision = $5::smallint, customer_comment = $6,
                    customer_approved_duration_seconds = $7::bigint, customer_decided_at_ms = $3::bigint
                    """,
                    [env.caller.id, String(transition.decision.rawValue), request.comment, approved.map(String.init)]
                )
            } details: { _ in
                ["comment": .string(request.comment)]
            }
        }
        unary(&router, LockboxMethod.cancelAccessRequest, .cancelRequest) { (request: CancelAccessRequestRequest, env) in
            try InputLimits.check(request.reason, field: "reason", max: InputLimits.commentLength, required: false)
            return try Self.transition(request.requestID, permission: .cancelRequest, env) { record in
                (.cancel, Self.lifecycleActor(env.caller, tenant: record.tenantID, permission: .cancelRequest))
            } update: { transition in
                guard transition.activity == Activity.customerCancel else { return ("", []) }
                return (
                    """
                    customer_decided_by = $4, customer_decision = $5::smallint, customer_comment = $6,
                    customer_decided_at_ms = $3::bigint
                    """,
                    [env.caller.id, String(AuditDecision.cancel.rawValue), request.reason]
                )
            } details: { _ in
                ["reason": .string(request.reason)]
            }
        }
        unary(&router, LockboxMethod.revokeAccess, .revokeAccess) { (request: RevokeAccessRequest, env) in
            try InputLimits.check(request.reason, field: "reason", max: InputLimits.commentLength, required: false)
            return try Self.transition(request.requestID, permission: .revokeAccess, env) { record in
                (.revoke, Self.lifecycleActor(env.caller, tenant: record.tenantID, permission: .revokeAccess))
            } update: { _ in
                ("", [])
            } details: { _ in
                ["reason": .string(request.reason)]
            }
        }
    }

    /// A tenant principal acting in its own tenant acts as the customer; anyone else as the provider.
    static func lifecycleActor(_ caller: Caller, tenant: String, permission: Permission) -> LifecycleActor {
        let customer = caller.assignments.contains { $0.role.isTenantRole && $0.tenantID == tenant && permission.roles.contains($0.role) }
        return customer ? .customer(caller.id) : .provider(caller.id)
    }

    // MARK: Create

    static func create(_ request: CreateAccessRequestRequest, _ env: CallEnvironment) throws -> AccessRequest {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
        guard let service = ContentService(proto: request.service) else {
            throw RPCError.invalidArgument("service must be one of exchange, sharepoint, onedrive, teams")
        }
        try InputLimits.check(request.ticketNumber, field: "ticket_number", max: InputLimits.ticketLength)
        try InputLimits.check(request.justification, field: "justification", max: InputLimits.justificationLength)
        try InputLimits.check(env.idempotencyKey, field: "idempotency key", max: InputLimits.idempotencyKeyLength, required: false)
        let tenant = try env.db.query(
            "SELECT max_access_duration_seconds FROM tenants WHERE tenant_id = $1",
            [request.tenantID]
        )
        guard let tenantRow = tenant.first else { throw RPCError.notFound("no such tenant") }
        try env.policy.validateDuration(request.requestedDurationSeconds, tenantCap: tenantRow.int64("max_access_duration_seconds"))

        let fingerprintSource = [
            request.tenantID, service.rawValue, request.ticketNumber, request.justification,
            String(request.requestedDurationSeconds),
        ].joined(separator: "\u{1F}")
        let fingerprint = sha256Hex(fingerprintSource)
        let key: String? = env.idempotencyKey.isEmpty ? nil : env.idempotencyKey
        let id = Tokens.newID("req")
        let inserted = try env.db.query(
            """
            INSERT INTO access_requests (tenant_id, request_id, service, ticket_number, justification,
                                         requested_duration_seconds, requester_id, status, created_at_ms,
                                         updated_at_ms, idempotency_key, request_fingerprint)
            VALUES ($1, $2, $3, $4, $5, $6::bigint, $7, 'PENDING_INTERNAL', $8::bigint, $8::bigint, $9, $10)
            ON CONFLICT (requester_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING request_id
            """,
            [
                request.tenantID, id, service.rawValue, request.ticketNumber, request.justification,
                String(request.requestedDurationSeconds), env.caller.id, String(env.nowMs), key, fingerprint,
            ]
        )
        if inserted.isEmpty {
            // The key was used before: the same request is answered with the original, another is refused.
            let existing = try env.db.query(
                requestSelect + " WHERE r.requester_id = $1 AND r.idempotency_key = $2",
                [env.caller.id, env.idempotencyKey]
            )
            guard let row = existing.first else { throw RPCError.unavailable("try again") }
            let record = RequestRecord(row: row)
            guard row.string("request_fingerprint") == fingerprint else {
                throw RPCError(.alreadyExists, "this idempotency key was already used for a different request")
            }
            return record.proto(nowMs: env.nowMs)
        }
        try env.audit(
            tenant: request.tenantID,
            activity: Activity.requestCreated,
            item: id,
            details: [
                "service": .string(service.rawValue),
                "ticket_number": .string(request.ticketNumber),
                "requested_duration_seconds": .int(request.requestedDurationSeconds),
                "justification": .string(request.justification),
            ]
        )
        try RequestChange(tenantID: request.tenantID, requestID: id, activity: Activity.requestCreated).announce(on: env.db)
        return try fetch(id, env.db).proto(nowMs: env.nowMs)
    }

    static func fetch(_ id: String, _ db: PGConnection, forUpdate: Bool = false) throws -> RequestRecord {
        let rows = try db.query(requestSelect + " WHERE r.request_id = $1" + (forUpdate ? " FOR UPDATE OF r" : ""), [id])
        guard let row = rows.first else { throw RPCError.notFound("no such request") }
        return RequestRecord(row: row)
    }

    /// The request, if the caller may read it; NOT_FOUND otherwise, so its existence does not leak.
    static func readable(_ id: String, _ env: CallEnvironment) throws -> RequestRecord {
        let record = try fetch(id, env.db)
        guard mayRead(env.caller, record) else { throw RPCError.notFound("no such request") }
        return record
    }

    static func mayRead(_ caller: Caller, _ record: RequestRecord) -> Bool {
        caller.assignments.contains { assignment in
            switch assignment.role {
            case .supportManager, .auditor: true
            case .operator: record.requesterID == caller.id
            case .globalAdmin, .lockboxApprover: assignment.tenantID == record.tenantID
            default: false
            }
        }
    }

    // MARK: Transitions

    /// Locks the request row, applies the lifecycle rule, and writes the new state, the grant
    /// and the audit record in the caller's transaction. Of two concurrent deciders the second
    /// waits for the row lock, then sees the new state and gets FAILED_PRECONDITION.
    static func transition(
        _ requestID: String,
        permission: Permission,
        _ env: CallEnvironment,
        action: (RequestRecord) throws -> (LifecycleAction, LifecycleActor),
        update: (Transition) -> (String, [String?]),
        details: (Transition) -> [String: JSONValue]
    ) throws -> AccessRequest {
        try InputLimits.check(requestID, field: "request_id", max: InputLimits.idLength)
        let record = try fetch(requestID, env.db, forUpdate: true)
        // What the caller may not see does not exist for it; then it needs the permission in
        // this request's tenant (provider roles hold theirs everywhere).
        guard mayRead(env.caller, record) else { throw RPCError.notFound("no such request") }
        guard Authorizer.allows(env.caller, permission, tenant: record.tenantID) else {
            throw RPCError.permissionDenied()
        }
        let settings = try env.db.query(
            "SELECT lockbox_enabled, approval_window_seconds FROM tenants WHERE tenant_id = $1",
            [record.tenantID]
        )
        guard let tenant = settings.first else { throw RPCError.notFound("no such tenant") }
        let (lifecycleAction, actor) = try action(record)
        let transition = try Lifecycle.transition(
            lifecycleAction,
            facts: record.facts,
            actor: actor,
            nowMs: env.nowMs,
            lockboxEnabled: tenant.bool("lockbox_enabled"),
            approvalWindowSeconds: tenant.int64("approval_window_seconds"),
            policy: env.policy
        )
        let (extraSet, extraParameters) = update(transition)
        try env.db.query(
            "UPDATE access_requests SET status = $2, updated_at_ms = $3::bigint"
                + (extraSet.isEmpty ? "" : ", " + extraSet) + " WHERE request_id = $1",
            [requestID, transition.to.rawValue, String(env.nowMs)] + extraParameters
        )
        if let starts = transition.grantStartsAtMs, let ends = transition.grantEndsAtMs {
            try env.db.query(
                """
                INSERT INTO grants (tenant_id, request_id, operator_id, service, starts_at_ms, ends_at_ms)
                VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint)
                """,
                [record.tenantID, requestID, record.requesterID, record.service?.rawValue ?? "", String(starts), String(ends)]
            )
        }
        if transition.to == .revoked {
            try env.db.query(
                "UPDATE grants SET revoked_at_ms = $3::bigint WHERE tenant_id = $1 AND request_id = $2",
                [record.tenantID, requestID, String(env.nowMs)]
            )
        }
        var auditDetails = details(transition)
        auditDetails["from"] = .string(transition.from.rawValue)
        auditDetails["to"] = .string(transition.to.rawValue)
        if let ends = transition.grantEndsAtMs {
            auditDetails["grant_starts_at_ms"] = .int(transition.grantStartsAtMs ?? env.nowMs)
            auditDetails["grant_ends_at_ms"] = .int(ends)
        }
        try env.audit(
            tenant: record.tenantID,
            activity: transition.activity,
            item: requestID,
            decision: transition.decision,
            details: auditDetails
        )
        try RequestChange(tenantID: record.tenantID, requestID: requestID, activity: transition.activity).announce(on: env.db)
        return try fetch(requestID, env.db).proto(nowMs: env.nowMs)
    }

    // MARK: List

    static func list(_ request: ListAccessRequestsRequest, _ env: CallEnvironment) throws -> ListAccessRequestsResponse {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        try InputLimits.check(request.requestID, field: "request_id", max: InputLimits.idLength, required: false)
        var tenant = request.tenantID
        var requester = ""
        let caller = env.caller
        let broad = caller.holds(.supportManager) || caller.holds(.auditor)
        if !broad {
            let tenantRoles = caller.assignments.filter { $0.role.isTenantRole }.map(\.tenantID)
            if let own = tenantRoles.first, tenant.isEmpty || tenantRoles.contains(tenant) {
                if tenant.isEmpty { tenant = own }
            } else if caller.holds(.operator) {
                requester = caller.id
            } else {
                throw RPCError.permissionDenied()
            }
        }
        var status = ""
        if request.status != .unspecified {
            guard let state = RequestState(proto: request.status) else {
                throw RPCError.invalidArgument("unknown status \(request.status)")
            }
            status = state.rawValue
        }
        var service = ""
        if request.service != .unspecified {
            guard let known = ContentService(proto: request.service) else {
                throw RPCError.invalidArgument("unknown service \(request.service)")
            }
            service = known.rawValue
        }
        var cursorTime = Int64.max
        var cursorID = ""
        if !request.pageToken.isEmpty {
            let parts = request.pageToken.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let time = Int64(parts[0]), parts[1].count <= InputLimits.idLength else {
                throw RPCError.invalidArgument("invalid page_token")
            }
            cursorTime = time
            cursorID = String(parts[1])
        }
        let pageSize = InputLimits.pageSize(request.pageSize)
        let effectiveStatus = """
            CASE WHEN r.status = 'PENDING_CUSTOMER' AND r.customer_deadline_ms <= $10::bigint THEN 'EXPIRED'
                 WHEN r.status = 'APPROVED' AND g.ends_at_ms <= $10::bigint THEN 'COMPLETED'
                 ELSE r.status END
            """
        let rows = try env.db.query(
            requestSelect + """
                 WHERE ($1 = '' OR r.tenant_id = $1)
                   AND ($2 = '' OR \(effectiveStatus) = $2)
                   AND r.created_at_ms > $3::bigint
                   AND ($4 = '' OR r.service = $4)
                   AND ($5 = '' OR r.request_id = $5)
                   AND ($6 = '' OR r.requester_id = $6)
                   AND (r.created_at_ms, r.request_id) < ($7::bigint, $8)
                 ORDER BY r.created_at_ms DESC, r.request_id DESC
                 LIMIT $9::int
                """,
            [
                tenant, status, String(request.createdAfterMs), service, request.requestID, requester,
                String(cursorTime), cursorID, String(pageSize + 1), String(env.nowMs),
            ]
        )
        let records = rows.rows.prefix(pageSize).map { RequestRecord(row: $0) }
        var response = ListAccessRequestsResponse(requests: records.map { $0.proto(nowMs: env.nowMs) })
        if rows.count > pageSize, let last = records.last {
            response.nextPageToken = "\(last.row.int64("created_at_ms")):\(last.id)"
        }
        return response
    }
}
