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
public struct WatchConfiguration: Sendable {
    /// Watches one principal may hold open at once, server-wide; one more is refused.
    public var maxWatchesPerPrincipal: Int
    /// How often a watch with no other reason to re-check its caller's authorization does.
    public var recheckInterval: Duration
    /// Recent events kept in memory, shared by every watch; a watch further behind reads the
    /// feed from the database, a page at a time, at the pace its client reads.
    public var recentEvents: Int
    /// Events one watch reads and sends at a time.
    public var pageSize: Int

    public init(
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

/// One event with its request as read just after it was sequenced (nil if it is gone).
struct FeedEntry: Sendable {
    var event: RequestEvent
    var request: RequestRecord?

    /// The events with their requests, read in one statement for the whole page.
    static func read(_ events: [RequestEvent], requests: any RequestStore, _ db: PGConnection) throws -> [FeedEntry] {
        guard !events.isEmpty else { return [] }
        let records = try requests.find(ids: Array(Set(events.map(\.requestID))), db)
        let byID = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return events.map { FeedEntry(event: $0, request: byID[$0.requestID]) }
    }
}

/// Events of a scope after a cursor, and how far the feed was looked through for them.
struct FeedPage: Sendable {
    var entries: [FeedEntry]
    /// Every event of the scope up to here is in `entries`: the watch's next cursor.
    var through: Int64
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
public final class RequestNotifier: Service, Sendable {
    private let url: String
    private let settings: PGConnectionSettings
    private let requests: any RequestStore
    private let events: any EventStore
    let configuration: WatchConfiguration
    private let logger: Logger
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let state = NIOLockedValueBox(State())
    private let stopping = NIOLockedValueBox(false)
    /// How often the feed is looked at with no wake-up.
    let pollInterval: Duration = .seconds(2)

    private struct State {
        var next = 0
        var watchers: [Int: Watcher] = [:]
        var perPrincipal: [String: Int] = [:]
        /// Recent events, by seq, contiguous up to `head`.
        var window: [FeedEntry] = []
        /// The last event read; nil until the feed was first read.
        var head: Int64?
    }

    private struct Watcher {
        var principalID: String
        var wake: AsyncStream<Void>.Continuation
        var nextRecheck: ContinuousClock.Instant
        var recheck = false
    }

    /// One open watch: wake-ups, at most one waiting.
    struct Subscription: Sendable {
        let id: Int
        let wakes: AsyncStream<Void>
    }

    struct TooManyWatches: Error {}

    public init(
        databaseURL: String,
        settings: PGConnectionSettings = PGConnectionSettings(),
        requests: any RequestStore = PostgresRequestStore(),
        events: any EventStore = PostgresEventStore(),
        configuration: WatchConfiguration = WatchConfiguration(),
        logger: Logger
    ) {
        self.url = databaseURL
        self.settings = settings
        self.requests = requests
        self.events = events
        self.configuration = configuration
        self.logger = logger
    }

    /// Opens a watch for a principal. Throws ``TooManyWatches`` when it holds its limit already.
    func subscribe(principalID: String) throws -> Subscription {
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
        return Subscription(id: id, wakes: wakes)
    }

    /// Ends a watch: whatever way its call ended, its slot goes at once.
    func unsubscribe(_ id: Int) {
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

    /// Watches open now.
    var openWatches: Int { state.withLockedValue { $0.watchers.count } }

    /// Events after `cursor` of `tenantID` (nil: of all), at most `limit`, from the window of
    /// recent events; nil when the window no longer reaches back to `cursor` (read the
    /// database instead).
    func recent(after cursor: Int64, tenantID: String?, limit: Int) -> FeedPage? {
        state.withLockedValue { state in
            guard let head = state.head, cursor < head else { return FeedPage(entries: [], through: cursor) }
            guard let first = state.window.first, first.event.seq <= cursor + 1 else { return nil }
            var result: [FeedEntry] = []
            // The window is in seq order: find the first entry after the cursor.
            var low = 0
            var high = state.window.count
            while low < high {
                let middle = (low + high) / 2
                if state.window[middle].event.seq <= cursor { low = middle + 1 } else { high = middle }
            }
            for entry in state.window[low...] where tenantID == nil || entry.event.tenantID == tenantID {
                result.append(entry)
                if result.count == limit { return FeedPage(entries: result, through: entry.event.seq) }
            }
            return FeedPage(entries: result, through: head)
        }
    }

    /// The last event this replica has read, once it has read the feed.
    var head: Int64? { state.withLockedValue { $0.head } }

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

    public func run() async throws {
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
        if state.withLockedValue({ $0.head }) == nil {
            let start = try listener.read { db in try events.positions(db).sequenced }
            state.withLockedValue { $0.head = start }
            // Watches opened before the feed was first read may be behind it already.
            wake(all: true)
        }
        while true {
            let head = state.withLockedValue { $0.head } ?? 0
            let page: [FeedEntry] = try listener.read { db in
                try FeedEntry.read(events.events(after: head, tenantID: nil, limit: 500, db), requests: requests, db)
            }
            guard let last = page.last else { return }
            state.withLockedValue { state in
                state.window += page
                if state.window.count > configuration.recentEvents {
                    state.window.removeFirst(state.window.count - configuration.recentEvents)
                }
                state.head = last.event.seq
            }
            wake(all: true)
            if page.count < 500 { return }
        }
    }
}
