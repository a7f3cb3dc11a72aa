import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore

extension LockboxService {
    func registerWatch(_ router: inout RPCRouter) {
        router.registerServerStreaming(
            LockboxMethod.watchAccessRequests,
            WatchAccessRequestsRequest.self,
            AccessRequestEvent.self
        ) { [self] request, context, writer in
            do {
                try await watch(request, context: context, writer: writer)
            } catch {
                throw rpcError(error, method: LockboxMethod.watchAccessRequests)
            }
        }
    }

    /// Streams each change to the requests the caller may see, as it commits: this is how a
    /// tenant's approvers and global admins are notified that a request waits for them.
    /// Each event re-reads the request and re-checks the caller's token and roles, so a
    /// revoked token or removed role ends the stream at the next change.
    func watch(
        _ request: WatchAccessRequestsRequest,
        context: RPCCallContext,
        writer: RPCStreamWriter<AccessRequestEvent>
    ) async throws {
        guard let notifier else { throw RPCError.unavailable("request notifications are not available") }
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        let caller = try await authenticated(context, .readRequests)
        var tenant: String? = request.tenantID.isEmpty ? nil : request.tenantID
        if !(caller.holds(.supportManager) || caller.holds(.auditor)) {
            if let own = try Authorizer.ownTenant(caller, requested: request.tenantID) {
                tenant = own
            } else if !caller.holds(.operator) {
                throw RPCError.permissionDenied()
            }
        }
        for await change in notifier.watch(tenant: tenant) {
            let event: AccessRequestEvent? = try await pool.transaction { [clock] db in
                let now = clock.nowMillis()
                let current = try Authorizer.admit(context, .readRequests, db: db, nowMs: now)
                guard let record = try? Self.fetch(change.requestID, db), Self.mayRead(current, record) else { return nil }
                return AccessRequestEvent(request: record.proto(nowMs: now), activity: change.activity)
            }
            if let event { try await writer.send(event) }
        }
    }
}
