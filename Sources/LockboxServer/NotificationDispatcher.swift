import Crypto
import LockboxCore
import LockboxDelivery
import LockboxIntegrity
import LockboxStore
import LockboxTrust
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// How Lockbox delivers email and webhooks.
package struct NotificationConfiguration: Sendable {
    /// The SMTP relay; without one no email is sent (and none is queued).
    package var smtp: SMTPRelayConfiguration?
    package var webhooks: WebhookTransportConfiguration
    package var policy: DeliveryPolicy
    /// How long events are kept for watches to resume from; older ones are removed once
    /// every delivery they call for has been queued.
    package var eventRetention: Duration
    /// How often the dispatcher looks for work with no wake-up.
    package var pollInterval: Duration
    /// Threads, each with a database connection of its own, that post webhooks. Email has a
    /// thread of its own, so that no endpoint, however slow, delays an approver's email.
    package var webhookWorkers: Int

    package init(
        smtp: SMTPRelayConfiguration? = nil,
        webhooks: WebhookTransportConfiguration = WebhookTransportConfiguration(),
        policy: DeliveryPolicy = DeliveryPolicy(),
        eventRetention: Duration = .seconds(7 * 86400),
        pollInterval: Duration = .seconds(1),
        webhookWorkers: Int = 4
    ) {
        self.webhookWorkers = webhookWorkers
        self.smtp = smtp
        self.webhooks = webhooks
        self.policy = policy
        self.eventRetention = eventRetention
        self.pollInterval = pollInterval
    }
}

