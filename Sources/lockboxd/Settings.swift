import LockboxCore
import LockboxDelivery
import LockboxOptionParsing
import LockboxRPC
import LockboxServer
import LockboxStore

/// Every setting of lockboxd, once: its flag, its environment variable, what it does and its
/// default. The defaults shown are read from the configuration types that hold them.
enum Settings {
    static let rpc = RPCServerConfiguration()
    static let connection = PGConnectionSettings()
    static let migration = PGConnectionSettings.forMigrations
    static let pool = PGPoolConfiguration(url: "")
    static let defaultDatabaseURL = "postgresql://lockbox_app@127.0.0.1:54329/lockbox"

    // MARK: Listening

    static let host = Setting.text("host", env: "LOCKBOX_HOST", "Address to listen on.", default: rpc.host)
    static let port = Setting.integer(
        "port",
        env: "LOCKBOX_PORT",
        "TCP port to listen on; 0 picks a free one.",
        in: 0...65535,
        default: rpc.port
    )
    static let maxFrameSize = Setting.integer(
        "max-frame-size",
        env: "LOCKBOX_MAX_FRAME_SIZE",
        "Largest request frame in bytes.",
        in: 64...(256 << 20),
        default: rpc.maxFrameSize
    )
    static let maxConcurrentCalls = Setting.integer(
        "max-concurrent-calls",
        env: "LOCKBOX_MAX_CONCURRENT_CALLS",
        "Calls running at once per connection; more wait.",
        in: 1...100_000,
        default: rpc.maxConcurrentCallsPerConnection
    )
    static let maxConnections = Setting.integer(
        "max-connections",
        env: "LOCKBOX_MAX_CONNECTIONS",
        "Connections open at once; one more is answered RESOURCE_EXHAUSTED and closed.",
        in: 1...1_000_000,
        default: rpc.maxConnections
    )
    static let maxConnectionsPerAddress = Setting.integer(
        "max-connections-per-address",
        env: "LOCKBOX_MAX_CONNECTIONS_PER_ADDRESS",
        "Connections open at once from one IP address; one more is answered RESOURCE_EXHAUSTED and closed.",
        in: 1...1_000_000,
        default: rpc.maxConnectionsPerAddress
    )
    static let maxStreamsPerConnection = Setting.integer(
        "max-streams-per-connection",
        env: "LOCKBOX_MAX_STREAMS_PER_CONNECTION",
        "Watches and exports open at once per connection.",
        in: 1...10_000,
        default: rpc.maxStreamingCallsPerConnection
    )
    static let maxOutboundBytes = Setting.integer(
        "max-outbound-bytes",
        env: "LOCKBOX_MAX_OUTBOUND_BYTES",
        "Unsent response bytes one connection may hold; a client that does not read past it is closed.",
        in: 1...(1 << 40),
        default: rpc.maxOutboundBytesPerConnection
    )
    static let idleTimeout = Setting.duration(
        "idle-timeout",
        env: "LOCKBOX_IDLE_TIMEOUT",
        "Close connections idle this long, e.g. 300s, 5m.",
        default: rpc.idleTimeout
    )
    static let frameReadTimeout = Setting.duration(
        "frame-read-timeout",
        env: "LOCKBOX_FRAME_READ_TIMEOUT",
        "Close a connection whose frame is not complete this long after it started.",
        default: rpc.frameReadTimeout
    )
    static let gracePeriod = Setting.duration(
        "grace-period",
        env: "LOCKBOX_GRACE_PERIOD",
        "On shutdown, how long calls in flight may take to finish.",
        default: rpc.shutdownGracePeriod
    )
    static let defaultTimeout = Setting.duration(
        "default-timeout",
        env: "LOCKBOX_DEFAULT_TIMEOUT",
        "Deadline for calls that carry none; 0 for none.",
        minimum: .zero,
        default: rpc.defaultUnaryTimeout
    )
    static let logLevel = Setting.choice(
        "log-level",
        env: "LOCKBOX_LOG_LEVEL",
        "How much to log.",
        ["trace", "debug", "info", "notice", "warning", "error", "critical"],
        default: "info"
    )
    static let logFormat = Setting.choice(
        "log-format",
        env: "LOCKBOX_LOG_FORMAT",
        "text, or json (one JSON object per line).",
        ["text", "json"],
        default: "text"
    )

