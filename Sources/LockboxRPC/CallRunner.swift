import LockboxProto
import Logging
import NIOCore

/// A call received: what it needs to start once it has a slot.
struct PendingCall {
    var header: RequestHeader
    var payload: [UInt8]
    /// nil for a method the router does not serve.
    var handler: RPCRouter.Handler?
    var deadline: NIODeadline?
    /// Measured from its arrival; nil for none.
    var timeout: Duration?

    init(
        header: RequestHeader,
        payload: [UInt8],
        router: RPCRouter,
        configuration: RPCServerConfiguration,
        now: NIODeadlineClock.Instant
    ) {
        self.header = header
        self.payload = payload
        handler = router.handler(for: header.method)
        timeout = CallRunner.timeout(of: header, handler: handler, default: configuration.defaultUnaryTimeout)
        deadline = timeout.map { now.advanced(by: $0).deadline }
    }

    var isStreaming: Bool {
        if case .serverStreaming = handler { return true }
        return false
    }

    /// What the handler is told of the call: the connection's facts, never the client's claims.
    func context(peerIP: String, peerCertificateSHA256: [UInt8]?, logger: Logger) -> RPCCallContext {
        var logger = logger
        logger[metadataKey: "call.id"] = "\(header.callID)"
        logger[metadataKey: "call.method"] = "\(InboundFrame.printable(header.method))"
        return RPCCallContext(
            callID: header.callID,
            method: header.method,
            deadline: deadline,
            authToken: header.authToken,
            idempotencyKey: header.idempotencyKey,
            peerIP: peerIP,
            peerCertificateSHA256: peerCertificateSHA256,
            logger: logger
        )
    }
}

extension ServerConnectionStateMachine where Call == PendingCall {
    /// A call arrived: its id, method, deadline and kind are its own.
    mutating func received(_ call: PendingCall, now: Instant) -> ReceiveAction {
        received(
            id: call.header.callID,
            method: call.header.method,
            call: call,
            timeout: call.timeout,
            streaming: call.isStreaming,
            now: now
        )
    }
}

/// One timer per connection, armed at the state machine's next wakeup. A timer armed earlier
/// than needed stays: it fires, finds nothing due, and is armed again.
final class ConnectionTimer {
    private var scheduled: Scheduled<Void>?
    private var at: NIODeadlineClock.Instant?

    func arm(at wakeup: NIODeadlineClock.Instant, on eventLoop: any EventLoop, _ fire: @escaping @Sendable () -> Void) {
        if let at, at <= wakeup { return }
        scheduled?.cancel()
        at = wakeup
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        scheduled = eventLoop.scheduleTask(deadline: wakeup.deadline) {
            this.value.scheduled = nil
            this.value.at = nil
            fire()
        }
    }

    func cancel() {
        scheduled?.cancel()
        scheduled = nil
        at = nil
    }
}

/// Runs one call's handler: inline handlers at once on the event loop, the others in a task of
/// their own off it, whose outcome comes back on the loop. A streaming call's messages are
/// written through `send`, which returns once each is written, so a client that reads slowly
/// slows its own stream's producer.
enum CallRunner {
    /// The outcome of a call: its response bytes (nil for a stream), or what it threw.
    typealias Outcome = Result<[UInt8]?, any Error>

    enum Started {
        /// An inline handler answered already.
        case finished(Outcome)
        /// The call runs in this task; `done` is called on the event loop when it ends.
        case running(Task<Void, Never>)
    }

    static func start(
        _ handler: RPCRouter.Handler,
        payload: [UInt8],
        context: RPCCallContext,
        priority: TaskPriority,
        eventLoop: any EventLoop,
        send: @escaping @Sendable ([UInt8]) async throws -> Void,
        done: @escaping @Sendable (Outcome) -> Void
    ) -> Started {
        if case .inline(let body) = handler {
            return .finished(Result { try body(payload, context) })
        }
        let task = Task(priority: priority) {
            let outcome: Outcome
            do {
                switch handler {
                case .inline(let body):
                    outcome = .success(try body(payload, context))
                case .unary(let body):
                    outcome = .success(try await body(payload, context))
                case .serverStreaming(let body):
                    try await body(payload, context, send)
                    outcome = .success(nil)
                }
            } catch {
                outcome = .failure(error)
            }
            eventLoop.execute { done(outcome) }
        }
        return .running(task)
    }

    /// A call's deadline: its own timeout, or the default for unary calls; none for inline ones
    /// and for streams that set none.
    static func timeout(of header: RequestHeader, handler: RPCRouter.Handler?, default: Duration?) -> Duration? {
        switch handler {
        case .inline, nil:
            return nil
        case .unary:
            if header.timeoutMs > 0 { return .milliseconds(Int64(header.timeoutMs)) }
            return `default`
        case .serverStreaming:
            return header.timeoutMs > 0 ? .milliseconds(Int64(header.timeoutMs)) : nil
        }
    }
}
