import CLibPQ

/// One libpq connection. Blocking: use it only from a pool thread.
///
/// The one `@unchecked Sendable` type of the store: the pool hands a connection
/// to one thread at a time, and every `PGresult` is copied into Swift values
/// and freed before a call returns. Outside this module it is an opaque handle on
/// an open transaction, passed to the stores; only they run statements on it.
public final class PGConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    /// Statements prepared on this connection, by SQL text and parameter types. Lockbox's SQL
    /// is a fixed set of texts (values are always bound), so this stays small; past the
    /// limit, statements run unprepared.
    private var prepared: [PreparedKey: String] = [:]
    package static let preparedStatementLimit = 256

    private struct PreparedKey: Hashable {
        var sql: String
        var types: [UInt32]
    }

    /// Opens a connection; throws `.unavailable` when the server cannot be reached.
    package init(url: String) throws(StoreError) {
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
    package var isHealthy: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Runs one statement with its bound, typed parameters and returns its rows.
    ///
    /// The statement is prepared on this connection the first time its text is seen, then
    /// executed by name: PostgreSQL parses it once per connection, not once per call.
    @discardableResult
    package func query(_ query: PGQuery) throws(StoreError) -> PGRows {
        let binds = query.binds
        let types = binds.map(\.type.oid)
        let sql = query.sql
        let name = try preparedName(for: PreparedKey(sql: sql, types: types))
        let result: OpaquePointer? = withCStrings(binds.map(\.text)) { values in
            if let name {
                return PQexecPrepared(handle, name, Int32(binds.count), values, nil, nil, 0)
            }
            return types.withUnsafeBufferPointer { oids in
                PQexecParams(handle, sql, Int32(binds.count), oids.baseAddress, values, nil, nil, 0)
            }
        }
        return try rows(of: result)
    }

    private func preparedName(for key: PreparedKey) throws(StoreError) -> String? {
        if let name = prepared[key] { return name }
        guard prepared.count < Self.preparedStatementLimit else { return nil }
        let name = "lbx_\(prepared.count)"
        let result = key.types.withUnsafeBufferPointer { oids in
            PQprepare(handle, name, key.sql, Int32(key.types.count), oids.baseAddress)
        }
        _ = try rows(of: result)
        prepared[key] = name
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
            throw error(of: result)
        }
    }

    private func error(of result: OpaquePointer) -> StoreError {
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let message = String(cString: PQresultErrorMessage(result))
        if !isHealthy { return StoreError(.unavailable, sqlState: state, detail: message) }
        return StoreError.classify(sqlState: state, detail: message)
    }

    /// Runs SQL without parameters; may hold several statements (migrations, BEGIN, COMMIT).
    package func execute(script sql: String) throws(StoreError) {
        guard let result = PQexec(handle, sql) else {
            throw StoreError(.unavailable, detail: String(cString: PQerrorMessage(handle)))
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY else {
            throw error(of: result)
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

// MARK: - LISTEN / NOTIFY

/// A notification received on a LISTEN connection.
package struct PGNotification: Sendable, Hashable {
    package let channel: String
    package let payload: String
}

extension PGConnection {
    /// Waits up to `timeoutMilliseconds` for notifications on channels this connection
    /// LISTENs to, and returns those that arrived (possibly none).
    package func notifications(timeoutMilliseconds: Int32) throws(StoreError) -> [PGNotification] {
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
