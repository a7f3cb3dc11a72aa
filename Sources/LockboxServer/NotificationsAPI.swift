import LockboxCore
import LockboxDelivery
import LockboxProto
import LockboxRPC
import LockboxStore

/// Principals' email addresses, webhook endpoints, and the delivery list.
struct NotificationsAPI: Sendable {
    let gate: Gatekeeper
    let principals = PrincipalStore()
    let webhooks = WebhookStore()
    let notifications = NotificationStore()
    let audit = AuditStore()

    /// Endpoints one tenant (or the provider) may register.
    static let maxWebhooks = 10

    func register(on router: inout RPCRouter) {
        router.register(LockboxMethods.setPrincipalEmail, gate: gate, setEmail)
        router.register(LockboxMethods.addWebhook, gate: gate, addWebhook)
        router.register(LockboxMethods.listWebhooks, gate: gate, listWebhooks)
        router.register(LockboxMethods.removeWebhook, gate: gate, removeWebhook)
        router.register(LockboxMethods.listNotifications, gate: gate, listNotifications)
    }

    /// A tenant's global admins set their principals' addresses, provider admins the
    /// provider's: no provider principal can redirect a customer approver's email.
    func setEmail(_ request: SetPrincipalEmailRequest, _ call: Call) throws -> Principal {
        try InputLimits.check(request.principalID, field: "principal_id", max: InputLimits.idLength)
        guard request.email.isEmpty || EmailAddress.isValid(request.email) else {
            throw DomainError.invalidArgument(
                "email must be one address such as name@example.com, printable ASCII, at most \(EmailAddress.maxLength) bytes"
            )
        }
        guard let target = try principals.find(id: request.principalID, call.db) else {
            throw DomainError.notFound("no such principal")
        }
        try Authorization.require(call.caller, .managePrincipals, on: target.target, notFound: "no such principal")
        let email = request.email.isEmpty ? nil : request.email
        try principals.setEmail(id: target.id, email: email, call.db)
        guard let updated = try principals.find(id: target.id, call.db) else {
            throw DomainError.notFound("no such principal")
        }
        return updated.proto
    }

    func addWebhook(_ request: AddWebhookRequest, _ call: Call) throws -> AddWebhookResponse {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        try InputLimits.check(request.url, field: "url", max: WebhookURL.maxLength)
        do {
            _ = try WebhookURL.parse(request.url)
        } catch {
            throw DomainError.invalidArgument(error.detail)
        }
        let target = Target(tenantID: request.tenantID)
        try Authorization.require(call.caller, .manageWebhooks, on: target)
        let tenantID = request.tenantID.isEmpty ? nil : request.tenantID
        guard try webhooks.list(tenantID: tenantID, limit: Self.maxWebhooks, call.db).count < Self.maxWebhooks else {
            throw DomainError(.failedPrecondition, "at most \(Self.maxWebhooks) webhook endpoints; remove one first")
        }
        let webhook = WebhookRecord(
            id: Credentials.newID("wh"),
            tenantID: tenantID,
            url: request.url,
            secret: WebhookSignature.newSecret(),
            createdBy: call.caller.id,
            createdAtMs: call.nowMs
        )
        try webhooks.add(webhook, call.db)
        return AddWebhookResponse(webhook: webhook.proto, secret: webhook.secret)
    }

    func listWebhooks(_ request: ListWebhooksRequest, _ call: Call) throws -> ListWebhooksResponse {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        try Authorization.require(call.caller, .manageWebhooks, on: Target(tenantID: request.tenantID))
        let tenantID = request.tenantID.isEmpty ? nil : request.tenantID
        return ListWebhooksResponse(
            webhooks: try webhooks.list(tenantID: tenantID, limit: Self.maxWebhooks, call.db).map(\.proto)
        )
    }

