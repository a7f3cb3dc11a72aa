import LockboxStore
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Listens to the request ``ChangeFeed`` on one dedicated connection and fans the changes out
/// to watchers.
///
/// The connection lives on a thread of its own (libpq blocks). If it breaks, the notifier
/// reconnects and listens again; changes made while it was away are not replayed (a watcher
/// can list requests to catch up).
public final class RequestNotifier: Service, Sendable {
    private let url: String
    private let logger: Logger
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let state = NIOLockedValueBox((next: 0, watchers: [Int: Watcher]()))
    private let stopping = NIOLockedValueBox(false)

    private struct Watcher {
        var tenant: String?
        var continuation: AsyncStream<RequestChange>.Continuation
    }

    public init(databaseURL: String, logger: Logger) {
        self.url = databaseURL
        self.logger = logger
    }

    /// Changes of one tenant's requests (`nil`: every tenant), until the stream is dropped.
    func watch(tenant: String?) -> AsyncStream<RequestChange> {
        let (stream, continuation) = AsyncStream<RequestChange>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let id = state.withLockedValue { state in
            state.next += 1
            state.watchers[state.next] = Watcher(tenant: tenant, continuation: continuation)
            return state.next
        }
        continuation.onTermination = { [state] _ in
            _ = state.withLockedValue { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }

    private func deliver(_ change: RequestChange) {
        let watchers = state.withLockedValue { Array($0.watchers.values) }
        for watcher in watchers where watcher.tenant == nil || watcher.tenant == change.tenantID {
            watcher.continuation.yield(change)
        }
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
                let listener = try ChangeListener(url: url)
                logger.debug("listening for request changes")
                while !stopping.withLockedValue({ $0 }) {
                    for change in try listener.next(timeoutMilliseconds: 250) { deliver(change) }
                }
            } catch {
                logger.warning("request notifications interrupted; reconnecting", metadata: ["error": "\(error)"])
                usleep(1_000_000)
            }
        }
    }
}
