import CLockboxProto

// Notifications: principals' email, webhooks, the delivery list (docs/notifications.md).

public struct SetPrincipalEmailRequest: ProtoMessage {
    public var principalID: String
    public var email: String

    public init(
        principalID: String = "",
        email: String = ""
    ) {
        self.principalID = principalID
        self.email = email
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension SetPrincipalEmailRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__SetPrincipalEmailRequest>) {
        lockbox__v1__set_principal_email_request__init(message)
    }

    init(c: Lockbox__V1__SetPrincipalEmailRequest) throws(ProtoDecodeError) {
        self.init(
            principalID: try CRead.string(c.principal_id, in: Self.self),
            email: try CRead.string(c.email, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__SetPrincipalEmailRequest, _ arena: Arena) {
        c.principal_id = arena.string(principalID)
        c.email = arena.string(email)
    }
}

/// A webhook endpoint. Its secret is shown once, when it is added.
public struct Webhook: ProtoMessage {
    public var id: String
    public var tenantID: String
    public var url: String
    public var createdBy: String
    public var createdAtMs: Int64
    public var consecutiveFailures: Int32
    public var disabledAtMs: Int64

    public init(
        id: String = "",
        tenantID: String = "",
        url: String = "",
        createdBy: String = "",
        createdAtMs: Int64 = 0,
        consecutiveFailures: Int32 = 0,
        disabledAtMs: Int64 = 0
    ) {
        self.id = id
        self.tenantID = tenantID
        self.url = url
        self.createdBy = createdBy
        self.createdAtMs = createdAtMs
        self.consecutiveFailures = consecutiveFailures
        self.disabledAtMs = disabledAtMs
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension Webhook: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__Webhook>) {
        lockbox__v1__webhook__init(message)
    }

    init(c: Lockbox__V1__Webhook) throws(ProtoDecodeError) {
        self.init(
            id: try CRead.string(c.id, in: Self.self),
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            url: try CRead.string(c.url, in: Self.self),
            createdBy: try CRead.string(c.created_by, in: Self.self),
            createdAtMs: c.created_at_ms,
            consecutiveFailures: c.consecutive_failures,
            disabledAtMs: c.disabled_at_ms
        )
    }

    func fill(_ c: inout Lockbox__V1__Webhook, _ arena: Arena) {
        c.id = arena.string(id)
        c.tenant_id = arena.string(tenantID)
        c.url = arena.string(url)
        c.created_by = arena.string(createdBy)
        c.created_at_ms = createdAtMs
        c.consecutive_failures = consecutiveFailures
        c.disabled_at_ms = disabledAtMs
    }
}

public struct AddWebhookRequest: ProtoMessage {
    public var tenantID: String
    public var url: String

    public init(
        tenantID: String = "",
        url: String = ""
    ) {
        self.tenantID = tenantID
        self.url = url
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension AddWebhookRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__AddWebhookRequest>) {
        lockbox__v1__add_webhook_request__init(message)
    }

    init(c: Lockbox__V1__AddWebhookRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            url: try CRead.string(c.url, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__AddWebhookRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.url = arena.string(url)
    }
}

public struct AddWebhookResponse: ProtoMessage {
    public var webhook: Webhook?
    public var secret: String

    public init(
        webhook: Webhook? = nil,
        secret: String = ""
    ) {
        self.webhook = webhook
        self.secret = secret
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension AddWebhookResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__AddWebhookResponse>) {
        lockbox__v1__add_webhook_response__init(message)
    }

    init(c: Lockbox__V1__AddWebhookResponse) throws(ProtoDecodeError) {
        self.init(
            webhook: try CRead.message(c.webhook),
            secret: try CRead.string(c.secret, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__AddWebhookResponse, _ arena: Arena) {
        c.webhook = arena.optionalMessage(webhook)
        c.secret = arena.string(secret)
    }
}

public struct ListWebhooksRequest: ProtoMessage {
    public var tenantID: String

    public init(
        tenantID: String = ""
    ) {
        self.tenantID = tenantID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListWebhooksRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListWebhooksRequest>) {
        lockbox__v1__list_webhooks_request__init(message)
    }

    init(c: Lockbox__V1__ListWebhooksRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListWebhooksRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
    }
}

public struct ListWebhooksResponse: ProtoMessage {
    public var webhooks: [Webhook]

    public init(
        webhooks: [Webhook] = []
    ) {
        self.webhooks = webhooks
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListWebhooksResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListWebhooksResponse>) {
        lockbox__v1__list_webhooks_response__init(message)
    }

    init(c: Lockbox__V1__ListWebhooksResponse) throws(ProtoDecodeError) {
        self.init(
            webhooks: try CRead.repeated(c.n_webhooks, c.webhooks)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListWebhooksResponse, _ arena: Arena) {
        (c.n_webhooks, c.webhooks) = arena.repeated(webhooks)
    }
}

public struct RemoveWebhookRequest: ProtoMessage {
    public var webhookID: String

    public init(
        webhookID: String = ""
    ) {
        self.webhookID = webhookID
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension RemoveWebhookRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__RemoveWebhookRequest>) {
        lockbox__v1__remove_webhook_request__init(message)
    }

    init(c: Lockbox__V1__RemoveWebhookRequest) throws(ProtoDecodeError) {
        self.init(
            webhookID: try CRead.string(c.webhook_id, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__RemoveWebhookRequest, _ arena: Arena) {
        c.webhook_id = arena.string(webhookID)
    }
}

/// One email or webhook delivery and where it stands.
public struct Notification: ProtoMessage {
    public var id: Int64
    public var tenantID: String
    public var requestID: String
    public var eventID: Int64
    public var channel: String
    public var kind: String
    public var recipient: String
    public var address: String
    public var messageID: String
    public var state: String
    public var attempts: Int32
    public var nextAttemptAtMs: Int64
    public var lastError: String
    public var createdAtMs: Int64
    public var finishedAtMs: Int64

    public init(
        id: Int64 = 0,
        tenantID: String = "",
        requestID: String = "",
        eventID: Int64 = 0,
        channel: String = "",
        kind: String = "",
        recipient: String = "",
        address: String = "",
        messageID: String = "",
        state: String = "",
        attempts: Int32 = 0,
        nextAttemptAtMs: Int64 = 0,
        lastError: String = "",
        createdAtMs: Int64 = 0,
        finishedAtMs: Int64 = 0
    ) {
        self.id = id
        self.tenantID = tenantID
        self.requestID = requestID
        self.eventID = eventID
        self.channel = channel
        self.kind = kind
        self.recipient = recipient
        self.address = address
        self.messageID = messageID
        self.state = state
        self.attempts = attempts
        self.nextAttemptAtMs = nextAttemptAtMs
        self.lastError = lastError
        self.createdAtMs = createdAtMs
        self.finishedAtMs = finishedAtMs
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension Notification: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__Notification>) {
        lockbox__v1__notification__init(message)
    }

    init(c: Lockbox__V1__Notification) throws(ProtoDecodeError) {
        self.init(
            id: c.id,
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            requestID: try CRead.string(c.request_id, in: Self.self),
            eventID: c.event_id,
            channel: try CRead.string(c.channel, in: Self.self),
            kind: try CRead.string(c.kind, in: Self.self),
            recipient: try CRead.string(c.recipient, in: Self.self),
            address: try CRead.string(c.address, in: Self.self),
            messageID: try CRead.string(c.message_id, in: Self.self),
            state: try CRead.string(c.state, in: Self.self),
            attempts: c.attempts,
            nextAttemptAtMs: c.next_attempt_at_ms,
            lastError: try CRead.string(c.last_error, in: Self.self),
            createdAtMs: c.created_at_ms,
            finishedAtMs: c.finished_at_ms
        )
    }

    func fill(_ c: inout Lockbox__V1__Notification, _ arena: Arena) {
        c.id = id
        c.tenant_id = arena.string(tenantID)
        c.request_id = arena.string(requestID)
        c.event_id = eventID
        c.channel = arena.string(channel)
        c.kind = arena.string(kind)
        c.recipient = arena.string(recipient)
        c.address = arena.string(address)
        c.message_id = arena.string(messageID)
        c.state = arena.string(state)
        c.attempts = attempts
        c.next_attempt_at_ms = nextAttemptAtMs
        c.last_error = arena.string(lastError)
        c.created_at_ms = createdAtMs
        c.finished_at_ms = finishedAtMs
    }
}

public struct ListNotificationsRequest: ProtoMessage {
    public var tenantID: String
    public var state: String
    public var pageSize: UInt32
    public var pageToken: String

    public init(
        tenantID: String = "",
        state: String = "",
        pageSize: UInt32 = 0,
        pageToken: String = ""
    ) {
        self.tenantID = tenantID
        self.state = state
        self.pageSize = pageSize
        self.pageToken = pageToken
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListNotificationsRequest: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListNotificationsRequest>) {
        lockbox__v1__list_notifications_request__init(message)
    }

    init(c: Lockbox__V1__ListNotificationsRequest) throws(ProtoDecodeError) {
        self.init(
            tenantID: try CRead.string(c.tenant_id, in: Self.self),
            state: try CRead.string(c.state, in: Self.self),
            pageSize: c.page_size,
            pageToken: try CRead.string(c.page_token, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListNotificationsRequest, _ arena: Arena) {
        c.tenant_id = arena.string(tenantID)
        c.state = arena.string(state)
        c.page_size = pageSize
        c.page_token = arena.string(pageToken)
    }
}

public struct ListNotificationsResponse: ProtoMessage {
    public var notifications: [Notification]
    public var nextPageToken: String

    public init(
        notifications: [Notification] = [],
        nextPageToken: String = ""
    ) {
        self.notifications = notifications
        self.nextPageToken = nextPageToken
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ListNotificationsResponse: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ListNotificationsResponse>) {
        lockbox__v1__list_notifications_response__init(message)
    }

    init(c: Lockbox__V1__ListNotificationsResponse) throws(ProtoDecodeError) {
        self.init(
            notifications: try CRead.repeated(c.n_notifications, c.notifications),
            nextPageToken: try CRead.string(c.next_page_token, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__ListNotificationsResponse, _ arena: Arena) {
        (c.n_notifications, c.notifications) = arena.repeated(notifications)
        c.next_page_token = arena.string(nextPageToken)
    }
}
