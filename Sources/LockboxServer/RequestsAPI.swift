import LockboxCore
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxStore

/// Filing, reading, deciding, cancelling, revoking and watching access requests. Every change
/// goes through the ``RequestWorkflow``.
struct RequestsAPI: Sendable {
    let gate: Gatekeeper
    let workflow: RequestWorkflow
    /// Feeds WatchAccessRequests; without one that method answers UNAVAILABLE.
    let notifier: RequestNotifier?
    let requests = RequestStore()
    let events = EventStore()

    func register(on router: inout RPCRouter) {
        router.register(LockboxMethods.createAccessRequest, gate: gate, create)
        router.register(LockboxMethods.getAccessRequest, gate: gate, get)
        router.register(LockboxMethods.listAccessRequests, gate: gate, list)
        router.register(LockboxMethods.decideInternal, gate: gate, decideInternal)
        router.register(LockboxMethods.decideCustomer, gate: gate, decideCustomer)
        router.register(LockboxMethods.cancelAccessRequest, gate: gate, cancel)
        router.register(LockboxMethods.revokeAccess, gate: gate, revoke)
        router.register(LockboxMethods.watchAccessRequests) { request, context, writer in
            try await watch(request, context: context, writer: writer)
        }
    }

    // MARK: Create and read

    func create(_ request: CreateAccessRequestRequest, _ call: Call) throws -> AccessRequest {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
        let service = try ContentService.required(request.service)
        try InputLimits.checkLine(request.ticketNumber, field: "ticket_number", max: InputLimits.ticketLength)
        try InputLimits.check(request.justification, field: "justification", max: InputLimits.justificationLength)
        try InputLimits.check(
            call.idempotencyKey,
            field: "idempotency key",
            max: InputLimits.idempotencyKeyLength,
            required: false
        )
        try InputLimits.check(
            request.extendsRequestID,
            field: "extends_request_id",
            max: InputLimits.idLength,
            required: false
        )
        guard request.startsAtMs >= 0 else { throw DomainError.invalidArgument("starts_at_ms must not be negative") }
        guard request.operations.count <= InputLimits.listLength else {
            throw DomainError.invalidArgument("operations holds at most \(InputLimits.listLength) names")
        }
        for operation in request.operations { try InputLimits.checkOperation(operation) }
        let new = NewAccessRequest(
            tenantID: request.tenantID,
            service: service,
            ticketNumber: request.ticketNumber,
            justification: request.justification,
            requestedDurationSeconds: request.requestedDurationSeconds,
            scheduledStartMs: request.startsAtMs == 0 ? nil : request.startsAtMs,
            extendsRequestID: request.extendsRequestID.isEmpty ? nil : request.extendsRequestID,
            operations: request.operations.isEmpty
                ? nil : Array(Set(request.operations.map { $0.lowercased() })).sorted(),
            category: try LockboxCore.JustificationCategory.from(request.category)
        )
        let key: String? = call.idempotencyKey.isEmpty ? nil : call.idempotencyKey
        return try workflow.file(new, idempotencyKey: key, by: call.caller, nowMs: call.nowMs, call.db)
            .proto(nowMs: call.nowMs)
    }

