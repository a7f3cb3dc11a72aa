import Logging
import LockboxProto
import NIOCore
import NIOExtras

/// Serves the calls of one connection: the thin NIO side of ``ServerConnectionStateMachine``.
///
/// Frames arrive already split by ``FrameDecoder``. Each call runs in its own
/// task, off the event loop; its response is written back on the loop.
final class ServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct PendingCall {
        var header: RequestHeader
        var payload: [UInt8]
        var receivedAt: NIODeadline
    }

    private struct CallRecord {
        var method: String
        var startedAt: NIODeadline
        var task: Task<Void, Never>?
        var deadlineTimer: Scheduled<Void>?
        /// The final frame was written (for example DEADLINE_EXCEEDED while the task still runs).
        var responded = false
    }

    private var machine: ServerConnectionStateMachine<PendingCall>
    private var calls: [UInt64: CallRecord] = [:]
    private let router: RPCRouter
    private let configuration: RPCServerConfiguration
    private var logger: Logger
    private var context: ChannelHandlerContext?
    private var peerIP = ""
    private var readPending = false
    private var idleTimer: Scheduled<Void>?
    private var frameTimer: Scheduled<Void>?
    private var graceTimer: Scheduled<Void>?

    init(router: RPCRouter, configuration: RPCServerConfiguration, logger: Logger) {
        self.router = router
        self.configuration = configuration
        self.logger = logger
        self.machine = ServerConnectionStateMachine(maxConcurrentCalls: configuration.maxConcurrentCallsPerConnection)
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
        scheduleIdleTimer()
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
        machine.closed()
        for (_, record) in calls {
            record.task?.cancel()
            record.deadlineTimer?.cancel()
        }
        calls.removeAll()
        idleTimer?.cancel()
        frameTimer?.cancel()
        graceTimer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let receivedAt = NIODeadline.now()
        let decoded = buffer.withUnsafeReadableBytes { raw in Result { try RequestFrame(decoding: raw) } }
        guard case .success(let frame) = decoded else {
            writeConnectionStatus(Status(code: .invalidArgument, message: "cannot decode request frame"))
            return
        }
        guard let header = frame.header, header.callID != 0 else {
            writeConnectionStatus(Status(code: .invalidArgument, message: "request header with a non-zero call_id is required"))
            return
        }
        idleTimer?.cancel()
        idleTimer = nil
        let pending = PendingCall(header: header, payload: frame.payload, receivedAt: receivedAt)
        switch machine.receive(id: header.callID, call: pending) {
        case .start(let call):
            start(call)
        case .enqueued:
            break
        case .rejectDraining:
            writeEnd(callID: header.callID, status: Status(code: .unavailable, message: "server is shutting down"))
        case .rejectDuplicate:
            writeConnectionStatus(
                Status(code: .invalidArgument, message: "call_id \(header.callID) is already in flight")
            )
        case .rejectClosed:
            break
        }
    }

    func read(context: ChannelHandlerContext) {
        if machine.mayRead {
            context.read()
        } else {
            readPending = true
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case FrameDecoderEvent.frameStarted:
            frameTimer?.cancel()
            frameTimer = context.eventLoop.assumeIsolated().scheduleTask(in: configuration.frameReadTimeout.timeAmount) { [self] in
                logger.notice("closing connection: frame not completed in time")
                self.context?.close(promise: nil)
            }
        case FrameDecoderEvent.frameCompleted:
            frameTimer?.cancel()
            frameTimer = nil
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
        guard let handler = router.handler(for: method) else {
            calls[callID] = CallRecord(method: method, startedAt: call.receivedAt)
            complete(callID: callID, result: .failure(RPCError(.unimplemented, "unknown method \"\(method.prefix(200))\"")))
            return
        }
        if case .inline(let body) = handler {
            // Answered here and now: no task, no deadline timer, no hop.
            calls[callID] = CallRecord(method: method, startedAt: call.receivedAt)
            let context = RPCCallContext(
                callID: callID,
                method: method,
                deadline: nil,
                authToken: call.header.authToken,
                idempotencyKey: call.header.idempotencyKey,
                peerIP: peerIP,
                logger: logger
            )
            complete(callID: callID, result: Result { try body(call.payload, context) })
            return
        }
        var deadline: NIODeadline?
        if call.header.timeoutMs > 0 {
            deadline = call.receivedAt + .milliseconds(Int64(call.header.timeoutMs))
        } else if case .unary = handler, let timeout = configuration.defaultUnaryTimeout {
            deadline = call.receivedAt + timeout.timeAmount
        }
        var callLogger = logger
        callLogger[metadataKey: "call.id"] = "\(callID)"
        callLogger[metadataKey: "call.method"] = "\(method)"
        let callContext = RPCCallContext(
            callID: callID,
            method: method,
            deadline: deadline,
            authToken: call.header.authToken,
            idempotencyKey: call.header.idempotencyKey,
            peerIP: peerIP,
            logger: callLogger
        )
        var record = CallRecord(method: method, startedAt: call.receivedAt)
        let eventLoop = context.eventLoop
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        if let deadline {
            record.deadlineTimer = eventLoop.scheduleTask(deadline: deadline) {
                this.value.deadlineExpired(callID: callID)
            }
        }
        let payload = call.payload
        calls[callID] = record
        let task = Task {
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
        calls[callID]?.task = task
    }

    private func deadlineExpired(callID: UInt64) {
        guard var record = calls[callID], !record.responded else { return }
        record.responded = true
        record.task?.cancel()
        calls[callID] = record
        let status = Status(code: .deadlineExceeded, message: "deadline exceeded")
        writeEnd(callID: callID, status: status)
        logCall(callID: callID, record: record, status: status)
    }

    private func writeStreamMessage(callID: UInt64, _ bytes: [UInt8], eventLoop: any EventLoop)
        -> EventLoopFuture<Void>
    {
        guard let context, let record = calls[callID], !record.responded else {
            return eventLoop.makeFailedFuture(CancellationError())
        }
        let written = eventLoop.makePromise(of: Void.self)
        write(ResponseFrame(callID: callID, payload: bytes), context: context, promise: written)
        return written.futureResult
    }

    private func complete(callID: UInt64, result: Result<[UInt8]?, any Error>) {
        guard let record = calls.removeValue(forKey: callID) else { return }
        record.deadlineTimer?.cancel()
        if !record.responded {
            let status: Status
            var payload: [UInt8] = []
            switch result {
            case .success(let bytes):
                status = .ok
                payload = bytes ?? []
            case .failure(let error):
                status = Self.status(for: error, logger: logger, method: record.method)
            }
            writeEnd(callID: callID, status: status, payload: payload)
            logCall(callID: callID, record: record, status: status)
        }
        let action = machine.finish(id: callID)
        for next in action.start { start(next) }
        if action.close {
            context?.close(promise: nil)
            return
        }
        if machine.isIdle { scheduleIdleTimer() }
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
            logger.error("handler failed", metadata: ["call.method": "\(method)", "error": "\(String(reflecting: error))"])
            return Status(code: .internal, message: "internal error")
        }
    }

    private func logCall(callID: UInt64, record: CallRecord, status: Status) {
        let micros = (NIODeadline.now() - record.startedAt).nanoseconds / 1000
        logger.info(
            "call",
            metadata: [
                "call.id": "\(callID)",
                "call.method": "\(record.method)",
                "call.status": "\(status.code)",
                "call.duration_ms": "\(Double(micros) / 1000)",
            ]
        )
    }

    // MARK: Shutdown and timers

    private func quiesce() {
        guard let context else { return }
        switch machine.quiesce() {
        case .none:
            return
        case .goAway(let closeNow):
            let frame = ResponseFrame(
                callID: 0,
                end: StreamEnd(status: Status(code: .unavailable, message: "server is shutting down")),
                goaway: true
            )
            write(frame, context: context, thenClose: closeNow)
            if !closeNow {
                graceTimer = context.eventLoop.assumeIsolated().scheduleTask(in: configuration.shutdownGracePeriod.timeAmount) { [self] in
                    logger.notice("grace period over: closing connection with calls in flight")
                    self.context?.close(promise: nil)
                }
            }
        }
    }

    private func scheduleIdleTimer() {
        guard let context else { return }
        idleTimer?.cancel()
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: configuration.idleTimeout.timeAmount) { [self] in
            guard machine.isIdle else { return }
            logger.debug("closing idle connection")
            self.context?.close(promise: nil)
        }
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
        context.writeAndFlush(
            wrapOutboundOut(Framing.frame(frame.encode(), allocator: context.channel.allocator)),
            promise: promise
        )
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
