import Logging
import Metrics
import Crypto
import NIOSSL
import LockboxProto
import NIOCore
import NIOExtras

/// Serves the calls of one connection: the thin NIO side of ``ServerConnectionStateMachine``.
///
/// Frames arrive already split by ``FrameDecoder``. Each call runs in its own task, off the
/// event loop; its response is written back on the loop. All call and timer state lives in
/// the state machine; this handler only carries its actions out and keeps one timer armed.
final class ServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    typealias Machine = ServerConnectionStateMachine<PendingCall, Task<Void, Never>, NIODeadlineClock>

    struct PendingCall {
        var header: RequestHeader
        var payload: [UInt8]
        var handler: RPCRouter.Handler?
        var deadline: NIODeadline?
    }

    private var machine: Machine
    private let clock = NIODeadlineClock()
    private let router: RPCRouter
    private let configuration: RPCServerConfiguration
    private var logger: Logger
    private var context: ChannelHandlerContext?
    private var peerIP = ""
    /// The client certificate's SHA-256, once read (the inner nil: no certificate).
    private var peerCertificate: [UInt8]??
    private var readPending = false
    private var timer: Scheduled<Void>?
    private var timerAt: NIODeadlineClock.Instant?
    /// Set once the connection went over its outbound cap: it is closing.
    private var cutOff = false
    /// While the channel delivers a read's frames, responses are written unflushed and
    /// flushed once at its end: one syscall for a batch of pipelined calls, not one each.
    private var delivering = false
    private var flushPending = false

    init(router: RPCRouter, configuration: RPCServerConfiguration, logger: Logger) {
        self.router = router
        self.configuration = configuration
        self.logger = logger
        self.machine = Machine(
            configuration: .init(
                maxConcurrentCalls: configuration.maxConcurrentCallsPerConnection,
                maxStreamingCalls: configuration.maxStreamingCallsPerConnection,
                idleTimeout: configuration.idleTimeout,
                frameReadTimeout: configuration.frameReadTimeout,
                gracePeriod: configuration.shutdownGracePeriod
            )
        )
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
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

    /// Calls of this connection counted in the server-wide in-flight meter.
    private var reportedRunning = 0

    private func reportRunning(_ running: Int) {
        let delta = running - reportedRunning
        reportedRunning = running
        if delta > 0 { RPCMetrics.inFlight.increment(by: Double(delta)) }
        if delta < 0 { RPCMetrics.inFlight.decrement(by: Double(-delta)) }
    }

    private func tearDown() {
        for task in machine.closed() { task.cancel() }
        reportRunning(0)
        timer?.cancel()
        timer = nil
        timerAt = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        delivering = true
        let buffer = unwrapInboundIn(data)
        let decoded = buffer.withUnsafeReadableBytes { raw in Result { try RequestFrame(decoding: raw) } }
        guard case .success(let frame) = decoded else {
            writeConnectionStatus(Status(code: .invalidArgument, message: "cannot decode request frame"))
            return
        }
        guard let header = frame.header, header.callID != 0 else {
            writeConnectionStatus(
                Status(code: .invalidArgument, message: "request header with a non-zero call_id is required")
            )
            return
        }
        let now = clock.now
        if frame.cancel {
            // Ends one call; the connection and its other calls go on.
            if let cancelled = machine.cancel(id: header.callID, now: now) {
                cancelled.handle?.cancel()
                let status = Status(code: .cancelled, message: "call cancelled by the client")
                writeEnd(callID: cancelled.id, status: status)
                logCall(
                    callID: cancelled.id,
                    method: cancelled.method,
                    receivedAt: cancelled.receivedAt,
                    status: status
                )
                resumeReadingIfAllowed()
                armTimer()
            }
            return
        }
        let handler = router.handler(for: header.method)
        let timeout = Self.timeout(of: header, handler: handler, default: configuration.defaultUnaryTimeout)
        let call = PendingCall(
            header: header,
            payload: frame.payload,
            handler: handler,
            deadline: timeout.map { now.advanced(by: $0).deadline }
        )
        var streaming = false
        if case .serverStreaming = handler { streaming = true }
        switch machine.received(
            id: header.callID,
            method: header.method,
            call: call,
            timeout: timeout,
            streaming: streaming,
            now: now
        ) {
        case .start(let call):
            start(call)
            reportRunning(machine.runningCalls)
        case .enqueued:
            break
        case .rejectTooManyStreams:
            writeEnd(
                callID: header.callID,
                status: Status(
                    code: .resourceExhausted,
                    message: "at most \(configuration.maxStreamingCallsPerConnection) streaming calls per connection"
                )
            )
        case .rejectDraining:
            writeEnd(callID: header.callID, status: Status(code: .unavailable, message: "server is shutting down"))
        case .rejectDuplicate:
            writeConnectionStatus(
                Status(code: .invalidArgument, message: "call_id \(header.callID) is already in flight")
            )
        case .rejectClosed:
            break
        }
        armTimer()
    }

    /// The call's deadline: its own timeout, or the default for unary calls; none for inline ones.
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

    func channelReadComplete(context: ChannelHandlerContext) {
        delivering = false
        flushIfPending()
        context.fireChannelReadComplete()
    }

    private func flushIfPending() {
        guard flushPending, let context else { return }
        flushPending = false
        context.flush()
        if !context.channel.isWritable { enforceOutboundCap(context: context) }
    }

    func read(context: ChannelHandlerContext) {
        if machine.mayRead {
            context.read()
        } else {
            readPending = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        machine.writabilityChanged(writable: writable, now: clock.now)
        if writable {
            resumeReadingIfAllowed()
        } else {
            enforceOutboundCap(context: context)
        }
        armTimer()
        context.fireChannelWritabilityChanged()
    }

    /// Cuts off a connection whose unsent responses pile up past the cap: a client that does
    /// not read cannot make the server hold its responses without bound. Its calls are
    /// cancelled and nothing more is read; RESOURCE_EXHAUSTED on call id 0 follows what is
    /// queued, and the connection closes once that is written, or after the frame-read
    /// timeout if the client still does not read.
    private func enforceOutboundCap(context: ChannelHandlerContext) {
        guard !cutOff, !context.channel.isWritable,
            let buffered = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes),
            buffered > configuration.maxOutboundBytesPerConnection
        else { return }
        cutOff = true
        logger.notice(
            "cutting off connection: the client does not read its responses",
            metadata: [
                "outbound.bytes": "\(buffered)", "outbound.max": "\(configuration.maxOutboundBytesPerConnection)",
            ]
        )
        tearDown()
        let status = Status(
            code: .resourceExhausted,
            message: "too many unread responses; read them or open fewer calls"
        )
        write(ResponseFrame(callID: 0, end: StreamEnd(status: status)), context: context, thenClose: true)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: TimeAmount(configuration.frameReadTimeout)) {
            channel.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case FrameDecoderEvent.frameStarted:
            machine.frameStarted(now: clock.now)
            armTimer()
        case FrameDecoderEvent.frameCompleted:
            machine.frameCompleted()
        case is ChannelShouldQuiesceEvent:
            quiesce()
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let tooLarge = error as? FrameTooLargeError {
            logger.notice(
                "refusing oversized frame",
                metadata: ["frame.length": "\(tooLarge.announcedLength)", "frame.max": "\(tooLarge.maxFrameSize)"]
            )
            let status = Status(
                code: .resourceExhausted,
                message: "frame of \(tooLarge.announcedLength) bytes exceeds the maximum of \(tooLarge.maxFrameSize)"
            )
            writeConnectionStatus(status, closeAfter: true)
        } else {
            logger.debug("connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    // MARK: Calls

    private func start(_ call: PendingCall) {
        guard let context else { return }
        let callID = call.header.callID
        let method = call.header.method
        guard let handler = call.handler else {
            complete(
                callID: callID,
                result: .failure(RPCError(.unimplemented, "unknown method \"\(method.prefix(200))\""))
            )
            return
        }
        if peerCertificate == nil {
            // Read once per connection, after the handshake: the client certificate's fingerprint.
            let certificate = (try? context.pipeline.syncOperations.nioSSL_peerCertificate()) ?? nil
            let der = certificate.flatMap { try? $0.toDERBytes() }
            peerCertificate = .some(der.map { Array(SHA256.hash(data: $0)) })
        }
        var callLogger = logger
        callLogger[metadataKey: "call.id"] = "\(callID)"
        callLogger[metadataKey: "call.method"] = "\(method)"
        let callContext = RPCCallContext(
            callID: callID,
            method: method,
            deadline: call.deadline,
            authToken: call.header.authToken,
            idempotencyKey: call.header.idempotencyKey,
            peerIP: peerIP,
            peerCertificateSHA256: peerCertificate ?? nil,
            logger: callLogger
        )
        if case .inline(let body) = handler {
            // Answered here and now: no task, no hop.
            complete(callID: callID, result: Result { try body(call.payload, callContext) })
            return
        }
        let eventLoop = context.eventLoop
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        let payload = call.payload
        let task = Task(priority: router.priority(for: method)) {
            let result: Result<[UInt8]?, any Error>
            do {
                switch handler {
                case .inline(let body):
                    result = .success(try body(payload, callContext))
                case .unary(let body):
                    result = .success(try await body(payload, callContext))
                case .serverStreaming(let body):
                    try await body(payload, callContext) { bytes in
                        try await eventLoop.flatSubmit {
                            this.value.writeStreamMessage(callID: callID, bytes, eventLoop: eventLoop)
                        }.get()
                    }
                    result = .success(nil)
                }
            } catch {
                result = .failure(error)
            }
            eventLoop.execute { this.value.complete(callID: callID, result: result) }
        }
        machine.attach(task, to: callID)
    }

    private func writeStreamMessage(callID: UInt64, _ bytes: [UInt8], eventLoop: any EventLoop)
        -> EventLoopFuture<Void>
    {
        guard let context, machine.isRunning(callID) else {
            return eventLoop.makeFailedFuture(CancellationError())
        }
        let written = eventLoop.makePromise(of: Void.self)
        write(ResponseFrame(callID: callID, payload: bytes), context: context, promise: written)
        return written.futureResult
    }

    private func complete(callID: UInt64, result: Result<[UInt8]?, any Error>) {
        let action = machine.finished(id: callID, now: clock.now)
        if action.respond {
            let status: Status
            var payload: [UInt8] = []
            switch result {
            case .success(let bytes):
                status = .ok
                payload = bytes ?? []
            case .failure(let error):
                status = Self.status(for: error, logger: logger, method: action.method)
            }
            writeEnd(callID: callID, status: status, payload: payload)
            logCall(callID: callID, method: action.method, receivedAt: action.receivedAt, status: status)
        }
        for next in action.start { start(next.call) }
        reportRunning(context == nil ? 0 : machine.runningCalls)
        if action.close {
            context?.close(promise: nil)
            return
        }
        armTimer()
        resumeReadingIfAllowed()
    }

    private func resumeReadingIfAllowed() {
        if readPending && machine.mayRead {
            readPending = false
            context?.read()
        }
    }

    static func status(for error: any Error, logger: Logger, method: String) -> Status {
        switch error {
        case let error as RPCError:
            return Status(error)
        case is CancellationError:
            return Status(code: .cancelled, message: "call cancelled")
        default:
            logger.error(
                "handler failed",
                metadata: ["call.method": "\(method)", "error": "\(String(reflecting: error))"]
            )
            return Status(code: .internal, message: "internal error")
        }
    }

    private func logCall(callID: UInt64, method: String, receivedAt: NIODeadlineClock.Instant?, status: Status) {
        let nanoseconds = receivedAt.map { (NIODeadline.now() - $0.deadline).nanoseconds } ?? 0
        // Labels only from the server's own method table: a client cannot invent series.
        let label = router.handles(method) ? method : "unknown"
        RPCMetrics.calls(method: label, status: status.code).increment()
        RPCMetrics.duration(method: label).recordNanoseconds(nanoseconds)
        guard logger.logLevel <= .info else { return }
        let micros = nanoseconds / 1000
        logger.info(
            "call",
            metadata: [
                "call.id": "\(callID)",
                "call.method": "\(method)",
                "call.status": "\(status.code)",
                "call.duration_ms": "\(Double(micros) / 1000)",
            ]
        )
    }

    // MARK: Shutdown and timers

    private func quiesce() {
        guard let context else { return }
        switch machine.quiesce(now: clock.now) {
        case .none:
            return
        case .goAway(let closeNow):
            let frame = ResponseFrame(
                callID: 0,
                end: StreamEnd(status: Status(code: .unavailable, message: "server is shutting down")),
                goaway: true
            )
            write(frame, context: context, thenClose: closeNow)
            armTimer()
        }
    }

    /// Keeps one timer armed at the machine's next wakeup. A timer armed earlier than needed
    /// stays: it fires, finds nothing due, and is armed again.
    private func armTimer() {
        guard let context, let wakeup = machine.nextWakeup else { return }
        if let timerAt, timerAt <= wakeup { return }
        timer?.cancel()
        timerAt = wakeup
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: wakeup.deadline) { this.value.timerFired() }
    }

    private func timerFired() {
        timer = nil
        timerAt = nil
        let action = machine.timerFired(now: clock.now)
        if let reason = action.close {
            switch reason {
            case .frameReadTimeout: logger.notice("closing connection: frame not completed in time")
            case .gracePeriodOver: logger.notice("grace period over: closing connection with calls in flight")
            case .idle: logger.debug("closing idle connection")
            }
            context?.close(promise: nil)
            return
        }
        let status = Status(code: .deadlineExceeded, message: "deadline exceeded")
        for expired in action.expired {
            expired.handle?.cancel()
            writeEnd(callID: expired.id, status: status)
            logCall(callID: expired.id, method: expired.method, receivedAt: expired.receivedAt, status: status)
        }
        armTimer()
        resumeReadingIfAllowed()
    }

    // MARK: Writing

    /// Frames and flushes one response frame; closes the connection once it is written when
    /// asked. Allocates no promise unless the caller passes one or asks to close.
    private func write(
        _ frame: ResponseFrame,
        context: ChannelHandlerContext,
        thenClose: Bool = false,
        promise: EventLoopPromise<Void>? = nil
    ) {
        var promise = promise
        if thenClose {
            let closing = promise ?? context.eventLoop.makePromise(of: Void.self)
            closing.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            promise = closing
        }
        let bytes = wrapOutboundOut(Framing.frame(frame.encode(), allocator: context.channel.allocator))
        if delivering && !thenClose {
            context.write(bytes, promise: promise)
            flushPending = true
            return
        }
        context.writeAndFlush(bytes, promise: promise)
        if !context.channel.isWritable { enforceOutboundCap(context: context) }
    }

    private func writeEnd(callID: UInt64, status: Status, payload: [UInt8] = []) {
        guard let context else { return }
        write(ResponseFrame(callID: callID, payload: payload, end: StreamEnd(status: status)), context: context)
    }

    private func writeConnectionStatus(_ status: Status, closeAfter: Bool = false) {
        guard let context else { return }
        write(ResponseFrame(callID: 0, end: StreamEnd(status: status)), context: context, thenClose: closeAfter)
    }
}
