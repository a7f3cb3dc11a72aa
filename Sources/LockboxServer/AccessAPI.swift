import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore

/// What data-plane services call: access checks, grant lists, and the pre-approved operations.
struct AccessAPI: Sendable {
    let gate: Gatekeeper
    let grants = GrantStore()
    let operations = OperationStore()
    /// Where checks meet to share a transaction and a commit.
    let checks: CheckGroup

    init(gate: Gatekeeper, trust: TrustAPI, groups: GroupCommitConfiguration) {
        self.gate = gate
        checks = CheckGroup(gate: gate, checker: AccessChecker(trust: trust), configuration: groups)
    }

    func register(on router: inout RPCRouter) {
        router.register(LockboxMethods.checkAccess) { [checks] request, context in
            try await checks.check(request, context)
        }
        router.register(LockboxMethods.listGrants, gate: gate, listGrants)
        router.register(LockboxMethods.listPreapprovedOperations, gate: gate, listOperations)
        router.register(LockboxMethods.addPreapprovedOperation, gate: gate, addOperation)
        router.register(LockboxMethods.removePreapprovedOperation, gate: gate, removeOperation)
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