    static let unauthenticatedBurst = Setting.integer(
        "unauthenticated-burst",
        env: "LOCKBOX_UNAUTHENTICATED_BURST",
        """
        Failed authentications (tokens that passed their checksum but are no one's, or no longer) one \
        address may make at once; past them, its calls are answered RESOURCE_EXHAUSTED with no work done.
        """,
        in: 1...1_000_000,
        default: Int(BudgetConfiguration().unauthenticatedBurst)
    )
    static let unauthenticatedPerSecond = Setting.integer(
        "unauthenticated-per-second",
        env: "LOCKBOX_UNAUTHENTICATED_PER_SECOND",
        "How many more failed authentications an address earns back each second.",
        in: 1...1_000_000,
        default: Int(BudgetConfiguration().unauthenticatedPerSecond)
    )
    static let enrollmentBurst = Setting.integer(
        "enrollment-burst",
        env: "LOCKBOX_ENROLLMENT_BURST",
        "EnrollTenantAdmin attempts one address, and one tenant, may make at once.",
        in: 1...1_000_000,
        default: Int(BudgetConfiguration().enrollmentBurst)
    )
    static let enrollmentPerMinute = Setting.integer(
        "enrollment-per-minute",
        env: "LOCKBOX_ENROLLMENT_PER_MINUTE",
        "How many more enrollment attempts an address, and a tenant, earns back each minute.",
        in: 1...1_000_000,
        default: Int(BudgetConfiguration().enrollmentPerMinute)
    )

    // MARK: TLS

    static let tlsCertFile = Setting.text(
        "tls-cert-file",
        env: "LOCKBOX_TLS_CERT_FILE",
        "The server's TLS certificate chain, PEM, leaf first; read again on SIGHUP."
    )
    static let tlsKeyFile = Setting.text(
        "tls-key-file",
        env: "LOCKBOX_TLS_KEY_FILE",
        "The server's TLS private key, PEM; read again on SIGHUP."
    )
    static let tlsClientCAFile = Setting.text(
        "tls-client-ca-file",
        env: "LOCKBOX_TLS_CLIENT_CA_FILE",
        "Require every client to present a certificate issued by these roots, PEM (mutual TLS)."
    )
    static let tlsMinVersion = Setting.choice(
        "tls-min-version",
        env: "LOCKBOX_TLS_MIN_VERSION",
        "Oldest TLS version accepted.",
        ["1.2", "1.3"],
        default: "1.3"
    )
    static let plaintext = Switch(
        "plaintext",
        env: "LOCKBOX_PLAINTEXT",
        "Serve without TLS: for loopback and tests. Without it, lockboxd needs --tls-cert-file and --tls-key-file."
    )

    // MARK: The service

