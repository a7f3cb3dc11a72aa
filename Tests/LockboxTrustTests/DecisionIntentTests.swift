import LockboxTrust
import Testing

/// The approver's side refuses to sign a statement that says more than the approver means: a
/// lockboxd that is not what it claims prepares the statement, and the approver's own request
/// id, key and clock are the reference.
@Suite struct DecisionIntentTests {
    static let now: Int64 = 1_800_000_000_000
    static let intent = DecisionIntent(
        requestID: "req_1",
        tenantID: "contoso",
        operatorID: "prn_op",
        service: "exchange",
        decision: "Approve",
        keyID: "ed25519:0011223344556677",
        requestedDurationSeconds: 3600
    )
    static let prepared = DecisionStatement(
        tenantID: "contoso",
        requestID: "req_1",
        operatorID: "prn_op",
        service: "exchange",
        operations: ["get-mailbox"],
        startsAtMs: now - 5_000,
        endsAtMs: now - 5_000 + 3_600_000,
        decision: "Approve",
        approverID: "prn_approver",
        keyID: "ed25519:0011223344556677",
        nonce: [1, 2, 3]
    )

    enum Change: String, CaseIterable, CustomTestStringConvertible {
        case asPrepared, otherRequest, otherTenant, otherOperator, otherService, otherDecision, otherKey
        case longerThanAsked, longerThanFourHours, endsBeforeItStarts, startsNextWeek, startedYesterday
        case serverClockAMinuteAhead, shorterThanAsked
        case scheduledTomorrow, scheduledButStartsElsewhere, scheduledEightDaysAhead, scheduledYesterday

        var testDescription: String { rawValue }

        func apply(_ s: inout DecisionStatement, _ intent: inout DecisionIntent) {
            switch self {
            case .asPrepared: break
            case .otherRequest: s.requestID = "req_2"
            case .otherTenant: s.tenantID = "fabrikam"
            case .otherOperator: s.operatorID = "prn_mallory"
            case .otherService: s.service = "sharepoint"
            case .otherDecision: s.decision = "Deny"
            case .otherKey: s.keyID = "ed25519:ffffffffffffffff"
            case .longerThanAsked: s.endsAtMs += 1
            case .longerThanFourHours:
                intent.requestedDurationSeconds = 5 * 3600
                s.endsAtMs = s.startsAtMs + 5 * 3_600_000
            case .endsBeforeItStarts: s.endsAtMs = s.startsAtMs
            case .startsNextWeek:
                s.startsAtMs += 7 * 86_400_000
                s.endsAtMs += 7 * 86_400_000
            case .startedYesterday:
                s.startsAtMs -= 86_400_000
                s.endsAtMs -= 86_400_000
            case .serverClockAMinuteAhead:
                s.startsAtMs += 60_000
                s.endsAtMs += 60_000
            case .shorterThanAsked: s.endsAtMs -= 600_000
            case .scheduledTomorrow:
                s.startsAtMs = now + 86_400_000
                s.endsAtMs = s.startsAtMs + 3_600_000
                intent.scheduledStartMs = s.startsAtMs
            case .scheduledButStartsElsewhere:
                intent.scheduledStartMs = now + 86_400_000
            case .scheduledEightDaysAhead:
                s.startsAtMs = now + 8 * 86_400_000
                s.endsAtMs = s.startsAtMs + 3_600_000
                intent.scheduledStartMs = s.startsAtMs
            case .scheduledYesterday:
                s.startsAtMs = now - 86_400_000
                s.endsAtMs = s.startsAtMs + 3_600_000
                intent.scheduledStartMs = s.startsAtMs
            }
        }

        var acceptable: Bool {
            [.asPrepared, .serverClockAMinuteAhead, .shorterThanAsked, .scheduledTomorrow].contains(self)
        }
    }

    @Test(arguments: Change.allCases)
    func onlyWhatTheApproverMeansIsSigned(_ change: Change) {
        var statement = Self.prepared
        var intent = Self.intent
        change.apply(&statement, &intent)
        let problem = intent.problem(with: statement, nowMs: Self.now)
        if change.acceptable {
            #expect(problem == nil)
        } else {
            #expect(problem != nil)
        }
    }
}
