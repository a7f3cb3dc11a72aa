import LockboxCore
import LockboxTestSupport
import NIOConcurrencyHelpers
import Testing

@testable import LockboxStore

/// A transaction's BEGIN goes with its first statement and its queued writes with the next
/// statement or COMMIT (libpq's pipeline mode): what that must never change is that a
/// transaction commits whole or not at all, and that the connection is clean after it.
@Suite struct PipelineTests {
    /// A connection to the fixture's database that counts its flights.
    static func connection(_ fixture: Fixture, flights: NIOLockedValueBox<Int>) throws -> PGConnection {
        var settings = PGConnectionSettings()
        settings.observer = PGStatementObserver({ _ in }, flight: { _ in flights.withLockedValue { $0 += 1 } })
        return try PGConnection(url: fixture.pool.configuration.url, settings: settings)
    }

    static func count(_ db: PGConnection, ticket: String) throws -> Int64 {
        try db.query("SELECT count(*) AS n FROM access_requests WHERE ticket_number = \(ticket)").first!.decode("n")
    }

    static let new = NewAccessRequest(
        tenantID: "contoso",
        service: .exchange,
        ticketNumber: "T-pipeline",
        justification: "test",
        requestedDurationSeconds: 3600
    )

    func insert(_ id: String, _ fixture: Fixture, _ db: PGConnection) throws {
        _ = try fixture.stores.requests.insert(
            Self.new,
            id: id,
            requesterID: "op",
            idempotencyKey: nil,
            internalDeadlineMs: 100,
            nowMs: 1,
            db
        )
    }

    @Test func aQueuedWriteThatFailsAtCommitRollsBackTheWholeTransaction() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let flights = NIOLockedValueBox(0)
        let db = try Self.connection(fixture, flights: flights)
        #expect(throws: StoreError.self) {
            try db.transaction { db in
                try insert("a", fixture, db)
                // Fails on the server only, when it goes with COMMIT.
                try db.queue("SELECT 1 / \(Int64(0)) AS never")
            }
        }
        #expect(db.isHealthy)
        #expect(try Self.count(db, ticket: "T-pipeline") == 0, "the insert went with the failed transaction")
        // The connection is clean: the next transaction commits.
        try db.transaction { db in try insert("b", fixture, db) }
        #expect(try Self.count(db, ticket: "T-pipeline") == 1)
    }

    @Test func aQueuedWriteThatFailsFailsTheNextStatementAndSaysWhichFailed() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let db = try Self.connection(fixture, flights: NIOLockedValueBox(0))
        do {
            try db.transaction { db in
                try db.queue("SELECT 1 / \(Int64(0)) AS never")
                try insert("a", fixture, db)
                Issue.record("the insert after a failed queued write returned")
            }
        } catch let error as StoreError {
            #expect(error.detail.contains("statement 2 of 3"), "\(error.detail)")
        }
        #expect(try Self.count(db, ticket: "T-pipeline") == 0)
    }

    @Test func beginAndQueuedWritesCostNoRoundTripOfTheirOwn() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let flights = NIOLockedValueBox(0)
        let db = try Self.connection(fixture, flights: flights)
        // Prepare the statements first: preparing is a round trip once per connection.
        try db.transaction { db in try insert("warm", fixture, db) }
        try db.transaction { db in
            try db.queue("SELECT \(Int64(1)) AS one")
            try db.queue("SELECT \(Int64(1)) AS one")
        }
        flights.withLockedValue { $0 = 0 }
        // Nothing sent, nothing to commit.
        try db.transaction { _ in }
        #expect(flights.withLockedValue { $0 } == 0)
        // BEGIN with the insert; two writes with COMMIT.
        try db.transaction { db in
            try insert("a", fixture, db)
            try db.queue("SELECT \(Int64(1)) AS one")
            try db.queue("SELECT \(Int64(1)) AS one")
        }
        #expect(flights.withLockedValue { $0 } == 2)
        #expect(try Self.count(db, ticket: "T-pipeline") == 2)
    }

    @Test func aTransactionInsideAnotherIsRefusedAndTheOuterOneRollsBack() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let db = try Self.connection(fixture, flights: NIOLockedValueBox(0))
        #expect(throws: StoreError.self) {
            try db.transaction { db in
                try insert("a", fixture, db)
                try db.transaction { db in try insert("b", fixture, db) }
            }
        }
        #expect(try Self.count(db, ticket: "T-pipeline") == 0)
    }

    @Test func aBackendKilledMidTransactionLeavesNothingAndTheErrorSaysUnavailable() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let db = try Self.connection(fixture, flights: NIOLockedValueBox(0))
        let pid: Int64 = try db.query("SELECT pg_backend_pid()::bigint AS pid").first!.decode("pid")
        // The superuser, on the postgres database: it may end any backend.
        let owner = try PGConnection(url: try TestDatabase.serverURL)
        do {
            try db.transaction { db in
                try insert("a", fixture, db)
                try db.queue("SELECT 1 AS queued")
                // The backend dies with the transaction open and a write queued.
                try owner.query("SELECT pg_terminate_backend(\(pid)::int) AS killed")
            }
            Issue.record("a transaction whose backend was killed committed")
        } catch let error as StoreError {
            #expect(error.code == .commitUnknown || error.code == .unavailable, "\(error)")
        }
        #expect(!db.isHealthy)
        let fresh = try PGConnection(url: fixture.pool.configuration.url)
        #expect(try Self.count(fresh, ticket: "T-pipeline") == 0)
    }

    /// A new statement is prepared in the flight that first runs it, so a fresh connection pays
    /// no round trip for it; one whose flight never went out, or whose preparation failed, is
    /// prepared again when next sent.
    @Test func aNewStatementIsPreparedInItsOwnFlight() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let flights = NIOLockedValueBox(0)
        let db = try Self.connection(fixture, flights: flights)
        let read: PGQuery = "SELECT \(Int64(41)) + 1 AS n"
        #expect(try db.query(read).first!.decode("n", as: Int64.self) == 42)
        #expect(flights.withLockedValue { $0 } == 1, "prepared and run in one flight")
        #expect(try db.query(read).first!.decode("n", as: Int64.self) == 42)
        #expect(flights.withLockedValue { $0 } == 2)

        // Queued, then dropped unsent when the body throws: the next use prepares it again.
        let write: PGQuery = "SELECT \(Int64(7)) AS queued"
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try db.transaction { db in
                try db.queue(write)
                throw Refused()
            }
        }
        try db.transaction { db in try db.queue(write) }
        #expect(try db.query(write).first!.decode("queued", as: Int64.self) == 7)

        // A preparation that fails (no such table) is not remembered; the table made, it runs.
        let missing: PGQuery = "SELECT count(*) AS n FROM pipeline_later WHERE x = \(Int64(1))"
        #expect(throws: StoreError.self) { try db.query(missing) }
        try db.execute(script: "CREATE TEMP TABLE pipeline_later (x bigint)")
        #expect(try db.query(missing).first!.decode("n", as: Int64.self) == 0)
        #expect(db.isHealthy)
    }
}