    func removeWebhook(_ request: RemoveWebhookRequest, _ call: Call) throws -> Webhook {
        try InputLimits.check(request.webhookID, field: "webhook_id", max: InputLimits.idLength)
        guard let webhook = try webhooks.find(id: request.webhookID, call.db) else {
            throw DomainError.notFound("no such webhook")
        }
        try Authorization.require(call.caller, .manageWebhooks, on: webhook.target, notFound: "no such webhook")
        guard try webhooks.remove(id: webhook.id, nowMs: call.nowMs, call.db) else {
            throw DomainError.notFound("no such webhook")
        }
        _ = try notifications.failPending(
            webhookID: webhook.id,
            reason: "the endpoint was removed",
            nowMs: call.nowMs,
            call.db
        )
        return webhook.proto
    }

    /// Deliveries, newest first. A provider principal sees every tenant's, with the customer's
    /// addresses and endpoints masked: what failed and why, not where the customer's mail goes.
    /// A tenant's admins see their own in full, and the provider's deliveries about their
    /// requests (the requester's email, provider endpoints) without where they went.
    func listNotifications(_ request: ListNotificationsRequest, _ call: Call) throws -> ListNotificationsResponse {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        try InputLimits.check(request.pageToken, field: "page_token", max: 32, required: false)
        let scope = try Authorization.scope(call.caller, .readNotifications, requestedTenant: request.tenantID)
        var state: NotificationState?
        if !request.state.isEmpty {
            guard let parsed = NotificationState(rawValue: request.state) else {
                throw DomainError.invalidArgument(
                    "state must be one of \(NotificationState.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            state = parsed
        }
        var beforeID: Int64?
        if !request.pageToken.isEmpty {
            guard let id = Int64(request.pageToken), id > 0 else {
                throw DomainError.invalidArgument("invalid page_token")
            }
            beforeID = id
        }
        let limit = InputLimits.pageSize(request.pageSize)
        let found = try notifications.list(
            tenantID: scope.tenantID,
            state: state,
            beforeID: beforeID,
            limit: limit + 1,
            call.db
        )
        let page = found.prefix(limit)
        let viewer: NotificationRecord.Viewer = call.caller.tenantID == nil ? .provider : .tenant
        return ListNotificationsResponse(
            notifications: page.map { $0.proto(for: viewer) },
            nextPageToken: found.count > limit ? page.last.map { "\($0.id)" } ?? "" : ""
        )
    }
}

extension WebhookRecord {
    var proto: Webhook {
        Webhook(
            id: id,
            tenantID: tenantID ?? "",
            url: url,
            createdBy: createdBy,
            createdAtMs: createdAtMs,
            consecutiveFailures: Int32(clamping: consecutiveFailures),
            disabledAtMs: disabledAtMs ?? 0
        )
    }
}

extension NotificationRecord {
    enum Viewer {
        case provider
        case tenant
    }

    /// What `viewer` may see of where a delivery went. Each side sees its own addresses;
    /// of the other side's it sees only that a delivery was made: an email address keeps its
    /// first letter and domain, an endpoint its host (a provider endpoint nothing); a tenant
    /// is not told what the provider's side answered.
    func proto(for viewer: Viewer) -> LockboxProto.Notification {
        let own = (viewer == .provider) == providerSide
        var shown = address
        var error = lastError
        if !own {
            // The provider runs the relay and must see why its sends fail; a tenant is not told
            // what the provider's endpoints answered.
            if viewer == .tenant { error = lastError.isEmpty ? "" : "the delivery failed" }
            switch channel {
            case .email: shown = Masking.email(address)
            case .webhook where providerSide: shown = "(the provider's endpoint)"
            case .webhook: shown = Masking.url(address)
            }
        }
        return LockboxProto.Notification(
            id: id,
            tenantID: tenantID,
            requestID: requestID,
            eventID: eventSeq,
            channel: channel.rawValue,
            kind: kind.rawValue,
            recipient: recipient,
            address: shown,
            messageID: messageID,
            state: state.rawValue,
            attempts: Int32(clamping: attempts),
            nextAttemptAtMs: nextAttemptAtMs,
            lastError: error,
            createdAtMs: createdAtMs,
            finishedAtMs: finishedAtMs ?? 0
        )
    }
}
