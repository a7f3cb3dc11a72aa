import LockboxCore
import Testing

/// A watch's rules, row by row: where it starts, where it reads next, when it is out of range.
@Suite struct WatchFeedTests {
    static func entry(_ seq: Int64, tenant: String = "contoso") -> FeedEntry {
        FeedEntry(
            event: RequestEvent(
                seq: seq,
                tenantID: tenant,
                requestID: "req_\(seq)",
                requesterID: "op",
                activity: .requestCreated,
                state: .pendingInternal,
                actorID: "op",
                occurredAtMs: seq
            ),
            request: nil
        )
    }

    enum Outcome: Sendable, Equatable {
        case success(Int64)
        case failure(DomainError.Code)
    }

    struct StartRow: Sendable, CustomTestStringConvertible {
        var since: Int64
        var feed: FeedPositions
        /// The cursor, or the refusal's code.
        var expected: Outcome
        var testDescription: String { "since \(since) with \(feed)" }
    }

    static let startRows: [StartRow] = [
        // Without since: live from the feed's end.
        StartRow(since: 0, feed: FeedPositions(sequenced: 40, dispatched: 0, pruned: 10), expected: .success(40)),
        // Resumed inside what is kept, at either edge.
        StartRow(since: 25, feed: FeedPositions(sequenced: 40, dispatched: 0, pruned: 10), expected: .success(25)),
        StartRow(since: 10, feed: FeedPositions(sequenced: 40, dispatched: 0, pruned: 10), expected: .success(10)),
        StartRow(since: 40, feed: FeedPositions(sequenced: 40, dispatched: 0, pruned: 10), expected: .success(40)),
        // Pruned away, ahead of the feed, or negative.
        StartRow(
            since: 9,
            feed: FeedPositions(sequenced: 40, dispatched: 0, pruned: 10),
            expected: .failure(.outOfRange)
        ),
        StartRow(
            since: 41,
            feed: FeedPositions(sequenced: 40, dispatched: 0, pruned: 10),
            expected: .failure(.outOfRange)
        ),
        StartRow(
            since: -1,
            feed: FeedPositions(sequenced: 40, dispatched: 0, pruned: 10),
            expected: .failure(.invalidArgument)
        ),
    ]

    @Test("where a watch starts", arguments: startRows)
    func start(row: StartRow) {
        let got: Outcome
        do {
            got = .success(try WatchCursor(since: row.since, feed: row.feed).position)
        } catch {
            got = .failure(error.code)
        }
        #expect(got == row.expected)
    }

    struct SourceRow: Sendable, CustomTestStringConvertible {
        var position: Int64
        var windowFirst: Int64?
        var head: Int64?
        var expected: WatchCursor.Source
        var testDescription: String {
            "at \(position), window \(windowFirst.map(String.init) ?? "-")…\(head.map(String.init) ?? "-")"
        }
    }

    static let sourceRows: [SourceRow] = [
        // The notifier has not read the feed yet: nothing to read.
        SourceRow(position: 5, windowFirst: nil, head: nil, expected: .caughtUp),
        // At or past the head: wait.
        SourceRow(position: 20, windowFirst: 11, head: 20, expected: .caughtUp),
        SourceRow(position: 21, windowFirst: 11, head: 20, expected: .caughtUp),
        // The window holds the next event.
        SourceRow(position: 10, windowFirst: 11, head: 20, expected: .window),
        SourceRow(position: 15, windowFirst: 11, head: 20, expected: .window),
        // Behind the window, or the window is empty though the head moved on: the database.
        SourceRow(position: 9, windowFirst: 11, head: 20, expected: .database),
        SourceRow(position: 3, windowFirst: nil, head: 20, expected: .database),
    ]

    @Test("where a watch reads next", arguments: sourceRows)
    func source(row: SourceRow) throws {
        let cursor = try WatchCursor(since: row.position, feed: FeedPositions(sequenced: 100, dispatched: 0, pruned: 0))
        #expect(cursor.source(windowFirst: row.windowFirst, head: row.head) == row.expected)
    }

    @Test func aDatabasePageCoversUpToItsLastEventOrTheHeadWhenShort() throws {
        let cursor = try WatchCursor(since: 10, feed: FeedPositions(sequenced: 100, dispatched: 0, pruned: 0))
        let three = [11, 14, 19].map { Self.entry(Int64($0)).event }
        // A full page: only up to its last event; more may follow of this scope.
        #expect(cursor.through(databasePage: three, pageSize: 3, head: 50) == 19)
        // A short page: every event of the scope up to the head the window had was in it.
        #expect(cursor.through(databasePage: three, pageSize: 64, head: 50) == 50)
        // A short page past the head (the database is ahead of this replica's window).
        #expect(cursor.through(databasePage: three, pageSize: 64, head: 15) == 19)
        // Nothing of the scope: up to the head; without one, nowhere.
        #expect(cursor.through(databasePage: [], pageSize: 64, head: 50) == 50)
        #expect(cursor.through(databasePage: [], pageSize: 64, head: nil) == 10)
    }

    @Test func aPruneThatOvertookTheCursorIsOutOfRange() throws {
        let cursor = try WatchCursor(since: 10, feed: FeedPositions(sequenced: 100, dispatched: 0, pruned: 0))
        try cursor.check(prunedAfterRead: 10)
        #expect(throws: DomainError.self) { try cursor.check(prunedAfterRead: 11) }
    }

    @Test func theCursorOnlyMovesForward() throws {
        var cursor = try WatchCursor(since: 10, feed: FeedPositions(sequenced: 100, dispatched: 0, pruned: 0))
        let forward = cursor.advance(to: 12)
        let same = cursor.advance(to: 12)
        let back = cursor.advance(to: 11)
        #expect(forward && !same && !back)
        #expect(cursor.position == 12)
    }

    @Test func theWindowPagesByTenantAndForgetsItsOldest() {
        var window = FeedWindow(capacity: 4)
        #expect(window.page(after: 0, tenantID: nil, limit: 10) == FeedPage(entries: [], through: 0))
        window.start(at: 10)
        #expect(window.head == 10)
        window.append([11, 12, 13].map { Self.entry($0, tenant: $0 == 12 ? "fabrikam" : "contoso") })
        // Caught up.
        #expect(window.page(after: 13, tenantID: nil, limit: 10) == FeedPage(entries: [], through: 13))
        // A tenant's events only, up to the head.
        let contoso = window.page(after: 10, tenantID: "contoso", limit: 10)
        #expect(contoso?.entries.map(\.event.seq) == [11, 13])
        #expect(contoso?.through == 13)
        // A full page ends at its last event.
        let limited = window.page(after: 10, tenantID: nil, limit: 2)
        #expect(limited?.entries.map(\.event.seq) == [11, 12])
        #expect(limited?.through == 12)
        // Past its capacity the oldest go; a cursor behind them must read the database.
        window.append([14, 15].map { Self.entry($0) })
        #expect(window.first == 12)
        #expect(window.page(after: 10, tenantID: nil, limit: 10) == nil)
        #expect(window.page(after: 11, tenantID: nil, limit: 10)?.entries.map(\.event.seq) == [12, 13, 14, 15])
        // Starting again does not move a window that has read the feed.
        window.start(at: 0)
        #expect(window.head == 15)
    }
}
