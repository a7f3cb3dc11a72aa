/// Why a connection's timer closes it.
enum ConnectionCloseReason: Equatable, Sendable {
    case idle
    case frameReadTimeout
    case gracePeriodOver
}

/// The state of one server connection, as a value type: its calls, their deadlines, whether
/// it may read, and its idle, frame-read and grace-period timers.
///
/// Each event (a call arrives, a call finishes, a frame starts, the socket's writability
/// changes, the timer fires, shutdown begins) is a `mutating`
/// function that returns what the channel handler must do. The machine never touches NIO:
/// time comes in as `now`, and the handler keeps one timer armed at ``nextWakeup``. So every
/// rule here is tested without sockets.
///
/// What a client can make it hold is bounded: calls run at most `maxConcurrentCalls` at once,
/// and while any wait, or while the client does not read what it is sent, the connection
/// reads nothing more. (What one read may deliver is bounded by the channel's read size, so
/// one connection's flood cannot hold up the others on its event loop for long.)
///
/// - `Call`: what a waiting call carries until it starts (the decoded frame).
/// - `Handle`: what cancels a running call (its task).
/// - `Clock`: whose instants the timers use.
struct ServerConnectionStateMachine<Call, Handle, Clock: _Concurrency.Clock> where Clock.Duration == Duration {
    typealias Instant = Clock.Instant

    struct Configuration: Sendable {
        var maxConcurrentCalls: Int
        /// Streaming calls that may be open at once; more are refused.
        var maxStreamingCalls: Int = 16
        /// A connection with no call for this long is closed.
        var idleTimeout: Duration
        /// A frame that started must finish within this long of the time the server spends reading.
        var frameReadTimeout: Duration
        /// After shutdown begins, calls in flight get this long.
        var gracePeriod: Duration
        /// Unsent response bytes the connection may hold before it is cut off.
        var maxOutboundBytes: Int = .max
    }

    enum State: Equatable {
        case active
        /// GOAWAY sent: no new calls, waiting for the ones accepted to finish until the grace period ends.
        case draining(until: Instant)
        case closed
    }

    enum ReceiveAction {
        case start(Call)
        /// Parked until a slot frees; the handler stops reading meanwhile.
        case enqueued
        case rejectDraining
        case rejectDuplicate
        case rejectClosed
        /// A streaming call over ``Configuration/maxStreamingCalls``.
        case rejectTooManyStreams
    }

    /// What to do when a call's work ended.
    struct FinishAction {
        /// Answer the call: false when it was answered already (its deadline passed).
        var respond = false
        var method = ""
        var receivedAt: Instant?
        /// Waiting calls that now start, with their ids.
        var start: [(id: UInt64, call: Call)] = []
        /// The connection has drained and should close.
        var close = false
    }

    /// A call whose deadline passed: answer DEADLINE_EXCEEDED, and cancel its work if it runs.
    struct Expired {
        var id: UInt64
        var method: String
        var receivedAt: Instant
        var handle: Handle?
    }

    typealias CloseReason = ConnectionCloseReason

    struct TimerAction {
        var expired: [Expired] = []
        /// Close the connection, cancelling what still runs.
        var close: CloseReason?
    }

    enum QuiesceAction: Equatable {
        /// Tell the client with a GOAWAY frame, then close if `closeNow`.
        case goAway(closeNow: Bool)
        case none
    }

    private enum Phase {
        case waiting(Call)
        case running(Handle?)
        /// Answered DEADLINE_EXCEEDED; its work was cancelled but has not returned yet, so it holds its slot.
        case answered(Handle?)
    }

    private struct Entry {
        var method: String
        var receivedAt: Instant
        var deadline: Instant?
        var streaming: Bool
        var phase: Phase
    }

