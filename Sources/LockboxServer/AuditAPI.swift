import LockboxCore
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxStore

/// Searching and exporting the audit log.
struct AuditAPI: Sendable {
    let gate: Gatekeeper
    let audit = AuditStore()
    let chain = ChainStore()
    let integrity: AuditIntegrity
    /// A hot standby for searches and plain exports (`--read-database-url`); nil: the primary.
    let readPool: PGPool?

    /// Records per page of an export, each page read in a short statement of its own.
    static let exportPageSize = 500

    func register(on router: inout RPCRouter) {
        router.register(LockboxMethods.searchAudit) { request, context in
            try await readAudit(context) { caller, db in try search(request, caller, db) }
        }
        router.register(LockboxMethods.exportAudit) { request, context, writer in
            if request.includeIntegrity {
                try await exportChain(request, context: context, writer: writer)
            } else {
                try await export(request, context: context, writer: writer)
            }
        }
        router.register(LockboxMethods.listSigningKeys) { _, context in
            try await gate.openWithoutDatabase(context) {
                ListSigningKeysResponse(keys: try await integrity.publishedKeyRecords().map(\.proto))
            }
        }
        router.register(LockboxMethods.listCheckpoints, gate: gate, listCheckpoints)
        router.register(LockboxMethods.createCheckpoint) { request, context in
            let scope = try await chainScope(request.tenantID, context)
            return try await gate.guarded(context) {
                try await integrity.seal(scope: scope, wait: true)
                return try await integrity.checkpoint(scope: scope).proto
            }
        }
    }

    /// The chain an integrity call covers: a tenant principal's own tenant's; for a provider
    /// auditor the tenant it names, or with none the provider-wide chain ("").
    private func chainScope(_ requested: String, _ context: RPCCallContext) async throws -> String {
        let caller = try await gate.admit(context)
        return try gate.guarded(context) { try scope(caller, requested: requested) ?? "" }
    }

    func listCheckpoints(_ request: ListCheckpointsRequest, _ call: Call) throws -> ListCheckpointsResponse {
        let scope = try scope(call.caller, requested: request.tenantID) ?? ""
        guard request.afterSeq >= 0 else { throw DomainError.invalidArgument("after_seq must not be negative") }
        let checkpoints = try chain.checkpoints(
            scope: scope,
            afterSeq: request.afterSeq,
            limit: InputLimits.pageSize(request.pageSize),
            call.db
        )
        return ListCheckpointsResponse(checkpoints: checkpoints.map(\.proto))
    }

    /// The whole chain of one scope, verifiable offline (docs/audit-integrity.md, "Export"):
    /// everything committed is sealed first, the head is signed now, and the records up to it
    /// follow in chain order, then every checkpoint of the chain up to that one, which is last.
    /// Each page passes the gate again, like a plain export.
    func exportChain(
        _ request: ExportAuditRequest,
        context: RPCCallContext,
        writer: RPCStreamWriter<AuditExportChunk>
    ) async throws {
        guard request.format == .jsonLines || request.format == .unspecified else {
            throw RPCError.invalidArgument("an integrity export is JSON_LINES")
        }
        guard request.fromMs == 0, request.toMs == 0 else {
            throw RPCError.invalidArgument("an integrity export covers the whole chain: from_ms and to_ms must be 0")
        }
        let scope = try await chainScope(request.tenantID, context)
        // The export's own checkpoint, and every checkpoint stored by then: one written beside
        // lockboxd that does not verify is exported too, for the customer's verifier to report.
        let (final, lastID, keys) = try await gate.guarded(context) {
            try await integrity.seal(scope: scope, wait: true)
            let final = try await integrity.checkpoint(scope: scope)
            return (
                final, max(final.id, try await integrity.latestCheckpointID(scope: scope)),
                try await integrity.publishedKeys()
            )
        }
        var afterSeq: Int64 = 0
        while afterSeq < final.seq {
            let cursor = afterSeq
            let records = try await gate.unary(context) { call in
                guard try self.scope(call.caller, requested: request.tenantID) ?? "" == scope else {
                    throw DomainError.permissionDenied
                }
                return try chain.chain(
                    scope: scope,
                    afterSeq: cursor,
                    upToSeq: final.seq,
                    limit: Self.exportPageSize,
                    call.db
                )
            }
            guard let last = records.last else { break }
            afterSeq = last.seal?.seq ?? final.seq
            try await writer.send(
                AuditExportChunk(data: Array(records.map { AuditExport.line($0.chained) }.joined().utf8))
            )
        }
        var afterID: Int64 = 0
        while true {
            let cursor = afterID
            let checkpoints = try await gate.unary(context) { call in
                try chain.checkpoints(
                    scope: scope,
                    afterID: cursor,
                    upToID: lastID,
                    limit: Self.exportPageSize,
                    call.db
                )
            }
            guard let last = checkpoints.last else { break }
            afterID = last.id
            // Past the export's head, only what does not verify: another replica's checkpoint
            // of records this export does not hold would read as records cut off.
            let exported = checkpoints.filter { $0.seq <= final.seq || !$0.signed.verifies(with: keys) }
            try await writer.send(
                AuditExportChunk(data: Array(exported.map { AuditExport.line($0.signed) }.joined().utf8))
            )
            if checkpoints.count < Self.exportPageSize { break }
        }
    }

