import LockboxCore
import LockboxStore
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Limits of watches.
package struct WatchConfiguration: Sendable {
    /// Watches one principal may hold open at once, server-wide; one more is refused.
    package var maxWatchesPerPrincipal: Int
    /// How often a watch with no other reason to re-check its caller's authorization does.
    package var recheckInterval: Duration
    /// Recent events kept in memory, shared by every watch; a watch further behind reads the
    /// feed from the database, a page at a time, at the pace its client reads.
    package var recentEvents: Int
    /// Events one watch reads and sends at a time.
    package var pageSize: Int

    package init(
        maxWatchesPerPrincipal: Int = 32,
        recheckInterval: Duration = .seconds(60),
        recentEvents: Int = 4096,
        pageSize: Int = 64
    ) {
        self.maxWatchesPerPrincipal = maxWatchesPerPrincipal
        self.recheckInterval = recheckInterval
        self.recentEvents = recentEvents
        self.pageSize = pageSize
    }
}

extension FeedEntry {
    /// The events with their requests, read in one statement for the whole page.
    static func read(_ events: [RequestEvent], _ db: PGConnection) throws -> [FeedEntry] {
        guard !events.isEmpty else { return [] }
        let records = try RequestStore().find(ids: Array(Set(events.map(\.requestID))), db)
        let byID = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return events.map { FeedEntry(event: $0, request: byID[$0.requestID]) }
    }
}

