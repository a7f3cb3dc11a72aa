import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore

/// Group commit for CheckAccess: checks that arrive together share one transaction, one
/// round trip for what they read, and one commit (one WAL flush) for what they write.
///
/// A check is authenticated and admitted by the ``Gatekeeper`` before it joins (from memory,
/// when its token is cached), and waits for a group as ``GroupCommitQueue`` decides: at once
/// when the server is idle, else until a running group has decided. A group holds its slot
/// while it reads and decides, and gives it to the next group as it sends its writes and
/// COMMIT, so that one group's reads overlap another's commit. A group's transaction makes two
/// flights however many checks it holds:
/// 1. BEGIN, whether each caller's token still holds (one statement per distinct token), and
///    each check's facts, with its grants share-locked;
/// 2. the usage of each grant (merged), every check's audit record (one multi-row statement),
///    and COMMIT.
///
/// Between them each check is decided in memory (a denial reads what explains it). No check is
/// answered before the commit that holds its record: an allowed answer is a durable record. A
/// check that fails on its own (no such tenant, a token revoked) is answered with its own
/// status and writes nothing; a group whose transaction fails answers each of its checks with
/// that failure, and a deadlock with a revocation is retried once.
final class CheckGroup: Sendable {
    private let gate: Gatekeeper
    private let checker: AccessChecker
    private let queue: NIOLockedValueBox<GroupCommitQueue<Member>>
    private let logger: Logger

    /// A check waiting for its group.
    private struct Member: Sendable {
        var check: AccessChecker.Check
        var identified: Gatekeeper.Identified
        var context: RPCCallContext
        var answer: CheckedContinuation<CheckAccessResponse, any Error>
    }

    init(gate: Gatekeeper, checker: AccessChecker, configuration: GroupCommitConfiguration) {
        self.gate = gate
        self.checker = checker
        self.queue = NIOLockedValueBox(GroupCommitQueue(configuration))
        self.logger = gate.logger
    }

    /// Checks waiting for a group to end (not those in a running group).
    var waiting: Int { queue.withLockedValue { $0.waiting } }

    /// Answers one CheckAccess call, after the commit of the group that decided it.
    func check(_ request: CheckAccessRequest, _ context: RPCCallContext) async throws(RPCError) -> CheckAccessResponse {
        let identified = try await gate.identify(context)
        let check = try gate.guarded(context) { try AccessChecker.Check(request) }
        return try await gate.guarded(context) {
            try await withCheckedThrowingContinuation { answer in
                arrive(Member(check: check, identified: identified, context: context, answer: answer))
            }
        }
    }

    private func arrive(_ member: Member) {
        switch queue.withLockedValue({ $0.arrive(member, caller: member.identified.caller.id) }) {
        case .start(let group):
            start(group)
        case .wait:
            break
        case .refuse(let member):
            member.context.logger.debug("check group queue full")
            member.answer.resume(throwing: RPCError.unavailable("server is overloaded; try again later"))
        }
    }

    private func start(_ group: [Member]) {
        Task { await run(group) }
    }

    /// Gives the group's slot to the next group, once: when the group has decided and sends its
    /// writes and COMMIT, so that the next group reads while this one commits.
    private final class HandOff: Sendable {
        private let done = NIOLockedValueBox(false)
        private let next: @Sendable () -> Void

        init(_ next: @escaping @Sendable () -> Void) { self.next = next }

        func fire() {
            guard
                done.withLockedValue({ done in
                    defer { done = true }; return !done
                })
            else { return }
            next()
        }
    }

