/// Where the durable event feed stands.
package struct FeedPositions: Sendable, Hashable {
    /// The last sequence number given.
    package var sequenced: Int64
    /// The last event turned into notifications.
    package var dispatched: Int64
    /// Events up to here were removed by retention.
    package var pruned: Int64

    package init(sequenced: Int64, dispatched: Int64, pruned: Int64) {
        self.sequenced = sequenced
        self.dispatched = dispatched
        self.pruned = pruned
    }
}

/// One event with its request as read just after it was sequenced (nil if the request is gone).
package struct FeedEntry: Sendable, Hashable {
    package var event: RequestEvent
    package var request: RequestRecord?

    package init(event: RequestEvent, request: RequestRecord?) {
        self.event = event
        self.request = request
    }
}

/// Events of a scope after a cursor, and how far the feed was looked through for them.
package struct FeedPage: Sendable, Hashable {
    package var entries: [FeedEntry]
    /// Every event of the scope up to here is in `entries`: the watch's next cursor.
    package var through: Int64

    package init(entries: [FeedEntry], through: Int64) {
        self.entries = entries
        self.through = through
    }
}

/// The recent events every watch on a replica shares: contiguous by seq up to ``head``, at most
/// `capacity` of them. A value type; the notifier holds one under its lock.
package struct FeedWindow: Sendable {
    package let capacity: Int
    private(set) var entries: [FeedEntry] = []
    /// The last event read into the window; nil until the feed was first read.
    package private(set) var head: Int64?

    package init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// The oldest event held, if any.
    package var first: Int64? { entries.first?.event.seq }

    /// The feed was first read: it stood at `seq`, and the window starts after it.
    package mutating func start(at seq: Int64) {
        if head == nil { head = seq }
    }

    /// Events read after ``head``, in seq order; the oldest go past the capacity.
    package mutating func append(_ page: [FeedEntry]) {
        guard let last = page.last else { return }
        entries += page
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
        head = last.event.seq
    }

    /// Events after `cursor` of `tenantID` (nil: of all), at most `limit`; nil when the window
    /// no longer reaches back to `cursor`.
    package func page(after cursor: Int64, tenantID: String?, limit: Int) -> FeedPage? {
        guard let head, cursor < head else { return FeedPage(entries: [], through: cursor) }
        guard let first, first <= cursor + 1 else { return nil }
        // The window is in seq order: find the first entry after the cursor.
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].event.seq <= cursor { low = middle + 1 } else { high = middle }
        }
        var result: [FeedEntry] = []
        for entry in entries[low...] where tenantID == nil || entry.event.tenantID == tenantID {
            result.append(entry)
            if result.count == limit { return FeedPage(entries: result, through: entry.event.seq) }
        }
        return FeedPage(entries: result, through: head)
    }
}

/// Where one watch stands in the feed, and where it reads next: the watch's rules as a value
/// type, with no I/O. A watch keeps only this; what it has not sent yet it reads again, from
/// the shared window or, further behind, from the database a page at a time.
package struct WatchCursor: Sendable, Hashable {
    /// Every event up to here was sent, or was not the watch's to see.
    package private(set) var position: Int64

    /// Where the next page comes from.
    package enum Source: Sendable, Hashable {
        /// Nothing after the cursor yet: wait for a wake-up.
        case caughtUp
        /// The shared window holds what comes next.
        case window
        /// The window no longer reaches back to the cursor: read the database.
        case database
    }

    /// Opens a watch at the feed's end, or just after `since` (0: none) when the feed still
    /// holds what came after it.
    package init(since: Int64, feed: FeedPositions) throws(DomainError) {
        guard since >= 0 else { throw DomainError.invalidArgument("since must not be negative") }
        guard since > 0 else {
            position = feed.sequenced
            return
        }
        guard since >= feed.pruned else {
            throw DomainError(
                .outOfRange,
                "events after \(since) are no longer kept (the feed keeps those after \(feed.pruned)); "
                    + Self.listAgain
            )
        }
        guard since <= feed.sequenced else {
            throw DomainError(
                .outOfRange,
                "event \(since) is ahead of the feed (its last event is \(feed.sequenced)); " + Self.listAgain
            )
        }
        position = since
    }

    static let listAgain = "list the requests again, then watch without since"

    /// Where to read next, given what the window holds: its oldest event and its head (nil
    /// before the feed was first read).
    package func source(windowFirst: Int64?, head: Int64?) -> Source {
        guard let head, position < head else { return .caughtUp }
        guard let windowFirst, windowFirst <= position + 1 else { return .database }
        return .window
    }

    /// How far a page read from the database covers: up to its last event; and when it came
    /// back short, up to the head the window had reached before it was read (nothing of the
    /// scope lies between).
    package func through(databasePage events: [RequestEvent], pageSize: Int, head: Int64?) -> Int64 {
        let last = events.last?.seq ?? position
        guard events.count < pageSize else { return last }
        return max(last, head ?? position)
    }

    /// Checks a database page against the pruned position read after it: events after the
    /// cursor that retention removed before the page was read would be skipped silently.
    package func check(prunedAfterRead pruned: Int64) throws(DomainError) {
        guard pruned <= position else {
            throw DomainError(.outOfRange, "events after \(position) are no longer kept; " + Self.listAgain)
        }
    }

    /// The page was sent up to `through`. Returns false when that is no step forward (nothing
    /// more to read now).
    package mutating func advance(to through: Int64) -> Bool {
        guard through > position else { return false }
        position = through
        return true
    }
}
