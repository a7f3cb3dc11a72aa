import Foundation
import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore

#if canImport(Glibc)
import Glibc
#endif

/// The display name every operator action carries in the audit log; the operator's own
/// identity is in the record's details.
let providerOperatorDisplay = "Provider Operator"

extension LockboxService {
    func registerAccessMethods(_ router: inout RPCRouter) {
        unary(&router, LockboxMethod.checkAccess, .checkAccess) { (request: CheckAccessRequest, env) in
            try Self.checkAccess(request, env)
        }
        unary(&router, LockboxMethod.listGrants, .readGrants) { (request: ListGrantsRequest, env) in
            try Self.listGrants(request, env)
        }
        unary(&router, LockboxMethod.listPreapprovedOperations, .readOperations) {
            (request: ListPreapprovedOperationsRequest, env) in
            var service = ""
            if request.service != .unspecified {
                guard let known = ContentService(proto: request.service) else { throw RPCError.invalidArgument("unknown service") }
                service = known.rawValue
            }
            let rows = try env.db.query(
                """
                SELECT service, operation, description FROM preapproved_operations
                WHERE $1 = '' OR service = $1 ORDER BY service, operation_key LIMIT 10000
                """,
                [service]
            )
            return ListPreapprovedOperationsResponse(
                operations: rows.rows.map {
                    PreapprovedOperation(
                        service: ContentService(rawValue: $0.string("service"))?.proto ?? .unspecified,
                        operation: $0.string("operation"),
                        description: $0.string("description")
                    )
                }
            )
        }
        unary(&router, LockboxMethod.addPreapprovedOperation, .manageOperations) { (request: PreapprovedOperation, env) in
            guard let service = ContentService(proto: request.service) else {
                throw RPCError.invalidArgument("service must be one of exchange, sharepoint, onedrive, teams")
            }
            try Self.validateOperation(request.operation)
            try InputLimits.check(request.description, field: "description", max: InputLimits.displayNameLength, required: false)
            let inserted = try env.db.query(
                """
                INSERT INTO preapproved_operations (service, operation, description, created_by, created_at_ms)
                VALUES ($1, $2, $3, $4, $5::bigint) ON CONFLICT DO NOTHING RETURNING operation
                """,
                [service.rawValue, request.operation, request.description, env.caller.id, String(env.nowMs)]
            )
            guard !inserted.isEmpty else { throw RPCError(.alreadyExists, "that operation is already pre-approved") }
            try env.audit(
                tenant: "",
                activity: Activity.operationAdded,
                details: ["service": .string(service.rawValue), "operation": .string(request.operation)]
            )
            return request
        }
        unary(&router, LockboxMethod.removePreapprovedOperation, .manageOperations) {
            (request: RemovePreapprovedOperationRequest, env) in
            guard let service = ContentService(proto: request.service) else { throw RPCError.invalidArgument("unknown service") }
            try Self.validateOperation(request.operation)
            let removed = try env.db.query(
                "DELETE FROM preapproved_operations WHERE service = $1 AND operation_key = lower($2) RETURNING operation",
                [service.rawValue, request.operation]
            )
            guard let row = removed.first else { throw RPCError.notFound("that operation is not pre-approved") }
            try env.audit(
                tenant: "",
                activity: Activity.operationRemoved,
                details: ["service": .string(service.rawValue), "operation": .string(row.string("operation"))]
            )
            return Empty()
        }
    }