/// Turns events into deliveries and makes them, at least once, on every replica.
///
/// - Dispatch: one replica at a time (it holds the dispatch position's row) reads the events
///   after that position and queues every email and webhook delivery each calls for, then
///   moves the position, in one transaction. The queue's unique key makes a repeat harmless.
/// - Delivery: on each replica one thread sends email and ``NotificationConfiguration/webhookWorkers``
///   threads post webhooks, so that slow endpoints (a tenant's to choose) never hold up email.
///   Each takes the next due delivery of its channel with `FOR UPDATE SKIP LOCKED` and
///   keeps it locked while it sends, in one transaction with the delivery's new state and its
///   audit record. Two replicas never send the same delivery at once; a replica that dies
///   mid-send releases it with its connection, and another sends it again, under the same
///   Message-ID. A send the relay accepted but whose record did not commit is the one case
///   that reaches a recipient twice, and the Message-ID makes it recognisable.
///
/// Each worker runs on a thread of its own with a connection of its own: libpq and libcurl both block.
package final class NotificationDispatcher: Service, Sendable {
    private let url: String
    private let settings: PGConnectionSettings
    private let events = EventStore()
    private let notifications = NotificationStore()
    private let principals = PrincipalStore()
    private let webhooks = WebhookStore()
    private let audit = AuditStore()
    private let requests = RequestStore()
    private let clock: any LockboxClock
    let configuration: NotificationConfiguration
    private let logger: Logger
    private let threads: NIOThreadPool
    private let stopping = NIOLockedValueBox(false)

    package init(
        databaseURL: String,
        settings: PGConnectionSettings = PGConnectionSettings(),
        clock: any LockboxClock,
        configuration: NotificationConfiguration,
        logger: Logger
    ) {
        self.url = databaseURL
        self.settings = settings
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
        self.threads = NIOThreadPool(numberOfThreads: 1 + max(0, configuration.webhookWorkers))
    }

    package func run() async throws {
        threads.start()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await self.threads.runIfActive { self.loop(channel: .email) } }
                for _ in 0..<max(0, configuration.webhookWorkers) {
                    group.addTask { try? await self.threads.runIfActive { self.loop(channel: .webhook) } }
                }
            }
        } onGracefulShutdown: { [stopping] in
            stopping.withLockedValue { $0 = true }
        }
        try? await threads.shutdownGracefully()
    }

    private var isStopping: Bool { stopping.withLockedValue { $0 } }

    /// One worker: the email worker also dispatches new events and prunes old ones.
    private func loop(channel: NotificationChannel) {
        let pollMs = Int32(clamping: configuration.pollInterval.wholeMilliseconds)
        var lastPrune = ContinuousClock.now - .seconds(3600)
        while !isStopping {
            do {
                let listener = try ChangeListener(url: url, settings: settings)
                while !isStopping {
                    try listener.read { db in
                        if channel == .email {
                            while !isStopping, try dispatch(db) > 0 {}
                        }
                        while !isStopping, try deliverOne(channel: channel, db) {}
                        if channel == .email, ContinuousClock.now - lastPrune >= .seconds(60) {
                            lastPrune = ContinuousClock.now
                            try prune(db)
                        }
                    }
                    _ = try listener.next(timeoutMilliseconds: max(50, pollMs))
                }
            } catch {
                Counter(label: "lockbox_notification_failures_total").increment()
                logger.warning("notification delivery interrupted; reconnecting", metadata: ["error": "\(error)"])
                usleep(1_000_000)
            }
        }
    }

    /// Dispatches what is new and sends what is due, until neither has anything left (or
    /// shutdown begins). Public for tests that drive it step by step.
    package func work(_ db: PGConnection) throws {
        while !isStopping, try dispatch(db) > 0 {}
        while !isStopping, try deliverOne(channel: nil, db) {}
    }

    /// Queues the deliveries of the next events; returns how many events it handled.
    func dispatch(_ db: PGConnection) throws -> Int {
        try db.transaction { db in
            guard let position = try events.lockDispatch(db) else { return 0 }
            let page = try events.events(after: position, tenantID: nil, limit: 200, db)
            guard let last = page.last else { return 0 }
            let nowMs = clock.nowMillis()
            for entry in try FeedEntry.read(page, db) {
                try queue(entry.event, request: entry.request, nowMs: nowMs, db)
            }
            try events.setDispatched(last.seq, db)
            return page.count
        }
    }

    private func queue(_ event: RequestEvent, request: RequestRecord?, nowMs: Int64, _ db: PGConnection) throws {
        if let smtp = configuration.smtp, let request {
            let planned = NotificationRules.emails(
                for: event,
                customerDeadlineMs: request.customerDeadlineMs,
                policy: configuration.policy
            )
            for email in planned {
                let recipients: [(principalID: String, email: String)]
                switch email.audience {
                case .approvers:
                    recipients = try principals.approverAddresses(tenantID: event.tenantID, limit: 500, db)
                case .requester:
                    let requester = try principals.find(id: event.requesterID, db)
                    recipients =
                        requester.flatMap { principal in principal.email.map { (principal.id, $0) } }
                        .map { [$0] } ?? []
                }
                for recipient in recipients {
                    try notifications.enqueue(
                        NotificationRecord(
                            tenantID: event.tenantID,
                            eventSeq: event.seq,
                            requestID: event.requestID,
                            channel: .email,
                            kind: email.kind,
                            recipient: recipient.principalID,
                            address: recipient.email,
                            // The requester is a provider principal; approvers are the tenant's.
                            providerSide: email.audience == .requester,
                            messageID: Self.messageID(event, email.kind, recipient.principalID, smtp.senderDomain),
                            nextAttemptAtMs: email.notBeforeMs,
                            createdAtMs: nowMs
                        ),
                        db
                    )
                }
            }
        }
        for hook in try webhooks.receiving(tenantID: event.tenantID, limit: 100, db) {
            try notifications.enqueue(
                NotificationRecord(
                    tenantID: event.tenantID,
                    eventSeq: event.seq,
                    requestID: event.requestID,
                    channel: .webhook,
                    kind: .event,
                    recipient: hook.id,
                    address: hook.url,
                    providerSide: hook.tenantID == nil,
                    messageID: "\(event.seq)",
                    nextAttemptAtMs: nowMs,
                    createdAtMs: nowMs
                ),
                db
            )
        }
    }

    /// Who has decided `request` so far, for its approvers' emails: as stored, for people to
    /// read (CheckAccess and the workflow verify each signature; an email grants nothing).
    func standing(of request: RequestRecord, _ db: PGConnection) throws -> NotificationText.Standing {
        var standing = NotificationText.Standing()
        var seen = Set<String>()
        for stored in try CustomerDecisionStore().list(tenantID: request.tenantID, requestID: request.id, db)
        where seen.insert(stored.approverID).inserted {
            var who = stored.approverID
            if let statement = try? DecisionStatement(canonicalBytes: stored.signed.statement) {
                standing.approvalsRequired = max(standing.approvalsRequired, statement.approvalsRequired)
                // A delegate's decision: whose it counts as, and who made it.
                if !statement.delegationID.isEmpty { who += " (by \(statement.approverID))" }
            }
            if stored.decision == DecisionWord.approve.rawValue {
                standing.approvedBy.append(who)
            } else {
                standing.deniedBy.append(who)
            }
        }
        return standing
    }

    /// The same for every attempt at one email: the event, why, and to whom.
    static func messageID(_ event: RequestEvent, _ kind: NotificationKind, _ principalID: String, _ domain: String)
        -> String
    {
        let recipient = Array(SHA256.hash(data: Array(principalID.utf8)).prefix(8)).hex
        return "lockbox.\(event.seq).\(kind.rawValue).\(recipient)@\(domain)"
    }

    /// Sends the next due delivery of `channel` (nil: of either), if any; returns whether there was one.
    func deliverOne(channel: NotificationChannel?, _ db: PGConnection) throws -> Bool {
        try db.transaction { db in
            let nowMs = clock.nowMillis()
            guard var notification = try notifications.claimDue(channel: channel, nowMs: nowMs, db) else {
                return false
            }
            let event = try events.event(seq: notification.eventSeq, db)
            let request = try requests.find(id: notification.requestID, lock: false, db)
            guard let event else {
                try finish(&notification, .failed, error: "the event is no longer kept", nowMs: nowMs, db)
                return true
            }
            let outcome: Result<Void, DeliveryError>
            switch notification.channel {
            case .email:
                guard let smtp = configuration.smtp, let request else {
                    try finish(&notification, .failed, error: "email is not configured", nowMs: nowMs, db)
                    return true
                }
                let state = Lifecycle.effectiveState(request.facts, nowMs: nowMs)
                guard NotificationRules.stillCalledFor(notification.kind, effectiveState: state) else {
                    try finish(&notification, .skipped, error: "", nowMs: nowMs, db)
                    return true
                }
                let message = EmailMessage(
                    from: smtp.sender,
                    to: notification.address,
                    subject: NotificationText.subject(notification.kind, request: request, event: event),
                    messageID: notification.messageID,
                    dateSeconds: nowMs / 1000,
                    body: NotificationText.body(
                        notification.kind,
                        request: request,
                        event: event,
                        requesterName: request.requesterName,
                        standing: try standing(of: request, db)
                    )
                )
                logger.info(
                    "sending email",
                    metadata: ["notification.id": "\(notification.id)", "message.id": "\(notification.messageID)"]
                )
                outcome = Result { () throws(DeliveryError) in try SMTPRelay(configuration: smtp).send(message) }
            case .webhook:
                guard let hook = try webhooks.find(id: notification.recipient, db), hook.disabledAtMs == nil
                else {
                    try finish(&notification, .failed, error: "the endpoint was removed or disabled", nowMs: nowMs, db)
                    return true
                }
                let body = EventPayload.json(event, request: request)
                let signature = WebhookSignature.sign(secret: hook.secret, timestampSeconds: nowMs / 1000, body: body)
                logger.info(
                    "posting webhook",
                    metadata: ["notification.id": "\(notification.id)", "webhook.id": "\(hook.id)"]
                )
                outcome = Result { () throws(DeliveryError) in
                    _ = try WebhookTransport(configuration: configuration.webhooks).post(
                        url: hook.url,
                        body: body,
                        headers: [
                            (WebhookSignature.header, signature),
                            ("Lockbox-Event-Id", "\(event.seq)"),
                            ("Lockbox-Delivery-Id", "\(notification.id)"),
                        ]
                    )
                }
            }
            notification.attempts += 1
            switch outcome {
            case .success:
                if notification.channel == .webhook {
                    try webhooks.recordSuccess(id: notification.recipient, db)
                }
                try finish(&notification, .sent, error: "", nowMs: nowMs, db)
                Counter(
                    label: "lockbox_notifications_sent_total",
                    dimensions: [("channel", notification.channel.rawValue)]
                )
                .increment()
            case .failure(let error):
                logger.notice(
                    "delivery failed",
                    metadata: ["notification.id": "\(notification.id)", "error": "\(error.detail)"]
                )
                try failed(&notification, error, nowMs: nowMs, db)
            }
            return true
        }
    }

    private func failed(
        _ notification: inout NotificationRecord,
        _ error: DeliveryError,
        nowMs: Int64,
        _ db: PGConnection
    )
        throws
    {
        if notification.channel == .webhook {
            // Lockbox disables the endpoint by itself; the database records it, with why.
            let reason = "disabled after \(configuration.policy.disableWebhookAfterFailures) failed deliveries in a row"
            try audit.attribute(to: .system, db)
            let disabled = try audit.with(
                details: ["reason": .string(reason), "last_error": .string(error.detail)],
                db
            ) {
                try webhooks.recordFailure(
                    id: notification.recipient,
                    disableAfter: configuration.policy.disableWebhookAfterFailures,
                    nowMs: nowMs,
                    db
                )
            }
            if disabled {
                _ = try notifications.failPending(
                    webhookID: notification.recipient,
                    reason: "the endpoint was disabled",
                    nowMs: nowMs,
                    db
                )
                logger.warning("webhook endpoint disabled", metadata: ["webhook.id": "\(notification.recipient)"])
                try finish(&notification, .failed, error: error.detail, nowMs: nowMs, db)
                return
            }
        }
        let next =
            error.code == .notAllowed
            ? .giveUp
            : NotificationRules.afterFailure(
                attempts: notification.attempts,
                nowMs: nowMs,
                policy: configuration.policy
            )
        switch next {
        case .retry(let atMs):
            notification.nextAttemptAtMs = atMs
            notification.lastError = error.detail
            try notifications.update(notification, db)
        case .giveUp:
            try finish(&notification, .failed, error: error.detail, nowMs: nowMs, db)
        }
    }

    /// Records a delivery's final state, and audits a send or a final failure.
    private func finish(
        _ notification: inout NotificationRecord,
        _ state: NotificationState,
        error: String,
        nowMs: Int64,
        _ db: PGConnection
    ) throws {
        notification.state = state
        notification.lastError = error
        notification.finishedAtMs = nowMs
        try notifications.update(notification, db)
        guard state == .sent || state == .failed else { return }
        if state == .failed {
            Counter(
                label: "lockbox_notifications_failed_total",
                dimensions: [("channel", notification.channel.rawValue)]
            )
            .increment()
        }
        var details: [String: JSONValue] = [
            "notification_id": .int(notification.id), "channel": .string(notification.channel.rawValue),
            "kind": .string(notification.kind.rawValue), "recipient": .string(notification.recipient),
            "message_id": .string(notification.messageID), "event_id": .int(notification.eventSeq),
            "attempts": .int(Int64(notification.attempts)),
        ]
        if state == .failed { details["error"] = .string(error) }
        try audit(
            state == .sent ? Activity.notificationSent : Activity.notificationFailed,
            tenant: notification.scope,
            item: notification.requestID,
            details,
            db
        )
    }

    private func audit(
        _ activity: Activity,
        tenant: String,
        item: String,
        _ details: [String: JSONValue],
        _ db: PGConnection
    ) throws {
        try audit.append(
            AuditEntry(system: activity, tenantID: tenant, kind: .notification, item: item, details: details),
            db
        )
    }

    /// Removes events past retention that have been dispatched and are needed by no pending
    /// delivery, and deliveries that finished longer ago than that.
    private func prune(_ db: PGConnection) throws {
        let retention = configuration.eventRetention.wholeMilliseconds
        let cutoff = clock.nowMillis() - retention
        let pruned = try db.transaction { db in try events.prune(beforeMs: cutoff, limit: 10_000, db) }
        let deliveries = try db.transaction { db in try notifications.prune(beforeMs: cutoff, limit: 10_000, db)
        }
        if pruned + deliveries > 0 {
            logger.info(
                "removed old request events and deliveries",
                metadata: ["events.removed": "\(pruned)", "notifications.removed": "\(deliveries)"]
            )
        }
    }
}

extension NotificationRecord {
    /// Whose audit chain records this delivery: a provider endpoint's in the provider's,
    /// everything else in the request's tenant's.
    var scope: String { channel == .webhook && providerSide ? "" : tenantID }
}
