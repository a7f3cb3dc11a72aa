import CLibPQ

/// How a connection guards against a database that is slow, or silent.
///
/// Each bounds one way a pool thread could otherwise wait forever inside libpq. A value also
/// set in the connection URL (such as `?connect_timeout=3`) wins over the one here.
package struct PGConnectionSettings: Sendable, Hashable {
    /// Establishing a connection, authentication included (libpq's `connect_timeout`; whole
    /// seconds, at least 2).
    package var connectTimeout: Duration
    /// The server cancels a statement that runs longer (`statement_timeout`).
    package var statementTimeout: Duration
    /// The server cancels a statement that waits longer for a lock (`lock_timeout`).
    package var lockTimeout: Duration
    /// The client gives up on a statement whose reply has not arrived by then, and discards the
    /// connection: what ends the wait when the server or the network goes silent without a
    /// reset. Longer than `statementTimeout`, so a slow statement ends by the server's cancel.
    package var replyTimeout: Duration
    /// TCP keepalives: first probe after `keepaliveIdle` without traffic, then every
    /// `keepaliveInterval`, and the connection is dropped after `keepaliveCount` unanswered.
    package var keepaliveIdle: Duration
    package var keepaliveInterval: Duration
    package var keepaliveCount: Int
    /// The kernel drops the connection when data it sent stays unacknowledged this long
    /// (`tcp_user_timeout`).
    package var tcpUserTimeout: Duration
    /// Sees the text of every statement before it is sent; nil in production.
    package var observer: PGStatementObserver?

    package init(
        connectTimeout: Duration = .seconds(5),
        statementTimeout: Duration = .seconds(10),
        lockTimeout: Duration = .seconds(5),
        replyTimeout: Duration = .seconds(15),
        keepaliveIdle: Duration = .seconds(10),
        keepaliveInterval: Duration = .seconds(5),
        keepaliveCount: Int = 3,
        tcpUserTimeout: Duration = .seconds(15)
    ) {
        self.connectTimeout = connectTimeout
        self.statementTimeout = statementTimeout
        self.lockTimeout = lockTimeout
        self.replyTimeout = replyTimeout
        self.keepaliveIdle = keepaliveIdle
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveCount = keepaliveCount
        self.tcpUserTimeout = tcpUserTimeout
    }

    /// For `lockboxd migrate`: a migration may rewrite a large table, so its statements may
    /// run for hours, but it gives up within a minute of waiting for a lock a running server
    /// holds, rather than stall that server's calls behind it.
    package static let forMigrations = PGConnectionSettings(
        statementTimeout: .seconds(6 * 3600),
        lockTimeout: .seconds(60),
        replyTimeout: .seconds(6 * 3600 + 60)
    )

    /// What is wrong with these settings, for a clear error at start; nil when they are sane.
    package var problem: String? {
        let positive: [(String, Duration)] = [
            ("connect timeout", connectTimeout), ("statement timeout", statementTimeout),
            ("lock timeout", lockTimeout), ("reply timeout", replyTimeout), ("keepalive idle", keepaliveIdle),
            ("keepalive interval", keepaliveInterval), ("TCP user timeout", tcpUserTimeout),
        ]
        for (name, value) in positive where value <= .zero { return "the database \(name) must be positive" }
        guard keepaliveCount > 0 else { return "the database keepalive count must be positive" }
        guard replyTimeout > statementTimeout else {
            return "the database reply timeout must be longer than the statement timeout"
        }
        return nil
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.wholeMilliseconds
    }

    static func seconds(_ duration: Duration) -> Int64 { max(1, (milliseconds(duration) + 999) / 1000) }

    /// libpq keywords, before the URL's own (`dbname` is expanded last, so the URL wins).
    var keywords: [(String, String)] {
        [
            ("connect_timeout", "\(max(2, Self.seconds(connectTimeout)))"),
            ("keepalives", "1"),
            ("keepalives_idle", "\(Self.seconds(keepaliveIdle))"),
            ("keepalives_interval", "\(Self.seconds(keepaliveInterval))"),
            ("keepalives_count", "\(keepaliveCount)"),
            ("tcp_user_timeout", "\(Self.milliseconds(tcpUserTimeout))"),
            (
                "options",
                "-c statement_timeout=\(Self.milliseconds(statementTimeout)) -c lock_timeout=\(Self.milliseconds(lockTimeout))"
            ),
        ]
    }
}

