import LockboxProto
import Logging
import Metrics
import NIOCore

/// What the server records of a connection: each call it answers (metrics by method and
/// status, with its duration, and at info level one log line), its share of the server-wide
/// in-flight meter, and why it closed when a client made it.
struct CallRecorder {
    let router: RPCRouter
    let logger: Logger
    /// The connection's clock, which the calls' arrival times are read on.
    let clock: NIODeadlineClock
    /// Calls of this connection counted in the in-flight meter.
    private var reportedRunning = 0

    init(router: RPCRouter, logger: Logger, clock: NIODeadlineClock = NIODeadlineClock()) {
        self.router = router
        self.logger = logger
        self.clock = clock
    }

    /// One call was answered with `status`.
    func record(callID: UInt64, method: String, receivedAt: NIODeadlineClock.Instant?, status: Status) {
        let nanoseconds = receivedAt.map { (clock.now.deadline - $0.deadline).nanoseconds } ?? 0
        // Labels only from the server's own method table: a client cannot invent series.
        let label = router.handles(method) ? method : "unknown"
        RPCMetrics.calls(method: label, status: status.code).increment()
        RPCMetrics.duration(method: label).recordNanoseconds(nanoseconds)
        guard logger.logLevel <= .info else { return }
        logger.info(
            "call",
            metadata: [
                "call.id": "\(callID)",
                "call.method": "\(InboundFrame.printable(method))",
                "call.status": "\(status.code)",
                "call.duration_ms": "\(Double(nanoseconds / 1000) / 1000)",
            ]
        )
    }

    /// A frame announced a length over the maximum; the connection closes.
    func refused(_ tooLarge: FrameTooLargeError) {
        logger.notice(
            "refusing oversized frame",
            metadata: ["frame.length": "\(tooLarge.announcedLength)", "frame.max": "\(tooLarge.maxFrameSize)"]
        )
    }

    /// The client let its unsent responses pile up past the cap.
    func cutOff(outboundBytes: Int) {
        logger.notice(
            "cutting off connection: the client does not read its responses",
            metadata: ["outbound.bytes": "\(outboundBytes)"]
        )
    }

    /// A timer closes the connection.
    func closing(_ reason: ConnectionCloseReason) {
        logger.log(level: reason == .idle ? .debug : .notice, "closing connection", metadata: ["reason": "\(reason)"])
    }

    /// The channel failed (a reset, a TLS error, TLS on the plaintext port); the connection
    /// closes. Said at debug level: anyone can connect, and must not fill the log.
    func failed(_ error: any Error) {
        logger.debug("connection error", metadata: ["error": "\(ConnectionFailure.describe(error))"])
    }

    /// Calls running on the connection now, for the server-wide meter.
    mutating func running(_ count: Int) {
        let delta = count - reportedRunning
        reportedRunning = count
        if delta > 0 { RPCMetrics.inFlight.increment(by: Double(delta)) }
        if delta < 0 { RPCMetrics.inFlight.decrement(by: Double(-delta)) }
    }

    /// What a call's outcome is answered with: OK and its response, or the failure's status.
    func response(_ outcome: CallRunner.Outcome, method: String) -> (Status, [UInt8]) {
        switch outcome {
        case .success(let bytes): (.ok, bytes ?? [])
        case .failure(let error): (status(for: error, method: method), [])
        }
    }

    /// The status a handler's failure is answered with: its own for an ``RPCError``, and
    /// INTERNAL with nothing more for anything else, whose details go to the log only.
    func status(for error: any Error, method: String) -> Status {
        switch error {
        case let error as RPCError:
            return Status(error)
        case is CancellationError:
            return Status(code: .cancelled, message: "call cancelled")
        default:
            logger.error(
                "handler failed",
                metadata: ["call.method": "\(InboundFrame.printable(method))", "error": "\(String(reflecting: error))"]
            )
            return Status(code: .internal, message: "internal error")
        }
    }
}