    /// The tenant an audit query covers: the caller's own for tenant principals, any (or all) for auditors.
    private func scope(_ caller: Caller, requested: String) throws -> String? {
        try InputLimits.check(requested, field: "tenant_id", max: InputLimits.idLength, required: false)
        return try Authorization.scope(caller, .readAudit, requestedTenant: requested).tenantID
    }

    /// Runs a read of the audit log. With a read replica, the caller passes the gate on the
    /// primary (its token and roles as they are now), then the read runs on the standby;
    /// without one, both run in the call's transaction.
    private func readAudit<Value: Sendable>(
        _ context: RPCCallContext,
        _ body: @escaping @Sendable (Caller, PGConnection) throws -> Value
    ) async throws -> Value {
        guard let readPool else { return try await gate.unary(context) { call in try body(call.caller, call.db) } }
        let caller = try await gate.admit(context)
        return try await gate.guarded(context) { try await readPool.withConnection { db in try body(caller, db) } }
    }

    func search(_ request: SearchAuditRequest, _ caller: Caller, _ db: PGConnection) throws -> SearchAuditResponse {
        let tenant = try scope(caller, requested: request.tenantID)
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
        let found = try audit.search(filter, beforeID: before, limit: pageSize + 1, db)
        let cut = SearchPageCut(matches: found.records.map(\.id), pageSize: pageSize, scannedTo: found.scannedTo)
        var response = SearchAuditResponse(records: found.records.prefix(cut.count).map(\.proto))
        response.nextPageToken = cut.nextBefore.map(String.init) ?? ""
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
        let tenant = try gate.guarded(context) { try scope(caller, requested: request.tenantID) }
        let filter = AuditFilter(
            tenantID: tenant,
            fromMs: request.fromMs,
            toMs: request.toMs == 0 ? .max : request.toMs
        )
        if csv {
            try await writer.send(AuditExportChunk(data: Array(AuditFormat.csvHeader.utf8)))
        }
        let format = AuditFormat()
        // Each page passes the gate again, in the transaction that reads it: a token revoked or
        // a role removed since the export began ends it with UNAUTHENTICATED or
        // PERMISSION_DENIED at the next page read. The next page is read while this one is
        // formatted and sent (one page ahead, so memory stays two pages whatever the range):
        // every page sent was authorized when it was read, and a revocation stops the export
        // within the page being sent and the one read ahead.
        let read: @Sendable (AuditCursor) -> Task<[StoredAuditRecord], any Error> = { cursor in
            Task {
                try await readAudit(context) { caller, db in
                    guard try scope(caller, requested: request.tenantID) == tenant else {
                        throw DomainError.permissionDenied
                    }
                    return try audit.page(filter, after: cursor, limit: Self.exportPageSize, db)
                }
            }
        }
        var next: Task<[StoredAuditRecord], any Error>? = read(AuditCursor.start)
        defer { next?.cancel() }
        while let reading = next {
            let records = try await withTaskCancellationHandler {
                try await reading.value
            } onCancel: {
                reading.cancel()
            }
            guard let last = records.last else { break }
            next = records.count < Self.exportPageSize ? nil : read(AuditCursor(after: last))
            var data: [UInt8] = []
            data.reserveCapacity(records.count * 400)
            for record in records {
                if csv {
                    data.append(contentsOf: format.csvLine(record).utf8)
                } else {
                    format.jsonLine(record, into: &data)
                }
            }
            try await writer.send(AuditExportChunk(data: data))
        }
    }
}
