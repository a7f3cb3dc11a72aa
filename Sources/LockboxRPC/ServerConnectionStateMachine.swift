/// The per-connection call bookkeeping of the server, as a value type.
///
/// It decides, for each call that arrives, whether it starts now, waits for a
/// free slot, or is refused; when a call ends, which waiting call starts next;
/// and when a draining connection may close. The channel handler carries the
/// returned actions out. It knows nothing of NIO, so it is tested on its own.
struct ServerConnectionStateMachine<Call> {
    enum State: Equatable {
        case active
        /// GOAWAY sent: no new calls, waiting for the ones accepted to finish.
        case draining
        case closed
    }

    enum ReceiveAction {
        case start(Call)
        /// Parked until a slot frees; the handler stops reading meanwhile.
        case enqueued
        case rejectDraining
        case rejectDuplicate
        case rejectClosed
    }

    struct FinishAction {
        /// Waiting calls that now start.
        var start: [Call] = []
        /// The connection has drained and should close.
        var close = false
    }

    enum QuiesceAction: Equatable {
        /// Tell the client with a GOAWAY frame, then close if `closeNow`.
        case goAway(closeNow: Bool)
        case none
    }

    private(set) var state: State = .active
    private(set) var running: Set<UInt64> = []
    private var waiting: [(id: UInt64, call: Call)] = []
    private var waitingHead = 0
    let maxConcurrentCalls: Int

    init(maxConcurrentCalls: Int) {
        precondition(maxConcurrentCalls > 0)
        self.maxConcurrentCalls = maxConcurrentCalls
    }

    var waitingCount: Int { waiting.count - waitingHead }
    /// No call running or waiting.
    var isIdle: Bool { running.isEmpty && waitingCount == 0 }
    /// Whether the handler may read more from the socket.
    var mayRead: Bool { state != .closed && waitingCount == 0 }

    mutating func receive(id: UInt64, call: Call) -> ReceiveAction {
        switch state {
        case .closed: return .rejectClosed
        case .draining: return .rejectDraining
        case .active: break
        }
        if running.contains(id) || waiting[waitingHead...].contains(where: { $0.id == id }) {
            return .rejectDuplicate
        }
        if running.count < maxConcurrentCalls && waitingCount == 0 {
            running.insert(id)
            return .start(call)
        }
        waiting.append((id, call))
        return .enqueued
    }

    mutating func finish(id: UInt64) -> FinishAction {
        guard running.remove(id) != nil else { return FinishAction() }
        var action = FinishAction()
        while running.count < maxConcurrentCalls && waitingCount > 0 {
            let next = waiting[waitingHead]
            waitingHead += 1
            running.insert(next.id)
            action.start.append(next.call)
        }
        if waitingCount == 0 {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        }
        if state == .draining && isIdle {
            state = .closed
            action.close = true
        }
        return action
    }

    mutating func quiesce() -> QuiesceAction {
        guard state == .active else { return .none }
        if isIdle {
            state = .closed
            return .goAway(closeNow: true)
        }
        state = .draining
        return .goAway(closeNow: false)
    }

    mutating func closed() {
        state = .closed
    }
}