    /// Names such as `Get-Mailbox`: letters, digits, '.', '_' and '-'; no wildcards.
    static func validateOperation(_ operation: String) throws {
        let allowed = operation.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x2d || $0 == 0x2e
                || $0 == 0x5f
        }
        guard !operation.isEmpty, operation.utf8.count <= InputLimits.operationLength, allowed,
            operation.utf8.first.map({ $0 != 0x2d && $0 != 0x2e && $0 != 0x5f }) ?? false
        else {
            throw RPCError.invalidArgument("operation must be a name such as Get-Mailbox: letters, digits, '.', '_' and '-'")
        }
    }

    static func validIP(_ text: String) -> Bool {
        guard text.utf8.count <= InputLimits.ipLength else { return false }
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// Decides whether an operator may perform an operation now, and records the check.
    ///
    /// The grant is read from the database on every call (no cache), under a share lock: a
    /// revocation in progress makes the check wait for it and then see it, so the audit log's
    /// order is the order in which checks and revocations took effect. The decision and its
    /// audit record commit together, and if the record cannot be written the call fails and
    /// nothing is allowed.
    static func checkAccess(_ request: CheckAccessRequest, _ env: CallEnvironment) throws -> CheckAccessResponse {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
        try InputLimits.check(request.operatorID, field: "operator_id", max: InputLimits.idLength)
        guard let service = ContentService(proto: request.service) else {
            throw RPCError.invalidArgument("service must be one of exchange, sharepoint, onedrive, teams")
        }
        try validateOperation(request.operation)
        guard validIP(request.clientIP) else { throw RPCError.invalidArgument("client_ip must be an IPv4 or IPv6 address") }

        // The allowed path: one statement finds the active grant through its index, share-locked
        // so that a revocation in progress is waited for and then seen, and checks the operation.
        let active = try env.db.query(
            """
            SELECT g.request_id, g.ends_at_ms,
                   EXISTS (SELECT 1 FROM preapproved_operations p
                           WHERE p.service = $3 AND p.operation_key = lower($5)) AS preapproved
            FROM grants g
            JOIN access_requests r ON r.tenant_id = g.tenant_id AND r.request_id = g.request_id
            WHERE g.operator_id = $1 AND g.tenant_id = $2 AND g.service = $3
              AND g.revoked_at_ms IS NULL AND r.status = 'APPROVED'
              AND g.starts_at_ms <= $4::bigint AND g.ends_at_ms > $4::bigint
            ORDER BY g.ends_at_ms DESC
            LIMIT 1
            FOR SHARE OF g
            """,
            [request.operatorID, request.tenantID, service.rawValue, String(env.nowMs), request.operation]
        )
        var reason = AccessDenyReason.noGrant
        var requestID = ""
        var endsAt: Int64 = 0
        if let grant = active.first {
            requestID = grant.string("request_id")
            endsAt = grant.int64("ends_at_ms")
            reason = grant.bool("preapproved") ? .unspecified : .operationNotPreapproved
        } else {
            (reason, requestID) = try denyReason(request, service: service, env)
        }
        let allowed = reason == .unspecified
        try AuditLog.append(
            AuditEntry(
                tenantID: request.tenantID,
                actorID: request.operatorID,
                actorDisplay: providerOperatorDisplay,
                actorIP: request.clientIP,
                activity: request.operation,
                item: requestID,
                details: [
                    "kind": .string("operator_action"),
                    "operator_id": .string(request.operatorID),
                    "service": .string(service.rawValue),
                    "allowed": .bool(allowed),
                    "reason": .string(allowed ? "ALLOWED" : String(reason.description.dropFirst("ACCESS_DENY_REASON_".count))),
                    "checked_by": .string(env.caller.id),
                    "checked_by_ip": .string(env.caller.ip),
                ]
            ),
            nowMs: env.nowMs,
            db: env.db
        )
        return CheckAccessResponse(
            allowed: allowed,
            reason: reason,
            requestID: requestID,
            grantEndsAtMs: allowed ? endsAt : 0
        )
    }

    /// Why there is no active grant: the latest grant for this tenant and service ended or was
    /// revoked; or a request waits for a decision; or the operator's active grant is for
    /// another tenant or service; or there is nothing at all.
    static func denyReason(_ request: CheckAccessRequest, service: ContentService, _ env: CallEnvironment) throws
        -> (AccessDenyReason, String)
    {
        let latest = try env.db.query(
            """
            SELECT g.request_id, g.revoked_at_ms, r.status
            FROM grants g
            JOIN access_requests r ON r.tenant_id = g.tenant_id AND r.request_id = g.request_id
            WHERE g.operator_id = $1 AND g.tenant_id = $2 AND g.service = $3
            ORDER BY g.ends_at_ms DESC
            LIMIT 1
            """,
            [request.operatorID, request.tenantID, service.rawValue]
        )
        if let grant = latest.first {
            let revoked = grant["revoked_at_ms"] != nil || grant.string("status") == RequestState.revoked.rawValue
            return (revoked ? .revoked : .grantExpired, grant.string("request_id"))
        }
        let pending = try env.db.query(
            """
            SELECT request_id FROM access_requests
            WHERE requester_id = $1 AND tenant_id = $2 AND service = $3
              AND status IN ('PENDING_INTERNAL', 'PENDING_CUSTOMER')
            ORDER BY created_at_ms DESC LIMIT 1
            """,
            [request.operatorID, request.tenantID, service.rawValue]
        )
        if let row = pending.first { return (.notApproved, row.string("request_id")) }
        let elsewhere = try env.db.query(
            """
            SELECT 1 FROM grants g
            JOIN access_requests r ON r.tenant_id = g.tenant_id AND r.request_id = g.request_id
            WHERE g.operator_id = $1 AND g.revoked_at_ms IS NULL AND r.status = 'APPROVED'
              AND g.starts_at_ms <= $2::bigint AND g.ends_at_ms > $2::bigint
            LIMIT 1
            """,
            [request.operatorID, String(env.nowMs)]
        )
        return (elsewhere.isEmpty ? .noGrant : .tenantServiceMismatch, "")
    }

    static func listGrants(_ request: ListGrantsRequest, _ env: CallEnvironment) throws -> ListGrantsResponse {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        try InputLimits.check(request.operatorID, field: "operator_id", max: InputLimits.idLength, required: false)
        let caller = env.caller
        var tenant = request.tenantID
        var operatorID = request.operatorID
        let broad = caller.holds(.supportManager) || caller.holds(.auditor) || caller.holds(.service)
        if !broad {
            if let own = try Authorizer.ownTenant(caller, requested: tenant) {
                tenant = own
            } else if caller.holds(.operator) {
                guard operatorID.isEmpty || operatorID == caller.id else { throw RPCError.permissionDenied() }
                operatorID = caller.id
            } else {
                throw RPCError.permissionDenied()
            }
        }
        if tenant.isEmpty && operatorID.isEmpty && !broad { throw RPCError.invalidArgument("tenant_id or operator_id is required") }
        let rows = try env.db.query(
            """
            SELECT g.request_id, g.operator_id, g.tenant_id, g.service, g.starts_at_ms, g.ends_at_ms
            FROM grants g
            JOIN access_requests r ON r.tenant_id = g.tenant_id AND r.request_id = g.request_id
            WHERE ($1 = '' OR g.tenant_id = $1) AND ($2 = '' OR g.operator_id = $2)
              AND r.status = 'APPROVED' AND g.revoked_at_ms IS NULL
              AND g.starts_at_ms <= $3::bigint AND g.ends_at_ms > $3::bigint
            ORDER BY g.ends_at_ms
            LIMIT 1000
            """,
            [tenant, operatorID, String(env.nowMs)]
        )
        return ListGrantsResponse(
            grants: rows.rows.map {
                let ends = $0.int64("ends_at_ms")
                return Grant(
                    requestID: $0.string("request_id"),
                    operatorID: $0.string("operator_id"),
                    tenantID: $0.string("tenant_id"),
                    service: ContentService(rawValue: $0.string("service"))?.proto ?? .unspecified,
                    startsAtMs: $0.int64("starts_at_ms"),
                    endsAtMs: ends,
                    active: true,
                    secondsLeft: (ends - env.nowMs) / 1000
                )
            }
        )
    }
}
