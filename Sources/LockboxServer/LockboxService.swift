import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore
import Logging

/// Settings of the Lockbox service itself (the RPC layer has its own).
package struct LockboxServiceConfiguration: Sendable {
    /// Provider-wide rules: request durations and approval windows.
    package var policy: Policy
    /// How often each sweeper looks for expired requests and finished grants.
    package var sweepInterval: Duration
    /// Requests a sweeper moves per transaction.
    package var sweepBatchSize: Int
    /// Whether the sweepers count requests per state once a minute for the `lockbox_requests`
    /// gauge (a whole-table count: on only when metrics are served).
    package var recordRequestStates = false
    /// What addresses and tenants may spend on failed authentications and enrollment attempts.
    package var budgets = BudgetConfiguration()
    /// How CheckAccess calls share transactions and commits (``CheckGroup``).
    package var checkGroups = GroupCommitConfiguration()

    package init(policy: Policy = Policy(), sweepInterval: Duration = .seconds(5), sweepBatchSize: Int = 100) {
        self.policy = policy
        self.sweepInterval = sweepInterval
        self.sweepBatchSize = sweepBatchSize
    }
}

/// The Lockbox API: one API type per area, composed onto one router. Every call passes the
/// ``Gatekeeper`` and runs as one transaction that includes its audit records.
package struct LockboxService: Sendable {
    let requests: RequestsAPI
    let access: AccessAPI
    let admin: AdminAPI
    let auditing: AuditAPI
    let notifications: NotificationsAPI
    let trust: TrustAPI
    let clock: any LockboxClock

    /// - Parameters:
    ///   - integrity: seals the audit chains, signs checkpoints and customer decisions.
    ///   - notifier: feeds WatchAccessRequests; without one that method answers UNAVAILABLE.
    ///   - readPool: a hot standby that audit searches and plain exports read from.
    /// CheckAccess calls waiting for a running group to commit.
    package var checksWaiting: Int { access.checks.waiting }

    package init(
        pool: PGPool,
        clock: any LockboxClock,
        integrity: AuditIntegrity,
        configuration: LockboxServiceConfiguration = LockboxServiceConfiguration(),
        notifier: RequestNotifier? = nil,
        readPool: PGPool? = nil,
        logger: Logger
    ) {
        let gate = Gatekeeper(pool: pool, clock: clock, logger: logger, budgets: configuration.budgets)
        // A principal whose authority changed is read again at its next call (which would
        // notice anyway, by its auth_version): its cached authentications go at once.
        notifier?.onPrincipalChange { [cache = gate.cache] principal in cache.forget(principalID: principal) }
        trust = TrustAPI(gate: gate, keeper: TrustKeeper(integrity: integrity))
        let workflow = RequestWorkflow(policy: configuration.policy, integrity: integrity, trust: trust)
        requests = RequestsAPI(gate: gate, workflow: workflow, notifier: notifier)
        access = AccessAPI(gate: gate, trust: trust, groups: configuration.checkGroups)
        admin = AdminAPI(gate: gate, workflow: workflow, policy: configuration.policy, trust: trust)
        auditing = AuditAPI(gate: gate, integrity: integrity, readPool: readPool)
        notifications = NotificationsAPI(gate: gate)
        self.clock = clock
    }

    /// Every method of `service Lockbox` that this server implements, with its handler.
    package func makeRouter() -> RPCRouter {
        var router = RPCRouter()
        router.registerInline(LockboxMethods.ping) { [clock] _, _ in
            PingResponse(version: LockboxVersion.current, serverTimeMs: clock.nowMillis())
        }
        requests.register(on: &router)
        access.register(on: &router)
        admin.register(on: &router)
        auditing.register(on: &router)
        notifications.register(on: &router)
        trust.register(on: &router)
        // What data planes call before every operation runs ahead of everything else on the
        // executor, as its service callers do in the pool.
        for method in MethodPermissions.priority { router.setPriority(.high, for: method) }
        return router
    }
}
