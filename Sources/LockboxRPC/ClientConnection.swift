import LockboxProto
import NIOConcurrencyHelpers
import NIOCore

/// One open connection of an ``RPCClient``.
final class ClientConnection: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<ClientConnectionHandler>
    private let goAwayReceived: NIOLockedValueBox<Bool>

    init(channel: any Channel, handler: NIOLoopBound<ClientConnectionHandler>, goAwayReceived: NIOLockedValueBox<Bool>)
    {
        self.channel = channel
        self.handler = handler
        self.goAwayReceived = goAwayReceived
    }

    var isUsable: Bool { channel.isActive && !goAwayReceived.withLockedValue { $0 } }

    func unary(_ header: RequestHeader, payload: [UInt8], timeout: Duration?) -> EventLoopFuture<ResponseFrame> {
        let promise = channel.eventLoop.makePromise(of: ResponseFrame.self)
        let handler = self.handler
        channel.eventLoop.execute {
            handler.value.start(
                header,
                payload: payload,
                timeout: timeout,
                onFrame: { frame in
                    guard frame.end != nil else { return false }
                    promise.succeed(frame)
                    return true
                },
                onFailure: { promise.fail($0) }
            )
        }
        return promise.futureResult
    }

    /// Starts a server-streaming call; the returned closure cancels it (a cancel frame to the
    /// server, the connection kept).
    func stream(
        _ header: RequestHeader,
        payload: [UInt8],
        timeout: Duration?,
        onMessage: @escaping @Sendable ([UInt8]) -> Void,
        onEnd: @escaping @Sendable (RPCError?) -> Void
    ) -> @Sendable () -> Void {
        let handler = self.handler
        let eventLoop = channel.eventLoop
        let callID = eventLoop.makePromise(of: UInt64?.self)
        eventLoop.execute {
            callID.succeed(
                handler.value.start(
                    header,
                    payload: payload,
                    timeout: timeout,
                    onFrame: { frame in
                        if let end = frame.end {
                            let status = end.status ?? Status(code: .internal, message: "stream end without status")
                            onEnd(status.code == .ok ? nil : RPCError(status.code, status.message))
                            return true
                        }
                        onMessage(frame.payload)
                        return false
                    },
                    onFailure: { onEnd($0) }
                )
            )
        }
        return {
            callID.futureResult.whenSuccess { id in
                if let id { handler.value.cancel(id) }
            }
        }
    }
}
