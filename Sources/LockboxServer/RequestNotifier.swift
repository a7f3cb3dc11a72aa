import LockboxCore
import LockboxStore
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// What a watch waits for.
enum WatchSignal: Sendable {
    /// A request the watcher may see changed; read once for every watcher.
    case change(RequestRecord, activity: String)
    /// The watcher's principal changed (roles, tokens, suspension), or its re-check interval
    /// passed: its authorization is checked again before anything more is sent.
    case recheck
}

/// Limits of watches.
public struct WatchConfiguration: Sendable {
    /// Watches one principal may hold open at once, server-wide; one more is refused.
    public var maxWatchesPerPrincipal: Int
    /// How often a watch with no other reason to re-check its caller's authorization does.
    public var recheckInterval: Duration
    /// Changes one watch may have waiting to be sent; a watch that falls further behind is
    /// ended with RESOURCE_EXHAUSTED (list to catch up, then watch again).
    public var bufferedChanges: Int

    public init(maxWatchesPerPrincipal: Int = 32, recheckInterval: Duration = .seconds(60), bufferedChanges: Int = 256)
    {
        self.maxWatchesPerPrincipal = maxWatchesPerPrincipal
        self.recheckInterval = recheckInterval
        self.bufferedChanges = bufferedChanges
    }
}

/// Listens to the ``ChangeFeed`` on one dedicated connection and fans changes out to watches.
///
/// Each change is read once, on the listening connection, and offered to every watch, which
/// keeps it only if its caller may see the request (a filter in memory, no transaction per
/// watch). A principal's change makes its watches re-check their authorization; so does the
/// passing of ``WatchConfiguration/recheckInterval``.
///
/// The connection lives on a thread of its own (libpq blocks). If it breaks, the notifier
/// reconnects and listens again; changes made while it was away are not replayed (a watcher
/// can list requests to catch up).
public final class RequestNotifier: Service, Sendable {
    private let url: String
    private let settings: PGConnectionSettings
    private let requests: any RequestStore
    let configuration: WatchConfiguration
    private let logger: Logger
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let state = NIOLockedValueBox(State())
    private let stopping = NIOLockedValueBox(false)

    private struct State {
        var next = 0
        var watchers: [Int: Watcher] = [:]
        var perPrincipal: [String: Int] = [:]
    }

    private struct Watcher {
        var principalID: String
        var filter: @Sendable (RequestRecord) -> Bool
        var continuation: AsyncStream<WatchSignal>.Continuation
        var nextRecheck: ContinuousClock.Instant
        var subscription: Subscription
    }

    /// One open watch: its signals, and whether it ended because it fell behind.
    final class Subscription: Sendable {
        let stream: AsyncStream<WatchSignal>
        private let fellBehind = NIOLockedValueBox(false)

        init(stream: AsyncStream<WatchSignal>) { self.stream = stream }

        /// True when the watch ended because more changes waited than it may buffer.
        var overflowed: Bool { fellBehind.withLockedValue { $0 } }
        func markOverflowed() { fellBehind.withLockedValue { $0 = true } }
    }

    struct TooManyWatches: Error {}

    public init(
        databaseURL: String,
        settings: PGConnectionSettings = PGConnectionSettings(),
        requests: any RequestStore = PostgresRequestStore(),
        configuration: WatchConfiguration = WatchConfiguration(),
        logger: Logger
    ) {
        self.url = databaseURL
        self.settings = settings
        self.requests = requests
        self.configuration = configuration
        self.logger = logger
    }