    func get(_ request: GetAccessRequestRequest, _ call: Call) throws -> AccessRequest {
        try InputLimits.check(request.requestID, field: "request_id", max: InputLimits.idLength)
        try InputLimits.check(request.signingKeyID, field: "signing_key_id", max: InputLimits.idLength, required: false)
        guard let record = try requests.find(id: request.requestID, lock: false, call.db),
            Authorization.mayRead(call.caller, request: record.target)
        else { throw DomainError.notFound("no such request") }
        var proto = record.proto(nowMs: call.nowMs)
        if let trust = workflow.trust {
            (proto.approvalsRequired, proto.customerVotes) = try trust.standing(of: record, call.db)
        }
        // The statements to sign, for a caller who may decide it now.
        if !request.signingKeyID.isEmpty, let trust = workflow.trust,
            Lifecycle.effectiveState(record.facts, nowMs: call.nowMs) == .pendingCustomer,
            call.caller.assignments.contains(where: {
                $0.tenantID == record.tenantID && ($0.role == .lockboxApprover || $0.role == .globalAdmin)
            }),
            let statements = try trust.decisionStatements(
                for: record,
                keyID: request.signingKeyID,
                by: call.caller,
                nowMs: call.nowMs,
                policy: workflow.policy,
                call.db
            )
        {
            proto.approveStatement = statements.approve.canonicalBytes
            proto.denyStatement = statements.deny.canonicalBytes
        }
        return proto
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

    // MARK: Decisions

    func decideInternal(_ request: InternalDecision, _ call: Call) throws -> AccessRequest {
        try InputLimits.check(request.comment, field: "comment", max: InputLimits.commentLength, required: false)
        return try move(
            request.requestID,
            RequestMove(action: request.approve ? .approveInternal : .denyInternal, note: request.comment),
            call
        )
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
        return try move(
            request.requestID,
            RequestMove(action: action, note: request.comment, signed: request.signedDecision),
            call
        )
    }

    func cancel(_ request: CancelAccessRequestRequest, _ call: Call) throws -> AccessRequest {
        try InputLimits.check(request.reason, field: "reason", max: InputLimits.commentLength, required: false)
        return try move(request.requestID, RequestMove(action: .cancel, note: request.reason), call)
    }

    func revoke(_ request: RevokeAccessRequest, _ call: Call) throws -> AccessRequest {
        try InputLimits.check(request.reason, field: "reason", max: InputLimits.commentLength, required: false)
        return try move(request.requestID, RequestMove(action: .revoke, note: request.reason), call)
    }

    private func move(_ requestID: String, _ move: RequestMove, _ call: Call) throws -> AccessRequest {
        try InputLimits.check(requestID, field: "request_id", max: InputLimits.idLength)
        return try workflow.move(requestID, move, by: call.caller, nowMs: call.nowMs, call.db).proto(nowMs: call.nowMs)
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
        }
        /// What the caller may see of the feed, as it is now.
        func admitted() async throws -> (caller: Caller, tenantID: String?, mayRead: @Sendable (RequestEvent) -> Bool) {
            let caller = try await gate.admit(context)
            let scope = try gate.guarded(context) {
                try Authorization.scope(caller, .readRequests, requestedTenant: request.tenantID)
            }
            return (caller, scope.tenantID, { event in Authorization.mayRead(caller, request: event.target) })
        }
        let first = try await admitted()
        var (tenantID, mayRead) = (first.tenantID, first.mayRead)
        let positions = try await gate.read(context) { [events] db in try events.positions(db) }
        let session: WatchSession
        do {
            session = try notifier.session(principalID: first.caller.id, since: request.since, positions: positions)
        } catch is RequestNotifier.TooManyWatches {
            throw RPCError(
                .resourceExhausted,
                "at most \(notifier.configuration.maxWatchesPerPrincipal) open watches per principal"
            )
        } catch {
            throw gate.rpcError(error, context.logger)
        }
        defer { session.close() }
        // From here on every event after the cursor reaches this watch, in order, once.
        try await writer.send(AccessRequestEvent(live: true, eventID: session.cursor.position))
        while let step = try await session.next(
            tenantID: tenantID,
            read: { body in try await gate.read(context, body) }
        ) {
            switch step {
            case .recheck:
                (_, tenantID, mayRead) = try await admitted()
            case .page(let entries):
                let nowMs = gate.clock.nowMillis()
                for entry in entries where mayRead(entry.event) {
                    try await writer.send(
                        AccessRequestEvent(
                            request: entry.request?.proto(nowMs: nowMs),
                            activity: entry.event.activity.rawValue,
                            eventID: entry.event.seq,
                            status: entry.event.state.proto,
                            occurredAtMs: entry.event.occurredAtMs
                        )
                    )
                }
            }
        }
    }
}