    static let sweepInterval = Setting.duration(
        "sweep-interval",
        env: "LOCKBOX_SWEEP_INTERVAL",
        "How often the sweepers expire requests and complete grants.",
        default: LockboxServiceConfiguration().sweepInterval
    )
    static let checkGroupSize = Setting.integer(
        "check-group-size",
        env: "LOCKBOX_CHECK_GROUP_SIZE",
        "Most CheckAccess calls that share one transaction and commit (group commit).",
        in: 1...1_000,
        default: GroupCommitConfiguration().maxSize
    )
    static let checkGroups = Setting.integer(
        "check-groups",
        env: "LOCKBOX_CHECK_GROUPS",
        "CheckAccess groups that may read and decide at once, each on one database connection; each commits while the next reads.",
        in: 1...64,
        default: GroupCommitConfiguration().maxInFlight
    )
    static let internalApprovals = Setting.integer(
        "internal-approvals",
        env: "LOCKBOX_INTERNAL_APPROVALS",
        "How many distinct support managers must approve a request internally, one level each, before the customer decides.",
        in: 1...Policy.maximumInternalApprovals,
        default: Policy().internalApprovalsRequired
    )
    static let internalApprovalWindow = Setting.duration(
        "internal-approval-window",
        env: "LOCKBOX_INTERNAL_APPROVAL_WINDOW",
        "How long a request may wait for a support manager before it expires.",
        minimum: .seconds(1),
        default: .seconds(Policy().internalApprovalWindowSeconds)
    )
    static let enrollmentCodeLifetime = Setting.duration(
        "enrollment-code-lifetime",
        env: "LOCKBOX_ENROLLMENT_CODE_LIFETIME",
        "How long a tenant's enrollment code may be redeemed.",
        minimum: .seconds(1),
        default: .seconds(Policy().enrollmentCodeLifetimeSeconds)
    )
    static let maxWatchesPerPrincipal = Setting.integer(
        "max-watches-per-principal",
        env: "LOCKBOX_MAX_WATCHES_PER_PRINCIPAL",
        "Watches one principal may hold open at once.",
        in: 1...100_000,
        default: WatchConfiguration().maxWatchesPerPrincipal
    )
    static let watchRecheckInterval = Setting.duration(
        "watch-recheck-interval",
        env: "LOCKBOX_WATCH_RECHECK_INTERVAL",
        "How often an open watch checks its caller's token and roles again, besides whenever they change.",
        default: WatchConfiguration().recheckInterval
    )
    static let sealInterval = Setting.duration(
        "seal-interval",
        env: "LOCKBOX_SEAL_INTERVAL",
        "How often committed audit records are sealed into their hash chains: about the longest a record stays unsealed.",
        default: IntegrityConfiguration().sealInterval
    )
    static let checkpointInterval = Setting.duration(
        "checkpoint-interval",
        env: "LOCKBOX_CHECKPOINT_INTERVAL",
        "How often each audit chain that grew is signed.",
        default: IntegrityConfiguration().checkpointInterval
    )
    static let signingKeyFile = Setting.text(
        "signing-key-file",
        env: "LOCKBOX_SIGNING_KEY_FILE",
        """
        File holding the server's Ed25519 signing key: 32 bytes, base64 (what `lockboxd keygen` writes). It must \
        not be readable by group or others, and the database must trust it (lockboxd keys --help). Rotate by \
        cross-signing a new key with this one and starting with the new key: every key used before stays \
        published. The key itself may come in LOCKBOX_SIGNING_KEY instead.
        """
    )
    static let metricsPort = Setting.integer(
        "metrics-port",
        env: "LOCKBOX_METRICS_PORT",
        "Serve Prometheus metrics (/metrics), /healthz and /readyz over HTTP on this port; 0 picks a free one "
            + "(printed on stdout).",
        in: 0...65535,
        defaultText: "off"
    )
    static let metricsHost = Setting.text(
        "metrics-host",
        env: "LOCKBOX_METRICS_HOST",
        "Address of the metrics port.",
        default: "127.0.0.1"
    )
    static let allowPrivilegedDatabaseRole = Switch(
        "allow-privileged-database-role",
        env: "LOCKBOX_ALLOW_PRIVILEGED_DATABASE_ROLE",
        """
        Serve even when the database role is a superuser, owns the schema, or may rewrite the audit log. For \
        development only: lockboxd then logs a warning on every start.
        """
    )

    // MARK: The database

