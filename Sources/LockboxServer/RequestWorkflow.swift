import LockboxCore
import LockboxIntegrity
import LockboxProto
import LockboxStore
import LockboxTrust

/// A principal's action on a request, with the words it carries: a comment on a decision, a
/// reason for a cancellation or a revocation.
struct RequestMove: Sendable {
    var action: LifecycleAction
    var note: String
    /// The approver's signed decision, for a customer's approval or denial.
    var signed: SignedDecision? = nil
}

/// The one place a request is filed, moved and settled: by a caller (decisions, cancels,
/// revocations), by the clock (the sweepers) and by a suspension. Every move writes the
/// request's new state, the grant it starts or ends, its audit record and its event in the
/// feed, in the caller's transaction: together, or not at all.
struct RequestWorkflow: Sendable {
    let policy: Policy
    /// Signs customer decisions.
    let integrity: AuditIntegrity?
    /// Verifies the decisions customers' own keys sign.
    let trust: TrustAPI?
    let requests = RequestStore()
    let grants = GrantStore()
    let tenants = TenantStore()
    let audit = AuditStore()
    let events = EventStore()
    let operations = OperationStore()
    let decisions = CustomerDecisionStore()

    // MARK: Filing

    /// Files a new request as `caller`, or answers a retry under the same idempotency key
    /// with what was stored (ALREADY_EXISTS for a key used with another payload).
    func file(_ new: NewAccessRequest, idempotencyKey key: String?, by caller: Caller, nowMs: Int64, _ db: PGConnection)
        throws -> RequestRecord
    {
        // A retry is answered from what was stored, before rules that may have changed since
        // (a lowered tenant cap) are applied again.
        if let key, let original = try original(new, key: key, by: caller, db) { return original }
        guard let rules = try tenants.rules(tenantID: new.tenantID, db) else {
            throw DomainError.notFound("no such tenant")
        }
        try policy.validateDuration(new.requestedDurationSeconds, tenantCap: rules.maxAccessDurationSeconds)
        // A retry under the same key compares with the payload as the caller sent it.
        let asSent = new
        var new = new
        var chainStartedAtMs: Int64?
        if let extended = new.extendsRequestID {
            let start = try extensionStart(of: extended, for: new, by: caller, nowMs, db)
            (new.scheduledStartMs, chainStartedAtMs) = (start.start, start.chainStartedAtMs)
            // An extension asks for no more than the grant it continues allows.
            guard Set(new.operations ?? start.operations).isSubset(of: start.operations) else {
                throw DomainError.invalidArgument("an extension asks for no operation its grant does not allow")
            }
            new.operations = new.operations ?? start.operations
        } else if let start = new.scheduledStartMs {
            guard start > nowMs, start - nowMs <= policy.maximumScheduleAheadSeconds * 1000 else {
                throw DomainError.invalidArgument(
                    "starts_at_ms must be in the future, at most \(policy.maximumScheduleAheadSeconds / 86400) days ahead"
                )
            }
        }
        // The tenant's signed policy may accept only some justification categories.
        if let accepted = try trust?.policy(tenantID: new.tenantID, version: rules.trustVersion, db)?
            .justificationCategories, !accepted.isEmpty,
            !accepted.contains(new.category?.rawValue ?? "")
        {
            throw DomainError(
                .failedPrecondition,
                "this tenant accepts requests with a justification category of \(accepted.joined(separator: ", "))"
            )
        }
        if let asked = new.operations {
            let preapproved = Set(try operations.scope(service: new.service, db))
            if let missing = asked.first(where: { !preapproved.contains($0) }) {
                throw DomainError.invalidArgument("\(missing) is not pre-approved for \(new.service.rawValue)")
            }
        }
        let id = Credentials.newID("req")
        // A start is the latest the support managers may decide by too.
        let stored = try requests.insert(
            new,
            fingerprinting: asSent,
            id: id,
            requesterID: caller.id,
            idempotencyKey: key,
            internalDeadlineMs: min(
                nowMs + policy.internalApprovalWindowSeconds * 1000,
                new.scheduledStartMs ?? .max
            ),
            chainStartedAtMs: chainStartedAtMs,
            nowMs: nowMs,
            db
        )
        guard let stored else {
            // A concurrent create with the same key won the insert.
            guard let key, let original = try original(new, key: key, by: caller, db) else {
                throw StoreError(.retryable, detail: "an idempotent create lost its race and found nothing")
            }
            return original
        }
        var details: [String: JSONValue] = [
            "service": .string(new.service.rawValue),
            "ticket_number": .string(new.ticketNumber),
            "requested_duration_seconds": .int(new.requestedDurationSeconds),
            "justification": .string(new.justification),
        ]
        if let start = new.scheduledStartMs { details["starts_at_ms"] = .int(start) }
        if let extended = new.extendsRequestID { details["extends_request_id"] = .string(extended) }
        if let asked = new.operations { details["requested_operations"] = .string(asked.joined(separator: ",")) }
        if let category = new.category { details["justification_category"] = .string(category.rawValue) }
        try record(
            AuditEntry(
                by: caller,
                tenantID: new.tenantID,
                kind: .lifecycle,
                activity: .requestCreated,
                item: id,
                details: details
            ),
            NewRequestEvent(
                tenantID: new.tenantID,
                requestID: id,
                requesterID: caller.id,
                activity: .requestCreated,
                state: .pendingInternal,
                actorID: caller.id
            ),
            nowMs: nowMs,
            db
        )
        return stored
    }