    let configuration: Configuration
    private(set) var state: State = .active
    private var calls: [UInt64: Entry] = [:]
    /// Ids of waiting calls, in arrival order, from `queueHead` on.
    private var queue: [UInt64] = []
    private var queueHead = 0
    private var runningCount = 0
    /// Calls running now, for the in-flight metric.
    var runningCalls: Int { runningCount }
    private var streamingCount = 0
    /// False while the client does not take what it is sent (the socket is over its high-water mark).
    private(set) var writable = true
    private var idleDeadline: Instant?
    private var frameDeadline: Instant?
    /// The frame timer's time left while reading is paused: it runs only while the server reads.
    private var frameTimeLeft: Duration?
    /// No call's deadline is earlier than this (it may be stale, and then the timer fires for nothing).
    private var earliestCallDeadline: Instant?
    /// The channel asked to read while reading was not allowed: the read waits here.
    private var readHeld = false
    /// A read's frames are being delivered: responses wait for its end to be flushed together.
    private var delivering = false
    /// Responses were written and not flushed yet.
    private var flushHeld = false
    /// The client let its unsent responses pile up past the cap: the connection is closing.
    private(set) var isCutOff = false

    init(configuration: Configuration) {
        precondition(configuration.maxConcurrentCalls > 0)
        self.configuration = configuration
    }

    var waitingCount: Int { queue.count - queueHead }
    /// No call running or waiting.
    var isIdle: Bool { calls.isEmpty }
    /// Whether the handler may read more from the socket: nothing waits, and the client takes
    /// what it is sent.
    var mayRead: Bool { state != .closed && waitingCount == 0 && writable }

    /// The earliest instant at which ``timerFired(now:)`` has something to do; nil for never.
    var nextWakeup: Instant? {
        var wakeup: Instant?
        func consider(_ instant: Instant?) {
            guard let instant else { return }
            if wakeup == nil || instant < wakeup! { wakeup = instant }
        }
        consider(frameDeadline)
        consider(idleDeadline)
        consider(earliestCallDeadline)
        if case .draining(let until) = state { consider(until) }
        return wakeup
    }

    /// Whether the call may still send messages: it runs and was not answered.
    func isRunning(_ id: UInt64) -> Bool {
        if case .running = calls[id]?.phase { return true }
        return false
    }

    // MARK: Events

    /// The connection opened.
    mutating func activated(now: Instant) {
        if isIdle, state == .active { idleDeadline = now.advanced(by: configuration.idleTimeout) }
    }

    /// A call arrived. `timeout` is measured from now, so time spent waiting for a slot counts.
    mutating func received(
        id: UInt64,
        method: String,
        call: Call,
        timeout: Duration?,
        streaming: Bool = false,
        now: Instant
    ) -> ReceiveAction {
        switch state {
        case .closed: return .rejectClosed
        case .draining: return .rejectDraining
        case .active: break
        }
        guard calls[id] == nil else { return .rejectDuplicate }
        if streaming {
            guard streamingCount < configuration.maxStreamingCalls else { return .rejectTooManyStreams }
            streamingCount += 1
        }
        idleDeadline = nil
        let deadline = timeout.map { now.advanced(by: $0) }
        if let deadline, earliestCallDeadline.map({ deadline < $0 }) ?? true { earliestCallDeadline = deadline }
        defer { pauseOrResumeFrameTimer(now: now) }
        if runningCount < configuration.maxConcurrentCalls && waitingCount == 0 {
            calls[id] = Entry(
                method: method,
                receivedAt: now,
                deadline: deadline,
                streaming: streaming,
                phase: .running(nil)
            )
            runningCount += 1
            return .start(call)
        }
        calls[id] = Entry(
            method: method,
            receivedAt: now,
            deadline: deadline,
            streaming: streaming,
            phase: .waiting(call)
        )
        queue.append(id)
        return .enqueued
    }

    /// A started call's work is under way; `handle` cancels it.
    mutating func attach(_ handle: Handle, to id: UInt64) {
        guard var entry = calls[id] else { return }
        switch entry.phase {
        case .running: entry.phase = .running(handle)
        case .answered: entry.phase = .answered(handle)
        case .waiting: return
        }
        calls[id] = entry
    }

