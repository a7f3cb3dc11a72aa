/// How calls that arrive together form groups that share one transaction and one commit
/// (group commit), as PostgreSQL's WAL writer and every log store batch their appends.
///
/// There is no timer. A call that arrives while fewer than `maxInFlight` groups hold a slot
/// starts a group at once, so an idle server adds no wait. A call that arrives while they all
/// do waits for the next group, which forms from everything waiting (up to `maxSize`) as soon
/// as one of them gives up its slot: the linger adapts to the load, and is never longer than
/// one group's reads. The waiting list is bounded; past `maxWaiting` a call is refused rather
/// than held.
package struct GroupCommitQueue<Member> {
    package var configuration: GroupCommitConfiguration
    /// Members waiting for the next group, oldest first.
    package private(set) var waiting: [Member] = []
    /// Groups holding a slot.
    package private(set) var inFlight = 0

    package init(_ configuration: GroupCommitConfiguration) { self.configuration = configuration }

    /// What to do with a member that arrived.
    package enum Arrival {
        /// Start this group now.
        case start([Member])
        /// It waits for a group to end.
        case wait
        /// Too many wait already: refuse it.
        case refuse(Member)
    }

    package mutating func arrive(_ member: Member) -> Arrival {
        if inFlight < configuration.maxInFlight {
            inFlight += 1
            return .start([member])
        }
        guard waiting.count < configuration.maxWaiting else { return .refuse(member) }
        waiting.append(member)
        return .wait
    }

    /// A group gave up its slot (it has decided and now commits, or it ended): the next group
    /// to start in its place, if any member waits.
    package mutating func released() -> [Member]? {
        precondition(inFlight > 0, "a group ended that never started")
        guard !waiting.isEmpty else {
            inFlight -= 1
            return nil
        }
        let size = min(configuration.maxSize, waiting.count)
        let next = Array(waiting.prefix(size))
        waiting.removeFirst(size)
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

    package init(maxSize: Int = 64, maxInFlight: Int = 1, maxWaiting: Int = 8192) {
        precondition(maxSize >= 1 && maxInFlight >= 1 && maxWaiting >= 0)
        self.maxSize = maxSize
        self.maxInFlight = maxInFlight
        self.maxWaiting = maxWaiting
    }
}