    /// Where an extension of `extendedID` starts (the end of its grant) and when its chain's
    /// first grant started, or why it may not be filed: the extended request must be the
    /// caller's own, of the same tenant and service, approved and not ended or revoked, with no
    /// other extension pending, and the chain must stay within
    /// ``Policy/maximumExtendedAccessSeconds``. The extended request is locked, so two
    /// extensions filed at once are serialized.
    private func extensionStart(
        of extendedID: String,
        for new: NewAccessRequest,
        by caller: Caller,
        _ nowMs: Int64,
        _ db: PGConnection
    ) throws -> (start: Int64, chainStartedAtMs: Int64, operations: [String]) {
        guard new.scheduledStartMs == nil else {
            throw DomainError.invalidArgument("an extension starts where its grant ends: leave starts_at_ms 0")
        }
        guard let extended = try requests.find(id: extendedID, lock: true, db), extended.requesterID == caller.id,
            extended.tenantID == new.tenantID
        else { throw DomainError.notFound("no such request of yours to extend") }
        guard extended.service == new.service else {
            throw DomainError.invalidArgument("an extension is for the service of the request it extends")
        }
        guard let grant = extended.grant, grant.revokedAtMs == nil, grant.endsAtMs > nowMs,
            Lifecycle.effectiveState(extended.facts, nowMs: nowMs) == .approved
        else {
            throw DomainError(.failedPrecondition, "only an approved grant that has not ended can be extended")
        }
        let open = try requests.extensions(of: extended, db).filter {
            RequestAction.cancel.states.contains(Lifecycle.effectiveState($0.facts, nowMs: nowMs))
        }
        guard open.isEmpty else {
            throw DomainError(.failedPrecondition, "an extension of this grant is pending already: \(open[0].id)")
        }
        let chainStart = extended.chainStartedAtMs ?? grant.startsAtMs
        let end = grant.endsAtMs + new.requestedDurationSeconds * 1000
        guard end - chainStart <= policy.maximumExtendedAccessSeconds * 1000 else {
            throw DomainError(
                .failedPrecondition,
                "a grant and its extensions run at most \(policy.maximumExtendedAccessSeconds / 3600) hours together"
            )
        }
        return (grant.endsAtMs, chainStart, extended.grantOperations)
    }

