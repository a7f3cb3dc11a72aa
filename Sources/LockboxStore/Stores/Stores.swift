/// The stores the server works with, one per aggregate.
public struct Stores: Sendable {
    public var requests: any RequestStore
    public var grants: any GrantStore
    public var tenants: any TenantStore
    public var principals: any PrincipalStore
    public var tokens: any TokenStore
    public var audit: any AuditStore
    public var operations: any OperationStore
    public var enrollment: any EnrollmentStore
    public var chain: any ChainStore
    public var events: any EventStore
    public var notifications: any NotificationStore
    public var webhooks: any WebhookStore

    public init(
        requests: any RequestStore,
        grants: any GrantStore,
        tenants: any TenantStore,
        principals: any PrincipalStore,
        tokens: any TokenStore,
        audit: any AuditStore,
        operations: any OperationStore,
        enrollment: any EnrollmentStore,
        chain: any ChainStore,
        events: any EventStore,
        notifications: any NotificationStore,
        webhooks: any WebhookStore
    ) {
        self.events = events
        self.notifications = notifications
        self.webhooks = webhooks
        self.requests = requests
        self.grants = grants
        self.tenants = tenants
        self.principals = principals
        self.tokens = tokens
        self.audit = audit
        self.operations = operations
        self.enrollment = enrollment
        self.chain = chain
    }

    /// Every store, on PostgreSQL.
    public static let postgres = Stores(
        requests: PostgresRequestStore(),
        grants: PostgresGrantStore(),
        tenants: PostgresTenantStore(),
        principals: PostgresPrincipalStore(),
        tokens: PostgresTokenStore(),
        audit: PostgresAuditStore(),
        operations: PostgresOperationStore(),
        enrollment: PostgresEnrollmentStore(),
        chain: PostgresChainStore(),
        events: PostgresEventStore(),
        notifications: PostgresNotificationStore(),
        webhooks: PostgresWebhookStore()
    )
}
