import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore

/// What data-plane services call: access checks, grant lists, and the pre-approved operations.
struct AccessAPI: Sendable {
    let gate: Gatekeeper
    /// Whether a grant is backed by the customer's own signature.
    let trust: TrustAPI
    let grants = GrantStore()
    let operations = OperationStore()
    let audit = AuditStore()

    func register(on router: inout RPCRouter) {
        router.register(LockboxMethods.checkAccess, gate: gate, checkAccess)
        router.register(LockboxMethods.listGrants, gate: gate, listGrants)
        router.register(LockboxMethods.listPreapprovedOperations, gate: gate, listOperations)
        router.register(LockboxMethods.addPreapprovedOperation, gate: gate, addOperation)
        router.register(LockboxMethods.removePreapprovedOperation, gate: gate, removeOperation)
    }

    /// Decides whether an operator may perform an operation now, and records the check.
    ///
    /// The grant is read from the database on every call (no cache), under a share lock: a
    /// revocation in progress makes the check wait for it and then see it, so the audit log's
    /// order is the order in which checks and revocations took effect. The decision and its
    /// audit record commit together, and if the record cannot be written the call fails and
    /// nothing is allowed.
    func checkAccess(_ request: CheckAccessRequest, _ call: Call) throws -> CheckAccessResponse {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
        try InputLimits.check(request.operatorID, field: "operator_id", max: InputLimits.idLength)
        let service = try ContentService.required(request.service)
        try InputLimits.checkOperation(request.operation)
        try InputLimits.checkIP(request.clientIP, field: "client_ip")

        let facts = try grants.checkFacts(
            operatorID: request.operatorID,
            tenantID: request.tenantID,
            service: service,
            operation: request.operation,
            nowMs: call.nowMs,
            call.db
        )
        var tenantExists = true
        var decision = try AccessCheck.decide(facts, nowMs: call.nowMs) {
            let denial = try grants.denialFacts(
                operatorID: request.operatorID,
                tenantID: request.tenantID,
                service: service,
                nowMs: call.nowMs,
                call.db
            )
            tenantExists = denial.tenantExists
            return denial
        }
        // No record under a tenant that does not exist: it would wait there for whoever creates it.
        guard tenantExists else { throw DomainError.notFound("no such tenant") }
        // On a tenant with a root, a grant counts only when the customer's own key signed its
        // decision (or its signed policy turns the lockbox off).
        var evidence: [UInt8] = []
        if case .allowed(let requestID, _) = decision {
            let backing = try trust.backing(
                tenantID: request.tenantID,
                requestID: requestID,
                operatorID: request.operatorID,
                service: service,
                operation: request.operation,
                version: facts.trustVersion,
                nowMs: call.nowMs,
                evidence: request.includeEvidence,
                call.db
            )
            if backing.backed {
                evidence = backing.evidence
            } else {
                decision = .denied(.unverifiedApproval, requestID: requestID)
            }
        }
        var details: [String: JSONValue] = [
            "operator_id": .string(request.operatorID),
            "service": .string(service.rawValue),
            "allowed": .bool(decision.isAllowed),
            "checked_by": .string(call.caller.id),
            "checked_by_ip": .string(call.caller.ip),
            // The token the checking service called with, as every record names its token.
            "token_id": .string(call.caller.tokenID),
        ]
        var actorID = request.operatorID
        var actorDisplay = AuditEntry.providerOperatorDisplay
        switch decision {
        case .allowed(let requestID, _):
            details["reason"] = .string("ALLOWED")
            try grants.recordUse(tenantID: request.tenantID, requestID: requestID, nowMs: call.nowMs, call.db)
        case .denied(let why, _):
            details["reason"] = .string(why.rawValue)
            if why == .unknownOperator {
                // Not an operator: the record is the service's, and names who it asked about,
                // so that no one else's id appears as the actor of an operator action.
                actorID = call.caller.id
                actorDisplay = call.caller.displayName
            }
        }
        try audit.append(
            AuditEntry(
                tenantID: request.tenantID,
                kind: .operatorAction,
                actorID: actorID,
                actorDisplay: actorDisplay,
                actorIP: request.clientIP,
                activity: request.operation,
                item: decision.requestID,
                details: details
            ),
            call.db
        )
        var response = decision.proto
        response.evidence = evidence
        return response
    }

    func listGrants(_ request: ListGrantsRequest, _ call: Call) throws -> ListGrantsResponse {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        try InputLimits.check(request.operatorID, field: "operator_id", max: InputLimits.idLength, required: false)
        let scope = try Authorization.scope(call.caller, .readGrants, requestedTenant: request.tenantID)
        var operatorID: String? = request.operatorID.isEmpty ? nil : request.operatorID
        if let own = scope.requesterID {
            guard operatorID == nil || operatorID == own else { throw DomainError.permissionDenied }
            operatorID = own
        }
        let open = try grants.openGrants(
            tenantID: scope.tenantID,
            operatorID: operatorID,
            nowMs: call.nowMs,
            limit: InputLimits.maximumListLength,
            call.db
        )
        return ListGrantsResponse(
            grants: open.filter { $0.isActive(nowMs: call.nowMs) }.map { $0.proto(nowMs: call.nowMs) }
        )
    }

    func listOperations(_ request: ListPreapprovedOperationsRequest, _ call: Call) throws
        -> ListPreapprovedOperationsResponse
    {
        let service = try ContentService.filter(request.service)
        let records = try operations.list(service: service, limit: 10_000, call.db)
        return ListPreapprovedOperationsResponse(operations: records.map(\.proto))
    }

    func addOperation(_ request: PreapprovedOperation, _ call: Call) throws -> PreapprovedOperation {
        let service = try ContentService.required(request.service)
        try InputLimits.checkOperation(request.operation)
        try InputLimits.check(
            request.description,
            field: "description",
            max: InputLimits.displayNameLength,
            required: false
        )
        let record = PreapprovedOperationRecord(
            service: service,
            operation: request.operation,
            description: request.description
        )
        guard try operations.add(record, by: call.caller.id, nowMs: call.nowMs, call.db) else {
            throw DomainError(.alreadyExists, "that operation is already pre-approved")
        }
        return request
    }

    func removeOperation(_ request: RemovePreapprovedOperationRequest, _ call: Call) throws -> Empty {
        let service = try ContentService.required(request.service)
        try InputLimits.checkOperation(request.operation)
        guard let removed = try operations.remove(service: service, operation: request.operation, call.db) else {
            throw DomainError.notFound("that operation is not pre-approved")
        }
        return Empty()
    }
}