    /// The request this caller filed before under `key`: the original for the same payload,
    /// ALREADY_EXISTS for another; nil when the key is new.
    private func original(_ new: NewAccessRequest, key: String, by caller: Caller, _ db: PGConnection) throws
        -> RequestRecord?
    {
        guard
            let (existing, samePayload) = try requests.find(
                requesterID: caller.id,
                idempotencyKey: key,
                payload: new,
                db
            )
        else { return nil }
        guard samePayload else {
            throw DomainError(.alreadyExists, "this idempotency key was already used for a different request")
        }
        return existing
    }

    // MARK: Moves by a caller

    /// Applies a caller's move. The request row is locked first: of two concurrent movers the
    /// second waits, then sees the new state and gets FAILED_PRECONDITION naming it. A request
    /// the caller may not see is NOT_FOUND; who may move it is ``Lifecycle``'s to say.
    func move(_ requestID: String, _ move: RequestMove, by caller: Caller, nowMs: Int64, _ db: PGConnection) throws
        -> RequestRecord
    {
        guard let request = try requests.find(id: requestID, lock: true, db),
            Authorization.mayRead(caller, request: request.target)
        else { throw DomainError.notFound("no such request") }
        guard let rules = try tenants.rules(tenantID: request.tenantID, db) else {
            throw DomainError.notFound("no such tenant")
        }
        var transition = try Lifecycle.transition(
            move.action,
            facts: request.facts,
            by: caller,
            nowMs: nowMs,
            rules: rules,
            policy: policy
        )
        // On a tenant with a root, the customer's own key signs the decision, each approver's
        // signed decision is kept, and the tenant's signed policy says how many decide (N of
        // M). An approval's grant runs where every counted approval's signed window holds.
        var customerSigned: CustomerSignature?
        var approvedBy: [String] = []
        // The operations the approvals allow, when signed: those every counted approval signed.
        var signedScope: [String]?
        if move.action.kind == .decideCustomer, transition.activity != .customerCancel, let trust,
            let verified = try trust.verifyDecision(
                move.signed,
                approve: transition.decision == .approve,
                for: request,
                by: caller,
                nowMs: nowMs,
                db
            )
        {
            customerSigned = verified.signature
            // Every stored decision is verified again: a row written behind lockboxd's back
            // without an approver's signature, or made under a delegation revoked since, counts
            // for nothing, and does not stand in the way of the approver's own decision.
            var statements = try trust.verifiedDecisions(of: request, verified, db)
            let counted = verified.statement.countedApproverID
            // An approval whose signed window ended counts for nothing: its approver decides again.
            if Quorum.hasStanding(counted, in: statements, nowMs: nowMs) {
                throw DomainError(
                    .failedPrecondition,
                    verified.statement.delegationID.isEmpty
                        ? "you have decided this request already: each approver counts once, and a decision stands"
                        : "\(counted) has decided this request already, in person or by a delegate: each approver "
                            + "counts once, and a decision stands"
                )
            }
            // An approver decides a request at most three times (a decision that lapsed or no
            // longer verifies makes room for another), so that its rows stay few.
            guard statements.filter({ $0.countedApproverID == counted }).count < 3 else {
                throw DomainError(.failedPrecondition, "\(counted) has decided this request three times already")
            }
            if verified.rule.personCountsOnce,
                statements.contains(where: { $0.approverID == caller.id && !$0.lapsed(atMs: nowMs) })
            {
                throw DomainError(
                    .failedPrecondition,
                    "under this tenant's policy each person counts once on a request: you have decided it already, "
                        + "for yourself or in another approver's place"
                )
            }
            try decisions.insert(
                requestID: request.id,
                tenantID: request.tenantID,
                approverID: counted,
                decision: verified.statement.decision,
                signed: verified.signature,
                nowMs: nowMs,
                db
            )
            statements.append(verified.statement)
            var outcome = Quorum.tally(statements, rule: verified.rule, eligible: verified.eligible, nowMs: nowMs)
            // A denial never approves, and an approval never denies: a rule changed since the
            // others decided settles the request at the next decision that agrees with it.
            switch (outcome, transition.decision) {
            case (.approved(let approved, _, _), .deny):
                outcome = .pending(approvedBy: approved, deniedBy: [verified.statement.countedApproverID])
            case (.denied(let denied), .approve):
                outcome = .pending(approvedBy: [verified.statement.countedApproverID], deniedBy: denied)
            default: break
            }
            switch outcome {
            case .pending(let approved, let denied):
                return try count(
                    verified,
                    of: request,
                    approvedBy: approved,
                    deniedBy: denied,
                    note: move.note,
                    by: caller,
                    nowMs: nowMs,
                    db
                )
            case .approved(let approved, _, let endsAtMs):
                approvedBy = approved
                let counted = statements.filter {
                    approved.contains($0.countedApproverID) && $0.decision == DecisionWord.approve.rawValue
                        && !$0.lapsed(atMs: nowMs)
                }
                signedScope = counted.dropFirst().reduce(Set(counted.first?.operations ?? [])) {
                    $0.intersection($1.operations)
                }.sorted()
                guard signedScope?.isEmpty == false else {
                    throw DomainError(
                        .failedPrecondition,
                        "the approvals counted allow no operation in common; approve some the others allowed"
                    )
                }
                // From now, or from the scheduled start, to the end every approval signed.
                let seconds = (endsAtMs - max(nowMs, request.scheduledStartMs ?? nowMs)) / 1000
                guard seconds >= policy.minimumDurationSeconds else {
                    throw DomainError(
                        .failedPrecondition,
                        "the approvals' signed windows leave less than \(policy.minimumDurationSeconds) seconds "
                            + "of access"
                    )
                }
                transition = try Lifecycle.transition(
                    .approveCustomer(approvedDurationSeconds: seconds),
                    facts: request.facts,
                    by: caller,
                    nowMs: nowMs,
                    rules: rules,
                    policy: policy
                )
            case .denied:
                transition = try Lifecycle.transition(
                    .denyCustomer,
                    facts: request.facts,
                    by: caller,
                    nowMs: nowMs,
                    rules: rules,
                    policy: policy
                )
            }
        }
        var update = RequestUpdate(state: transition.to)
        var details: [String: JSONValue] = [:]
        // What the decision approves: the operations pre-approved for the service now that the
        // request asked for, or, when the customer signed, those every counted approval signed.
        // The grant keeps them.
        let scope =
            transition.grant != nil || move.action.kind == .decideCustomer
            ? try signedScope ?? operations.scope(of: request, db) : []
        switch move.action.kind {
        case .decideInternal:
            details["comment"] = .string(move.note)
            if let required = transition.customerApprovalRequired {
                details["customer_approval_required"] = .bool(required)
            }
            if transition.decision == .approve {
                update.internalApprover = caller.id
                if policy.internalApprovalsRequired > 1 {
                    details["internal_level"] = .int(Int64(request.facts.internalApprovers.count + 1))
                    details["internal_levels"] = .int(Int64(policy.internalApprovalsRequired))
                }
            }
            // The decision is the request's once it settles the internal stage: the last
            // level's approval, or any denial.
            if transition.internalLevel == nil {
                update.internalDecision = InternalDecisionRecord(
                    approve: transition.decision == .approve,
                    comment: move.note,
                    decidedBy: caller.id,
                    decidedAtMs: nowMs
                )
            }
        case .decideCustomer:
            details["comment"] = .string(move.note)
            update.customerDecision = customerDecision(
                transition,
                of: request,
                scope: scope,
                note: move.note,
                by: caller,
                nowMs
            )
            if let customerSigned {
                update.customerDecision?.customerSigned = customerSigned
                details.merge(Self.signatureDetails(customerSigned)) { _, new in new }
            }
            if approvedBy.count > 1 { details["approved_by"] = .string(approvedBy.joined(separator: ",")) }
        case .cancel, .revoke:
            details["reason"] = .string(move.note)
            if transition.activity == .customerCancel {
                update.customerDecision = customerDecision(
                    transition,
                    of: request,
                    scope: [],
                    note: move.note,
                    by: caller,
                    nowMs
                )
            }
        }
        try write(
            transition,
            of: request,
            update: update,
            details: details,
            scope: scope,
            by: .caller(caller),
            nowMs: nowMs,
            db
        )
        if transition.to == .revoked { try withdrawExtensions(of: request, by: caller, nowMs: nowMs, db) }
        if transition.to == .pendingCustomer { try autoApprove(requestID, rules: rules, nowMs: nowMs, db) }
        return try stored(requestID, db)
    }

