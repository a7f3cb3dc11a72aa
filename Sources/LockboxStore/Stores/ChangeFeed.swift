import Foundation
import LockboxCore

/// A change to an access request, as announced in the transaction that made it.
public struct RequestChange: Sendable, Hashable {
    public var tenantID: String
    public var requestID: String
    public var activity: String

    public init(tenantID: String, requestID: String, activity: String) {
        self.tenantID = tenantID
        self.requestID = requestID
        self.activity = activity
    }
}

/// What the change feed carries.
public enum FeedEvent: Sendable, Hashable {
    /// A request changed.
    case request(RequestChange)
    /// A principal's roles, tokens or suspension changed: what it may watch may have changed.
    case principal(String)
}

/// Request changes over PostgreSQL's LISTEN/NOTIFY: every replica's transactions announce,
/// and every replica listens, so a watcher on one replica hears of decisions taken on another.
public enum ChangeFeed {
    static let channel = "lockbox_requests"

    /// Announces a change from inside the transaction that makes it; PostgreSQL delivers it to
    /// every listener when, and only if, that transaction commits.
    public static func announce(_ change: RequestChange, _ db: PGConnection) throws {
        let payload = JSONValue.object([
            "tenant_id": .string(change.tenantID), "request_id": .string(change.requestID),
            "activity": .string(change.activity),
        ])
        try db.query("SELECT pg_notify(\(channel), \(payload))")
    }

    /// Announces that a principal's roles, tokens or suspension changed, from inside the
    /// transaction that changes them: its open watches check their authorization again.
    public static func announcePrincipal(_ principalID: String, _ db: PGConnection) throws {
        let payload = JSONValue.object(["principal_id": .string(principalID)])
        try db.query("SELECT pg_notify(\(channel), \(payload))")
    }

    static func parse(_ payload: String) -> FeedEvent? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: String] else {
            return nil
        }
        if let principal = object["principal_id"] { return .principal(principal) }
        guard let tenant = object["tenant_id"], let request = object["request_id"], let activity = object["activity"]
        else { return nil }
        return .request(RequestChange(tenantID: tenant, requestID: request, activity: activity))
    }
}

/// A dedicated connection that listens to the change feed. Blocking: keep it on a thread of its own.
public final class ChangeListener {
    private let connection: PGConnection

    /// Connects and starts listening; throws `.unavailable` when the database cannot be reached.
    public init(url: String, settings: PGConnectionSettings = PGConnectionSettings()) throws(StoreError) {
        connection = try PGConnection(url: url, settings: settings)
        try connection.execute(script: "LISTEN \(ChangeFeed.channel)")
    }

    /// Waits up to `timeoutMilliseconds` for changes, and returns those that arrived (possibly none).
    /// Throws `.unavailable` once the connection is lost.
    public func next(timeoutMilliseconds: Int32) throws(StoreError) -> [FeedEvent] {
        try connection.notifications(timeoutMilliseconds: timeoutMilliseconds).compactMap {
            ChangeFeed.parse($0.payload)
        }
    }

    /// Runs `body` on the listening connection, between waits: reads that follow the changes.
    public func read<T>(_ body: (PGConnection) throws -> T) throws -> T { try body(connection) }
}
