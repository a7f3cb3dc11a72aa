import LockboxProto
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

@testable import LockboxRPC

/// Server-side observations of the test methods.
final class Probe: Sendable {
    private let state = NIOLockedValueBox((running: 0, maxRunning: 0, started: 0))

    func enter() {
        state.withLockedValue {
            $0.running += 1
            $0.started += 1
            $0.maxRunning = max($0.maxRunning, $0.running)
        }
    }
    func leave() { state.withLockedValue { $0.running -= 1 } }
    var started: Int { state.withLockedValue { $0.started } }
    var maxRunning: Int { state.withLockedValue { $0.maxRunning } }
}

struct SecretDatabaseError: Error, CustomStringConvertible {
    var description: String { "ERROR: relation \"tokens\" SELECT hash FROM tokens WHERE secret = 'x'" }
}

enum TestMethods {
    static let ping = UnaryMethod<PingRequest, PingResponse>("lockbox.v1.Lockbox/Ping")
    /// Sleeps for `serverTimeMs` milliseconds of the request (a PingResponse reused as input).
    static let sleep = UnaryMethod<PingResponse, PingResponse>("test.Test/Sleep")
    /// Streams `serverTimeMs` messages, then fails with NOT_FOUND when `version` is "fail".
    static let stream = ServerStreamingMethod<PingResponse, PingResponse>("test.Test/Stream")
    /// Throws an error whose text must never reach the client.
    static let leak = UnaryMethod<PingRequest, PingResponse>("test.Test/Leak")

    static func router(probe: Probe) -> RPCRouter {
        var router = RPCRouter()
        router.register(ping) { _, _ in
            PingResponse(version: "test", serverTimeMs: 1)
        }
        router.register(sleep) { request, _ in
            probe.enter()
            defer { probe.leave() }
            try await Task.sleep(for: .milliseconds(request.serverTimeMs))
            return PingResponse(version: "slept")
        }
        router.register(stream) { request, _, writer in
            for index in 0..<request.serverTimeMs {
                try await writer.send(PingResponse(version: "item", serverTimeMs: index))
            }
            if request.version == "fail" { throw RPCError(.notFound, "no more") }
        }
        router.register(leak) { _, _ in
            throw SecretDatabaseError()
        }
        return router
    }
}

let quietLogger: Logger = {
    var logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()

/// Runs an in-process server on a free loopback port for the duration of `body`.
func withTestServer(
    _ configure: (inout RPCServerConfiguration) -> Void = { _ in },
    probe: Probe = Probe(),
    _ body: (_ port: Int, _ group: ServiceGroup) async throws -> Void
) async throws {
    var configuration = RPCServerConfiguration(host: "127.0.0.1", port: 0)
    configure(&configuration)
    let server = RPCServer(configuration: configuration, router: TestMethods.router(probe: probe), logger: quietLogger)
    let group = ServiceGroup(services: [server], logger: quietLogger)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let port = try await server.localAddress.port!
        do {
            try await body(port, group)
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

/// A bare TCP connection that speaks raw frames, to send what a well-behaved client never would.
final class RawConnection: Sendable {
    let channel: any Channel
    private let inbox: Inbox

    final class Inbox: Sendable {
        let state = NIOLockedValueBox((frames: [ResponseFrame](), closed: false))
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let inbox: Inbox
        init(_ inbox: Inbox) { self.inbox = inbox }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if let frame = try? unwrapInboundIn(data).withUnsafeReadableBytes({ try ResponseFrame(decoding: $0) }) {
                inbox.state.withLockedValue { $0.frames.append(frame) }
            }
        }
        func channelInactive(context: ChannelHandlerContext) { inbox.state.withLockedValue { $0.closed = true } }
    }

    init(port: Int) async throws {
        let inbox = Inbox()
        self.inbox = inbox
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
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

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
    }

    func sendCall(id: UInt64, method: String, payload: [UInt8], timeoutMs: UInt32 = 0) async throws {
        try await send(Self.callBytes(id: id, method: method, payload: payload, timeoutMs: timeoutMs))
    }

    static func callBytes(id: UInt64, method: String, payload: [UInt8], timeoutMs: UInt32 = 0) -> [UInt8] {
        let frame = RequestFrame(
            header: RequestHeader(callID: id, method: method, timeoutMs: timeoutMs),
            payload: payload
        )
        return Array(Framing.frame(frame.encode(), allocator: ByteBufferAllocator()).readableBytesView)
    }

    /// The next frame, or nil once the server closed the connection. Throws ``TimedOut`` after `timeout`.
    func next(timeout: Duration = .seconds(10)) async throws -> ResponseFrame? {
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
        throw TimedOut()
    }

    func close() async { try? await channel.close() }
}

struct TimedOut: Error {}