    /// Approves a request that now awaits the customer when the tenant's signed policy
    /// pre-approves it (an auto-approval rule that its service, category, duration and
    /// operations fit): recorded as `AutoApproved` by Lockbox itself, naming the policy version
    /// and rule, and told to the requester like any approval.
    private func autoApprove(_ requestID: String, rules: TenantRules, nowMs: Int64, _ db: PGConnection) throws {
        // An extension is re-approved by the customer's approvers, whatever a pre-approval says.
        guard let trust, let request = try requests.find(id: requestID, lock: true, db),
            request.extendsRequestID == nil,
            let policy = try trust.policy(tenantID: request.tenantID, version: rules.trustVersion, db),
            policy.lockboxEnabled, !policy.autoApprovals.isEmpty,
            let (index, granted) = policy.autoApproval(
                service: request.service.rawValue,
                category: request.category?.rawValue,
                durationSeconds: request.requestedDurationSeconds,
                asked: request.requestedOperations,
                preapproved: try operations.scope(service: request.service, db)
            )
        else { return }
        let start = max(nowMs, request.scheduledStartMs ?? nowMs)
        let seconds = min(request.requestedDurationSeconds, rules.maxAccessDurationSeconds)
        var transition = Transition(from: .pendingCustomer, to: .approved, activity: .autoApproved, decision: .approve)
        transition.grant = GrantWindow(startsAtMs: start, endsAtMs: start + seconds * 1000)
        let note = "approved by the tenant's signed pre-approval (policy version \(policy.version), rule \(index + 1))"
        try write(
            transition,
            of: request,
            update: RequestUpdate(
                state: .approved,
                customerDecision: CustomerDecisionRecord(
                    decision: .approve,
                    comment: note,
                    approvedDurationSeconds: seconds,
                    decidedBy: AuditEntry.systemActorID,
                    decidedAtMs: nowMs,
                    signed: nil
                )
            ),
            details: [
                "comment": .string(note),
                "auto_approval_policy_version": .int(policy.version),
                "auto_approval_rule": .int(Int64(index + 1)),
                "service": .string(request.service.rawValue),
                "justification_category": .string(request.category?.rawValue ?? ""),
            ],
            scope: granted,
            by: .system,
            nowMs: nowMs,
            db
        )
    }

