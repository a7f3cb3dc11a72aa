import LockboxCore
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxStore

/// Filing, reading, deciding, cancelling, revoking and watching access requests.
struct RequestsAPI: Sendable {
    let gate: Gatekeeper
    let requests: any RequestStore
    let tenants: any TenantStore
    let audit: any AuditStore
    let transitions: TransitionWriter
    let policy: Policy
    /// Feeds WatchAccessRequests; without one that method answers UNAVAILABLE.
    let notifier: RequestNotifier?
    /// Signs customer decisions.
    let integrity: AuditIntegrity

    func register(on router: inout RPCRouter) {
        router.register(LockboxMethods.createAccessRequest) { request, context in
            try await gate.unary(context) { call in try create(request, call) }
        }
        router.register(LockboxMethods.getAccessRequest) { request, context in
            try await gate.unary(context) { call in try get(request, call) }
        }
        router.register(LockboxMethods.listAccessRequests) { request, context in
            try await gate.unary(context) { call in try list(request, call) }
        }
        router.register(LockboxMethods.decideInternal) { request, context in
            try await gate.unary(context) { call in try decideInternal(request, call) }
        }
        router.register(LockboxMethods.decideCustomer) { request, context in
            try await gate.unary(context) { call in try decideCustomer(request, call) }
        }
        router.register(LockboxMethods.cancelAccessRequest) { request, context in
            try await gate.unary(context) { call in try cancel(request, call) }
        }
        router.register(LockboxMethods.revokeAccess) { request, context in
            try await gate.unary(context) { call in try revoke(request, call) }
        }
        router.register(LockboxMethods.watchAccessRequests) { request, context, writer in
            try await watch(request, context: context, writer: writer)
        }
    }

    // MARK: Create and read

    func create(_ request: CreateAccessRequestRequest, _ call: Call) throws -> AccessRequest {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
        let service = try ContentService.required(request.service)
        try InputLimits.check(request.ticketNumber, field: "ticket_number", max: InputLimits.ticketLength)
        try InputLimits.check(request.justification, field: "justification", max: InputLimits.justificationLength)
        try InputLimits.check(
            call.idempotencyKey,
            field: "idempotency key",
            max: InputLimits.idempotencyKeyLength,
            required: false
        )
        let new = NewAccessRequest(
            tenantID: request.tenantID,
            service: service,
            ticketNumber: request.ticketNumber,
            justification: request.justification,
            requestedDurationSeconds: request.requestedDurationSeconds
        )
        let key: String? = call.idempotencyKey.isEmpty ? nil : call.idempotencyKey
        // A retry is answered from what was stored, before rules that may have changed since
        // (a lowered tenant cap) are applied again.
        if let key, let original = try original(new, key: key, call) { return original }
        guard let rules = try tenants.rules(tenantID: request.tenantID, call.db) else {
            throw DomainError.notFound("no such tenant")
        }
        try policy.validateDuration(request.requestedDurationSeconds, tenantCap: rules.maxAccessDurationSeconds)
        let id = Credentials.newID("req")
        let inserted = try requests.insert(
            new,
            id: id,
            requesterID: call.caller.id,
            idempotencyKey: key,
            internalDeadlineMs: call.nowMs + policy.internalApprovalWindowSeconds * 1000,
            nowMs: call.nowMs,
            call.db
        )
        guard inserted else {
            // A concurrent create with the same key won the insert.
            guard let key, let original = try original(new, key: key, call) else {
                throw RPCError.unavailable("try again")
            }
            return original
        }
        try audit.append(
            AuditEntry(
                by: call.caller,
                tenantID: request.tenantID,
                kind: .lifecycle,
                activity: Activity.requestCreated,
                item: id,
                details: [
                    "service": .string(service.rawValue),
                    "ticket_number": .string(request.ticketNumber),
                    "requested_duration_seconds": .int(request.requestedDurationSeconds),
                    "justification": .string(request.justification),
                ]
            ),
            nowMs: call.nowMs,
            call.db
        )
        try transitions.events.append(
            NewRequestEvent(
                tenantID: request.tenantID,
                requestID: id,
                requesterID: call.caller.id,
                activity: Activity.requestCreated,
                state: .pendingInternal,
                actorID: call.caller.id
            ),
            nowMs: call.nowMs,
            call.db
        )
        return try stored(id, call).proto(nowMs: call.nowMs)
    }

