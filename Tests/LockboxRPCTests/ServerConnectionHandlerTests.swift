import LockboxProto
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import LockboxRPC

/// The connection handler on NIO's testing channel, as swift-nio-extras tests its handlers:
/// frames in, frames out, the event loop's time moved by hand. No sockets.
@Suite struct ServerConnectionHandlerTests {
    /// A method whose calls run until the test lets them go (or they are cancelled).
    static let hold = UnaryMethod<PingRequest, PingResponse>("test.Test/Hold")

    /// The calls of ``hold`` in flight, released by the test.
    final class Gate: Sendable {
        private let state = NIOLockedValueBox(
            (started: 0, cancelled: 0, waiting: [CheckedContinuation<Void, any Error>]())
        )

        var started: Int { state.withLockedValue { $0.started } }
        var cancelled: Int { state.withLockedValue { $0.cancelled } }

        func wait() async throws {
            state.withLockedValue { $0.started += 1 }
            do {
                try await withTaskCancellationHandler {
                    try await withCheckedThrowingContinuation { continuation in
                        let cancelledAlready = state.withLockedValue { state in
                            if Task.isCancelled { return true }
                            state.waiting.append(continuation)
                            return false
                        }
                        if cancelledAlready { continuation.resume(throwing: CancellationError()) }
                    }
                } onCancel: {
                    let waiting = state.withLockedValue { state in
                        defer { state.waiting = [] }
                        return state.waiting
                    }
                    for continuation in waiting { continuation.resume(throwing: CancellationError()) }
                }
            } catch {
                state.withLockedValue { $0.cancelled += 1 }
                throw error
            }
        }

        /// Lets every held call finish.
        func releaseAll() {
            let waiting = state.withLockedValue { state in
                defer { state.waiting = [] }
                return state.waiting
            }
            for continuation in waiting { continuation.resume() }
        }

        /// Waits, by events, until `count` calls have started.
        func untilStarted(_ count: Int) async throws {
            try await eventually { self.started >= count }
        }
    }

    /// Counts the reads the handler passes on toward the socket.
    final class ReadCounter: ChannelOutboundHandler, Sendable {
        typealias OutboundIn = ByteBuffer
        let reads = NIOLockedValueBox(0)
        func read(context: ChannelHandlerContext) {
            reads.withLockedValue { $0 += 1 }
            context.read()
        }
    }

