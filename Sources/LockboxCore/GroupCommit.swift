/// How calls that arrive together form groups that share one transaction and one commit
/// (group commit), as PostgreSQL's WAL writer and every log store batch their appends.
///
/// There is no timer. A call that arrives while fewer than `maxInFlight` groups hold a slot
/// starts a group at once, so an idle server adds no wait. A call that arrives while they all
/// do waits for the next group, which forms from everything waiting (up to `maxSize`) as soon
/// as one of them gives up its slot: the linger adapts to the load, and is never longer than
/// one group's reads. The waiting list is bounded, in all and per caller; past either bound
/// a call is refused rather than held.
package struct GroupCommitQueue<Member> {
    package var configuration: GroupCommitConfiguration
    /// Members waiting for the next group, per caller, oldest first.
    private var waitingByCaller: [String: [Member]] = [:]
    /// The callers with members waiting, in the order they take their turns.
    private var turns: [String] = []
    /// How many members wait, over all callers.
    package private(set) var waiting = 0
    /// Groups holding a slot.
    package private(set) var inFlight = 0

    package init(_ configuration: GroupCommitConfiguration) { self.configuration = configuration }

    /// What to do with a member that arrived.
    package enum Arrival {
        /// Start this group now.
        case start([Member])
        /// It waits for a group to end.
        case wait
        /// Too many wait already (in all, or of its caller): refuse it.
        case refuse(Member)
    }

    /// A member of `caller` arrived.
    package mutating func arrive(_ member: Member, caller: String) -> Arrival {
        if inFlight < configuration.maxInFlight {
            inFlight += 1
            return .start([member])
        }
        let mine = waitingByCaller[caller, default: []]
        guard waiting < configuration.maxWaiting, mine.count < configuration.maxWaitingPerCaller else {
            return .refuse(member)
        }
        if mine.isEmpty { turns.append(caller) }
        waitingByCaller[caller, default: []].append(member)
        waiting += 1
        return .wait
    }

    /// A group gave up its slot (it has decided and now commits, or it ended): the next group
    /// to start in its place, if any member waits. The callers take turns, one member each, so
    /// that one caller's flood fills no group while another's checks wait.
    package mutating func released() -> [Member]? {
        precondition(inFlight > 0, "a group ended that never started")
        guard waiting > 0 else {
            inFlight -= 1
            return nil
        }
        var next: [Member] = []
        var index = 0
        while next.count < configuration.maxSize && !turns.isEmpty {
            let caller = turns[index]
            next.append(waitingByCaller[caller]!.removeFirst())
            waiting -= 1
            if waitingByCaller[caller]!.isEmpty {
                waitingByCaller[caller] = nil
                turns.remove(at: index)
            } else {
                index += 1
            }
            if index >= turns.count { index = 0 }
        }
        // The next group starts its round after the last caller served.
        if !turns.isEmpty { turns = Array(turns[index...] + turns[..<index]) }
        return next
    }
}

extension GroupCommitQueue: Sendable where Member: Sendable {}

/// The bounds of group commit: how large a group may be, how many may hold a slot at once
/// (each on one database connection), and how many calls may wait for one.
package struct GroupCommitConfiguration: Sendable, Hashable {
    package var maxSize: Int
    package var maxInFlight: Int
    package var maxWaiting: Int
    package var maxWaitingPerCaller: Int

    package init(maxSize: Int = 64, maxInFlight: Int = 1, maxWaiting: Int = 8192, maxWaitingPerCaller: Int = 2048) {
        precondition(maxSize >= 1 && maxInFlight >= 1 && maxWaiting >= 0 && maxWaitingPerCaller >= 0)
        self.maxSize = maxSize
        self.maxInFlight = maxInFlight
        self.maxWaiting = maxWaiting
        self.maxWaitingPerCaller = maxWaitingPerCaller
    }
}