    /// Opens a watch for a principal that keeps the changes `filter` admits. Throws
    /// ``TooManyWatches`` when the principal holds its limit already.
    func subscribe(principalID: String, filter: @escaping @Sendable (RequestRecord) -> Bool) throws
        -> (id: Int, subscription: Subscription)
    {
        let (stream, continuation) = AsyncStream<WatchSignal>.makeStream(
            bufferingPolicy: .bufferingOldest(configuration.bufferedChanges)
        )
        let subscription = Subscription(stream: stream)
        let recheck = ContinuousClock.now.advanced(by: configuration.recheckInterval)
        let id: Int? = state.withLockedValue { state in
            guard state.perPrincipal[principalID, default: 0] < configuration.maxWatchesPerPrincipal else { return nil }
            state.next += 1
            state.perPrincipal[principalID, default: 0] += 1
            state.watchers[state.next] = Watcher(
                principalID: principalID,
                filter: filter,
                continuation: continuation,
                nextRecheck: recheck,
                subscription: subscription
            )
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
        return (id, subscription)
    }

    /// Ends a watch: whatever way its call ended (the client cancelled or went away, a send
    /// failed), its slot and its buffer go at once.
    func unsubscribe(_ id: Int) {
        let continuation = state.withLockedValue { $0.watchers[id]?.continuation }
        continuation?.finish()
    }

    /// Replaces a watch's filter: after a re-check, what its caller may see now.
    func update(_ id: Int, filter: @escaping @Sendable (RequestRecord) -> Bool) {
        state.withLockedValue { $0.watchers[id]?.filter = filter }
    }

    /// Watches open now.
    var openWatches: Int { state.withLockedValue { $0.watchers.count } }

    private func deliver(_ signal: WatchSignal, to watcher: Watcher) {
        if case .dropped = watcher.continuation.yield(signal) {
            watcher.subscription.markOverflowed()
            watcher.continuation.finish()
        }
    }

    /// Offers each changed request to every watch, and tells a changed principal's watches
    /// to re-check.
    private func deliver(_ records: [(RequestRecord, activity: String)], principals: Set<String>) {
        let watchers = state.withLockedValue { Array($0.watchers.values) }
        for watcher in watchers {
            if principals.contains(watcher.principalID) { deliver(.recheck, to: watcher) }
            for (record, activity) in records where watcher.filter(record) {
                deliver(.change(record, activity: activity), to: watcher)
            }
        }
    }

    /// Tells the watches whose re-check interval passed to re-check.
    private func recheckDue() {
        let now = ContinuousClock.now
        let due: [Watcher] = state.withLockedValue { state in
            var due: [Watcher] = []
            for (id, watcher) in state.watchers where watcher.nextRecheck <= now {
                due.append(watcher)
                state.watchers[id]?.nextRecheck = now.advanced(by: configuration.recheckInterval)
            }
            return due
        }
        for watcher in due { deliver(.recheck, to: watcher) }
    }

    public func run() async throws {
        thread.start()
        await withGracefulShutdownHandler {
            try? await thread.runIfActive { self.listenLoop() }
        } onGracefulShutdown: { [stopping] in
            stopping.withLockedValue { $0 = true }
        }
        let watchers = state.withLockedValue { Array($0.watchers.values) }
        for watcher in watchers { watcher.continuation.finish() }
        try? await thread.shutdownGracefully()
    }

    /// Runs on the notifier's own thread until shutdown.
    private func listenLoop() {
        while !stopping.withLockedValue({ $0 }) {
            do {
                let listener = try ChangeListener(url: url, settings: settings)
                logger.debug("listening for request changes")
                while !stopping.withLockedValue({ $0 }) {
                    let events = try listener.next(timeoutMilliseconds: 250)
                    if !events.isEmpty { try handle(events, listener) }
                    recheckDue()
                }
            } catch {
                logger.warning("request notifications interrupted; reconnecting", metadata: ["error": "\(error)"])
                usleep(1_000_000)
            }
        }
    }

    private func handle(_ events: [FeedEvent], _ listener: ChangeListener) throws {
        var changes: [RequestChange] = []
        var principals: Set<String> = []
        for event in events {
            switch event {
            case .request(let change): changes.append(change)
            case .principal(let id): principals.insert(id)
            }
        }
        // Each changed request read once, for every watch.
        let ids = Array(Set(changes.map(\.requestID)))
        let records = try listener.read { db in try requests.find(ids: ids, db) }
        let byID = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let changed = changes.compactMap { change in byID[change.requestID].map { ($0, activity: change.activity) } }
        deliver(changed, principals: principals)
    }
}