    /// Holds back flushes while stalled: what the socket holds when the client does not read.
    final class Stall: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = ByteBuffer
        var stalled = false
        func flush(context: ChannelHandlerContext) {
            if !stalled { context.flush() }
        }
    }

    struct Connection {
        let channel: NIOAsyncTestingChannel
        let gate: Gate
        let reads: ReadCounter
        let stall: Stall

        var loop: NIOAsyncTestingEventLoop { channel.testingEventLoop }

        func send(_ frame: RequestFrame) async throws {
            try await channel.writeInbound(Framing.frame(frame.encode(), allocator: channel.allocator))
        }

        func call(_ id: UInt64, _ method: String, timeoutMs: UInt32 = 0) async throws {
            try await send(
                RequestFrame(header: RequestHeader(callID: id, method: method, timeoutMs: timeoutMs), payload: [])
            )
        }

        /// The next response frame the handler writes.
        func response() async throws -> ResponseFrame {
            var buffer = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
            let length = buffer.readInteger(endianness: .big, as: UInt32.self)!
            #expect(Int(length) == buffer.readableBytes)
            return try ResponseFrame(decoding: buffer.readBytes(length: buffer.readableBytes)!)
        }
    }

    static func connection(
        maxConcurrentCalls: Int = 8,
        maxOutboundBytes: Int = 16 << 20,
        idle: Duration = .seconds(300),
        frameRead: Duration = .seconds(10)
    ) async throws -> Connection {
        let gate = Gate()
        var router = RPCRouter()
        router.register(hold) { _, _ in
            try await gate.wait()
            return PingResponse(version: "held")
        }
        router.registerInline(TestMethods.ping) { _, _ in PingResponse(version: "test", serverTimeMs: 1) }
        let configuration = RPCServerConfiguration(
            maxConcurrentCallsPerConnection: maxConcurrentCalls,
            idleTimeout: idle,
            frameReadTimeout: frameRead,
            maxOutboundBytesPerConnection: maxOutboundBytes
        )
        let reads = ReadCounter()
        let stall = Stall()
        let channel = NIOAsyncTestingChannel()
        let served = router
        try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.addHandlers([
                reads, stall, ByteToMessageHandler(FrameDecoder()),
                ServerConnectionHandler(router: served, configuration: configuration, logger: Logger(label: "test")),
            ])
        }
        try await channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 40000))
        return Connection(channel: channel, gate: gate, reads: reads, stall: stall)
    }

    @Test func aCancelFrameEndsOneCallAndTheConnectionGoesOn() async throws {
        let c = try await Self.connection()
        try await c.call(1, Self.hold.name)
        try await c.gate.untilStarted(1)
        try await c.send(RequestFrame(header: RequestHeader(callID: 1), cancel: true))
        let cancelled = try await c.response()
        #expect(cancelled.callID == 1 && cancelled.end?.status?.code == .cancelled)
        try await eventually { c.gate.cancelled == 1 }
        // The same connection serves the next call.
        try await c.call(2, TestMethods.ping.name)
        let answered = try await c.response()
        #expect(answered.callID == 2 && answered.end?.status?.code == .ok)
        // A cancel for a call that is not in flight is ignored.
        try await c.send(RequestFrame(header: RequestHeader(callID: 99), cancel: true))
        try await c.call(3, TestMethods.ping.name)
        #expect(try await c.response().callID == 3)
        #expect(c.channel.isActive)
    }

    @Test func readsWaitWhileCallsWaitForASlot() async throws {
        let c = try await Self.connection(maxConcurrentCalls: 1)
        try await c.call(1, Self.hold.name)
        try await c.gate.untilStarted(1)
        // A second call waits for the slot: the handler reads nothing more meanwhile.
        try await c.call(2, Self.hold.name)
        let before = c.reads.reads.withLockedValue { $0 }
        c.channel.pipeline.read()
        await c.loop.run()
        #expect(c.reads.reads.withLockedValue { $0 } == before, "a read was passed on while a call waits")
        // The first call ends; the second starts; the held read goes on.
        c.gate.releaseAll()
        #expect(try await c.response().callID == 1)
        try await c.gate.untilStarted(2)
        try await eventually { c.reads.reads.withLockedValue { $0 } == before + 1 }
        c.gate.releaseAll()
        #expect(try await c.response().callID == 2)
    }

    @Test func aClientThatDoesNotReadIsCutOffAndItsCallsCancelled() async throws {
        let c = try await Self.connection(maxOutboundBytes: 64)
        try await c.call(1, Self.hold.name)
        try await c.gate.untilStarted(1)
        c.stall.stalled = true
        // Answers pile up unflushed; the socket says it is full.
        for id in UInt64(2)...UInt64(20) { try await c.call(id, TestMethods.ping.name) }
        c.channel.isWritable = false
        c.channel.pipeline.fireChannelWritabilityChanged()
        await c.loop.run()
        // The held call was cancelled, and RESOURCE_EXHAUSTED on call id 0 follows the queue.
        try await eventually { c.gate.cancelled == 1 }
        c.stall.stalled = false
        c.channel.flush()
        var last: ResponseFrame?
        while let frame = try await c.channel.readOutbound(as: ByteBuffer.self) {
            var frame = frame
            _ = frame.readInteger(endianness: .big, as: UInt32.self)
            last = try ResponseFrame(decoding: frame.readBytes(length: frame.readableBytes)!)
        }
        #expect(last?.callID == 0 && last?.end?.status?.code == .resourceExhausted)
        try await eventually { !(c.channel.isActive) }
    }

    @Test func aDeadlineAnswersTheCallAndCancelsItsWork() async throws {
        let c = try await Self.connection()
        try await c.call(1, Self.hold.name, timeoutMs: 100)
        try await c.gate.untilStarted(1)
        await c.loop.advanceTime(by: .milliseconds(99))
        try await c.call(2, TestMethods.ping.name)
        #expect(try await c.response().callID == 2, "nothing is due before the deadline")
        await c.loop.advanceTime(by: .milliseconds(1))
        let expired = try await c.response()
        #expect(expired.callID == 1 && expired.end?.status?.code == .deadlineExceeded)
        try await eventually { c.gate.cancelled == 1 }
    }

    @Test func anIdleConnectionIsClosedAndABusyOneIsNot() async throws {
        let c = try await Self.connection(idle: .seconds(30))
        try await c.call(1, Self.hold.name)
        try await c.gate.untilStarted(1)
        // Past the idle timeout, short of the default unary deadline (60 s): at 60 s the call would
        // be answered DEADLINE_EXCEEDED at once and its work would end later, on its own time, so
        // the response read below would not mark the moment the connection went idle.
        await c.loop.advanceTime(by: .seconds(45))
        #expect(c.channel.isActive, "a call in flight keeps the connection")
        c.gate.releaseAll()
        #expect(try await c.response().callID == 1)
        await c.loop.advanceTime(by: .seconds(29))
        #expect(c.channel.isActive)
        await c.loop.advanceTime(by: .seconds(1))
        try await eventually { !(c.channel.isActive) }
    }

    @Test func aFrameThatDoesNotFinishClosesTheConnection() async throws {
        let c = try await Self.connection(frameRead: .seconds(10))
        var partial = c.channel.allocator.buffer(capacity: 8)
        partial.writeInteger(UInt32(100), endianness: .big)
        partial.writeBytes([1, 2])
        try await c.channel.writeInbound(partial)
        await c.loop.advanceTime(by: .seconds(9))
        #expect(c.channel.isActive)
        await c.loop.advanceTime(by: .seconds(1))
        try await eventually { !(c.channel.isActive) }
    }

    @Test func aLongMethodNameIsRefusedBoundedAndEscaped() async throws {
        let c = try await Self.connection()
        let forged = "x\n2026-12-06 level=critical forged\u{1b}[31m" + String(repeating: "m", count: 5000)
        try await c.call(1, forged)
        let refused = try await c.response()
        #expect(refused.end?.status?.code == .unimplemented)
        let message = refused.end?.status?.message ?? ""
        #expect(!message.contains("\n") && !message.contains("\u{1b}"))
        #expect(message.utf8.count < 400)
    }
}

/// Waits for `condition`, looking again as events arrive, for up to 30 seconds: a generous
/// deadline for a busy machine, not a guessed margin.
func eventually(_ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: .seconds(30))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    if try await condition() { return }
    Issue.record("the condition did not come true within 30 seconds")
}
