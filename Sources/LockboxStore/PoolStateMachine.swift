/// Which share of the pool a checkout draws on.
package enum PGLane: Sendable, Hashable {
    /// `CheckAccess`: may use every connection, and alone may use the reserved ones.
    case priority
    /// Everything else.
    case standard
}

/// The pool's bookkeeping as a value type: which connections are lent, who waits for one, and
/// whether the database was unreachable a moment ago. ``PGPool`` holds it under a lock and
/// acts on what each event returns; every rule here is tested without a database.
///
/// - A lane's waiting queue is bounded; one caller more is refused as overloaded at once.
/// - The standard lane never holds more than `size - reserved` connections, so a flood of any
///   method but `CheckAccess` leaves `reserved` connections for it.
/// - A waiter that is cancelled (its deadline passed, its client went away) leaves its queue,
///   and is never lent a connection.
/// - After a failed connect, others fail fast for `reconnectInterval` instead of each
///   waiting out the connect timeout; the first caller after it tries again.
struct PoolStateMachine<Waiter: Sendable, Instant: Comparable & Sendable>: Sendable {
    struct Configuration: Sendable {
        var size: Int
        /// Connections only the priority lane may use.
        var reserved: Int
        /// Callers that may wait, per lane.
        var maxWaiting: Int
    }

    enum AcquireAction {
        case lease(slot: Int)
        case wait
        case overloaded
        case cancelled
        case shutDown
    }

    struct Lease {
        var waiter: Waiter
        var slot: Int
    }

    private struct Queue: Sendable {
        var entries: [(id: UInt64, waiter: Waiter)] = []
        var head = 0
        var count: Int { entries.count - head }

        mutating func append(_ id: UInt64, _ waiter: Waiter) { entries.append((id, waiter)) }

        mutating func popFirst() -> (id: UInt64, waiter: Waiter)? {
            guard head < entries.count else { return nil }
            let first = entries[head]
            head += 1
            if head == entries.count || head > 64 && head * 2 > entries.count {
                entries.removeFirst(head)
                head = 0
            }
            return first
        }

        mutating func remove(_ id: UInt64) -> Waiter? {
            guard let index = entries[head...].firstIndex(where: { $0.id == id }) else { return nil }
            return entries.remove(at: index).waiter
        }

        mutating func removeAll() -> [Waiter] {
            defer { entries = []; head = 0 }
            return entries[head...].map(\.waiter)
        }
    }

    let configuration: Configuration
    private var idle: [Int]
    private var lanes: [Int: PGLane] = [:]
    private var standardInUse = 0
    private var priorityQueue = Queue()
    private var standardQueue = Queue()
    private var isShutDown = false
    /// Until then, connecting is not tried again; nil while the database answers.
    private var reconnectNotBefore: Instant?

    init(configuration: Configuration) {
        precondition(
            configuration.size > 0 && configuration.reserved >= 0 && configuration.reserved < configuration.size
        )
        self.configuration = configuration
        idle = Array((0..<configuration.size).reversed())
    }

    var waitingCount: (priority: Int, standard: Int) { (priorityQueue.count, standardQueue.count) }
    var leasedCount: Int { lanes.count }

    /// A caller asks for a connection. `cancelled` is whether its task is cancelled already.
    mutating func acquire(id: UInt64, lane: PGLane, waiter: Waiter, cancelled: Bool) -> AcquireAction {
        if isShutDown { return .shutDown }
        if cancelled { return .cancelled }
        switch lane {
        case .priority:
            if priorityQueue.count == 0, let slot = idle.popLast() {
                lanes[slot] = .priority
                return .lease(slot: slot)
            }
            guard priorityQueue.count < configuration.maxWaiting else { return .overloaded }
            priorityQueue.append(id, waiter)
            return .wait
        case .standard:
            if standardQueue.count == 0, standardMayLease, let slot = idle.popLast() {
                lanes[slot] = .standard
                standardInUse += 1
                return .lease(slot: slot)
            }
            guard standardQueue.count < configuration.maxWaiting else { return .overloaded }
            standardQueue.append(id, waiter)
            return .wait
        }
    }

    /// A connection came back. Returns the waiter it goes to next, if any: priority first.
    mutating func release(slot: Int) -> Lease? {
        guard let lane = lanes.removeValue(forKey: slot) else { return nil }
        if lane == .standard { standardInUse -= 1 }
        if let next = priorityQueue.popFirst() {
            lanes[slot] = .priority
            return Lease(waiter: next.waiter, slot: slot)
        }
        if standardMayLease, let next = standardQueue.popFirst() {
            lanes[slot] = .standard
            standardInUse += 1
            return Lease(waiter: next.waiter, slot: slot)
        }
        idle.append(slot)
        return nil
    }

    /// A waiter's task was cancelled: returns it, to be resumed with an error, if it still waited.
    mutating func cancel(id: UInt64) -> Waiter? {
        priorityQueue.remove(id) ?? standardQueue.remove(id)
    }

    /// The pool shuts down: every waiter is refused, and no one is lent a connection again.
    mutating func shutDown() -> [Waiter] {
        isShutDown = true
        return priorityQueue.removeAll() + standardQueue.removeAll()
    }

    /// Whether a caller that needs a new connection may try to open one now. Trying closes
    /// the window for others until the attempt reports.
    mutating func mayConnect(now: Instant, retryAt: Instant) -> Bool {
        if let notBefore = reconnectNotBefore, now < notBefore { return false }
        if reconnectNotBefore != nil { reconnectNotBefore = retryAt }
        return true
    }

    /// A connect attempt failed: others fail fast until `retryAt`.
    mutating func connectFailed(retryAt: Instant) { reconnectNotBefore = retryAt }

    /// A connect attempt succeeded: the database answers again.
    mutating func connected() { reconnectNotBefore = nil }

    private var standardMayLease: Bool { standardInUse < configuration.size - configuration.reserved }
}
