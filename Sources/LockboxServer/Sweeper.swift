import LockboxCore
import LockboxStore
import Logging
import Metrics
import ServiceLifecycle

/// Brings stored states and the audit log up to date with the clock: each ``ClockRule``
/// (PENDING_CUSTOMER past its deadline becomes EXPIRED, APPROVED past its grant end becomes
/// COMPLETED) is applied to the stored state through ``RequestWorkflow/settle(_:limit:nowMs:_:)``,
/// each move with one audit record and one event. Correctness
/// never depends on it (the clock decides on every call); it only tidies.
///
/// Safe with many replicas: each batch locks its rows with `FOR UPDATE SKIP LOCKED`, so two
/// sweepers never move the same request, and each move is audited exactly once.
package struct Sweeper: Service {
    let pool: PGPool
    let workflow: RequestWorkflow
    let requests = RequestStore()
    let clock: any LockboxClock
    let configuration: LockboxServiceConfiguration
    let logger: Logger

    package init(
        pool: PGPool,
        clock: any LockboxClock,
        configuration: LockboxServiceConfiguration = LockboxServiceConfiguration(),
        logger: Logger
    ) {
        self.pool = pool
        self.workflow = RequestWorkflow(policy: configuration.policy, integrity: nil, trust: nil)
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        var lastCount: ContinuousClock.Instant?
        while !Task.isCancelled {
            do {
                let moved = try await sweepOnce()
                Counter(label: "lockbox_sweeper_runs_total").increment()
                if moved > 0 {
                    Counter(label: "lockbox_sweeper_moved_total").increment(by: moved)
                    logger.info("sweeper moved requests", metadata: ["sweep.count": "\(moved)"])
                }
            } catch {
                Counter(label: "lockbox_sweeper_failures_total").increment()
                logger.warning("sweep failed", metadata: ["error": "\(error)"])
            }
            // Requests per stored state, for a gauge: a whole-table count, so once a minute.
            if configuration.recordRequestStates,
                lastCount.map({ ContinuousClock.now - $0 >= .seconds(60) }) ?? true
            {
                lastCount = ContinuousClock.now
                do {
                    try await recordStates()
                } catch {
                    logger.warning("counting requests per state failed", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(for: configuration.sweepInterval)
        }
    }

    /// Sets `lockbox_requests{state=…}` to the number of requests in each stored state.
    package func recordStates() async throws {
        let counts = try await pool.withConnection { [requests] db in try requests.countByState(db) }
        for state in RequestState.allCases {
            Gauge(label: "lockbox_requests", dimensions: [("state", state.rawValue)]).record(counts[state] ?? 0)
        }
    }

    /// Sweeps until nothing is left to move; returns how many requests it moved.
    @discardableResult
    package func sweepOnce() async throws -> Int {
        var total = 0
        while true {
            var full = false
            for rule in Lifecycle.clockRules {
                let moved = try await sweep(rule)
                total += moved
                full = full || moved >= configuration.sweepBatchSize
            }
            if !full { return total }
        }
    }

    /// Moves one batch of requests that `rule` has overtaken, in one transaction.
    private func sweep(_ rule: ClockRule) async throws -> Int {
        try await pool.transaction { [workflow, clock, configuration] db in
            try workflow.settle(rule, limit: configuration.sweepBatchSize, nowMs: clock.nowMillis(), db)
        }
    }
}
