import CLibPQ

/// One libpq connection. Blocking: use it only from a pool thread.
///
/// The one `@unchecked Sendable` type of the store: the pool hands a connection
/// to one thread at a time, and every `PGresult` is copied into Swift values
/// and freed before a call returns.
public final class PGConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    /// Statements prepared on this connection, by SQL text. Lockbox's SQL is a fixed set of
    /// texts (values are always bound), so this stays small; past the limit, statements run
    /// unprepared.
    private var prepared: [String: String] = [:]
    public static let preparedStatementLimit = 256

    /// Opens a connection; throws `.unavailable` when the server cannot be reached.
    public init(url: String) throws(StoreError) {
        guard let handle = PQconnectdb(url) else { throw StoreError(.unavailable, detail: "PQconnectdb returned NULL") }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(handle))
            PQfinish(handle)
            throw StoreError(.unavailable, detail: message)
        }
        // Server notices (such as "relation already exists, skipping") are not errors; drop them.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        self.handle = handle
    }

    deinit { PQfinish(handle) }

    /// False once the connection broke; the pool then replaces it.
    public var isHealthy: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Runs one statement with bound text parameters (`nil` is SQL NULL) and returns its rows.
    ///
    /// The statement is prepared on this connection the first time its text is seen, then
    /// executed by name: PostgreSQL parses it once per connection, not once per call.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(StoreError) -> PGRows {
        let name = try preparedName(for: sql, parameterCount: parameters.count)
        let result: OpaquePointer? = withCStrings(parameters) { values in
            if let name {
                return PQexecPrepared(handle, name, Int32(parameters.count), values, nil, nil, 0)
            }
            return PQexecParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try rows(of: result)
    }

    private func preparedName(for sql: String, parameterCount: Int) throws(StoreError) -> String? {
        if let name = prepared[sql] { return name }
        guard prepared.count < Self.preparedStatementLimit else { return nil }
        let name = "lbx_\(prepared.count)"
        _ = try rows(of: PQprepare(handle, name, sql, Int32(parameterCount), nil))
        prepared[sql] = name
        return name
    }

    /// Copies a result into Swift values and frees it, or throws its error.
    private func rows(of result: OpaquePointer?) throws(StoreError) -> PGRows {
        guard let result else {
            throw StoreError(.unavailable, detail: String(cString: PQerrorMessage(handle)))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            return PGRows(copying: result)
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = String(cString: PQresultErrorMessage(result))
            if !isHealthy { throw StoreError(.unavailable, sqlState: state, detail: message) }
            throw StoreError.classify(sqlState: state, detail: message)
        }
    }

    /// Runs SQL without parameters; may hold several statements (migrations).
    public func execute(script sql: String) throws(StoreError) {
        guard let result = PQexec(handle, sql) else {
            throw StoreError(.unavailable, detail: String(cString: PQerrorMessage(handle)))
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY else {
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = String(cString: PQresultErrorMessage(result))
            if !isHealthy { throw StoreError(.unavailable, sqlState: state, detail: message) }
            throw StoreError.classify(sqlState: state, detail: message)
        }
    }
}

private func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0)! } }
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers.map { UnsafePointer($0) })
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rows copied out of a `PGresult`, in text format.
public struct PGRows: Sendable {
    public let columns: [String]
    public let rows: [PGRow]
    /// Rows affected, for INSERT/UPDATE/DELETE.
    public let affected: Int

    init(copying result: OpaquePointer) {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var index: [String: Int] = [:]
        for (position, name) in columns.enumerated() { index[name] = position }
        var rows: [PGRow] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) != 0 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
            }
            rows.append(PGRow(values: values, index: index))
        }
        self.rows = rows
        affected = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    public var first: PGRow? { rows.first }
    public var isEmpty: Bool { rows.isEmpty }
    public var count: Int { rows.count }
}

/// One row, by column name. A column the query did not select, or NULL, reads as nil, and
/// as the type's zero value through the non-optional accessors.
public struct PGRow: Sendable {
    let values: [String?]
    let index: [String: Int]

    public subscript(_ column: String) -> String? {
        guard let position = index[column] else { return nil }
        return values[position]
    }

    public func string(_ column: String) -> String { self[column] ?? "" }
    public func int64(_ column: String) -> Int64 { self[column].flatMap { Int64($0) } ?? 0 }
    public func optionalInt64(_ column: String) -> Int64? { self[column].flatMap { Int64($0) } }
    public func bool(_ column: String) -> Bool { self[column] == "t" }
    public func optionalBool(_ column: String) -> Bool? { self[column].map { $0 == "t" } }
}

// MARK: - LISTEN / NOTIFY

/// A notification received on a LISTEN connection.
public struct PGNotification: Sendable, Hashable {
    public let channel: String
    public let payload: String
}

extension PGConnection {
    /// Waits up to `timeoutMilliseconds` for notifications on channels this connection
    /// LISTENs to, and returns those that arrived (possibly none).
    public func notifications(timeoutMilliseconds: Int32) throws(StoreError) -> [PGNotification] {
        var received = drainNotifications()
        guard received.isEmpty else { return received }
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw StoreError(.unavailable, detail: "connection has no socket") }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, timeoutMilliseconds)
        if ready > 0 {
            guard PQconsumeInput(handle) == 1 else {
                throw StoreError(.unavailable, detail: String(cString: PQerrorMessage(handle)))
            }
            received = drainNotifications()
        }
        guard isHealthy else { throw StoreError(.unavailable, detail: "LISTEN connection lost") }
        return received
    }

    private func drainNotifications() -> [PGNotification] {
        var received: [PGNotification] = []
        while let notification = PQnotifies(handle) {
            received.append(
                PGNotification(
                    channel: String(cString: notification.pointee.relname),
                    payload: String(cString: notification.pointee.extra)
                )
            )
            PQfreemem(notification)
        }
        return received
    }
}