    /// Runs one group to its commit and answers each of its checks.
    private func run(_ group: [Member]) async {
        let handOff = HandOff { [self] in
            if let next = queue.withLockedValue({ $0.released() }) { start(next) }
        }
        defer { handOff.fire() }
        let now = NIODeadline.now()
        var live: [Member] = []
        for member in group {
            // Past its deadline while it waited: its caller has its answer already.
            if let deadline = member.context.deadline, deadline <= now {
                member.answer.resume(throwing: RPCError(.deadlineExceeded, "deadline exceeded"))
            } else {
                live.append(member)
            }
        }
        guard !live.isEmpty else { return }
        Recorder(label: "lockbox_check_group_size").record(live.count)
        // The group waits for a connection as long as its most patient member may.
        let deadline: ContinuousClock.Instant? =
            live.contains { $0.context.deadline == nil }
            ? nil
            : live.compactMap(\.context.deadline).max().map { latest in
                ContinuousClock.now.advanced(by: .nanoseconds((latest - .now()).nanoseconds))
            }
        let checkout = PGCheckout(lane: .priority, key: "check-group", deadline: deadline)
        var attempt = 0
        while true {
            attempt += 1
            do {
                let outcomes = try await gate.pool.transaction(checkout: checkout) { [self, live] db in
                    let outcomes = try decide(live, db)
                    handOff.fire()
                    return outcomes
                }
                for (member, outcome) in zip(live, outcomes) { member.answer.resume(with: outcome) }
                return
            } catch let error as StoreError where error.code == .retryable && attempt == 1 {
                logger.info("check group retried", metadata: ["error": "\(error)", "size": "\(live.count)"])
            } catch {
                for member in live { member.answer.resume(throwing: gate.rpcError(error, member.context.logger)) }
                return
            }
        }
    }

    /// The group's transaction: what each check reads, each decision, and what they write.
    /// Returns each check's answer, or its own failure; throws what fails the whole group.
    private func decide(_ group: [Member], _ db: PGConnection) throws -> [Result<CheckAccessResponse, any Error>] {
        let nowMs = gate.clock.nowMillis()
        // One confirmation per token as each member knew it: two members with one token but
        // different auth versions (one identified before a change, one after) are each
        // confirmed as they were identified, never one on the other's confirmation.
        var tokenIndex: [TokenVersion: Int] = [:]
        var tokens: [AuthenticatedToken] = []
        for member in group where tokenIndex[TokenVersion(member.identified.token)] == nil {
            tokenIndex[TokenVersion(member.identified.token)] = tokens.count
            tokens.append(member.identified.token)
        }
        let read = try checker.grants.checkFacts(
            for: group.map(\.check.key),
            confirming: tokens,
            nowMs: nowMs,
            db
        )
        var outcomes: [Result<CheckAccessResponse, any Error>] = []
        var records: [AuditEntry] = []
        var uses: [GrantUse] = []
        for (member, facts) in zip(group, read.facts) {
            do {
                let stillValid = read.stillValid[tokenIndex[TokenVersion(member.identified.token)]!]
                let caller = try gate.confirm(
                    member.identified,
                    member.context,
                    db: db,
                    nowMs: nowMs,
                    stillValid: stillValid
                )
                let checked = try checker.evaluate(member.check, facts: facts, caller: caller, nowMs: nowMs, db)
                records.append(checked.record)
                if let use = checked.use { uses.append(use) }
                outcomes.append(.success(checked.response))
            } catch let error as StoreError {
                // The transaction is lost: the whole group fails.
                throw error
            } catch {
                outcomes.append(.failure(gate.rpcError(error, member.context.logger)))
            }
        }
        // Each token's confirmation named its caller as the transaction's actor, for the
        // database's audit triggers; with several callers, none of them is: the group's own
        // writes name their actors themselves.
        if tokens.count > 1 { try AuditStore().forgetAttribution(db) }
        try checker.grants.recordUses(uses, db)
        try AuditStore().append(all: records, db)
        return outcomes
    }
}

/// A token as a member knew it: its id and its principal's auth version then.
private struct TokenVersion: Hashable {
    var tokenID: String
    var authVersion: Int64

    init(_ token: AuthenticatedToken) {
        tokenID = token.caller.tokenID
        authVersion = token.authVersion
    }
}