/// Sees the SQL text of each statement a connection sends, before it goes: how a test counts
/// the statements, and so the round trips, that a call makes. Compared by identity.
package final class PGStatementObserver: Sendable, Hashable {
    let observe: @Sendable (String) -> Void
    /// Called once per flight to the server and back (a round trip), with how many statements
    /// went in it.
    let flight: @Sendable (Int) -> Void

    package init(
        _ observe: @escaping @Sendable (String) -> Void,
        flight: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.observe = observe
        self.flight = flight
    }

    package static func == (lhs: PGStatementObserver, rhs: PGStatementObserver) -> Bool { lhs === rhs }
    package func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// One libpq connection. Blocking: use it only from a pool thread.
///
/// The one `@unchecked Sendable` type of the store: the pool hands a connection
/// to one thread at a time, and every `PGresult` is copied into Swift values
/// and freed before a call returns. Outside this module it is an opaque handle on
/// an open transaction, passed to the stores; only they run statements on it.
///
/// Statements are sent without blocking and their replies awaited with `poll`, so no wait
/// outlasts ``PGConnectionSettings/replyTimeout``: past it the connection is closed, counts as
/// broken, and the statement fails with ``StoreError/Code/timedOut``.
package final class PGConnection: @unchecked Sendable {
    /// nil once closed after a reply timed out.
    private var handle: OpaquePointer?
    private let replyTimeout: Duration
    private let observer: PGStatementObserver?
    /// Statements prepared on this connection, by SQL text and parameter types. Lockbox's SQL
    /// is a fixed set of texts (values are always bound), so this stays small; past the
    /// limit, statements run unprepared.
    private var prepared: [PreparedKey: String] = [:]
    /// The next prepared statement's name: names are never reused, so that one whose
    /// preparation failed (and was forgotten) cannot collide with a later one.
    private var nextPreparedName = 0
    package static let preparedStatementLimit = 256
    /// When set, every statement ``query(_:)`` runs is appended: how a test finds the
    /// statements a store call makes, to EXPLAIN them.
    var recorded: [PGQuery]?
    /// Statements held back to go in one flight with the next one whose answer is needed: a
    /// transaction's BEGIN, and writes whose rows no one reads (``queue(_:)``). Sent with
    /// libpq's pipeline mode, so that BEGIN, the writes and COMMIT cost no round trip of their
    /// own. Empty outside a transaction.
    private var pending: [Pending] = []
    /// Inside ``transaction(_:)``: whether a statement may be queued.
    private var inTransaction = false
    /// Whether this transaction's BEGIN has gone to the server.
    private var begun = false

    /// A statement waiting for the next flight.
    private struct Pending {
        var sql: String
        /// The prepared statement's name, nil to send the text with its parameters.
        var name: String?
        var values: [String?]
        var types: [UInt32]
        var isBegin = false
        /// Whether to prepare it (as `name`) in the same flight, before it runs.
        var prepare = false
    }

    private struct PreparedKey: Hashable {
        var sql: String
        var types: [UInt32]
    }

    /// Opens a connection; throws `.unavailable` when the server cannot be reached in time.
    package init(url: String, settings: PGConnectionSettings = PGConnectionSettings()) throws(StoreError) {
        let pairs = settings.keywords + [("dbname", url)]
        let connection: OpaquePointer? = withCStrings(pairs.map(\.0) + [nil]) { keys in
            withCStrings(pairs.map(\.1) + [nil]) { values in PQconnectdbParams(keys, values, 1) }
        }
        guard let connection else { throw StoreError(.unavailable, detail: "PQconnectdbParams returned NULL") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection))
            PQfinish(connection)
            throw StoreError(.unavailable, detail: message)
        }
        // Server notices (such as "relation already exists, skipping") are not errors; drop them.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        guard PQsetnonblocking(connection, 1) == 0 else {
            PQfinish(connection)
            throw StoreError(.unavailable, detail: "cannot make the connection nonblocking")
        }
        self.handle = connection
        self.replyTimeout = settings.replyTimeout
        self.observer = settings.observer
    }

    deinit { if let handle { PQfinish(handle) } }

    /// False once the connection broke or timed out; the pool then replaces it.
    package var isHealthy: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// Runs one statement with its bound, typed parameters and returns its rows.
    ///
    /// The statement is prepared on this connection the first time its text is seen, then
    /// executed by name: PostgreSQL parses it once per connection, not once per call. Statements
    /// waiting for a flight (a transaction's BEGIN, queued writes) go with it, in one round trip.
    @discardableResult
    func query(_ query: PGQuery) throws(StoreError) -> PGRows {
        let statement = try pendingStatement(query)
        if pending.isEmpty && !statement.prepare {
            let result = try roundTrip { handle in send(statement, handle) }
            return try rows(of: result)
        }
        return try rows(of: pipeline(with: [statement])[0])
    }

    /// Runs several statements in one flight (with any pending ones) and returns each one's
    /// rows, in order: how a group of calls reads what each needs in one round trip. Throws
    /// the error of the first that failed; inside a transaction, that fails the transaction.
    func queryAll(_ queries: [PGQuery]) throws(StoreError) -> [PGRows] {
        guard !queries.isEmpty else { return [] }
        var statements: [Pending] = []
        for query in queries { statements.append(try pendingStatement(query)) }
        let results = try pipeline(with: statements)
        var all: [PGRows] = []
        var failure: StoreError?
        for result in results {
            do throws(StoreError) {
                all.append(try rows(of: result))
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
        return all
    }

    /// Runs a write whose rows no one reads with the next statement that is answered, or with
    /// COMMIT: no round trip of its own. Its error, if any, fails that statement (and so the
    /// transaction). Outside a transaction it runs at once.
    package func queue(_ query: PGQuery) throws(StoreError) {
        guard inTransaction else {
            try self.query(query)
            return
        }
        pending.append(try pendingStatement(query))
    }

    /// Drops the statements that never went out; those that would have been prepared in their
    /// flight are forgotten, to be prepared when next sent.
    private func dropPending() {
        let unprepared = Set(pending.filter(\.prepare).compactMap(\.name))
        if !unprepared.isEmpty { prepared = prepared.filter { !unprepared.contains($0.value) } }
        pending.removeAll()
    }

    /// A statement ready to send: prepared on this connection when it can be.
    private func pendingStatement(_ query: PGQuery) throws(StoreError) -> Pending {
        recorded?.append(query)
        let binds = query.binds
        let types = binds.map(\.type.oid)
        let sql = query.sql
        observer?.observe(sql)
        let key = PreparedKey(sql: sql, types: types)
        if let name = prepared[key] { return Pending(sql: sql, name: name, values: binds.map(\.text), types: types) }
        // Prepared in the flight that first runs it: a new statement costs no round trip of its own.
        guard prepared.count < Self.preparedStatementLimit else {
            return Pending(sql: sql, name: nil, values: binds.map(\.text), types: types)
        }
        let name = "lbx_\(nextPreparedName)"
        nextPreparedName += 1
        prepared[key] = name
        return Pending(sql: sql, name: name, values: binds.map(\.text), types: types, prepare: true)
    }

    private func send(_ statement: Pending, _ handle: OpaquePointer) -> Int32 {
        withCStrings(statement.values) { values in
            if let name = statement.name {
                return PQsendQueryPrepared(handle, name, Int32(values.count), values, nil, nil, 0)
            }
            return statement.types.withUnsafeBufferPointer { oids in
                PQsendQueryParams(handle, statement.sql, Int32(values.count), oids.baseAddress, values, nil, nil, 0)
            }
        }
    }

    /// Copies a result into Swift values and frees it, or throws its error.
    private func rows(of result: OpaquePointer) throws(StoreError) -> PGRows {
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
    func execute(script sql: String) throws(StoreError) {
        if !pending.isEmpty { try pipeline(with: []).forEach { PQclear($0) } }
        observer?.observe(sql)
        let result = try roundTrip { handle in PQsendQuery(handle, sql) }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY else {
            throw error(of: result)
        }
    }

    // MARK: Sending and waiting

    /// Sends with `send`, then waits for every result of it: returns the first failed one, or
    /// else the last. Waits no longer than the reply timeout in all.
    private func roundTrip(_ send: (OpaquePointer) -> Int32) throws(StoreError) -> OpaquePointer {
        guard let handle else { throw StoreError(.unavailable, detail: "the connection was closed") }
        let deadline = ContinuousClock.now.advanced(by: replyTimeout)
        guard send(handle) == 1 else { throw lastError() }
        observer?.flight(1)
        try flush(handle, until: deadline)
        var kept: OpaquePointer?
        var keptFailed = false
        while true {
            do {
                try awaitResult(handle, until: deadline)
            } catch {
                if let kept { PQclear(kept) }
                throw error
            }
            guard let next = PQgetResult(handle) else { break }
            let status = PQresultStatus(next)
            let failed = status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY
            if keptFailed {
                PQclear(next)
            } else {
                if let kept { PQclear(kept) }
                kept = next
                keptFailed = failed
            }
        }
        guard let kept else { throw lastError() }
        return kept
    }

    /// Sends the pending statements and then `lasts` in one flight, in libpq's pipeline mode,
    /// and waits for all their results. Returns the result of each of `lasts`, in order; throws
    /// the error of the first that failed (the server skips the rest, up to the sync). The
    /// pending statements are gone either way.
    private func pipeline(with lasts: [Pending]) throws(StoreError) -> [OpaquePointer] {
        let statements = pending + lasts
        let firstKept = statements.count - lasts.count
        guard let handle else { throw StoreError(.unavailable, detail: "the connection was closed") }
        // The reply timeout bounds silence, not the flight: the server gives each statement its
        // own statement timeout, so the deadline moves on with every result that arrives.
        var deadline = ContinuousClock.now.advanced(by: replyTimeout)
        guard PQenterPipelineMode(handle) == 1 else { throw broken() }
        pending.removeAll()
        // What goes out, in order: each statement, after its preparation when it is new here.
        var sends: [(statement: Int, isPrepare: Bool)] = []
        for (index, statement) in statements.enumerated() {
            if statement.isBegin {
                begun = true
                observer?.observe(statement.sql)
            }
            if statement.prepare, let name = statement.name {
                let sent = statement.types.withUnsafeBufferPointer { oids in
                    PQsendPrepare(handle, name, statement.sql, Int32(statement.types.count), oids.baseAddress)
                }
                guard sent == 1 else { throw broken() }
                sends.append((index, true))
            }
            guard send(statement, handle) == 1 else { throw broken() }
            sends.append((index, false))
        }
        guard PQpipelineSync(handle) == 1 else { throw broken() }
        observer?.flight(statements.count)
        do {
            try flush(handle, until: deadline)
        } catch {
            throw broken(error)
        }
        // Each send's results end with a NULL; the sync's result comes last.
        var index = 0
        var kept = [OpaquePointer?](repeating: nil, count: lasts.count)
        func clearKept() { for result in kept { if let result { PQclear(result) } } }
        var failure: StoreError?
        var preparedHere = Set<Int>()
        while true {
            do {
                try awaitResult(handle, until: deadline)
            } catch {
                clearKept()
                throw broken(error)
            }
            deadline = ContinuousClock.now.advanced(by: replyTimeout)
            guard let next = PQgetResult(handle) else {
                index += 1
                guard index <= sends.count else {
                    clearKept()
                    throw broken(StoreError(.unavailable, detail: "the pipeline's sync did not arrive"))
                }
                continue
            }
            let status = PQresultStatus(next)
            if status == PGRES_PIPELINE_SYNC {
                PQclear(next)
                break
            }
            if status == PGRES_PIPELINE_ABORTED {
                PQclear(next)
                continue
            }
            guard index < sends.count else {
                PQclear(next)
                continue
            }
            let (statementIndex, isPrepare) = sends[index]
            if status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY {
                if failure == nil {
                    // Which statement failed, for the logs: a queued write's error surfaces
                    // with a later statement.
                    let failed = error(of: next)
                    let statement = statements[statementIndex].sql.split(whereSeparator: \.isNewline).first ?? ""
                    failure = StoreError(
                        failed.code,
                        sqlState: failed.sqlState,
                        detail:
                            "\(failed.detail) (statement \(statementIndex + 1) of \(statements.count): \(statement.prefix(80)))"
                    )
                }
                PQclear(next)
                continue
            }
            if isPrepare {
                preparedHere.insert(statementIndex)
                PQclear(next)
            } else if statementIndex >= firstKept && failure == nil {
                if let old = kept[statementIndex - firstKept] { PQclear(old) }
                kept[statementIndex - firstKept] = next
            } else {
                PQclear(next)
            }
        }
        // A preparation that did not happen is forgotten: the statement is prepared again next time.
        for (statementIndex, statement) in statements.enumerated()
        where statement.prepare && !preparedHere.contains(statementIndex) {
            prepared = prepared.filter { $0.value != statement.name }
        }
        guard PQexitPipelineMode(handle) == 1 else {
            clearKept()
            throw broken()
        }
        if let failure {
            clearKept()
            throw failure
        }
        let results = kept.compactMap { $0 }
        guard results.count == kept.count else {
            clearKept()
            throw StoreError(.unavailable, detail: "the pipeline returned no result")
        }
        return results
    }

    /// A pipeline that went wrong midway leaves the connection in a state no one can use
    /// again: it is closed, and counts as broken.
    private func broken(_ error: StoreError? = nil) -> StoreError {
        let failure = error ?? lastError()
        close()
        return failure.code == .timedOut ? failure : StoreError(.unavailable, detail: failure.detail)
    }

    /// Pushes out what libpq has buffered; the socket may be full while the server is slow to read.
    private func flush(_ handle: OpaquePointer, until deadline: ContinuousClock.Instant) throws(StoreError) {
        while true {
            let flushed = PQflush(handle)
            if flushed == 0 { return }
            guard flushed > 0 else { throw lastError() }
            let events = try wait(for: Int16(POLLIN | POLLOUT), until: deadline)
            if events & Int16(POLLIN) != 0, PQconsumeInput(handle) != 1 { throw lastError() }
        }
    }

    /// Waits until `PQgetResult` would not block.
    private func awaitResult(_ handle: OpaquePointer, until deadline: ContinuousClock.Instant) throws(StoreError) {
        while PQisBusy(handle) == 1 {
            _ = try wait(for: Int16(POLLIN), until: deadline)
            guard PQconsumeInput(handle) == 1 else { throw lastError() }
        }
    }

    /// Polls the socket until one of `events` or the deadline; past the deadline, the
    /// connection is closed and the wait fails.
    private func wait(for events: Int16, until deadline: ContinuousClock.Instant) throws(StoreError) -> Int16 {
        guard let handle else { throw StoreError(.unavailable, detail: "the connection was closed") }
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw StoreError(.unavailable, detail: "connection has no socket") }
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else {
                close()
                throw StoreError(
                    .timedOut,
                    detail: "no reply from the database within \(replyTimeout); connection discarded"
                )
            }
            var descriptor = pollfd(fd: socket, events: events, revents: 0)
            let milliseconds = Int32(clamping: max(1, PGConnectionSettings.milliseconds(left)))
            let ready = poll(&descriptor, 1, milliseconds)
            if ready > 0 { return descriptor.revents }
            if ready < 0 && errno != EINTR {
                close()
                throw StoreError(.unavailable, detail: "poll failed: errno \(errno)")
            }
        }
    }

    private func lastError() -> StoreError {
        let message = handle.map { String(cString: PQerrorMessage($0)) } ?? "the connection was closed"
        return StoreError(.unavailable, detail: message)
    }

    private func close() {
        if let handle { PQfinish(handle) }
        handle = nil
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

// MARK: - Transactions

extension PGConnection {
    /// Runs `body` inside BEGIN … COMMIT; any error rolls back. A connection that breaks with
    /// COMMIT in flight throws `.commitUnknown`: whether it committed cannot be known.
    ///
    /// BEGIN goes with the body's first statement, and COMMIT with its queued writes
    /// (``queue(_:)``), in one flight each: a transaction costs no round trip of its own.
    package func transaction<T>(_ body: (PGConnection) throws -> T) throws -> T {
        // A transaction inside another would drop the outer one's queued writes: refused.
        guard !inTransaction else {
            throw StoreError(.other, detail: "a transaction was opened inside another on the same connection")
        }
        pending = [Pending(sql: "BEGIN", name: nil, values: [], types: [], isBegin: true)]
        inTransaction = true
        begun = false
        defer {
            inTransaction = false
            dropPending()
        }
        let value: T
        do {
            value = try body(self)
        } catch {
            dropPending()
            if begun && isHealthy { try? execute(script: "ROLLBACK") }
            throw error
        }
        // A body that sent nothing has nothing to commit.
        guard begun || pending.count > 1 else { return value }
        do {
            observer?.observe("COMMIT")
            let commit = Pending(sql: "COMMIT", name: nil, values: [], types: [])
            try pipeline(with: [commit]).forEach { PQclear($0) }
        } catch {
            // The connection broke with COMMIT in flight: whether it committed is unknown.
            guard isHealthy else { throw StoreError(.commitUnknown, detail: "\(error)") }
            try? execute(script: "ROLLBACK")
            throw error
        }
        return value
    }
}

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
        guard let handle else { throw StoreError(.unavailable, detail: "the connection was closed") }
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
        guard let handle else { return [] }
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
