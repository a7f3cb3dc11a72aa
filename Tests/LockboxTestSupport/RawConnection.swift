import LockboxProto
import LockboxRPC
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A bare TCP connection that speaks raw frames, to send what a well-behaved client never would.
package final class RawConnection: Sendable {
    package let channel: any Channel
    private let inbox: Inbox

    package final class Inbox: Sendable {
        let state = NIOLockedValueBox((frames: [ResponseFrame](), closed: false, count: 0))
        let keeping: Bool
        init(keeping: Bool) { self.keeping = keeping }
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let inbox: Inbox
        init(_ inbox: Inbox) { self.inbox = inbox }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard inbox.keeping else {
                inbox.state.withLockedValue { $0.count += 1 }
                return
            }
            if let frame = try? unwrapInboundIn(data).withUnsafeReadableBytes({ try ResponseFrame(decoding: $0) }) {
                inbox.state.withLockedValue {
                    $0.frames.append(frame)
                    $0.count += 1
                }
            }
        }
        func channelInactive(context: ChannelHandlerContext) { inbox.state.withLockedValue { $0.closed = true } }
    }

    /// Connects. With `reading` false the connection reads nothing until ``read()`` asks, and
    /// keeps a small receive buffer: a client that falls behind, or never reads. With
    /// `keeping` false it only counts the frames it receives (a flood's). `from` is the local
    /// address to connect from (another loopback address, such as 127.0.0.2, is another client).
    package init(
        port: Int,
        reading: Bool = true,
        receiveBuffer: Int? = nil,
        keeping: Bool = true,
        from source: String? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws {
        let inbox = Inbox(keeping: keeping)
        self.inbox = inbox
        var bootstrap = ClientBootstrap(group: group)
            .channelOption(.autoRead, value: reading)
        if let receiveBuffer {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
        }
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        channel =
            try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder(maxFrameSize: 1 << 26)),
                        Collector(inbox)
                    )
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
    }

    /// Asks for one read from the socket (for a connection that does not read by itself).
    package func read() { channel.read() }

    package func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
    }

    package func sendCall(
        id: UInt64,
        method: String,
        payload: [UInt8],
        timeoutMs: UInt32 = 0,
        token: String = ""
    ) async throws {
        try await send(Self.callBytes(id: id, method: method, payload: payload, timeoutMs: timeoutMs, token: token))
    }

    package static func callBytes(
        id: UInt64,
        method: String,
        payload: [UInt8],
        timeoutMs: UInt32 = 0,
        token: String = ""
    ) -> [UInt8] {
        let frame = RequestFrame(
            header: RequestHeader(callID: id, method: method, timeoutMs: timeoutMs, authToken: token),
            payload: payload
        )
        return Array(Framing.frame(frame.encode(), allocator: ByteBufferAllocator()).readableBytesView)
    }

    /// For a connection that does not read by itself: reads from the socket, as slowly as
    /// asked, until the next frame is whole. Nil once the server closed the connection.
    package func pull(timeout: Duration = .seconds(10)) async throws -> ResponseFrame? {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            let taken: (ResponseFrame?, Bool) = inbox.state.withLockedValue { state in
                if !state.frames.isEmpty { return (state.frames.removeFirst(), false) }
                return (nil, state.closed)
            }
            if let frame = taken.0 { return frame }
            if taken.1 { return nil }
            channel.read()
            try await Task.sleep(for: .milliseconds(1))
        }
        throw TimedOut()
    }

    /// The next frame, or nil once the server closed the connection. Throws ``TimedOut`` after `timeout`.
    package func next(timeout: Duration = .seconds(10)) async throws -> ResponseFrame? {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            let taken: (ResponseFrame?, Bool) = inbox.state.withLockedValue { state in
                if !state.frames.isEmpty { return (state.frames.removeFirst(), false) }
                return (nil, state.closed)
            }
            if let frame = taken.0 { return frame }
            if taken.1 { return nil }
            try await Task.sleep(for: .milliseconds(5))
        }
        // One last look: a test task starved past the deadline (other tests block the shared
        // cooperative threads) must still see what arrived in time.
        let last: (ResponseFrame?, Bool) = inbox.state.withLockedValue { state in
            if !state.frames.isEmpty { return (state.frames.removeFirst(), false) }
            return (nil, state.closed)
        }
        if let frame = last.0 { return frame }
        if last.1 { return nil }
        throw TimedOut()
    }

    package func close() async { try? await channel.close() }

    /// Frames received so far.
    package var received: Int { inbox.state.withLockedValue { $0.count } }

    /// Whether the server closed the connection.
    package var isClosed: Bool { inbox.state.withLockedValue { $0.closed } }
}

package struct TimedOut: Error {}
