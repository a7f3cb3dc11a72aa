import LockboxCore

/// What the change feed's wake-ups say. They carry no data: the event feed in PostgreSQL
/// (``EventStore``) is the data, and a lost wake-up only delays a reader until its next look.
package enum FeedEvent: Sendable, Hashable {
    /// Request events were appended: a sequencer has work.
    case eventsAppended
    /// The feed was sequenced up to this place: readers have events to read.
    case sequenced(Int64)
    /// A principal's roles, tokens, suspension or certificate binding changed: what it may watch
    /// may have changed. The database announces it (migrations/0009), whatever writes the change.
    case principal(String)
}

/// Wake-ups over PostgreSQL's LISTEN/NOTIFY: every replica's transactions announce, and every
/// replica listens, so a watcher on one replica hears at once of decisions taken on another.
package enum ChangeFeed {
    static let channel = "lockbox_requests"

    /// From inside a transaction that appended events; delivered when, and only if, it commits.
    static func announceEvents(_ db: PGConnection) throws {
        try db.queue("SELECT pg_notify(\(channel), 'appended')")
    }

    /// From inside the sequencer's transaction.
    static func announceSequenced(_ seq: Int64, _ db: PGConnection) throws {
        try db.query("SELECT pg_notify(\(channel), \("sequenced \(seq)"))")
    }

    static func parse(_ payload: String) -> FeedEvent? {
        if payload == "appended" { return .eventsAppended }
        if payload.hasPrefix("sequenced "), let seq = Int64(payload.dropFirst("sequenced ".count)) {
            return .sequenced(seq)
        }
        if payload.hasPrefix("principal ") { return .principal(String(payload.dropFirst("principal ".count))) }
        return nil
    }
}

/// A dedicated connection that listens to the change feed. Blocking: keep it on a thread of its own.
package final class ChangeListener {
    private let connection: PGConnection

    /// Connects and starts listening; throws `.unavailable` when the database cannot be reached.
    package init(url: String, settings: PGConnectionSettings = PGConnectionSettings()) throws(StoreError) {
        connection = try PGConnection(url: url, settings: settings)
        try connection.execute(script: "LISTEN \(ChangeFeed.channel)")
    }

    /// Waits up to `timeoutMilliseconds` for changes, and returns those that arrived (possibly none).
    /// Throws `.unavailable` once the connection is lost.
    package func next(timeoutMilliseconds: Int32) throws(StoreError) -> [FeedEvent] {
        try connection.notifications(timeoutMilliseconds: timeoutMilliseconds).compactMap {
            ChangeFeed.parse($0.payload)
        }
    }

    /// Runs `body` on the listening connection, between waits: reads that follow the changes.
    package func read<T>(_ body: (PGConnection) throws -> T) throws -> T { try body(connection) }
}
