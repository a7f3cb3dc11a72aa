/// Which share of the pool a checkout draws on.
package enum PGLane: Sendable, Hashable {
    /// `CheckAccess` by a data-plane service: may use every connection, and alone may use the
    /// reserved ones.
    case priority
    /// Everything else.
    case standard
}

/// What a checkout tells the pool about itself.
package struct PGCheckout: Sendable, Hashable {
    package var lane: PGLane
    /// Whom the caller's waiting is fair against: its principal, or before authentication its
    /// peer address. Each key waits in a queue of its own, and the queues take turns.
    package var key: String
    /// When the caller must have been served by; nil for a caller that may wait as long as it takes.
    package var deadline: ContinuousClock.Instant?

    package init(lane: PGLane = .standard, key: String = "", deadline: ContinuousClock.Instant? = nil) {
        self.lane = lane
        self.key = key
        self.deadline = deadline
    }
}

/// The pool's bookkeeping as a value type: which connections are lent, who waits for one and in
/// what order, and whether the database was unreachable a moment ago. ``PGPool`` holds it under
/// a lock and acts on what each event returns; every rule here is tested without a database.
///
/// Admission is by time, not by count (the per-connection call limit and the connections'
/// read back-pressure bound how many wait):
/// - A caller waits as long as its deadline leaves room for the wait ahead of it and its own
///   service, measured from the connections' recent hold times. One that cannot be served in
///   time is refused at once (`overloaded`), and one whose deadline passes while it waits
///   leaves (its task is cancelled).
/// - Callers wait in one queue per key (principal or peer), and the queues take turns
///   (round-robin: deficit round-robin with equal costs), so one caller's flood delays only
///   itself.
/// - Queueing delay is watched as CoDel watches it: when the time callers spent waiting has
///   stayed above `target` for a whole `interval`, the pool is overloaded, and each queue is
///   served newest first (adaptive LIFO), so that what still has time gets it; it returns to
///   oldest first once a caller is served within the target.
/// - The standard lane never holds more than `size - reserved` connections, so a flood of any
///   method but `CheckAccess` leaves `reserved` connections for it. Priority waiters go first.
/// - After a failed connect, others fail fast for `reconnectInterval` instead of each waiting
///   out the connect timeout; the first caller after it tries again.
package struct PoolStateMachine<Waiter: Sendable, Clock: _Concurrency.Clock>: Sendable
where Clock.Duration == Duration, Clock.Instant: Sendable {
    package typealias Instant = Clock.Instant

    package struct Configuration: Sendable {
        var size: Int
        /// Connections only the priority lane may use.
        var reserved: Int
        /// Queueing delay above this, for a whole `interval`, is overload (CoDel's target).
        var target: Duration = .milliseconds(50)
        var interval: Duration = .milliseconds(500)
        /// What a connection is assumed to be held for before any was returned.
        var initialHoldEstimate: Duration = .milliseconds(5)
    }

    package enum AcquireAction {
        case lease(slot: Int)
        case wait
        /// It cannot be served before its deadline: refused now rather than at the deadline.
        case overloaded(expectedWait: Duration)
        case cancelled
        case shutDown
    }

    package struct Lease {
        package var waiter: Waiter
        package var slot: Int
        /// How long it waited.
        package var waited: Duration
    }

    private struct Entry: Sendable {
        var id: UInt64
        var waiter: Waiter
        var since: Instant
    }

    /// One lane's waiters: a queue per key, served in turns.
    private struct Lane: Sendable {
        var queues: [String: [Entry]] = [:]
        /// Keys with waiters, in the order of their turns.
        var turns: [String] = []
        var next = 0
        var count = 0

        mutating func append(_ entry: Entry, key: String) {
            if queues[key] == nil {
                queues[key] = []
                turns.append(key)
            }
            queues[key]!.append(entry)
            count += 1
        }

        /// Waiters served before a new one from `key`: its own queue, and from every other queue
        /// as many as the turns that pass until the new one's comes.
        func ahead(of key: String) -> Int {
            let own = queues[key]?.count ?? 0
            var total = own
            for (other, entries) in queues where other != key { total += min(entries.count, own + 1) }
            return total
        }

        /// The next waiter: the next key's oldest, or its newest under overload.
        mutating func pop(newestFirst: Bool) -> Entry? {
            guard !turns.isEmpty else { return nil }
            if next >= turns.count { next = 0 }
            let key = turns[next]
            let entry = newestFirst ? queues[key]!.removeLast() : queues[key]!.removeFirst()
            count -= 1
            if queues[key]!.isEmpty {
                queues[key] = nil
                turns.remove(at: next)
            } else {
                next += 1
            }
            return entry
        }

        mutating func remove(_ id: UInt64) -> Entry? {
            for (key, entries) in queues {
                guard let index = entries.firstIndex(where: { $0.id == id }) else { continue }
                let entry = queues[key]!.remove(at: index)
                count -= 1
                if queues[key]!.isEmpty {
                    queues[key] = nil
                    if let position = turns.firstIndex(of: key) {
                        turns.remove(at: position)
                        if position < next { next -= 1 }
                    }
                }
                return entry
            }
            return nil
        }

        mutating func removeAll() -> [Waiter] {
            defer { self = Lane() }
            return queues.values.flatMap { $0.map(\.waiter) }
        }
    }

    let configuration: Configuration
    private var idle: [Int]
    private var lanes: [Int: PGLane] = [:]
    private var standardInUse = 0
    private var priority = Lane()
    private var standard = Lane()
    private var isShutDown = false
    /// Until then, connecting is not tried again; nil while the database answers.
    private var reconnectNotBefore: Instant?
    /// A moving average of how long a connection is held.
    private(set) var holdEstimate: Duration
    /// CoDel: since when every caller served had waited longer than the target; nil when the last did not.
    private var aboveTargetSince: Instant?
    /// Sustained queueing delay: queues are served newest first.
    private(set) var isOverloaded = false

    package init(configuration: Configuration) {
        precondition(
            configuration.size > 0 && configuration.reserved >= 0 && configuration.reserved < configuration.size
        )
        self.configuration = configuration
        idle = Array((0..<configuration.size).reversed())
        holdEstimate = configuration.initialHoldEstimate
    }

    package var waitingCount: (priority: Int, standard: Int) { (priority.count, standard.count) }
    package var leasedCount: Int { lanes.count }

    /// A caller asks for a connection at `now`. `cancelled` is whether its task is cancelled already.
    package mutating func acquire(
        id: UInt64,
        lane: PGLane,
        key: String,
        deadline: Instant?,
        waiter: Waiter,
        cancelled: Bool,
        now: Instant
    ) -> AcquireAction {
        if isShutDown { return .shutDown }
        if cancelled { return .cancelled }
        switch lane {
        case .priority:
            if priority.count == 0, let slot = idle.popLast() {
                lanes[slot] = .priority
                return .lease(slot: slot)
            }
        case .standard:
            if standard.count == 0, standardMayLease, let slot = idle.popLast() {
                lanes[slot] = .standard
                standardInUse += 1
                return .lease(slot: slot)
            }
        }
        let expected = expectedWait(lane: lane, key: key)
        if let deadline, now.advanced(by: expected + holdEstimate) > deadline {
            return .overloaded(expectedWait: expected)
        }
        let entry = Entry(id: id, waiter: waiter, since: now)
        switch lane {
        case .priority: priority.append(entry, key: key)
        case .standard: standard.append(entry, key: key)
        }
        return .wait
    }

    /// How long a new caller would wait: the callers its turn comes after, at the rate the
    /// connections its lane may use come back.
    package func expectedWait(lane: PGLane, key: String) -> Duration {
        let connections: Int
        let ahead: Int
        switch lane {
        case .priority:
            connections = configuration.size
            ahead = priority.ahead(of: key)
        case .standard:
            connections = configuration.size - configuration.reserved
            // Priority waiters go first on every connection the standard lane could get.
            ahead = standard.ahead(of: key) + priority.count
        }
        return holdEstimate * Double(ahead + 1) / Double(max(1, connections))
    }

    /// A connection came back at `now` after being held for `held`. Returns the waiter it goes
    /// to next, if any: priority first.
    package mutating func release(slot: Int, held: Duration, now: Instant) -> Lease? {
        guard let lane = lanes.removeValue(forKey: slot) else { return nil }
        if lane == .standard { standardInUse -= 1 }
        // A moving average: recent holds count most.
        holdEstimate = holdEstimate * 0.8 + held * 0.2
        if let next = priority.pop(newestFirst: isOverloaded) {
            lanes[slot] = .priority
            return lease(next, slot: slot, now: now)
        }
        if standardMayLease, let next = standard.pop(newestFirst: isOverloaded) {
            lanes[slot] = .standard
            standardInUse += 1
            return lease(next, slot: slot, now: now)
        }
        idle.append(slot)
        if priority.count == 0 && standard.count == 0 {
            // Nobody waits: no queueing delay.
            aboveTargetSince = nil
            isOverloaded = false
        }
        return nil
    }

    private mutating func lease(_ entry: Entry, slot: Int, now: Instant) -> Lease {
        let waited = entry.since.duration(to: now)
        if waited <= configuration.target {
            aboveTargetSince = nil
            isOverloaded = false
        } else if let since = aboveTargetSince {
            if since.duration(to: now) >= configuration.interval { isOverloaded = true }
        } else {
            aboveTargetSince = now
        }
        return Lease(waiter: entry.waiter, slot: slot, waited: waited)
    }

    /// A waiter's task was cancelled (its deadline passed, its client left): returns it, to be
    /// resumed with an error, if it still waited.
    package mutating func cancel(id: UInt64) -> Waiter? {
        (priority.remove(id) ?? standard.remove(id))?.waiter
    }

    /// The pool shuts down: every waiter is refused, and no one is lent a connection again.
    package mutating func shutDown() -> [Waiter] {
        isShutDown = true
        return priority.removeAll() + standard.removeAll()
    }

    /// Whether a caller that needs a new connection may try to open one now. Trying closes
    /// the window for others until the attempt reports.
    package mutating func mayConnect(now: Instant, retryAt: Instant) -> Bool {
        if let notBefore = reconnectNotBefore, now < notBefore { return false }
        if reconnectNotBefore != nil { reconnectNotBefore = retryAt }
        return true
    }

    /// A connect attempt failed: others fail fast until `retryAt`.
    package mutating func connectFailed(retryAt: Instant) { reconnectNotBefore = retryAt }

    /// A connect attempt succeeded: the database answers again.
    package mutating func connected() { reconnectNotBefore = nil }

    private var standardMayLease: Bool { standardInUse < configuration.size - configuration.reserved }
}
