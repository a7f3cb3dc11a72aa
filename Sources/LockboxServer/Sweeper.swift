import LockboxCore
import LockboxStore
import Logging
import ServiceLifecycle

/// Brings stored states and the audit log up to date with the clock: PENDING_CUSTOMER past its
/// deadline becomes EXPIRED, APPROVED past its grant end becomes COMPLETED, each with one audit
/// record. Correctness never depends on it (the clock decides on every call); it only tidies.
///
/// Safe with many replicas: each batch locks its rows with `FOR UPDATE SKIP LOCKED`, so two
/// sweepers never move the same request, and each move is audited exactly once.
public struct Sweeper: Service {
    let service: LockboxService

    public init(service: LockboxService) { self.service = service }

    public func run() async throws {
        let logger = service.logger
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let moved = try await sweepOnce()
                    if moved > 0 { logger.info("sweeper moved requests", metadata: ["sweep.count": "\(moved)"]) }
                } catch {
                    logger.warning("sweep failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: service.configuration.sweepInterval)
            }
        }
    }

    /// One pass of both sweeps; returns how many requests it moved.
    @discardableResult
    public func sweepOnce() async throws -> Int {
        var total = 0
        while true {
            let expired = try await sweep(.expire)
            let completed = try await sweep(.complete)
            total += expired + completed
            if expired < service.configuration.sweepBatchSize && completed < service.configuration.sweepBatchSize {
                return total
            }
        }
    }

    private func sweep(_ action: LifecycleAction) async throws -> Int {
        let batch = service.configuration.sweepBatchSize
        let clock = service.clock
        return try await service.pool.transaction { db in
            let now = clock.nowMillis()
            let rows: PGRows
            if action == .expire {
                rows = try db.query(
                    """
                    SELECT r.tenant_id, r.request_id, r.requester_id, r.requested_duration_seconds, r.customer_deadline_ms,
                           NULL::bigint AS ends_at_ms
                    FROM access_requests r
                    WHERE r.status = 'PENDING_CUSTOMER' AND r.customer_deadline_ms <= $1::bigint
                    ORDER BY r.customer_deadline_ms
                    LIMIT $2::int
                    FOR UPDATE OF r SKIP LOCKED
                    """,
                    [String(now), String(batch)]
                )
            } else {
                rows = try db.query(
                    """
                    SELECT r.tenant_id, r.request_id, r.requester_id, r.requested_duration_seconds, g.ends_at_ms,
                           r.customer_deadline_ms
                    FROM access_requests r
                    JOIN grants g ON g.tenant_id = r.tenant_id AND g.request_id = r.request_id
                    WHERE r.status = 'APPROVED' AND g.ends_at_ms <= $1::bigint
                    ORDER BY g.ends_at_ms
                    LIMIT $2::int
                    FOR UPDATE OF r SKIP LOCKED
                    """,
                    [String(now), String(batch)]
                )
            }
            for row in rows.rows {
                let facts = RequestFacts(
                    state: action == .expire ? .pendingCustomer : .approved,
                    requesterID: row.string("requester_id"),
                    requestedDurationSeconds: row.int64("requested_duration_seconds"),
                    customerDeadlineMs: row.optionalInt64("customer_deadline_ms"),
                    grantEndsAtMs: row.optionalInt64("ends_at_ms")
                )
                let transition = try Lifecycle.transition(
                    action,
                    facts: facts,
                    actor: .system,
                    nowMs: now,
                    lockboxEnabled: true,
                    approvalWindowSeconds: 0
                )
                let tenant = row.string("tenant_id")
                let request = row.string("request_id")
                try db.query(
                    "UPDATE access_requests SET status = $2, updated_at_ms = $3::bigint WHERE request_id = $1",
                    [request, transition.to.rawValue, String(now)]
                )
                try AuditLog.append(
                    AuditEntry(
                        tenantID: tenant,
                        actorID: AuditLog.systemActorID,
                        actorDisplay: AuditLog.systemActorDisplay,
                        actorIP: "",
                        activity: transition.activity,
                        item: request,
                        details: ["from": .string(transition.from.rawValue), "to": .string(transition.to.rawValue)]
                    ),
                    nowMs: now,
                    db: db
                )
                try RequestChange(tenantID: tenant, requestID: request, activity: transition.activity).announce(on: db)
            }
            return rows.count
        }
    }
}