    /// A revoked grant's extensions go with it: a pending one is withdrawn, and an approved one,
    /// which would start where the revoked grant was to end, ends now; theirs in turn too.
    private func withdrawExtensions(of request: RequestRecord, by caller: Caller, nowMs: Int64, _ db: PGConnection)
        throws
    {
        var ended = Set([request.id])
        var queue = [request]
        while let next = queue.popLast() {
            for extensionRequest in try requests.extensions(of: next, db)
            where ended.insert(extensionRequest.id).inserted {
                queue.append(extensionRequest)
                guard var transition = Lifecycle.withdraw(extensionRequest.facts, nowMs: nowMs) else { continue }
                transition.activity = .extensionWithdrawn
                try write(
                    transition,
                    of: extensionRequest,
                    update: RequestUpdate(state: transition.to),
                    details: ["reason": .string("the grant it extends (\(request.id)) was revoked")],
                    by: .caller(caller),
                    nowMs: nowMs,
                    db
                )
            }
        }
    }

    /// The customer's decision as stored. An approval or a denial is signed: what a data plane
    /// or an auditor can check without trusting the server's database (a cancellation decides
    /// nothing, and is not).
    private func customerDecision(
        _ transition: Transition,
        of request: RequestRecord,
        scope: [String],
        note: String,
        by caller: Caller,
        _ nowMs: Int64
    ) -> CustomerDecisionRecord {
        let signed: SignedStatement? =
            transition.decision == .cancel
            ? nil
            : integrity?.sign(
                ApprovalStatement(
                    tenantID: request.tenantID,
                    requestID: request.id,
                    operatorID: request.requesterID,
                    service: request.service.rawValue,
                    startsAtMs: transition.grant?.startsAtMs ?? 0,
                    endsAtMs: transition.grant?.endsAtMs ?? 0,
                    operations: scope,
                    approverID: caller.id,
                    decision: DecisionWord(transition.decision)?.rawValue ?? "",
                    decidedAtMs: nowMs,
                    keyID: ""
                )
            )
        return CustomerDecisionRecord(
            decision: transition.decision,
            comment: note,
            approvedDurationSeconds: transition.grant.map { ($0.endsAtMs - $0.startsAtMs) / 1000 },
            decidedBy: caller.id,
            decidedAtMs: nowMs,
            signed: signed
        )
    }

