import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore

/// Searching and exporting the audit log.
struct AuditAPI: Sendable {
    let gate: Gatekeeper
    let audit: any AuditStore

    /// Records per page of an export, each page read in a short statement of its own.
    static let exportPageSize = 500

    func register(on router: inout RPCRouter) {
        router.register(LockboxMethods.searchAudit) { request, context in
            try await gate.unary(context) { call in try search(request, call) }
        }
        router.register(LockboxMethods.exportAudit) { request, context, writer in
            try await export(request, context: context, writer: writer)
        }
    }

    /// The tenant an audit query covers: the caller's own for tenant principals, any (or all) for auditors.
    private func scope(_ caller: Caller, requested: String) throws -> String? {
        try InputLimits.check(requested, field: "tenant_id", max: InputLimits.idLength, required: false)
        return try Authorization.scope(caller, .readAudit, requestedTenant: requested).tenantID
    }

    func search(_ request: SearchAuditRequest, _ call: Call) throws -> SearchAuditResponse {
        let tenant = try scope(call.caller, requested: request.tenantID)
        try InputLimits.check(request.activity, field: "activity", max: InputLimits.operationLength, required: false)
        try InputLimits.check(request.actorID, field: "actor_id", max: InputLimits.idLength, required: false)
        try InputLimits.check(request.item, field: "item", max: InputLimits.idLength, required: false)
        var before = Int64.max
        if !request.pageToken.isEmpty {
            guard let cursor = Int64(request.pageToken), cursor > 0 else {
                throw DomainError.invalidArgument("invalid page_token")
            }
            before = cursor
        }
        let filter = AuditFilter(
            tenantID: tenant,
            kind: try LockboxCore.AuditKind.filter(request.kind),
            fromMs: request.fromMs,
            toMs: request.toMs == 0 ? .max : request.toMs,
            activity: request.activity.isEmpty ? nil : request.activity,
            actorID: request.actorID.isEmpty ? nil : request.actorID,
            item: request.item.isEmpty ? nil : request.item
        )
        let pageSize = InputLimits.pageSize(request.pageSize)
        // Newest first, keyed by id: records that arrive while paging land before the first page,
        // never inside a later one.
        let records = try audit.search(filter, beforeID: before, limit: pageSize + 1, call.db)
        let page = records.prefix(pageSize)
        var response = SearchAuditResponse(records: page.map(\.proto))
        if records.count > pageSize, let last = page.last { response.nextPageToken = String(last.id) }
        return response
    }

    /// Streams the records of a time range, oldest first, one page per short statement, so
    /// memory stays constant however long the range is.
    func export(
        _ request: ExportAuditRequest,
        context: RPCCallContext,
        writer: RPCStreamWriter<AuditExportChunk>
    ) async throws {
        let csv = request.format == .csv
        guard request.format == .csv || request.format == .jsonLines || request.format == .unspecified else {
            throw RPCError.invalidArgument("format must be JSON_LINES or CSV")
        }
        // Checked before the first byte is sent, and again with every page below.
        let caller = try await gate.admit(context)
        let tenant = try gate.guarded(context.method) { try scope(caller, requested: request.tenantID) }
        let filter = AuditFilter(
            tenantID: tenant,
            fromMs: request.fromMs,
            toMs: request.toMs == 0 ? .max : request.toMs
        )
        if csv {
            try await writer.send(AuditExportChunk(data: Array(AuditFormat.csvHeader.utf8)))
        }
        let format = AuditFormat()
        var after = AuditCursor.start
        while true {
            let cursor = after
            // Each page passes the gate again, in the transaction that reads it: a token revoked
            // or a role removed since the export began ends it with UNAUTHENTICATED or
            // PERMISSION_DENIED before another record is read.
            let records = try await gate.unary(context) { call in
                guard try scope(call.caller, requested: request.tenantID) == tenant else {
                    throw DomainError.permissionDenied
                }
                return try audit.page(filter, after: cursor, limit: Self.exportPageSize, call.db)
            }
            if records.isEmpty { break }
            var text = ""
            for record in records {
                text += csv ? format.csvLine(record) : format.jsonLine(record)
                after = AuditCursor(after: record)
            }
            try await writer.send(AuditExportChunk(data: Array(text.utf8)))
            if records.count < Self.exportPageSize { break }
        }
    }
}
