import LockboxCore

/// One email or webhook delivery, and where it stands.
package struct NotificationRecord: Sendable, Hashable {
    package var id: Int64
    package var tenantID: String
    package var eventSeq: Int64
    package var requestID: String
    package var channel: NotificationChannel
    package var kind: NotificationKind
    /// The principal emailed, or the webhook's id.
    package var recipient: String
    /// The email address or URL, as it was when the event was dispatched.
    package var address: String
    /// The recipient is the provider's (the requester's email, a provider endpoint).
    package var providerSide: Bool
    package var messageID: String
    package var state: NotificationState
    package var attempts: Int
    package var nextAttemptAtMs: Int64
    package var lastError: String
    package var createdAtMs: Int64
    package var finishedAtMs: Int64?

    package init(
        id: Int64 = 0,
        tenantID: String,
        eventSeq: Int64,
        requestID: String,
        channel: NotificationChannel,
        kind: NotificationKind,
        recipient: String,
        address: String,
        providerSide: Bool = false,
        messageID: String,
        state: NotificationState = .pending,
        attempts: Int = 0,
        nextAttemptAtMs: Int64,
        lastError: String = "",
        createdAtMs: Int64,
        finishedAtMs: Int64? = nil
    ) {
        self.id = id
        self.tenantID = tenantID
        self.eventSeq = eventSeq
        self.requestID = requestID
        self.channel = channel
        self.kind = kind
        self.recipient = recipient
        self.address = address
        self.providerSide = providerSide
        self.messageID = messageID
        self.state = state
        self.attempts = attempts
        self.nextAttemptAtMs = nextAttemptAtMs
        self.lastError = lastError
        self.createdAtMs = createdAtMs
        self.finishedAtMs = finishedAtMs
    }
}

/// Deliveries: at least once, never two senders at a time (a sender holds the row locked
/// while it sends; a sender that dies releases it with its connection).
package struct NotificationStore: Sendable {
    package init() {}

    static let columns: PGQuery = """
        tenant_id, notification_id, event_seq, request_id, channel, kind, recipient, address, provider_side, message_id, state,
        attempts, next_attempt_at_ms, last_error, created_at_ms, finished_at_ms
        """

    static func record(_ row: PGRow) throws -> NotificationRecord {
        NotificationRecord(
            id: try row.decode("notification_id"),
            tenantID: try row.decode("tenant_id"),
            eventSeq: try row.decode("event_seq"),
            requestID: try row.decode("request_id"),
            channel: try row.decode("channel"),
            kind: try row.decode("kind"),
            recipient: try row.decode("recipient"),
            address: try row.decode("address"),
            providerSide: try row.decode("provider_side"),
            messageID: try row.decode("message_id"),
            state: try row.decode("state"),
            attempts: Int(try row.decode("attempts", as: Int64.self)),
            nextAttemptAtMs: try row.decode("next_attempt_at_ms"),
            lastError: try row.decode("last_error"),
            createdAtMs: try row.decode("created_at_ms"),
            finishedAtMs: try row.decode("finished_at_ms")
        )
    }

    /// Adds a delivery; nothing when the same event already has it for the same recipient.
    package func enqueue(_ n: NotificationRecord, _ db: PGConnection) throws {
        try db.query(
            """
            INSERT INTO notifications (tenant_id, event_seq, request_id, channel, kind, recipient, address, provider_side,
                                       message_id, next_attempt_at_ms, created_at_ms)
            VALUES (\(n.tenantID), \(n.eventSeq), \(n.requestID), \(n.channel), \(n.kind), \(n.recipient),
                    \(n.address), \(n.providerSide), \(n.messageID), \(n.nextAttemptAtMs), \(n.createdAtMs))
            ON CONFLICT DO NOTHING
            """
        )
    }

    /// Locks the next due pending delivery (of `channel`, or of either) for the rest of the
    /// transaction, skipping those another sender holds.
    package func claimDue(channel: NotificationChannel?, nowMs: Int64, _ db: PGConnection) throws
        -> NotificationRecord?
    {
        let channels = channel.map { [$0] } ?? NotificationChannel.allCases
        // One channel at a time, each by its own index; the earlier due of the two wins.
        var due: [NotificationRecord] = []
        for channel in channels {
            if let next = try db.query(
                """
                SELECT \(Self.columns) FROM notifications
                WHERE channel = \(channel) AND state = \(literal: NotificationState.pending) AND next_attempt_at_ms <= \(nowMs)
                ORDER BY next_attempt_at_ms LIMIT 1 FOR UPDATE SKIP LOCKED
                """
            ).first.map(Self.record) {
                due.append(next)
            }
        }
        return due.min { $0.nextAttemptAtMs < $1.nextAttemptAtMs }
    }

    /// Records an attempt's outcome.
    package func update(_ n: NotificationRecord, _ db: PGConnection) throws {
        try db.query(
            """
            UPDATE notifications SET state = \(n.state), attempts = \(n.attempts),
                   next_attempt_at_ms = \(n.nextAttemptAtMs), last_error = \(n.lastError),
                   finished_at_ms = \(n.finishedAtMs)
            WHERE tenant_id = \(n.tenantID) AND notification_id = \(n.id)
            """
        )
    }

    /// Marks the pending deliveries to a webhook failed (it was disabled or removed), except
    /// one a sender holds right now: that one finds the endpoint gone, or completes.
    package func failPending(webhookID: String, reason: String, nowMs: Int64, _ db: PGConnection) throws -> Int {
        try db.query(
            """
            UPDATE notifications SET state = \(literal: NotificationState.failed), last_error = \(reason), finished_at_ms = \(nowMs)
            WHERE (tenant_id, notification_id) IN (
                SELECT tenant_id, notification_id FROM notifications
                WHERE recipient = \(webhookID) AND state = \(literal: NotificationState.pending) AND channel = \(literal: NotificationChannel.webhook)
                FOR UPDATE SKIP LOCKED
            )
            """
        ).affected
    }

    /// Deliveries by id, newest first, of one tenant or all, in one state or all, before `beforeID`.
    package func list(
        tenantID: String?,
        state: NotificationState?,
        beforeID: Int64?,
        limit: Int,
        _ db: PGConnection
    ) throws -> [NotificationRecord] {
        var conditions: [PGQuery] = []
        if let tenantID { conditions.append("tenant_id = \(tenantID)") }
        if let state { conditions.append("state = \(state)") }
        if let beforeID { conditions.append("notification_id < \(beforeID)") }
        return try db.query(
            """
            SELECT \(Self.columns) FROM notifications WHERE \(PGQuery.all(conditions))
            ORDER BY notification_id DESC LIMIT \(limit)
            """
        ).rows.map(Self.record)
    }

    /// Removes up to `limit` finished deliveries that finished before `beforeMs`; returns how many.
    package func prune(beforeMs: Int64, limit: Int, _ db: PGConnection) throws -> Int {
        try db.query(
            """
            DELETE FROM notifications WHERE (tenant_id, notification_id) IN (
                SELECT tenant_id, notification_id FROM notifications
                WHERE state <> \(literal: NotificationState.pending) AND finished_at_ms < \(beforeMs) LIMIT \(limit)
            )
            """
        ).affected
    }
}