    /// The details that carry a customer's signed decision in its audit record, so that the
    /// customer's verifier checks it from the chain alone.
    static func signatureDetails(_ signed: CustomerSignature) -> [String: JSONValue] {
        var details: [String: JSONValue] = [
            "decision_statement": .string(signed.statement.hex),
            "decision_key_id": .string(signed.keyID),
            "decision_signature": .string(signed.signature.hex),
        ]
        if !signed.authenticatorData.isEmpty {
            details["decision_authenticator_data"] = .string(signed.authenticatorData.hex)
            details["decision_client_data"] = .string(signed.clientData.hex)
        }
        // A delegate's decision says, in plain words too, whose it counts as and under what.
        if let statement = try? DecisionStatement(canonicalBytes: signed.statement), !statement.delegationID.isEmpty {
            details["delegation_id"] = .string(statement.delegationID)
            details["on_behalf_of"] = .string(statement.onBehalfOf)
        }
        return details
    }

    /// Records an approver's signed decision that counts toward the tenant's threshold without
    /// deciding the request: its record names who has approved and denied so far, and its event
    /// tells the other approvers.
    private func count(
        _ verified: TrustAPI.VerifiedDecision,
        of request: RequestRecord,
        approvedBy: [String],
        deniedBy: [String],
        note: String,
        by caller: Caller,
        nowMs: Int64,
        _ db: PGConnection
    ) throws -> RequestRecord {
        try requests.update(id: request.id, RequestUpdate(state: .pendingCustomer), nowMs: nowMs, db)
        var details = Self.signatureDetails(verified.signature)
        details["comment"] = .string(note)
        details["approvals_required"] = .int(verified.rule.approvalsRequired)
        details["approved_by"] = .string(approvedBy.joined(separator: ","))
        details["denied_by"] = .string(deniedBy.joined(separator: ","))
        let approve = verified.statement.decision == DecisionWord.approve.rawValue
        try record(
            AuditEntry(
                by: caller,
                tenantID: request.tenantID,
                kind: .lifecycle,
                activity: .customerDecisionCounted,
                item: request.id,
                decision: approve ? .approve : .deny,
                details: details
            ),
            NewRequestEvent(
                request,
                activity: .customerDecisionCounted,
                state: .pendingCustomer,
                actorID: caller.id
            ),
            nowMs: nowMs,
            db
        )
        return try stored(request.id, db)
    }

    // MARK: Moves by the system

    /// Moves one batch of requests that a clock rule has overtaken (the sweepers' work), each
    /// with its record and event. Rows another transaction holds are skipped, so sweepers on
    /// several replicas share the work and never move one request twice.
    func settle(_ rule: ClockRule, limit: Int, nowMs: Int64, _ db: PGConnection) throws -> Int {
        let overtaken = try requests.overtaken(by: rule, nowMs: nowMs, limit: limit, db)
        for request in overtaken {
            guard let transition = Lifecycle.settle(request.facts, nowMs: nowMs) else { continue }
            try write(
                transition,
                of: request,
                update: RequestUpdate(state: transition.to),
                details: [:],
                by: .system,
                nowMs: nowMs,
                db
            )
        }
        return overtaken.count
    }

