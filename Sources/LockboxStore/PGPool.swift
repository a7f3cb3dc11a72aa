import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

/// How the store reaches PostgreSQL.
package struct PGPoolConfiguration: Sendable {
    /// A libpq connection string or URL, such as `postgresql://lockbox@127.0.0.1:5432/lockbox`.
    package var url: String
    /// Connections, and threads that run their blocking calls. PostgreSQL's
    /// throughput on a 2-core machine levels off at about 8.
    package var size: Int
    /// Connections only ``PGLane/priority`` checkouts (`CheckAccess`) may use. Default: a
    /// quarter of the pool, at least one when the pool has two or more.
    package var reservedForPriority: Int
    /// Queueing delay above this for a whole ``overloadInterval`` is overload: each caller's
    /// queue is then served newest first (CoDel's target and interval).
    package var overloadTarget: Duration = .milliseconds(50)
    package var overloadInterval: Duration = .milliseconds(500)
    /// After the database could not be reached, calls that need a new connection fail at
    /// once for this long, then one tries again.
    package var reconnectInterval: Duration
    /// Timeouts and keepalives of each connection.
    package var connection: PGConnectionSettings
    /// The `pool` label of its metrics: "primary", or "read" for a replica's.
    package var name = "primary"

    package init(
        url: String,
        size: Int = 8,
        reservedForPriority: Int? = nil,
        reconnectInterval: Duration = .seconds(1),
        connection: PGConnectionSettings = PGConnectionSettings()
    ) {
        self.url = url
        self.size = size
        self.reservedForPriority = reservedForPriority ?? (size >= 2 ? max(1, size / 4) : 0)
        self.reconnectInterval = reconnectInterval
        self.connection = connection
    }
}

