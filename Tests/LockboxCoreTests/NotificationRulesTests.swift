import LockboxCore
import Testing

@Suite struct NotificationRulesTests {
    static func event(_ state: RequestState, at ms: Int64 = 1_000_000) -> RequestEvent {
        RequestEvent(
            seq: 1,
            tenantID: "t",
            requestID: "r",
            requesterID: "op",
            activity: .requestCreated,
            state: state,
            actorID: "a",
            occurredAtMs: ms
        )
    }

    static let hour: Int64 = 3_600_000

    /// Which emails each state's event calls for.
    @Test(arguments: RequestState.allCases)
    func emailsPerState(state: RequestState) {
        let policy = DeliveryPolicy(reminderLeadMs: 2 * Self.hour)
        let deadline: Int64 = 1_000_000 + 12 * Self.hour
        let planned = NotificationRules.emails(for: Self.event(state), customerDeadlineMs: deadline, policy: policy)
        switch state {
        case .pendingInternal:
            #expect(planned.isEmpty)
        case .pendingCustomer:
            #expect(
                planned == [
                    PlannedEmail(audience: .approvers, kind: .awaitingDecision, notBeforeMs: 1_000_000),
                    PlannedEmail(audience: .approvers, kind: .reminder, notBeforeMs: deadline - 2 * Self.hour),
                ]
            )
        case .approved, .denied, .canceled, .expired, .revoked, .completed:
            #expect(planned == [PlannedEmail(audience: .requester, kind: .outcome, notBeforeMs: 1_000_000)])
        }
    }

    /// A decision that counted toward an N-of-M threshold tells the approvers again, and plans
    /// no second reminder.
    @Test func aCountedDecisionEmailsTheApproversWithoutAnotherReminder() {
        var event = Self.event(.pendingCustomer)
        event.activity = .customerDecisionCounted
        let planned = NotificationRules.emails(
            for: event,
            customerDeadlineMs: 1_000_000 + 12 * Self.hour,
            policy: DeliveryPolicy(reminderLeadMs: 2 * Self.hour)
        )
        #expect(planned == [PlannedEmail(audience: .approvers, kind: .awaitingDecision, notBeforeMs: 1_000_000)])
    }

    /// No reminder when reminders are off, or when the lead reaches back past the event.
    @Test(
        arguments: [(0, 12, false), (2, 12, true), (12, 12, false), (13, 12, false), (1, 2, true)]
            as [(Int64, Int64, Bool)]
    )
    func reminders(leadHours: Int64, windowHours: Int64, expected: Bool) {
        let planned = NotificationRules.emails(
            for: Self.event(.pendingCustomer),
            customerDeadlineMs: 1_000_000 + windowHours * Self.hour,
            policy: DeliveryPolicy(reminderLeadMs: leadHours * Self.hour)
        )
        #expect(planned.contains { $0.kind == .reminder } == expected)
    }

    @Test(arguments: RequestState.allCases)
    func aReminderGoesOnlyWhileTheRequestStillAwaitsTheCustomer(state: RequestState) {
        #expect(NotificationRules.stillCalledFor(.reminder, effectiveState: state) == (state == .pendingCustomer))
        #expect(NotificationRules.stillCalledFor(.awaitingDecision, effectiveState: state))
        #expect(NotificationRules.stillCalledFor(.outcome, effectiveState: state))
    }

    /// Backoff doubles from the base to the cap; the last attempt gives up.
    @Test func backoff() {
        let policy = DeliveryPolicy(baseDelayMs: 1000, maximumDelayMs: 5000, maximumAttempts: 5)
        let delays = (1...5).map { NotificationRules.afterFailure(attempts: $0, nowMs: 0, policy: policy) }
        #expect(
            delays == [.retry(atMs: 1000), .retry(atMs: 2000), .retry(atMs: 4000), .retry(atMs: 5000), .giveUp]
        )
    }

    @Test(arguments: [
        ("admin@contoso.example", true), ("a@b.c", true), ("no-at.example", false), ("two@@example.com", false),
        ("a b@example.com", false), ("<a@example.com>", false), ("a@example", false), ("a@.example", false),
        ("a@example.com\r\nBcc: x@y.z", false), ("é@example.com", false), ("a,b@example.com", false),
        (String(repeating: "a", count: 65) + "@example.com", false),
    ])
    func emailAddresses(address: String, valid: Bool) {
        #expect(EmailAddress.isValid(address) == valid)
    }
}