    /// The request this caller filed before under `key`: the original for the same payload,
    /// ALREADY_EXISTS for another; nil when the key is new.
    private func original(_ new: NewAccessRequest, key: String, _ call: Call) throws -> AccessRequest? {
        guard
            let (existing, samePayload) = try requests.find(
                requesterID: call.caller.id,
                idempotencyKey: key,
                payload: new,
                call.db
            )
        else { return nil }
        guard samePayload else {
            throw DomainError(.alreadyExists, "this idempotency key was already used for a different request")
        }
        return existing.proto(nowMs: call.nowMs)
    }

    func get(_ request: GetAccessRequestRequest, _ call: Call) throws -> AccessRequest {
        try InputLimits.check(request.requestID, field: "request_id", max: InputLimits.idLength)
        guard let record = try requests.find(id: request.requestID, lock: false, call.db),
            Authorization.mayRead(call.caller, request: record.target)
        else { throw DomainError.notFound("no such request") }
        return record.proto(nowMs: call.nowMs)
    }

    func list(_ request: ListAccessRequestsRequest, _ call: Call) throws -> ListAccessRequestsResponse {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        try InputLimits.check(request.requestID, field: "request_id", max: InputLimits.idLength, required: false)
        let scope = try Authorization.scope(call.caller, .readRequests, requestedTenant: request.tenantID)
        var filter = RequestFilter(
            tenantID: scope.tenantID,
            requesterID: scope.requesterID,
            service: try ContentService.filter(request.service),
            requestID: request.requestID.isEmpty ? nil : request.requestID,
            createdAfterMs: request.createdAfterMs
        )
        if request.status != .unspecified {
            guard let state = RequestState(proto: request.status) else {
                throw DomainError.invalidArgument("unknown status \(request.status)")
            }
            filter.state = state
        }
        if !request.pageToken.isEmpty {
            let parts = request.pageToken.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let time = Int64(parts[0]), parts[1].utf8.count <= InputLimits.idLength else {
                throw DomainError.invalidArgument("invalid page_token")
            }
            filter.before = (time, String(parts[1]))
        }
        let pageSize = InputLimits.pageSize(request.pageSize)
        let records = try requests.list(filter, nowMs: call.nowMs, limit: pageSize + 1, call.db)
        let page = records.prefix(pageSize)
        var response = ListAccessRequestsResponse(requests: page.map { $0.proto(nowMs: call.nowMs) })
        if records.count > pageSize, let last = page.last {
            response.nextPageToken = "\(last.createdAtMs):\(last.id)"
        }
        return response
    }

    private func stored(_ id: String, _ call: Call) throws -> RequestRecord {
        guard let record = try requests.find(id: id, lock: false, call.db) else {
            throw DomainError.notFound("no such request")
        }
        return record
    }

    // MARK: Decisions

    func decideInternal(_ request: InternalDecision, _ call: Call) throws -> AccessRequest {
        try InputLimits.check(request.comment, field: "comment", max: InputLimits.commentLength, required: false)
        return try transition(
            request.requestID,
            .decideInternal,
            request.approve ? .approveInternal : .denyInternal,
            call
        ) { transition, _ in
            var details: [String: JSONValue] = ["comment": .string(request.comment)]
            if let required = transition.customerApprovalRequired {
                details["customer_approval_required"] = .bool(required)
            }
            if let deadline = transition.customerDeadlineMs { details["customer_deadline_ms"] = .int(deadline) }
            let decision = InternalDecisionRecord(
                approve: request.approve,
                comment: request.comment,
                decidedBy: call.caller.id,
                decidedAtMs: call.nowMs
            )
            return (RequestUpdate(state: transition.to, internalDecision: decision), details)
        }
    }

