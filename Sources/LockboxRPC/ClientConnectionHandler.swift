import LockboxProto
import NIOConcurrencyHelpers
import NIOCore
import NIOTLS

/// Routes response frames to the calls that wait for them, by call id.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct PendingCall {
        /// Returns true when the frame ended the call.
        var onFrame: (ResponseFrame) -> Bool
        var onFailure: (RPCError) -> Void
        var timer: Scheduled<Void>?
    }

    private var pending: [UInt64: PendingCall] = [:]
    private var nextCallID: UInt64 = 1
    private var context: ChannelHandlerContext?
    /// The status of the last connection-level error frame (call id 0), used to fail calls when the server closes.
    private var connectionStatus: Status?
    let goAwayReceived = NIOLockedValueBox(false)
    /// Until the TLS handshake completes: a connection that closes before says so.
    private var awaitingTLSHandshake: Bool

    init(awaitingTLSHandshake: Bool = false) { self.awaitingTLSHandshake = awaitingTLSHandshake }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { awaitingTLSHandshake = false }
        context.fireUserInboundEventTriggered(event)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Sends the call; returns its id (nil when the connection is closed and the call failed).
    @discardableResult
    func start(
        _ header: RequestHeader,
        payload: [UInt8],
        timeout: Duration?,
        onFrame: @escaping (ResponseFrame) -> Bool,
        onFailure: @escaping (RPCError) -> Void
    ) -> UInt64? {
        guard let context, context.channel.isActive else {
            // Closed before this call began (a failed TLS handshake, say): the same words as
            // for the calls it closed on.
            onFailure(closedError)
            return nil
        }
        var header = header
        let callID = nextCallID
        nextCallID &+= 1
        header.callID = callID
        var call = PendingCall(onFrame: onFrame, onFailure: onFailure)
        if let timeout {
            call.timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout.timeAmount) { [self] in
                // The server normally answers DEADLINE_EXCEEDED first; this covers a server that went silent.
                pending.removeValue(forKey: callID)?.onFailure(RPCError(.deadlineExceeded, "deadline exceeded"))
            }
        }
        pending[callID] = call
        let frame = RequestFrame(header: header, payload: payload)
        context.writeAndFlush(
            NIOAny(Framing.frame(frame.encode(), allocator: context.channel.allocator)),
            promise: nil
        )
        return callID
    }

    /// Ends call `callID` from this side: tells the server with a cancel frame (the connection
    /// and its other calls go on) and fails the call with CANCELLED. Nothing when it has ended.
    func cancel(_ callID: UInt64) {
        guard let call = pending.removeValue(forKey: callID) else { return }
        call.timer?.cancel()
        if let context, context.channel.isActive {
            let frame = RequestFrame(header: RequestHeader(callID: callID), cancel: true)
            context.writeAndFlush(
                NIOAny(Framing.frame(frame.encode(), allocator: context.channel.allocator)),
                promise: nil
            )
        }
        call.onFailure(RPCError(.cancelled, "call cancelled"))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard let frame = try? buffer.withUnsafeReadableBytes({ try ResponseFrame(decoding: $0) }) else {
            context.close(promise: nil)
            return
        }
        if frame.callID == 0 {
            if frame.goaway { goAwayReceived.withLockedValue { $0 = true } }
            if let status = frame.end?.status, status.code != .ok { connectionStatus = status }
            return
        }
        guard let call = pending[frame.callID] else { return }
        if call.onFrame(frame) {
            call.timer?.cancel()
            pending.removeValue(forKey: frame.callID)
        }
    }

    /// Why the connection closed, for the calls it fails.
    private var closedError: RPCError {
        if let status = connectionStatus {
            return RPCError(status.code, status.message)
        } else if let cause {
            // Said on this side only, such as a certificate the client does not trust.
            return RPCError(.unavailable, "connection closed: \(ConnectionFailure.describe(cause))")
        } else if awaitingTLSHandshake {
            return RPCError(
                .unavailable,
                "connection closed: TLS handshake failed: the other side closed the connection; it may not speak TLS "
                    + "on this port"
            )
        }
        return RPCError(.unavailable, "connection closed")
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = closedError
        let calls = pending
        pending.removeAll()
        for (_, call) in calls {
            call.timer?.cancel()
            call.onFailure(error)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if cause == nil { cause = error }
        context.close(promise: nil)
    }

    /// The first error the connection met (a failed TLS handshake, say), for the calls it fails.
    private var cause: (any Error)?
}