    /// A started call's work ended (successfully or not).
    mutating func finished(id: UInt64, now: Instant) -> FinishAction {
        guard let entry = calls.removeValue(forKey: id) else { return FinishAction() }
        var action = FinishAction(method: entry.method, receivedAt: entry.receivedAt)
        switch entry.phase {
        case .running: action.respond = true
        case .answered: action.respond = false
        case .waiting: return action
        }
        runningCount -= 1
        if entry.streaming { streamingCount -= 1 }
        action.start = startWaiting()
        if isIdle {
            switch state {
            case .draining:
                state = .closed
                action.close = true
            case .active:
                idleDeadline = now.advanced(by: configuration.idleTimeout)
            case .closed:
                break
            }
        }
        pauseOrResumeFrameTimer(now: now)
        return action
    }

    /// The socket went over its high-water mark (false) or back under its low-water mark (true).
    mutating func writabilityChanged(writable: Bool, now: Instant) {
        self.writable = writable
        pauseOrResumeFrameTimer(now: now)
    }

    /// The first bytes of a frame arrived.
    mutating func frameStarted(now: Instant) {
        if mayRead {
            frameDeadline = now.advanced(by: configuration.frameReadTimeout)
            frameTimeLeft = nil
        } else {
            frameDeadline = nil
            frameTimeLeft = configuration.frameReadTimeout
        }
    }

    /// The frame that had started is complete.
    mutating func frameCompleted() {
        frameDeadline = nil
        frameTimeLeft = nil
    }

    /// The handler's timer fired.
    mutating func timerFired(now: Instant) -> TimerAction {
        var action = TimerAction()
        guard state != .closed else { return action }
        if let frameDeadline, frameDeadline <= now {
            action.close = .frameReadTimeout
        } else if case .draining(let until) = state, until <= now {
            action.close = .gracePeriodOver
        } else if isIdle, let idleDeadline, idleDeadline <= now {
            action.close = .idle
        }
        if action.close != nil { return action }

        earliestCallDeadline = nil
        var expiredWaiting = false
        for (id, entry) in calls {
            guard let deadline = entry.deadline else { continue }
            guard deadline <= now else {
                if case .answered = entry.phase { continue }
                if earliestCallDeadline.map({ deadline < $0 }) ?? true { earliestCallDeadline = deadline }
                continue
            }
            switch entry.phase {
            case .running(let handle):
                calls[id]?.phase = .answered(handle)
                action.expired.append(
                    Expired(id: id, method: entry.method, receivedAt: entry.receivedAt, handle: handle)
                )
            case .waiting:
                // Answered without ever running.
                calls.removeValue(forKey: id)
                if entry.streaming { streamingCount -= 1 }
                expiredWaiting = true
                action.expired.append(Expired(id: id, method: entry.method, receivedAt: entry.receivedAt, handle: nil))
            case .answered:
                break
            }
        }
        if expiredWaiting {
            queue = queue[queueHead...].filter { calls[$0] != nil }
            queueHead = 0
            if isIdle, state == .active { idleDeadline = now.advanced(by: configuration.idleTimeout) }
        }
        action.expired.sort { $0.id < $1.id }
        pauseOrResumeFrameTimer(now: now)
        return action
    }

    /// The client cancelled call `id`: answer it CANCELLED and cancel its work if it runs, as
    /// when its deadline passes. A running call keeps its slot until its work returns; a
    /// waiting one leaves the queue. Nil when the call is not in flight (or already answered).
    mutating func cancel(id: UInt64, now: Instant) -> Expired? {
        guard let entry = calls[id] else { return nil }
        switch entry.phase {
        case .running(let handle):
            calls[id]?.phase = .answered(handle)
            return Expired(id: id, method: entry.method, receivedAt: entry.receivedAt, handle: handle)
        case .waiting:
            calls.removeValue(forKey: id)
            if entry.streaming { streamingCount -= 1 }
            queue = queue[queueHead...].filter { calls[$0] != nil }
            queueHead = 0
            if isIdle, state == .active { idleDeadline = now.advanced(by: configuration.idleTimeout) }
            pauseOrResumeFrameTimer(now: now)
            return Expired(id: id, method: entry.method, receivedAt: entry.receivedAt, handle: nil)
        case .answered:
            return nil
        }
    }

