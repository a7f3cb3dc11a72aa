import LockboxIntegrity

/// How a tenant's approval rule counts its approvers' signed decisions on one request (N of
/// M): the one definition, for the workflow that decides the request, for CheckAccess that
/// asks whether a grant is backed, and for a data plane that checks evidence on its own. Pure:
/// the decisions come in verified, time comes in as `nowMs`.
public enum Quorum {
    public enum Outcome: Sendable, Hashable {
        /// Not decided yet: who has approved and who has denied so far, in order.
        case pending(approvedBy: [String], deniedBy: [String])
        /// Enough approvers approved. The grant runs where every counted approval's signed
        /// window holds: from the latest start to the earliest end.
        case approved(approvedBy: [String], startsAtMs: Int64, endsAtMs: Int64)
        /// A denial ended it (the rule's default), or too few approvers are left to reach the
        /// threshold.
        case denied(deniedBy: [String])
    }

    /// The outcome of `decisions` (verified, about one request, oldest first) under `rule`.
    ///
    /// - The threshold is the rule's, or the number any counted approval signed, if higher.
    /// - Each approver counts once: a later decision by the same approver is ignored, so an
    ///   approval is never withdrawn and never counted twice. A delegate's decision counts as
    ///   its delegator's (``DecisionStatement/countedApproverID``); under a rule where each person
    ///   counts once, a decision whose signer counted already (for themselves or in another's
    ///   place) is ignored too.
    /// - An approval whose signed window has ended by `nowMs` does not count, and does not take
    ///   its approver's place: the approver may decide again (``hasStanding(_:in:nowMs:)``).
    /// - `eligible`: how many distinct principals hold a key certified to decide. With
    ///   `denialEnds` false, the request is denied once the approvers who have not denied are
    ///   fewer than the threshold.
    public static func tally(_ decisions: [DecisionStatement], rule: ApprovalRule, eligible: Int, nowMs: Int64)
        -> Outcome
    {
        let rule = rule.signedInto(decisions)
        // An approver with a denial never also counts as approving, whatever the order the
        // decisions come in.
        let denying = Set(decisions.filter { $0.decision == DecisionWord.deny.rawValue }.map(\.countedApproverID))
        var seen = Set<String>()
        var signers = Set<String>()
        var approvals: [DecisionStatement] = []
        var deniedBy: [String] = []
        for decision in decisions
        where !decision.lapsed(atMs: nowMs)
            && !(decision.decision == DecisionWord.approve.rawValue && denying.contains(decision.countedApproverID))
            && counts(decision, rule: rule, seen: &seen, signers: &signers)
        {
            switch decision.decision {
            case DecisionWord.approve.rawValue where decision.endsAtMs > nowMs: approvals.append(decision)
            case DecisionWord.deny.rawValue: deniedBy.append(decision.countedApproverID)
            default: continue
            }
        }
        // An approval signed under a policy that asked for more still asks for more.
        let required = approvals.reduce(rule.approvalsRequired) { max($0, $1.approvalsRequired) }
        if !deniedBy.isEmpty && (rule.denialEnds || Int64(eligible - deniedBy.count) < required) {
            return .denied(deniedBy: deniedBy)
        }
        let approvedBy = approvals.map(\.countedApproverID)
        guard Int64(approvals.count) >= required, let first = approvals.first else {
            return .pending(approvedBy: approvedBy, deniedBy: deniedBy)
        }
        return .approved(
            approvedBy: approvedBy,
            startsAtMs: approvals.reduce(first.startsAtMs) { max($0, $1.startsAtMs) },
            endsAtMs: approvals.reduce(first.endsAtMs) { min($0, $1.endsAtMs) }
        )
    }

    /// Whether `decisions` back `operation` at `timeMs`: at least the rule's number of distinct
    /// approvers (or the number any of them signed, if higher: evidence may carry an older
    /// policy, or none) signed an approval that allows it then, and, under a rule where a denial
    /// ends the request, nobody denied it.
    public static func backs(
        _ decisions: [DecisionStatement],
        rule: ApprovalRule,
        operation: String,
        atMs timeMs: Int64
    ) -> Bool {
        var required = rule.approvalsRequired
        for decision in decisions {
            if rule.denialEnds && decision.decision == DecisionWord.deny.rawValue { return false }
            required = max(required, decision.approvalsRequired)
        }
        // One approval and no denial (CheckAccess's usual case): no set to build.
        if required == 1, !decisions.contains(where: { $0.decision == DecisionWord.deny.rawValue }) {
            return decisions.contains { $0.allows(operation: operation, atMs: timeMs) }
        }
        let rule = rule.signedInto(decisions)
        let denying = Set(decisions.filter { $0.decision == DecisionWord.deny.rawValue }.map(\.countedApproverID))
        var approvers = Set<String>()
        var signers = Set<String>()
        for decision in decisions
        where decision.allows(operation: operation, atMs: timeMs) && !denying.contains(decision.countedApproverID) {
            _ = counts(decision, rule: rule, seen: &approvers, signers: &signers)
        }
        return Int64(approvers.count) >= required
    }

    /// Whether `approverID` (the approver a decision counts as) has a decision among `decisions`
    /// that stands at `nowMs`: a denial, or an approval whose signed window has not ended. An
    /// approver with one does not decide again; an approver whose approval lapsed may.
    public static func hasStanding(_ approverID: String, in decisions: [DecisionStatement], nowMs: Int64) -> Bool {
        decisions.contains { $0.countedApproverID == approverID && !$0.lapsed(atMs: nowMs) }
    }

    /// Whether `decision` counts beside those already `seen` (the approvers counted) and
    /// `signers` (who signed them), and if so records it: each approver once, and under a rule
    /// where each person counts once, each signer once too.
    public static func counts(
        _ decision: DecisionStatement,
        rule: ApprovalRule,
        seen: inout Set<String>,
        signers: inout Set<String>
    ) -> Bool {
        guard !seen.contains(decision.countedApproverID) else { return false }
        if rule.personCountsOnce {
            guard signers.insert(decision.approverID).inserted else { return false }
        }
        seen.insert(decision.countedApproverID)
        return true
    }
}
