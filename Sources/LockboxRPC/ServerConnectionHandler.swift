import LockboxProto
import Logging
import NIOCore
import NIOExtras

/// Serves the calls of one connection: the thin NIO side of ``ServerConnectionStateMachine``.
///
/// Frames arrive split by ``FrameDecoder`` and are read as ``InboundFrame``s. Every decision
/// (which call starts, which waits, when to read, when to flush, when to cut a client off,
/// what a timer means) is the machine's; ``CallRunner`` runs the calls and ``CallRecorder``
/// records them. This handler carries the actions out and keeps one timer armed.
final class ServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    typealias Machine = ServerConnectionStateMachine<PendingCall, Task<Void, Never>, NIODeadlineClock>

    private var machine: Machine
    private var clock = NIODeadlineClock()
    private let router: RPCRouter
    private let configuration: RPCServerConfiguration
    private var recorder: CallRecorder
    private var logger: Logger
    private var context: ChannelHandlerContext?
    private var peerIP = ""
    /// The client certificate's SHA-256, once read (the inner nil: no certificate).
    private var peerCertificate: [UInt8]??
    private let timer = ConnectionTimer()

    init(router: RPCRouter, configuration: RPCServerConfiguration, logger: Logger) {
        self.router = router
        self.configuration = configuration
        self.logger = logger
        recorder = CallRecorder(router: router, logger: logger)
        machine = Machine(configuration: .init(configuration))
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        clock = NIODeadlineClock(eventLoop: context.eventLoop)
        if context.channel.isActive { becameActive(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        becameActive(context: context)
        context.fireChannelActive()
    }

    private func becameActive(context: ChannelHandlerContext) {
        guard peerIP.isEmpty else { return }
        peerIP = context.channel.remoteAddress?.ipAddress ?? ""
        logger[metadataKey: "peer"] = "\(context.channel.remoteAddress?.description ?? "?")"
        recorder = CallRecorder(router: router, logger: logger, clock: clock)
        machine.activated(now: clock.now)
        armTimer()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tearDown()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        tearDown()
        context.fireChannelInactive()
    }

    private func tearDown() {
        for task in machine.closed() { task.cancel() }
        recorder.running(0)
        timer.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        machine.readBegan()
        let now = clock.now
        switch InboundFrame(unwrapInboundIn(data)) {
        case .refused(let status):
            writeEnd(0, status)
        case .cancel(let callID):
            // Ends one call; the connection and its other calls go on.
            guard let cancelled = machine.cancel(id: callID, now: now) else { return }
            cancelled.handle?.cancel()
            answer(cancelled, .cancelledByClient)
        case .call(let header, let payload):
            let call = PendingCall(
                header: header,
                payload: payload,
                router: router,
                configuration: configuration,
                now: now
            )
            switch machine.received(call, now: now) {
            case .start(let call): start(call)
            case .enqueued, .rejectClosed: break
            case .rejectTooManyStreams: writeEnd(header.callID, .tooManyStreams(configuration))
            case .rejectDraining: writeEnd(header.callID, .shuttingDown)
            case .rejectDuplicate: writeEnd(0, .duplicate(header.callID))
            }
        }
        settle()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if machine.readEnded() { flush(context) }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if machine.readRequested() { context.read() }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        machine.writabilityChanged(writable: context.channel.isWritable, now: clock.now)
        if !context.channel.isWritable { checkOutboundBacklog(context) }
        settle()
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case FrameDecoderEvent.frameStarted:
            machine.frameStarted(now: clock.now)
            armTimer()
        case FrameDecoderEvent.frameCompleted:
            machine.frameCompleted()
        case is ChannelShouldQuiesceEvent:
            guard case .goAway(let closeNow) = machine.quiesce(now: clock.now) else { return }
            write(ResponseFrame(callID: 0, end: StreamEnd(status: .shuttingDown), goaway: true), thenClose: closeNow)
            armTimer()
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let tooLarge = error as? FrameTooLargeError, !tooLarge.looksLikeTLS else {
            // A TLS handshake on a plaintext port gets no plaintext answer: it could not read one.
            recorder.failed(error)
            context.close(promise: nil)
            return
        }
        recorder.refused(tooLarge)
        writeEnd(0, .tooLarge(tooLarge), thenClose: true)
    }

    // MARK: Calls

    private func start(_ call: PendingCall) {
        guard let context else { return }
        let callID = call.header.callID
        guard let handler = call.handler else {
            return finish(callID, .failure(RPCError.unimplemented(call.header.method)))
        }
        if peerCertificate == nil { peerCertificate = .some(context.peerCertificateSHA256()) }
        let callContext = call.context(peerIP: peerIP, peerCertificateSHA256: peerCertificate ?? nil, logger: logger)
        let eventLoop = context.eventLoop
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        let started = CallRunner.start(
            handler,
            payload: call.payload,
            context: callContext,
            priority: router.priority(for: call.header.method),
            eventLoop: eventLoop,
            send: { bytes in
                try await eventLoop.flatSubmit { this.value.sendStreamMessage(callID, bytes, on: eventLoop) }.get()
            },
            done: { outcome in this.value.finish(callID, outcome) }
        )
        switch started {
        case .finished(let outcome): finish(callID, outcome)
        case .running(let task): machine.attach(task, to: callID)
        }
    }

    /// Writes one message of a stream; fails once the call was answered (its deadline, a
    /// cancel) or the connection went.
    private func sendStreamMessage(_ callID: UInt64, _ bytes: [UInt8], on eventLoop: any EventLoop)
        -> EventLoopFuture<Void>
    {
        guard context != nil, machine.isRunning(callID) else { return eventLoop.makeFailedFuture(CancellationError()) }
        let written = eventLoop.makePromise(of: Void.self)
        write(ResponseFrame(callID: callID, payload: bytes), promise: written)
        return written.futureResult
    }

    /// A call's work ended: answer it (unless its deadline or a cancel did already), and
    /// start what waited for its slot.
    private func finish(_ callID: UInt64, _ outcome: CallRunner.Outcome) {
        let action = machine.finished(id: callID, now: clock.now)
        if action.respond {
            let (status, payload) = recorder.response(outcome, method: action.method)
            writeEnd(callID, status, payload: payload)
            recorder.record(callID: callID, method: action.method, receivedAt: action.receivedAt, status: status)
        }
        for next in action.start { start(next.call) }
        if action.close {
            context?.close(promise: nil)
            return
        }
        settle()
    }

    /// Answers a call that its deadline or its client ended.
    private func answer(_ ended: Machine.Expired, _ status: Status) {
        writeEnd(ended.id, status)
        recorder.record(callID: ended.id, method: ended.method, receivedAt: ended.receivedAt, status: status)
    }

    /// After any event: the meter, the timer, and a read held back that may go now.
    private func settle() {
        recorder.running(context == nil ? 0 : machine.runningCalls)
        armTimer()
        if machine.releaseHeldRead() { context?.read() }
    }

    // MARK: Timers

    /// Keeps the timer armed at the machine's next wakeup.
    private func armTimer() {
        guard let context, let wakeup = machine.nextWakeup else { return }
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer.arm(at: wakeup, on: context.eventLoop) { this.value.timerFired() }
    }

    private func timerFired() {
        let action = machine.timerFired(now: clock.now)
        if let reason = action.close {
            recorder.closing(reason)
            context?.close(promise: nil)
            return
        }
        for expired in action.expired {
            expired.handle?.cancel()
            answer(expired, .deadlineExceeded)
        }
        settle()
    }

    // MARK: Writing

    /// Writes one response frame; the machine says whether to flush it now or with the rest
    /// of the read under way. Closes the connection once it is written when asked.
    private func write(_ frame: ResponseFrame, thenClose: Bool = false, promise: EventLoopPromise<Void>? = nil) {
        guard let context else { return }
        var promise = promise
        if thenClose {
            let closing = promise ?? context.eventLoop.makePromise(of: Void.self)
            closing.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            promise = closing
        }
        context.write(
            wrapOutboundOut(Framing.frame(frame.encode(), allocator: context.channel.allocator)),
            promise: promise
        )
        if machine.responseWritten() || thenClose { flush(context) }
    }

    /// Ends a call (or, on call id 0, speaks for the connection) with `status`.
    private func writeEnd(_ callID: UInt64, _ status: Status, payload: [UInt8] = [], thenClose: Bool = false) {
        write(ResponseFrame(callID: callID, payload: payload, end: StreamEnd(status: status)), thenClose: thenClose)
    }

    private func flush(_ context: ChannelHandlerContext) {
        context.flush()
        if !context.channel.isWritable { checkOutboundBacklog(context) }
    }

    /// Cuts off a client whose unsent responses pile up past the cap: its calls are cancelled
    /// and nothing more is read; RESOURCE_EXHAUSTED on call id 0 follows what is queued, and
    /// the connection closes once that is written, or after the frame-read timeout if the
    /// client still does not read.
    private func checkOutboundBacklog(_ context: ChannelHandlerContext) {
        guard let buffered = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes),
            machine.outboundBacklog(buffered)
        else { return }
        recorder.cutOff(outboundBytes: buffered)
        tearDown()
        writeEnd(0, .cutOff, thenClose: true)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: configuration.frameReadTimeout.timeAmount) { channel.close(promise: nil) }
    }
}