    /// Withdraws a suspended principal's pending requests and ends its grants, each with its
    /// own record, acting as `caller` (who suspended it). One that another call moved
    /// meanwhile is skipped, so a concurrent revocation or decision never undoes the suspension.
    func withdraw(
        requesterID: String,
        reason: String,
        by caller: Caller,
        nowMs: Int64,
        _ db: PGConnection
    ) throws -> (requests: [String], grants: [String]) {
        var candidates: [String] = []
        for state in RequestAction.cancel.states.sorted(by: { $0.rawValue < $1.rawValue }) {
            candidates += try requests.list(
                RequestFilter(requesterID: requesterID, state: state),
                nowMs: nowMs,
                limit: InputLimits.maximumListLength,
                db
            ).map(\.id)
        }
        candidates += try grants.openGrants(
            tenantID: nil,
            operatorID: requesterID,
            nowMs: nowMs,
            limit: InputLimits.maximumListLength,
            db
        ).map(\.requestID)
        var ended: (requests: [String], grants: [String]) = ([], [])
        for id in candidates {
            guard let request = try requests.find(id: id, lock: true, db),
                let transition = Lifecycle.withdraw(request.facts, nowMs: nowMs)
            else { continue }
            try write(
                transition,
                of: request,
                update: RequestUpdate(state: transition.to),
                details: ["reason": .string(reason)],
                by: .caller(caller),
                nowMs: nowMs,
                db
            )
            if transition.to == .revoked { ended.grants.append(id) } else { ended.requests.append(id) }
        }
        return ended
    }

    // MARK: Writing

    /// Who a move's record names.
    private enum Mover {
        case caller(Caller)
        /// Lockbox itself: the clock's moves.
        case system
    }

    /// Writes a transition: the request's new state and decision, the grant it starts or ends,
    /// its audit record and its event.
    private func write(
        _ transition: Transition,
        of request: RequestRecord,
        update: RequestUpdate,
        details: [String: JSONValue],
        scope: [String] = [],
        by mover: Mover,
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
                    window: window,
                    operations: scope
                ),
                db
            )
            details["grant_starts_at_ms"] = .int(window.startsAtMs)
            details["grant_ends_at_ms"] = .int(window.endsAtMs)
            details["operations"] = .string(scope.joined(separator: ","))
        }
        if let deadline = transition.customerDeadlineMs { details["customer_deadline_ms"] = .int(deadline) }
        if let cap = transition.cappedToSeconds { details["capped_to_tenant_max_seconds"] = .int(cap) }
        if transition.to == .revoked {
            try grants.revoke(tenantID: request.tenantID, requestID: request.id, nowMs: nowMs, db)
        }
        details["from"] = .string(transition.from.rawValue)
        details["to"] = .string(transition.to.rawValue)
        let entry: AuditEntry
        let actorID: String
        switch mover {
        case .caller(let caller):
            actorID = caller.id
            entry = AuditEntry(
                by: caller,
                tenantID: request.tenantID,
                kind: .lifecycle,
                activity: transition.activity,
                item: request.id,
                decision: transition.decision,
                details: details
            )
        case .system:
            actorID = AuditEntry.systemActorID
            entry = AuditEntry(
                system: transition.activity,
                tenantID: request.tenantID,
                kind: .lifecycle,
                item: request.id,
                details: details
            )
        }
        try record(
            entry,
            NewRequestEvent(request, activity: transition.activity, state: transition.to, actorID: actorID),
            nowMs: nowMs,
            db
        )
    }

    /// A request change's audit record and its event in the feed: the only place either is written.
    private func record(_ entry: AuditEntry, _ event: NewRequestEvent, nowMs: Int64, _ db: PGConnection) throws {
        try audit.append(entry, db)
        try events.append(event, nowMs: nowMs, db)
    }

    private func stored(_ id: String, _ db: PGConnection) throws -> RequestRecord {
        guard let record = try requests.find(id: id, lock: false, db) else {
            throw DomainError.notFound("no such request")
        }
        return record
    }
}
