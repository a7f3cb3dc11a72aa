import LockboxCore
import LockboxStore

/// Writes a lifecycle transition: the request's new state and decision, the grant it starts
/// or ends, its audit record and its event in the feed, all in the call's transaction.
/// Used by every path that moves a request on a principal's behalf.
struct TransitionWriter: Sendable {
    let requests: any RequestStore
    let grants: any GrantStore
    let audit: any AuditStore
    let events: any EventStore

    func write(
        _ transition: Transition,
        of request: RequestRecord,
        update: RequestUpdate,
        details: [String: JSONValue],
        by caller: Caller,
        nowMs: Int64,
        _ db: PGConnection
    ) throws {
        var update = update
        var details = details
        update.customerDeadlineMs = transition.customerDeadlineMs
        try requests.update(id: request.id, update, nowMs: nowMs, db)
        if let window = transition.grant {
            try grants.insert(
                GrantRecord(
                    requestID: request.id,
                    operatorID: request.requesterID,
                    tenantID: request.tenantID,
                    service: request.service,
                    requestState: transition.to,
                    window: window
                ),
                db
            )
            details["grant_starts_at_ms"] = .int(window.startsAtMs)
            details["grant_ends_at_ms"] = .int(window.endsAtMs)
        }
        if let cap = transition.cappedToSeconds {
            details["capped_to_tenant_max_seconds"] = .int(cap)
        }
        if transition.to == .revoked {
            try grants.revoke(tenantID: request.tenantID, requestID: request.id, nowMs: nowMs, db)
        }
        details["from"] = .string(transition.from.rawValue)
        details["to"] = .string(transition.to.rawValue)
        try audit.append(
            AuditEntry(
                by: caller,
                tenantID: request.tenantID,
                kind: .lifecycle,
                activity: transition.activity,
                item: request.id,
                decision: transition.decision,
                details: details
            ),
            nowMs: nowMs,
            db
        )
        try events.append(
            NewRequestEvent(request, activity: transition.activity, state: transition.to, actorID: caller.id),
            nowMs: nowMs,
            db
        )
    }
}