    /// Shutdown began.
    mutating func quiesce(now: Instant) -> QuiesceAction {
        guard state == .active else { return .none }
        idleDeadline = nil
        if isIdle {
            state = .closed
            return .goAway(closeNow: true)
        }
        state = .draining(until: now.advanced(by: configuration.gracePeriod))
        return .goAway(closeNow: false)
    }

    /// The connection closed; returns the handles of the work to cancel.
    mutating func closed() -> [Handle] {
        state = .closed
        var handles: [Handle] = []
        for entry in calls.values {
            switch entry.phase {
            case .running(let handle?), .answered(let handle?): handles.append(handle)
            default: break
            }
        }
        calls.removeAll()
        queue.removeAll()
        queueHead = 0
        readHeld = false
        runningCount = 0
        streamingCount = 0
        idleDeadline = nil
        frameDeadline = nil
        frameTimeLeft = nil
        earliestCallDeadline = nil
        return handles
    }

    // MARK: Reading, flushing and the outbound cap

    /// The channel asks to read. True: read now; false: the read is held until reading is
    /// allowed again (``releaseHeldRead()``).
    mutating func readRequested() -> Bool {
        if mayRead { return true }
        readHeld = true
        return false
    }

    /// After anything that may allow reading again: true, once, when a held read may go now.
    mutating func releaseHeldRead() -> Bool {
        guard readHeld, mayRead else { return false }
        readHeld = false
        return true
    }

    /// A read's frames start to arrive.
    mutating func readBegan() { delivering = true }

    /// The read's frames have all arrived: true to flush the responses written meanwhile, in
    /// one write for a batch of pipelined calls.
    mutating func readEnded() -> Bool {
        delivering = false
        defer { flushHeld = false }
        return flushHeld
    }

    /// A response was written: true to flush it now; false when the end of the read under way
    /// will flush it with the others.
    mutating func responseWritten() -> Bool {
        guard delivering else { return true }
        flushHeld = true
        return false
    }

    /// The socket holds `bytes` the client has not taken. Past the cap, once: cut the
    /// connection off (a client that does not read cannot make the server hold its responses
    /// without bound); its calls are then cancelled with ``closed()``.
    mutating func outboundBacklog(_ bytes: Int) -> Bool {
        guard !isCutOff, bytes > configuration.maxOutboundBytes else { return false }
        isCutOff = true
        return true
    }

    // MARK: Internals

    /// Starts waiting calls while slots allow.
    private mutating func startWaiting() -> [(id: UInt64, call: Call)] {
        var started: [(id: UInt64, call: Call)] = []
        while runningCount < configuration.maxConcurrentCalls, let next = dequeue() {
            runningCount += 1
            started.append(next)
        }
        return started
    }

    /// The frame timer counts only time the server spends waiting for the client: it stops
    /// while the server does not read (calls wait, or the client does not take its responses).
    private mutating func pauseOrResumeFrameTimer(now: Instant) {
        if mayRead {
            if let left = frameTimeLeft {
                frameDeadline = now.advanced(by: left)
                frameTimeLeft = nil
            }
        } else if let deadline = frameDeadline {
            frameTimeLeft = now.duration(to: deadline)
            frameDeadline = nil
        }
    }

    private mutating func dequeue() -> (id: UInt64, call: Call)? {
        while queueHead < queue.count {
            let id = queue[queueHead]
            queueHead += 1
            if queueHead == queue.count {
                queue.removeAll(keepingCapacity: true)
                queueHead = 0
            }
            guard var entry = calls[id], case .waiting(let call) = entry.phase else { continue }
            entry.phase = .running(nil)
            calls[id] = entry
            return (id, call)
        }
        return nil
    }
}

extension ServerConnectionStateMachine.Configuration {
    /// A connection's limits, from the server's.
    init(_ server: RPCServerConfiguration) {
        self.init(
            maxConcurrentCalls: server.maxConcurrentCallsPerConnection,
            maxStreamingCalls: server.maxStreamingCallsPerConnection,
            idleTimeout: server.idleTimeout,
            frameReadTimeout: server.frameReadTimeout,
            gracePeriod: server.shutdownGracePeriod,
            maxOutboundBytes: server.maxOutboundBytesPerConnection
        )
    }
}