/// Follows the durable event feed (``EventStore``) on one dedicated connection, and wakes watches.
///
/// On every replica it sequences committed events (one replica at a time gets to; the others
/// find the work done), reads each new event once with its request into a bounded window of
/// recent events, and wakes every watch. A watch holds no buffer of its own: it keeps a cursor
/// and reads after it, from the window or, when it has fallen further behind, from the
/// database, sending one page before it reads the next. A client that does not read therefore
/// holds up only its own watch, and costs one page of memory.
///
/// LISTEN/NOTIFY only wakes it; a lost wake-up delays nothing past the next poll
/// (``pollInterval``). A principal's change makes its watches re-check their authorization;
/// so does the passing of ``WatchConfiguration/recheckInterval``.
package final class RequestNotifier: Service, Sendable {
    private let url: String
    private let settings: PGConnectionSettings
    private let events = EventStore()
    let configuration: WatchConfiguration
    private let logger: Logger
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let state: NIOLockedValueBox<State>
    private let stopping = NIOLockedValueBox(false)
    /// Told of each principal whose authority changed (the token cache drops its entries).
    private let principalListeners = NIOLockedValueBox<[@Sendable (String) -> Void]>([])
    /// How often the feed is looked at with no wake-up.
    let pollInterval: Duration = .seconds(2)

    private struct State {
        var next = 0
        var watchers: [Int: Watcher] = [:]
        var perPrincipal: [String: Int] = [:]
        var window: FeedWindow
    }

    private struct Watcher {
        var principalID: String
        var wake: AsyncStream<Void>.Continuation
        var nextRecheck: ContinuousClock.Instant
        var recheck = false
    }

    struct TooManyWatches: Error {}

    package init(
        databaseURL: String,
        settings: PGConnectionSettings = PGConnectionSettings(),
        configuration: WatchConfiguration = WatchConfiguration(),
        logger: Logger
    ) {
        self.url = databaseURL
        self.settings = settings
        self.configuration = configuration
        self.logger = logger
        state = NIOLockedValueBox(State(window: FeedWindow(capacity: configuration.recentEvents)))
    }

    /// Opens a watch for a principal, after `since` (0: at the feed's end, see ``WatchCursor``).
    /// Throws ``TooManyWatches`` when the principal holds its limit already.
    func session(principalID: String, since: Int64, positions: FeedPositions) throws -> WatchSession {
        let cursor = try WatchCursor(since: since, feed: positions)
        let (wakes, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let recheck = ContinuousClock.now.advanced(by: configuration.recheckInterval)
        let id: Int? = state.withLockedValue { state in
            guard state.perPrincipal[principalID, default: 0] < configuration.maxWatchesPerPrincipal else { return nil }
            state.next += 1
            state.perPrincipal[principalID, default: 0] += 1
            state.watchers[state.next] = Watcher(principalID: principalID, wake: continuation, nextRecheck: recheck)
            return state.next
        }
        guard let id else { throw TooManyWatches() }
        continuation.onTermination = { [state] _ in
            state.withLockedValue { state in
                guard let watcher = state.watchers.removeValue(forKey: id) else { return }
                state.perPrincipal[watcher.principalID, default: 1] -= 1
                if state.perPrincipal[watcher.principalID] == 0 { state.perPrincipal[watcher.principalID] = nil }
            }
        }
        continuation.yield()
        return WatchSession(id: id, cursor: cursor, wakes: wakes, notifier: self)
    }

    /// Ends a watch: whatever way its call ended, its slot goes at once.
    func close(_ id: Int) {
        let continuation = state.withLockedValue { $0.watchers[id]?.wake }
        continuation?.finish()
    }

    /// True once, after the watch's principal changed or its re-check interval passed.
    func takeRecheck(_ id: Int) -> Bool {
        state.withLockedValue { state in
            guard state.watchers[id]?.recheck == true else { return false }
            state.watchers[id]?.recheck = false
            return true
        }
    }

    /// Calls `listener` with each principal whose roles, tokens, suspension or certificate
    /// binding changed, as the database announces it.
    func onPrincipalChange(_ listener: @escaping @Sendable (String) -> Void) {
        principalListeners.withLockedValue { $0.append(listener) }
    }

    /// Watches open now.
    var openWatches: Int { state.withLockedValue { $0.watchers.count } }

    /// What the window holds: its oldest event and its head.
    var windowSpan: (first: Int64?, head: Int64?) { state.withLockedValue { ($0.window.first, $0.window.head) } }

    /// Events after `cursor` of `tenantID` (nil: of all) from the window; nil when it no longer
    /// reaches back that far.
    func recent(after cursor: Int64, tenantID: String?, limit: Int) -> FeedPage? {
        state.withLockedValue { $0.window.page(after: cursor, tenantID: tenantID, limit: limit) }
    }

    /// A page of the feed after `cursor`, read from the database: for a watch further behind
    /// than the window. OUT_OF_RANGE when retention removed events the watch had not read.
    func databasePage(after cursor: WatchCursor, tenantID: String?, head: Int64?, _ db: PGConnection) throws -> FeedPage
    {
        let pageSize = configuration.pageSize
        let found = try events.events(after: cursor.position, tenantID: tenantID, limit: pageSize, db)
        // Read after the page: a prune that ran before it would have removed what it skipped.
        try cursor.check(prunedAfterRead: try events.positions(db).pruned)
        return FeedPage(
            entries: try FeedEntry.read(found, db),
            through: cursor.through(databasePage: found, pageSize: pageSize, head: head)
        )
    }

    /// Wakes every watch when new events arrived (`all`), and otherwise only those that must
    /// check their caller again: a changed principal's, and those whose interval passed.
    private func wake(all: Bool, recheck principals: Set<String> = []) {
        let now = ContinuousClock.now
        let wakes: [AsyncStream<Void>.Continuation] = state.withLockedValue { state in
            var wakes: [AsyncStream<Void>.Continuation] = []
            for (id, watcher) in state.watchers {
                let recheck = principals.contains(watcher.principalID) || watcher.nextRecheck <= now
                if recheck {
                    state.watchers[id]?.recheck = true
                    state.watchers[id]?.nextRecheck = now.advanced(by: configuration.recheckInterval)
                }
                if all || recheck { wakes.append(watcher.wake) }
            }
            return wakes
        }
        for wake in wakes { wake.yield() }
    }

    package func run() async throws {
        thread.start()
        await withGracefulShutdownHandler {
            try? await thread.runIfActive { self.listenLoop() }
        } onGracefulShutdown: { [stopping] in
            stopping.withLockedValue { $0 = true }
        }
        let watchers = state.withLockedValue { Array($0.watchers.values) }
        for watcher in watchers { watcher.wake.finish() }
        try? await thread.shutdownGracefully()
    }

    /// Runs on the notifier's own thread until shutdown.
    private func listenLoop() {
        while !stopping.withLockedValue({ $0 }) {
            do {
                let listener = try ChangeListener(url: url, settings: settings)
                logger.debug("following the request event feed")
                try catchUp(listener)
                var lastLook = ContinuousClock.now
                while !stopping.withLockedValue({ $0 }) {
                    let notes = try listener.next(timeoutMilliseconds: 250)
                    var principals: Set<String> = []
                    var feed = false
                    for note in notes {
                        switch note {
                        case .eventsAppended, .sequenced: feed = true
                        case .principal(let id): principals.insert(id)
                        }
                    }
                    if feed || ContinuousClock.now - lastLook >= pollInterval {
                        lastLook = ContinuousClock.now
                        try catchUp(listener)
                    }
                    if !principals.isEmpty {
                        let listeners = principalListeners.withLockedValue { $0 }
                        for principal in principals { for listener in listeners { listener(principal) } }
                    }
                    wake(all: false, recheck: principals)
                }
            } catch {
                logger.warning("request event feed interrupted; reconnecting", metadata: ["error": "\(error)"])
                usleep(1_000_000)
            }
        }
    }

    /// Sequences what committed, then reads every new event, once, into the window.
    private func catchUp(_ listener: ChangeListener) throws {
        let batch = 1000
        while true {
            let placed = try listener.read { db in try db.transaction { db in try events.sequence(limit: batch, db) } }
            guard placed == batch else { break }
        }
        if state.withLockedValue({ $0.window.head }) == nil {
            let start = try listener.read { db in try events.positions(db).sequenced }
            state.withLockedValue { $0.window.start(at: start) }
            // Watches opened before the feed was first read may be behind it already.
            wake(all: true)
        }
        while true {
            let head = state.withLockedValue { $0.window.head } ?? 0
            let page: [FeedEntry] = try listener.read { db in
                try FeedEntry.read(events.events(after: head, tenantID: nil, limit: 500, db), db)
            }
            guard !page.isEmpty else { return }
            state.withLockedValue { $0.window.append(page) }
            wake(all: true)
            if page.count < 500 { return }
        }
    }
}

/// One open watch: its cursor, its wake-ups, and where it reads each page. Owned by the call
/// that serves the watch; ``next(tenantID:read:)`` is its one verb.
final class WatchSession {
    let id: Int
    private(set) var cursor: WatchCursor
    private var wakes: AsyncStream<Void>.AsyncIterator
    private let notifier: RequestNotifier

    init(id: Int, cursor: WatchCursor, wakes: AsyncStream<Void>, notifier: RequestNotifier) {
        self.id = id
        self.cursor = cursor
        self.wakes = wakes.makeAsyncIterator()
        self.notifier = notifier
    }

    /// What the watch does next.
    enum Step {
        /// The caller's principal changed, or its re-check interval passed: admit it again.
        case recheck
        /// Events after the cursor, of the scope asked for; the cursor has moved past them.
        case page([FeedEntry])
    }

    /// A database read on the watch caller's behalf (its admission, its errors).
    typealias Read = (@escaping @Sendable (PGConnection) throws -> FeedPage) async throws -> FeedPage

    /// The next step: a page from the shared window, or from the database when the watch is
    /// further behind than the window; otherwise it waits for a wake-up. Nil once the notifier
    /// shuts down.
    func next(tenantID: String?, read: Read) async throws -> Step? {
        while true {
            if notifier.takeRecheck(id) { return .recheck }
            let span = notifier.windowSpan
            var page: FeedPage?
            switch cursor.source(windowFirst: span.first, head: span.head) {
            case .caughtUp:
                guard await wakes.next() != nil else { return nil }
                continue
            case .window:
                page = notifier.recent(
                    after: cursor.position,
                    tenantID: tenantID,
                    limit: notifier.configuration.pageSize
                )
            case .database:
                break
            }
            if page == nil {
                // Further behind than the window (or it moved on since): the database, a page at a time.
                page = try await read { [notifier, cursor] db in
                    try notifier.databasePage(after: cursor, tenantID: tenantID, head: span.head, db)
                }
            }
            guard let page, cursor.advance(to: page.through) else {
                guard await wakes.next() != nil else { return nil }
                continue
            }
            return .page(page.entries)
        }
    }

    /// Ends the watch: its slot goes at once.
    func close() { notifier.close(id) }
}