    func decideCustomer(_ request: CustomerDecision, _ call: Call) throws -> AccessRequest {
        try InputLimits.check(request.comment, field: "comment", max: InputLimits.commentLength, required: false)
        let action: LifecycleAction
        switch request.decision {
        case .approve: action = .approveCustomer(approvedDurationSeconds: request.approvedDurationSeconds)
        case .deny: action = .denyCustomer
        case .cancel: action = .cancel
        default:
            throw DomainError.invalidArgument("decision must be DECISION_APPROVE, DECISION_DENY or DECISION_CANCEL")
        }
        guard request.approvedDurationSeconds >= 0 else {
            throw DomainError.invalidArgument("approved_duration_seconds must not be negative")
        }
        return try transition(request.requestID, .decideCustomer, action, call) { transition, stored in
            // The customer's own decision, signed: what a data plane or an auditor can check
            // without trusting the server's database (a cancellation decides nothing).
            let signed =
                transition.decision == .cancel
                ? nil
                : integrity.sign(
                    ApprovalStatement(
                        tenantID: stored.tenantID,
                        requestID: stored.id,
                        operatorID: stored.requesterID,
                        service: stored.service.rawValue,
                        startsAtMs: transition.grant?.startsAtMs ?? 0,
                        endsAtMs: transition.grant?.endsAtMs ?? 0,
                        approverID: call.caller.id,
                        decision: AuditFormat.decisionName(transition.decision),
                        decidedAtMs: call.nowMs,
                        keyID: ""
                    )
                )
            let decision = CustomerDecisionRecord(
                decision: transition.decision,
                comment: request.comment,
                approvedDurationSeconds: transition.grant.map { ($0.endsAtMs - $0.startsAtMs) / 1000 },
                decidedBy: call.caller.id,
                decidedAtMs: call.nowMs,
                signed: signed
            )
            return (
                RequestUpdate(state: transition.to, customerDecision: decision), ["comment": .string(request.comment)]
            )
        }
    }

    func cancel(_ request: CancelAccessRequestRequest, _ call: Call) throws -> AccessRequest {
        try InputLimits.check(request.reason, field: "reason", max: InputLimits.commentLength, required: false)
        return try transition(request.requestID, .cancelRequest, .cancel, call) { transition, _ in
            var update = RequestUpdate(state: transition.to)
            if transition.activity == Activity.customerCancel {
                update.customerDecision = CustomerDecisionRecord(
                    decision: .cancel,
                    comment: request.reason,
                    approvedDurationSeconds: nil,
                    decidedBy: call.caller.id,
                    decidedAtMs: call.nowMs
                )
            }
            return (update, ["reason": .string(request.reason)])
        }
    }

    func revoke(_ request: RevokeAccessRequest, _ call: Call) throws -> AccessRequest {
        try InputLimits.check(request.reason, field: "reason", max: InputLimits.commentLength, required: false)
        return try transition(request.requestID, .revokeAccess, .revoke, call) { transition, _ in
            (RequestUpdate(state: transition.to), ["reason": .string(request.reason)])
        }
    }

    /// Locks the request row, applies the lifecycle rule, and writes the new state, the grant
    /// and the audit record in the call's transaction. Of two concurrent deciders the second
    /// waits for the row lock, then sees the new state and gets FAILED_PRECONDITION.
    ///
    /// `record` says what the transition writes besides its state, and the audit details.
    private func transition(
        _ requestID: String,
        _ permission: Permission,
        _ action: LifecycleAction,
        _ call: Call,
        record: (Transition, RequestRecord) -> (RequestUpdate, [String: JSONValue])
    ) throws -> AccessRequest {
        try InputLimits.check(requestID, field: "request_id", max: InputLimits.idLength)
        guard let request = try requests.find(id: requestID, lock: true, call.db) else {
            throw DomainError.notFound("no such request")
        }
        try Authorization.requireAction(call.caller, permission, on: request.target)
        guard let rules = try tenants.rules(tenantID: request.tenantID, call.db) else {
            throw DomainError.notFound("no such tenant")
        }
        let transition = try Lifecycle.transition(
            action,
            facts: request.facts,
            actor: Authorization.actor(call.caller, permission, on: request.target),
            nowMs: call.nowMs,
            rules: rules,
            policy: policy
        )
        let (update, details) = record(transition, request)
        try transitions.write(
            transition,
            of: request,
            update: update,
            details: details,
            by: call.caller,
            nowMs: call.nowMs,
            call.db
        )
        return try stored(requestID, call).proto(nowMs: call.nowMs)
    }

    // MARK: Watch