    static let databaseURL = Setting.text(
        "database-url",
        env: "LOCKBOX_DATABASE_URL",
        """
        PostgreSQL connection URL. serve and bootstrap connect as the runtime role; migrate as the owner role. \
        The default is the project-local database of scripts/run.
        """,
        default: defaultDatabaseURL
    )
    static let readDatabaseURL = Setting.text(
        "read-database-url",
        env: "LOCKBOX_READ_DATABASE_URL",
        """
        A hot standby (same roles) that audit searches and plain exports read from, so that batch exports leave \
        the primary to writes. Every decision, check and authentication stays on the primary.
        """
    )
    static let poolSize = Setting.integer(
        "pool-size",
        env: "LOCKBOX_POOL_SIZE",
        "Database connections (and threads that run them).",
        in: 1...256,
        default: pool.size
    )
    static let poolReservedForChecks = Setting.integer(
        "pool-reserved-for-checks",
        env: "LOCKBOX_POOL_RESERVED_FOR_CHECKS",
        "Connections only CheckAccess may use, so that floods of other calls cannot starve it.",
        in: 0...255,
        defaultText: "a quarter of the pool"
    )
    static let dbConnectTimeout = Setting.duration(
        "db-connect-timeout",
        env: "LOCKBOX_DB_CONNECT_TIMEOUT",
        "Time to open a database connection, authentication included.",
        default: connection.connectTimeout
    )
    static let dbStatementTimeout = Setting.duration(
        "db-statement-timeout",
        env: "LOCKBOX_DB_STATEMENT_TIMEOUT",
        "PostgreSQL cancels a statement running longer.",
        defaultText:
            "\(formatDuration(connection.statementTimeout)); \(formatDuration(migration.statementTimeout)) for migrate"
    )
    static let dbLockTimeout = Setting.duration(
        "db-lock-timeout",
        env: "LOCKBOX_DB_LOCK_TIMEOUT",
        "PostgreSQL cancels a statement waiting longer for a lock.",
        defaultText: "\(formatDuration(connection.lockTimeout)); \(formatDuration(migration.lockTimeout)) for migrate"
    )
    static let dbReplyTimeout = Setting.duration(
        "db-reply-timeout",
        env: "LOCKBOX_DB_REPLY_TIMEOUT",
        "Give up on a statement whose reply has not arrived, and discard its connection; longer than the statement timeout.",
        defaultText: "\(formatDuration(connection.replyTimeout)); \(formatDuration(migration.replyTimeout)) for migrate"
    )
    static let dbKeepaliveIdle = Setting.duration(
        "db-keepalive-idle",
        env: "LOCKBOX_DB_KEEPALIVE_IDLE",
        "TCP keepalive: idle time before the first probe.",
        default: connection.keepaliveIdle
    )
    static let dbKeepaliveInterval = Setting.duration(
        "db-keepalive-interval",
        env: "LOCKBOX_DB_KEEPALIVE_INTERVAL",
        "TCP keepalive: time between probes.",
        default: connection.keepaliveInterval
    )
    static let dbKeepaliveCount = Setting.integer(
        "db-keepalive-count",
        env: "LOCKBOX_DB_KEEPALIVE_COUNT",
        "TCP keepalive: unanswered probes before the connection is dropped.",
        in: 1...100,
        default: connection.keepaliveCount
    )
    static let dbTcpUserTimeout = Setting.duration(
        "db-tcp-user-timeout",
        env: "LOCKBOX_DB_TCP_USER_TIMEOUT",
        "Drop a connection whose sent data stays unacknowledged this long.",
        default: connection.tcpUserTimeout
    )
    static let migrations = Setting.text(
        "migrations",
        env: "LOCKBOX_MIGRATIONS_DIR",
        "Directory of NNNN_name.sql migrations.",
        default: "./migrations or the one beside the build"
    )
    static let databaseWait = Setting.duration(
        "database-wait",
        env: "LOCKBOX_DATABASE_WAIT",
        "At start, how long to wait for the database to be reachable (and, for serve, migrated).",
        minimum: .zero,
        default: LockboxConfiguration(database: PGPoolConfiguration(url: "")).databaseWait
    )
    static let runtimeRole = Setting(
        "runtime-role",
        env: "LOCKBOX_RUNTIME_ROLE",
        "The role lockboxd serves as: given its rights, exactly, after the migrations. Without it no grants are made.",
        expected: "a role name of 1 to 63 bytes"
    ) { (1...63).contains($0.utf8.count) ? $0 : nil }

    // MARK: Notifications

