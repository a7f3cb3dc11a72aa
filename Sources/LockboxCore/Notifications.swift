/// One change to an access request, as the durable event feed holds it (docs/notifications.md).
///
/// Written in the transaction that makes the change; its `seq` is its place in the feed, given
/// once the change has committed, and only ever grows: a watch or a delivery worker that has
/// handled `seq` has handled everything before it.
package struct RequestEvent: Sendable, Hashable {
    package var seq: Int64
    package var tenantID: String
    package var requestID: String
    package var requesterID: String
    /// The audit activity of the change.
    package var activity: Activity
    /// The request's state after the change.
    package var state: RequestState
    package var actorID: String
    package var occurredAtMs: Int64

    package init(
        seq: Int64,
        tenantID: String,
        requestID: String,
        requesterID: String,
        activity: Activity,
        state: RequestState,
        actorID: String,
        occurredAtMs: Int64
    ) {
        self.seq = seq
        self.tenantID = tenantID
        self.requestID = requestID
        self.requesterID = requesterID
        self.activity = activity
        self.state = state
        self.actorID = actorID
        self.occurredAtMs = occurredAtMs
    }

    /// What authorization looks at, as for the request itself.
    package var target: Target { Target(tenantID: tenantID, ownerID: requesterID) }
}

package enum NotificationChannel: String, Sendable, Hashable, CaseIterable {
    case email
    case webhook
}

/// Why a notification is sent.
package enum NotificationKind: String, Sendable, Hashable, CaseIterable {
    /// To the tenant's approvers and global admins: a request awaits their decision.
    case awaitingDecision = "awaiting_decision"
    /// The same people, some time before the deadline, if the request is still pending.
    case reminder
    /// To the requester: the request was decided or ended.
    case outcome
    /// A webhook delivery of the event itself.
    case event
}

package enum NotificationState: String, Sendable, Hashable, CaseIterable {
    /// Not sent yet, or to be tried again.
    case pending
    case sent
    /// Given up on after its last attempt, or its endpoint was disabled.
    case failed
    /// No longer called for (a reminder for a request decided meanwhile).
    case skipped
}

/// Who an email goes to.
package enum EmailAudience: Sendable, Hashable {
    /// Every global admin and approver of the request's tenant with an address.
    case approvers
    /// The principal that filed the request.
    case requester
}

/// One email an event calls for, and the earliest time it may go.
package struct PlannedEmail: Sendable, Hashable {
    package var audience: EmailAudience
    package var kind: NotificationKind
    package var notBeforeMs: Int64

    package init(audience: EmailAudience, kind: NotificationKind, notBeforeMs: Int64) {
        self.audience = audience
        self.kind = kind
        self.notBeforeMs = notBeforeMs
    }
}

/// When retries happen, how long they go on, and when an endpoint is given up on.
package struct DeliveryPolicy: Sendable, Hashable {
    /// The wait after the first failed attempt; each later one doubles it, up to `maximumDelay`.
    package var baseDelayMs: Int64
    package var maximumDelayMs: Int64
    /// Attempts before a notification is marked failed.
    package var maximumAttempts: Int
    /// Consecutive failed deliveries after which a webhook endpoint is disabled.
    package var disableWebhookAfterFailures: Int
    /// How long before a customer's deadline approvers are reminded; 0 sends no reminder.
    package var reminderLeadMs: Int64

    package init(
        baseDelayMs: Int64 = 30_000,
        maximumDelayMs: Int64 = 3_600_000,
        maximumAttempts: Int = 10,
        disableWebhookAfterFailures: Int = 20,
        reminderLeadMs: Int64 = 2 * 3_600_000
    ) {
        self.baseDelayMs = baseDelayMs
        self.maximumDelayMs = maximumDelayMs
        self.maximumAttempts = maximumAttempts
        self.disableWebhookAfterFailures = disableWebhookAfterFailures
        self.reminderLeadMs = reminderLeadMs
    }
}

/// The notification rules: which emails an event calls for, and what happens after a failed attempt.
package enum NotificationRules {
    /// States the requester hears about.
    package static let requesterOutcomes: Set<RequestState> = [
        .approved, .denied, .canceled, .expired, .revoked, .completed,
    ]

    /// The emails `event` calls for. `customerDeadlineMs` is the request's deadline, when it has one.
    package static func emails(
        for event: RequestEvent,
        customerDeadlineMs: Int64?,
        policy: DeliveryPolicy
    ) -> [PlannedEmail] {
        // An approver's decision that counted toward an N-of-M threshold: the approvers hear
        // who has decided so far; the reminder planned when the request first awaited them stands.
        if event.activity == .customerDecisionCounted {
            return [PlannedEmail(audience: .approvers, kind: .awaitingDecision, notBeforeMs: event.occurredAtMs)]
        }
        if event.state == .pendingCustomer {
            var planned = [PlannedEmail(audience: .approvers, kind: .awaitingDecision, notBeforeMs: event.occurredAtMs)]
            if policy.reminderLeadMs > 0, let deadline = customerDeadlineMs,
                deadline - policy.reminderLeadMs > event.occurredAtMs
            {
                planned.append(
                    PlannedEmail(audience: .approvers, kind: .reminder, notBeforeMs: deadline - policy.reminderLeadMs)
                )
            }
            return planned
        }
        if requesterOutcomes.contains(event.state) {
            return [PlannedEmail(audience: .requester, kind: .outcome, notBeforeMs: event.occurredAtMs)]
        }
        return []
    }

    /// Whether a notification of `kind` is still called for when it is due. A reminder is sent
    /// only while the request still awaits the customer (by the clock, not the stored state).
    package static func stillCalledFor(_ kind: NotificationKind, effectiveState: RequestState) -> Bool {
        kind != .reminder || effectiveState == .pendingCustomer
    }

    /// What to do after attempt number `attempts` (1 for the first) failed.
    package enum AfterFailure: Sendable, Hashable {
        case retry(atMs: Int64)
        case giveUp
    }

    package static func afterFailure(attempts: Int, nowMs: Int64, policy: DeliveryPolicy) -> AfterFailure {
        guard attempts < policy.maximumAttempts else { return .giveUp }
        var delay = policy.baseDelayMs
        for _ in 1..<max(1, attempts) {
            delay *= 2
            if delay >= policy.maximumDelayMs { break }
        }
        return .retry(atMs: nowMs + min(delay, policy.maximumDelayMs))
    }
}

/// Email addresses as Lockbox accepts them: one `@`, a local part and a dotted domain, printable
/// ASCII without spaces or the characters that delimit addresses, at most 254 bytes.
package enum EmailAddress {
    package static let maxLength = 254

    package static func isValid(_ text: String) -> Bool {
        guard (3...maxLength).contains(text.utf8.count) else { return false }
        let forbidden = Set("<>()[]\\,;:\"@ ".unicodeScalars)
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix(".")
        else { return false }
        return parts.allSatisfy { part in
            part.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F && !forbidden.contains($0) }
        }
    }
}