    /// Streams each change to the requests the caller may see, as it commits: this is how a
    /// tenant's approvers and global admins are notified that a request waits for them.
    ///
    /// The notifier reads each change once and offers it to every watch; this one keeps what
    /// its caller may see, in memory. The caller's token and roles are checked again when they
    /// change (role assigned or removed, token revoked, principal suspended) and at the
    /// notifier's re-check interval: a revoked token or removed role ends the stream then.
    func watch(
        _ request: WatchAccessRequestsRequest,
        context: RPCCallContext,
        writer: RPCStreamWriter<AccessRequestEvent>
    ) async throws {
        guard let notifier else { throw RPCError.unavailable("request notifications are not available") }
        try gate.guarded(context) {
            try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
            guard request.since >= 0 else { throw DomainError.invalidArgument("since must not be negative") }
        }
        /// What a caller may see of the feed, as it is now.
        func admitted() async throws -> (caller: Caller, tenantID: String?, filter: @Sendable (RequestEvent) -> Bool) {
            let caller = try await gate.admit(context)
            let scope = try gate.guarded(context) {
                try Authorization.scope(caller, .readRequests, requestedTenant: request.tenantID)
            }
            return (caller, scope.tenantID, { event in Authorization.mayRead(caller, request: event.target) })
        }
        var (caller, tenantID, filter) = try await admitted()
        let watch: RequestNotifier.Subscription
        do {
            watch = try notifier.subscribe(principalID: caller.id)
        } catch {
            throw RPCError(
                .resourceExhausted,
                "at most \(notifier.configuration.maxWatchesPerPrincipal) open watches per principal"
            )
        }
        defer { notifier.unsubscribe(watch.id) }
        let events = transitions.events
        let positions = try await gate.read(context) { db in try events.positions(db) }
        var cursor = positions.sequenced
        if request.since > 0 {
            guard request.since >= positions.pruned else {
                throw RPCError(
                    .outOfRange,
                    "events after \(request.since) are no longer kept (the feed keeps those after \(positions.pruned)); "
                        + "list the requests again, then watch without since"
                )
            }
            guard request.since <= positions.sequenced else {
                throw RPCError(
                    .outOfRange,
                    "event \(request.since) is ahead of the feed (its last event is \(positions.sequenced)); "
                        + "list the requests again, then watch without since"
                )
            }
            cursor = request.since
        }
        // From here on every event after the cursor reaches this watch, in order, once.
        try await writer.send(AccessRequestEvent(live: true, eventID: cursor))
        let pageSize = notifier.configuration.pageSize
        for await _ in watch.wakes {
            while true {
                if notifier.takeRecheck(watch.id) { (caller, tenantID, filter) = try await admitted() }
                let page: FeedPage
                if let recent = notifier.recent(after: cursor, tenantID: tenantID, limit: pageSize) {
                    page = recent
                } else {
                    // Further behind than the shared window: read the feed itself, a page at a time.
                    let head = notifier.head ?? cursor
                    page = try await gate.read(context) { [requests, cursor, tenantID] db in
                        let found = try events.events(after: cursor, tenantID: tenantID, limit: pageSize, db)
                        // Events after the cursor removed by retention before this page was read
                        // would be skipped silently: the position, read after the page, tells.
                        let pruned = try events.positions(db).pruned
                        guard pruned <= cursor else {
                            throw RPCError(
                                .outOfRange,
                                "events after \(cursor) are no longer kept; list the requests again, then watch without since"
                            )
                        }
                        // A short page holds every event of the scope up to what the hub had read before it.
                        let through = max(found.last?.seq ?? cursor, found.count < pageSize ? head : cursor)
                        return FeedPage(entries: try FeedEntry.read(found, requests: requests, db), through: through)
                    }
                }
                guard page.through > cursor else { break }
                let nowMs = gate.clock.nowMillis()
                for entry in page.entries where filter(entry.event) {
                    try await writer.send(
                        AccessRequestEvent(
                            request: entry.request?.proto(nowMs: nowMs),
                            activity: entry.event.activity,
                            eventID: entry.event.seq,
                            status: entry.event.state.proto,
                            occurredAtMs: entry.event.occurredAtMs
                        )
                    )
                }
                cursor = page.through
            }
        }
    }
}