    static let smtpHost = Setting.text(
        "smtp-host",
        env: "LOCKBOX_SMTP_HOST",
        "SMTP relay host. Without it no email is sent."
    )
    static let smtpPort = Setting.integer(
        "smtp-port",
        env: "LOCKBOX_SMTP_PORT",
        "SMTP relay port.",
        in: 1...65535,
        defaultText: "587, or 465 with --smtp-security tls"
    )
    static let smtpSecurity = Setting(
        "smtp-security",
        env: "LOCKBOX_SMTP_SECURITY",
        """
        starttls (required: a relay that does not offer it is refused), tls (SMTPS), or none (plain SMTP; a \
        warning is logged when the relay is not on loopback).
        """,
        default: SMTPRelayConfiguration.Security.starttls.rawValue,
        expected: "starttls, tls or none"
    ) { SMTPRelayConfiguration.Security(rawValue: $0) }
    static let smtpUsername = Setting.text("smtp-username", env: "LOCKBOX_SMTP_USERNAME", "SMTP AUTH user name.")
    static let smtpPasswordFile = Setting.text(
        "smtp-password-file",
        env: "LOCKBOX_SMTP_PASSWORD_FILE",
        """
        File holding the SMTP AUTH password; it must not be readable by group or others. The password itself \
        may come in LOCKBOX_SMTP_PASSWORD instead.
        """
    )
    static let smtpFrom = Setting(
        "smtp-from",
        env: "LOCKBOX_SMTP_FROM",
        "Envelope sender and From address of Lockbox's email.",
        expected: "the sender's address, such as lockbox@provider.example"
    ) { EmailAddress.isValid($0) ? $0 : nil }
    static let smtpCAFile = Setting.text(
        "smtp-ca-file",
        env: "LOCKBOX_SMTP_CA_FILE",
        "CA certificates (PEM) to trust for the relay, instead of the system's."
    )
    static let reminderBefore = Setting.duration(
        "reminder-before",
        env: "LOCKBOX_REMINDER_BEFORE",
        "How long before a customer's deadline approvers are reminded; 0 sends no reminder.",
        minimum: .zero,
        default: .milliseconds(DeliveryPolicy().reminderLeadMs)
    )
    static let notificationRetryBase = Setting.duration(
        "notification-retry-base",
        env: "LOCKBOX_NOTIFICATION_RETRY_BASE",
        "Wait after a delivery's first failed attempt; it doubles after each later one, up to 1h.",
        minimum: .milliseconds(10),
        maximum: .seconds(3600),
        default: .milliseconds(DeliveryPolicy().baseDelayMs)
    )
    static let notificationAttempts = Setting.integer(
        "notification-attempts",
        env: "LOCKBOX_NOTIFICATION_ATTEMPTS",
        "Attempts before a delivery is marked failed.",
        in: 1...1000,
        default: DeliveryPolicy().maximumAttempts
    )
    static let webhookDisableAfter = Setting.integer(
        "webhook-disable-after",
        env: "LOCKBOX_WEBHOOK_DISABLE_AFTER",
        "Consecutive failed deliveries after which a webhook endpoint is disabled.",
        in: 1...1000,
        default: DeliveryPolicy().disableWebhookAfterFailures
    )
    static let webhookCAFile = Setting.text(
        "webhook-ca-file",
        env: "LOCKBOX_WEBHOOK_CA_FILE",
        "CA certificates (PEM) to trust for webhook endpoints, instead of the system's."
    )
    static let webhookAllowPrivateNetworks = Switch(
        "webhook-allow-private-networks",
        env: "LOCKBOX_WEBHOOK_ALLOW_PRIVATE_NETWORKS",
        """
        Deliver webhooks to loopback, private and link-local addresses too. Off by default, so that no endpoint \
        reaches into the provider's own network.
        """
    )
    static let eventRetention = Setting.duration(
        "event-retention",
        env: "LOCKBOX_EVENT_RETENTION",
        "How long request events are kept for watches to resume from; then they are removed.",
        minimum: .seconds(60),
        default: NotificationConfiguration().eventRetention
    )
}
