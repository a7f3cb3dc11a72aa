/// What an approver means to sign, checked on the approver's side before the signature: the
/// statement comes from lockboxd, and a lockboxd that is not what it claims could prepare one
/// that grants more than the approver sees (another request, a longer window, a window that
/// starts next week). The customer's own clock and the request the approver typed are the
/// reference, not the server's word.
public struct DecisionIntent: Sendable, Hashable {
    public var requestID: String
    public var tenantID: String
    public var operatorID: String
    /// The lower-case service name.
    public var service: String
    /// "Approve" or "Deny".
    public var decision: String
    public var keyID: String
    /// What the request asked for: an approved window is never longer.
    public var requestedDurationSeconds: Int64
    /// The request's scheduled start (an extension's is the end of the grant it continues):
    /// the window must start there, at most ``maximumScheduleAheadMs`` ahead. Nil: it starts now.
    public var scheduledStartMs: Int64?

    /// No grant is ever longer than this, whatever the server says the request asked for.
    public static let maximumWindowMs: Int64 = 4 * 3600 * 1000
    /// How far the window's start may be from the approver's clock: lockboxd prepares the
    /// statement with its own time, and the two clocks and the approver's reading time differ.
    public static let clockToleranceMs: Int64 = 15 * 60 * 1000
    /// The furthest ahead a scheduled window may start: 7 days.
    public static let maximumScheduleAheadMs: Int64 = 7 * 86_400_000

    public init(
        requestID: String,
        tenantID: String,
        operatorID: String,
        service: String,
        decision: String,
        keyID: String,
        requestedDurationSeconds: Int64,
        scheduledStartMs: Int64? = nil
    ) {
        self.scheduledStartMs = scheduledStartMs
        self.requestID = requestID
        self.tenantID = tenantID
        self.operatorID = operatorID
        self.service = service
        self.decision = decision
        self.keyID = keyID
        self.requestedDurationSeconds = requestedDurationSeconds
    }

    /// Why `statement` is not what the approver means to sign, by the approver's clock
    /// `nowMs`; nil when it is.
    public func problem(with statement: DecisionStatement, nowMs: Int64) -> String? {
        let named: [(String, String, String)] = [
            ("request", statement.requestID, requestID),
            ("tenant", statement.tenantID, tenantID),
            ("operator", statement.operatorID, operatorID),
            ("service", statement.service, service),
            ("decision", statement.decision, decision),
            ("key", statement.keyID, keyID),
        ]
        for (what, said, meant) in named where said != meant {
            return "it names \(what) \(said.debugDescription), not \(meant.debugDescription)"
        }
        guard statement.endsAtMs > statement.startsAtMs else { return "its window ends before it starts" }
        let window = statement.endsAtMs - statement.startsAtMs
        guard window <= Self.maximumWindowMs else { return "its window is longer than 4 hours" }
        guard requestedDurationSeconds > 0, window <= requestedDurationSeconds * 1000 else {
            return "its window is longer than the request asked for"
        }
        if let scheduledStartMs {
            guard statement.startsAtMs == scheduledStartMs else {
                return "its window does not start at the request's scheduled start"
            }
            guard statement.startsAtMs >= nowMs - Self.clockToleranceMs,
                statement.startsAtMs <= nowMs + Self.maximumScheduleAheadMs + Self.clockToleranceMs
            else { return "its window does not start within 7 days by this machine's clock" }
            return nil
        }
        guard abs(statement.startsAtMs - nowMs) <= Self.clockToleranceMs else {
            return "its window does not start now by this machine's clock"
        }
        return nil
    }
}