/// A bounded pool of libpq connections whose blocking calls run on the pool's own threads,
/// never on an event loop.
///
/// Each checkout runs one closure on one connection on one pool thread, so a whole
/// transaction stays on its connection. Who gets a connection, who waits and who is refused
/// is ``PoolStateMachine``'s decision. A connection that broke or timed out is dropped and a
/// new one opened at the next checkout, so the pool heals by itself once the database is
/// back; meanwhile calls fail with `.unavailable`.
///
/// A ServiceLifecycle `Service`: in lockboxd's `ServiceGroup` it closes its connections when
/// the group shuts down, after the services listed after it.
package final class PGPool: Sendable {
    package let configuration: PGPoolConfiguration
    private let threads: NIOThreadPool
    private let state: NIOLockedValueBox<State>
    private let logger: Logger

    typealias Machine = PoolStateMachine<CheckedContinuation<Int, any Error>, ContinuousClock>

    private struct State {
        var machine: Machine
        var connections: [PGConnection?]
        var nextWaiterID: UInt64 = 0
    }

    package init(configuration: PGPoolConfiguration, logger: Logger) {
        precondition(configuration.size > 0)
        self.configuration = configuration
        self.logger = logger
        threads = NIOThreadPool(numberOfThreads: configuration.size)
        threads.start()
        let machine = Machine(
            configuration: .init(
                size: configuration.size,
                reserved: min(configuration.reservedForPriority, configuration.size - 1),
                target: configuration.overloadTarget,
                interval: configuration.overloadInterval
            )
        )
        state = NIOLockedValueBox(
            State(machine: machine, connections: Array(repeating: nil, count: configuration.size))
        )
    }

    /// Refuses every waiter, stops the pool's threads and closes its connections.
    package func shutdown() async {
        let waiters = state.withLockedValue { $0.machine.shutDown() }
        for waiter in waiters { waiter.resume(throwing: StoreError(.unavailable, detail: "the pool shut down")) }
        try? await threads.shutdownGracefully()
        state.withLockedValue { state in
            for index in state.connections.indices { state.connections[index] = nil }
        }
    }

    /// Checkouts waiting for a connection, per lane, and connections lent.
    package var load: (priorityWaiting: Int, standardWaiting: Int, leased: Int) {
        state.withLockedValue {
            ($0.machine.waitingCount.priority, $0.machine.waitingCount.standard, $0.machine.leasedCount)
        }
    }

    /// Runs `body` with a connection of its own, on a pool thread. A caller waits for one as
    /// long as its deadline leaves time to be served (``PoolStateMachine``); one that cannot be
    /// served in time gets `.overloaded` at once, and one whose task is cancelled before a
    /// connection was lent gets `CancellationError`: then `body` never runs.
    public func withConnection<T: Sendable>(
        checkout: PGCheckout = PGCheckout(),
        _ body: @escaping @Sendable (PGConnection) throws -> T
    ) async throws -> T {
        let slot = try await acquire(checkout)
        let leased = ContinuousClock.now
        defer { release(slot, heldSince: leased) }
        // Lent just as the caller gave up: do not start its work.
        try Task.checkCancellation()
        return try await threads.runIfActive { try self.run(slot: slot, body) }
    }

    /// Runs `body` inside BEGIN … COMMIT on one connection; any error rolls back.
    public func transaction<T: Sendable>(
        checkout: PGCheckout = PGCheckout(),
        _ body: @escaping @Sendable (PGConnection) throws -> T
    ) async throws -> T {
        try await withConnection(checkout: checkout) { connection in try connection.transaction(body) }
    }

    private func run<T>(slot: Int, _ body: (PGConnection) throws -> T) throws -> T {
        let existing = state.withLockedValue { $0.connections[slot] }
        let connection: PGConnection
        if let existing, existing.isHealthy {
            connection = existing
        } else {
            if existing != nil {
                logger.notice("replacing broken database connection", metadata: ["pool.slot": "\(slot)"])
            }
            connection = try connect(slot: slot)
        }
        do {
            return try body(connection)
        } catch {
            if !connection.isHealthy { state.withLockedValue { $0.connections[slot] = nil } }
            throw error
        }
    }

    private func connect(slot: Int) throws -> PGConnection {
        let now = ContinuousClock.now
        let retryAt = now.advanced(by: configuration.reconnectInterval)
        let allowed = state.withLockedValue { state in
            state.connections[slot] = nil
            return state.machine.mayConnect(now: now, retryAt: retryAt)
        }
        guard allowed else {
            throw StoreError(.unavailable, detail: "the database was unreachable a moment ago; not retrying yet")
        }
        do {
            let connection = try PGConnection(url: configuration.url, settings: configuration.connection)
            state.withLockedValue { state in
                state.connections[slot] = connection
                state.machine.connected()
            }
            return connection
        } catch {
            let retryAt = ContinuousClock.now.advanced(by: configuration.reconnectInterval)
            state.withLockedValue { $0.machine.connectFailed(retryAt: retryAt) }
            throw error
        }
    }

    private func acquire(_ checkout: PGCheckout) async throws -> Int {
        let started = ContinuousClock.now
        defer {
            let (seconds, attoseconds) = started.duration(to: .now).components
            PoolMetrics.wait(configuration.name, checkout.lane).recordNanoseconds(
                seconds * 1_000_000_000 + attoseconds / 1_000_000_000
            )
            reportLoad()
        }
        let id = state.withLockedValue { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
                // Checked under the lock that `onCancel` takes too: a cancellation either comes
                // before (and is seen here) or finds the waiter registered.
                let action = state.withLockedValue { state in
                    state.machine.acquire(
                        id: id,
                        lane: checkout.lane,
                        key: checkout.key,
                        deadline: checkout.deadline,
                        waiter: continuation,
                        cancelled: Task.isCancelled,
                        now: .now
                    )
                }
                switch action {
                case .lease(let slot):
                    continuation.resume(returning: slot)
                case .wait:
                    break
                case .overloaded(let expected):
                    PoolMetrics.refused(configuration.name).increment()
                    continuation.resume(
                        throwing: StoreError(
                            .overloaded,
                            detail: "the wait for a connection (about \(expected)) would outlast the call's deadline"
                        )
                    )
                case .cancelled:
                    continuation.resume(throwing: CancellationError())
                case .shutDown:
                    continuation.resume(throwing: StoreError(.unavailable, detail: "the pool shut down"))
                }
            }
        } onCancel: {
            let waiter = state.withLockedValue { $0.machine.cancel(id: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func release(_ slot: Int, heldSince leased: ContinuousClock.Instant) {
        let now = ContinuousClock.now
        let next = state.withLockedValue { $0.machine.release(slot: slot, held: leased.duration(to: now), now: now) }
        next?.waiter.resume(returning: next!.slot)
        reportLoad()
    }

    /// Connections lent out and calls waiting, for the pool's gauges.
    private func reportLoad() {
        let load = self.load
        PoolMetrics.inUse(configuration.name).record(load.leased)
        PoolMetrics.waiting(configuration.name).record(load.priorityWaiting + load.standardWaiting)
    }
}

/// The pool's metrics, through swift-metrics.
enum PoolMetrics {
    static func inUse(_ pool: String) -> Gauge { Gauge(label: "lockbox_db_pool_in_use", dimensions: [("pool", pool)]) }
    static func waiting(_ pool: String) -> Gauge {
        Gauge(label: "lockbox_db_pool_waiting", dimensions: [("pool", pool)])
    }
    /// Calls refused because they could not be served before their deadline.
    static func refused(_ pool: String) -> Counter {
        Counter(label: "lockbox_db_pool_refused_total", dimensions: [("pool", pool)])
    }
    /// How long a call waited for a connection, by pool and lane (`priority` is CheckAccess's share).
    static func wait(_ pool: String, _ lane: PGLane) -> Metrics.Timer {
        Metrics.Timer(
            label: "lockbox_db_pool_wait_seconds",
            dimensions: [("pool", pool), ("lane", lane == .priority ? "priority" : "standard")],
            preferredDisplayUnit: .seconds
        )
    }
}

extension PGPool: Service {
    /// Waits for the service group's graceful shutdown, then shuts the pool down.
    package func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}
