import LockboxCore

/// A request change to record in the feed; the store gives it its place after commit.
package struct NewRequestEvent: Sendable, Hashable {
    package var tenantID: String
    package var requestID: String
    package var requesterID: String
    package var activity: Activity
    package var state: RequestState
    package var actorID: String

    package init(
        tenantID: String,
        requestID: String,
        requesterID: String,
        activity: Activity,
        state: RequestState,
        actorID: String
    ) {
        self.tenantID = tenantID
        self.requestID = requestID
        self.requesterID = requesterID
        self.activity = activity
        self.state = state
        self.actorID = actorID
    }

    package init(_ request: RequestRecord, activity: Activity, state: RequestState, actorID: String) {
        self.init(
            tenantID: request.tenantID,
            requestID: request.id,
            requesterID: request.requesterID,
            activity: activity,
            state: state,
            actorID: actorID
        )
    }
}

/// The feed's positions, one row each in `event_positions`, so that their writers never wait
/// on one another.
enum FeedPositionName: String, PGTextEnum, PGNonNullDecodable, CaseIterable {
    /// The last seq given.
    case sequenced
    /// The last event turned into notifications.
    case dispatched
    /// Events up to here are gone.
    case pruned
}

/// The durable request-event feed (a transactional outbox; docs/notifications.md).
package struct EventStore: Sendable {
    package init() {}

    static let columns: PGQuery = "seq, tenant_id, request_id, requester_id, activity, state, actor_id, occurred_at_ms"

    static func event(_ row: PGRow) throws -> RequestEvent {
        RequestEvent(
            seq: try row.decode("seq"),
            tenantID: try row.decode("tenant_id"),
            requestID: try row.decode("request_id"),
            requesterID: try row.decode("requester_id"),
            activity: try row.decode("activity"),
            state: try row.decode("state"),
            actorID: try row.decode("actor_id"),
            occurredAtMs: try row.decode("occurred_at_ms")
        )
    }

    /// Records a change in the transaction that makes it, and wakes the feed's readers when,
    /// and only if, that transaction commits.
    package func append(_ event: NewRequestEvent, nowMs: Int64, _ db: PGConnection) throws {
        // Queued, with its announcement: they go with the transaction's next statement or COMMIT.
        try db.queue(
            """
            INSERT INTO request_events (tenant_id, request_id, requester_id, activity, state, actor_id, occurred_at_ms)
            VALUES (\(event.tenantID), \(event.requestID), \(event.requesterID), \(event.activity), \(event.state),
                    \(event.actorID), \(nowMs))
            """
        )
        try ChangeFeed.announceEvents(db)
    }

    /// Gives committed events their places after the last one, up to `limit` of them, unless
    /// another sequencer holds the feed (then nil). Returns how many it placed.
    package func sequence(limit: Int, _ db: PGConnection) throws -> Int? {
        guard
            let row = try db.query(
                "SELECT position FROM event_positions WHERE name = \(literal: FeedPositionName.sequenced) FOR UPDATE SKIP LOCKED"
            ).first
        else { return nil }
        let last: Int64 = try row.decode("position")
        let given = try db.query(
            """
            WITH pending AS (
                SELECT tenant_id, event_id, row_number() OVER (ORDER BY event_id) AS n
                FROM request_events WHERE seq IS NULL ORDER BY event_id LIMIT \(limit)
            )
            UPDATE request_events e SET seq = \(last) + p.n
            FROM pending p WHERE e.tenant_id = p.tenant_id AND e.event_id = p.event_id
            """
        ).affected
        guard given > 0 else { return 0 }
        let next = last + Int64(given)
        try db.query(
            "UPDATE event_positions SET position = \(next) WHERE name = \(literal: FeedPositionName.sequenced)"
        )
        try ChangeFeed.announceSequenced(next, db)
        return given
    }

    /// Sequenced events after `seq`, of one tenant or of all, in feed order.
    package func events(after seq: Int64, tenantID: String?, limit: Int, _ db: PGConnection) throws -> [RequestEvent] {
        let scope: PGQuery = tenantID.map { "tenant_id = \($0) AND " } ?? ""
        return try db.query(
            """
            SELECT \(Self.columns) FROM request_events WHERE \(scope)seq > \(seq) ORDER BY seq LIMIT \(limit)
            """
        ).rows.map(Self.event)
    }

    /// One sequenced event, while it is kept.
    package func event(seq: Int64, _ db: PGConnection) throws -> RequestEvent? {
        try db.query(
            """
            SELECT \(Self.columns) FROM request_events WHERE seq = \(seq)
            """
        ).first.map(Self.event)
    }

    package func positions(_ db: PGConnection) throws -> FeedPositions {
        var positions: [FeedPositionName: Int64] = [:]
        for row in try db.query("SELECT name, position FROM event_positions").rows {
            positions[try row.decode("name", as: FeedPositionName.self)] = try row.decode("position")
        }
        return FeedPositions(
            sequenced: positions[.sequenced] ?? 0,
            dispatched: positions[.dispatched] ?? 0,
            pruned: positions[.pruned] ?? 0
        )
    }

    /// Takes the dispatch position for the rest of the transaction, unless someone holds it (then nil).
    package func lockDispatch(_ db: PGConnection) throws -> Int64? {
        try db.query(
            "SELECT position FROM event_positions WHERE name = \(literal: FeedPositionName.dispatched) FOR UPDATE SKIP LOCKED"
        )
        .first.map { try $0.decode("position") }
    }

    package func setDispatched(_ seq: Int64, _ db: PGConnection) throws {
        try db.query(
            "UPDATE event_positions SET position = \(seq) WHERE name = \(literal: FeedPositionName.dispatched)"
        )
    }

    /// Removes up to `limit` events that occurred before `beforeMs`, were dispatched, and that
    /// no pending delivery still needs; returns how many.
    package func prune(beforeMs: Int64, limit: Int, _ db: PGConnection) throws -> Int {
        guard
            let row = try db.query(
                "SELECT position FROM event_positions WHERE name = \(literal: FeedPositionName.pruned) FOR UPDATE SKIP LOCKED"
            ).first
        else { return 0 }
        let pruned: Int64 = try row.decode("position")
        let through = try db.query(
            """
            SELECT max(seq) AS through FROM (
                SELECT seq FROM request_events WHERE seq > \(pruned) ORDER BY seq LIMIT \(limit)
            ) oldest
            WHERE seq <= (SELECT position FROM event_positions WHERE name = \(literal: FeedPositionName.dispatched))
              -- A delivery still to be made reads its event: keep it.
              AND seq < coalesce((SELECT min(event_seq) FROM notifications WHERE state = \(literal: NotificationState.pending)), \(Int64.max))
              AND seq <= coalesce((SELECT max(seq) FROM (
                    SELECT seq, occurred_at_ms FROM request_events WHERE seq > \(pruned) ORDER BY seq LIMIT \(limit)
                  ) window_ WHERE occurred_at_ms < \(beforeMs)), 0)
            """
        ).first.flatMap { try $0.decode("through", as: Int64?.self) }
        guard let through, through > pruned else { return 0 }
        let removed = try db.query(
            "DELETE FROM request_events WHERE seq > \(pruned) AND seq <= \(through)"
        ).affected
        try db.query(
            "UPDATE event_positions SET position = \(through) WHERE name = \(literal: FeedPositionName.pruned)"
        )
        return removed
    }
}
