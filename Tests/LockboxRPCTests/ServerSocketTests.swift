import LockboxProto
import NIOCore
import ServiceLifecycle
import LockboxTestSupport
import Testing

@testable import LockboxRPC

/// The RPC server over real loopback sockets.
@Suite struct ServerSocketTests {
    @Test func oversizedAnnouncedLengthGetsResourceExhaustedThenClose() async throws {
        try await withTestServer { port, _ in
            let raw = try await RawConnection(port: port)
            // 5 MiB announced against the 4 MiB default; no body follows.
            try await raw.send([0x00, 0x50, 0x00, 0x00])
            let frame = try #require(try await raw.next())
            #expect(frame.callID == 0)
            #expect(frame.end?.status?.code == .resourceExhausted)
            #expect(try await raw.next() == nil, "the server closes the connection")
        }
    }

    @Test func halfFrameThenStallIsClosedAfterTheReadTimeout() async throws {
        try await withTestServer({ $0.frameReadTimeout = .milliseconds(300) }) { port, _ in
            let raw = try await RawConnection(port: port)
            try await raw.send([0, 0, 0, 10, 1, 2, 3])
            // The idle timeout is 5 minutes, so only the frame timer can close it this soon.
            #expect(try await raw.next(timeout: .seconds(5)) == nil)
        }
    }

    @Test func garbageGetsInvalidArgumentAndTheConnectionStaysUsable() async throws {
        try await withTestServer { port, _ in
            let raw = try await RawConnection(port: port)
            // An envelope that is not protobuf at all.
            try await raw.send([0, 0, 0, 3, 0xff, 0xff, 0xff])
            let envelopeError = try #require(try await raw.next())
            #expect(envelopeError.callID == 0)
            #expect(envelopeError.end?.status?.code == .invalidArgument)
            // A good envelope whose payload is not the method's request message.
            try await raw.sendCall(id: 7, method: TestMethods.sleep.name, payload: [0x0a, 0x05, 0x01])
            let payloadError = try #require(try await raw.next())
            #expect(payloadError.callID == 7)
            #expect(payloadError.end?.status?.code == .invalidArgument)
            #expect(payloadError.end?.status?.message == "cannot decode lockbox.v1.PingResponse: malformed protobuf")
            // The same connection then completes a Ping.
            try await raw.sendCall(id: 8, method: TestMethods.ping.name, payload: [])
            let pong = try #require(try await raw.next())
            #expect(pong.callID == 8)
            #expect(pong.end?.status?.code == .ok)
            #expect(try PingResponse(decoding: pong.payload).version == "test")
        }
    }

    @Test func missingHeaderOrZeroCallIDIsInvalidArgument() async throws {
        try await withTestServer { port, _ in
            let raw = try await RawConnection(port: port)
            try await raw.send([0, 0, 0, 0])
            #expect(try await raw.next()?.end?.status?.code == .invalidArgument)
            try await raw.sendCall(id: 0, method: TestMethods.ping.name, payload: [])
            #expect(try await raw.next()?.end?.status?.code == .invalidArgument)
        }
    }

    @Test func unknownMethodIsUnimplemented() async throws {
        try await withTestServer { port, _ in
            let client = RPCClient(configuration: RPCClientConfiguration(port: port))
            await #expect(throws: RPCError(.unimplemented, "unknown method \"lockbox.v1.Lockbox/NoSuchMethod\"")) {
                _ = try await client.unary(
                    UnaryMethod<PingRequest, PingResponse>("lockbox.v1.Lockbox/NoSuchMethod"),
                    PingRequest()
                )
            }
            await client.close()
        }
    }

    @Test func thousandConcurrentPingsOnOneConnection() async throws {
        try await withTestServer { port, _ in
            let client = RPCClient(configuration: RPCClientConfiguration(port: port))
            let versions = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<1000 {
                    group.addTask { try await client.unary(TestMethods.ping, PingRequest()).version }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(versions.count == 1000)
            #expect(Set(versions) == ["test"])
            await client.close()

            // The same at the wire: 1,000 calls in one write, each answered under its own call id.
            let raw = try await RawConnection(port: port)
            try await raw.send(
                (1...1000).flatMap {
                    RawConnection.callBytes(id: UInt64($0), method: TestMethods.ping.name, payload: [])
                }
            )
            var seen = Set<UInt64>()
            for _ in 0..<1000 {
                let frame = try #require(try await raw.next())
                #expect(frame.end?.status?.code == .ok)
                seen.insert(frame.callID)
            }
            #expect(seen == Set(1...1000))
        }
    }

    @Test func excessCallsWaitForASlotInsteadOfFailing() async throws {
        let probe = Probe()
        try await withTestServer({ $0.maxConcurrentCallsPerConnection = 2 }, probe: probe) { port, _ in
            let client = RPCClient(configuration: RPCClientConfiguration(port: port))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        _ = try await client.unary(TestMethods.sleep, PingResponse(serverTimeMs: 50))
                    }
                }
                try await group.waitForAll()
            }
            #expect(probe.started == 8)
            #expect(probe.maxRunning == 2)
            await client.close()
        }
    }

    @Test func deadlineShorterThanTheWorkIsDeadlineExceeded() async throws {
        try await withTestServer { port, _ in
            // The server's own answer, seen on the wire.
            let raw = try await RawConnection(port: port)
            try await raw.sendCall(
                id: 3,
                method: TestMethods.sleep.name,
                payload: PingResponse(serverTimeMs: 5000).encode(),
                timeoutMs: 100
            )
            let frame = try #require(try await raw.next(timeout: .seconds(3)))
            #expect(frame.callID == 3)
            #expect(frame.end?.status?.code == .deadlineExceeded)

            // And through the client.
            let client = RPCClient(configuration: RPCClientConfiguration(port: port))
            await #expect(throws: RPCError(.deadlineExceeded, "deadline exceeded")) {
                _ = try await client.unary(
                    TestMethods.sleep,
                    PingResponse(serverTimeMs: 5000),
                    options: CallOptions(timeout: .milliseconds(100))
                )
            }
            // A deadline longer than the work is fine.
            let slept = try await client.unary(
                TestMethods.sleep,
                PingResponse(serverTimeMs: 10),
                options: CallOptions(timeout: .seconds(5))
            )
            #expect(slept.version == "slept")
            await client.close()
        }
    }

    @Test func handlerErrorsDoNotLeakInternals() async throws {
        try await withTestServer { port, _ in
            let client = RPCClient(configuration: RPCClientConfiguration(port: port))
            await #expect(throws: RPCError(.internal, "internal error")) {
                _ = try await client.unary(TestMethods.leak, PingRequest())
            }
            await client.close()
        }
    }

    @Test func serverStreamingDeliversEveryMessageThenStatus() async throws {
        try await withTestServer { port, _ in
            let client = RPCClient(configuration: RPCClientConfiguration(port: port))
            var received: [Int64] = []
            for try await message in client.serverStream(TestMethods.stream, PingResponse(serverTimeMs: 100)) {
                received.append(message.serverTimeMs)
            }
            #expect(received == Array(0..<100))

            var partial = 0
            do {
                for try await _ in client.serverStream(
                    TestMethods.stream,
                    PingResponse(version: "fail", serverTimeMs: 3)
                ) {
                    partial += 1
                }
                Issue.record("the stream should end with NOT_FOUND")
            } catch let error as RPCError {
                #expect(error == RPCError(.notFound, "no more"))
            }
            #expect(partial == 3)
            await client.close()
        }
    }

    @Test func idleConnectionIsClosedAndTheClientReconnects() async throws {
        try await withTestServer({ $0.idleTimeout = .seconds(1) }) { port, _ in
            let raw = try await RawConnection(port: port)
            #expect(try await raw.next(timeout: .seconds(5)) == nil)

            let client = RPCClient(configuration: RPCClientConfiguration(port: port))
            #expect(try await client.unary(TestMethods.ping, PingRequest()).version == "test")
            try await Task.sleep(for: .milliseconds(2500))
            // The server closed the idle connection; the next call opens a new one.
            #expect(try await client.unary(TestMethods.ping, PingRequest()).version == "test")
            await client.close()
        }
    }

    @Test func shutdownFinishesCallsInFlightAndTellsClients() async throws {
        let probe = Probe()
        try await withTestServer(probe: probe) { port, group in
            let client = RPCClient(configuration: RPCClientConfiguration(port: port))
            let watcher = try await RawConnection(port: port)
            let calls = Task {
                try await withThrowingTaskGroup(of: String.self) { tasks in
                    for _ in 0..<5 {
                        tasks.addTask {
                            try await client.unary(TestMethods.sleep, PingResponse(serverTimeMs: 500)).version
                        }
                    }
                    return try await tasks.reduce(into: [String]()) { $0.append($1) }
                }
            }
            while probe.started < 5 { try await Task.sleep(for: .milliseconds(5)) }
            await group.triggerGracefulShutdown()

            let goaway = try #require(try await watcher.next())
            #expect(goaway.goaway)
            #expect(goaway.callID == 0)
            #expect(goaway.end?.status?.code == .unavailable)
            #expect(try await calls.value == Array(repeating: "slept", count: 5))
            await client.close()
        }
    }

    @Test func callsPastTheGracePeriodAreCutOff() async throws {
        let probe = Probe()
        let clock = ContinuousClock()
        let started = clock.now
        try await withTestServer({ $0.shutdownGracePeriod = .milliseconds(200) }, probe: probe) { port, group in
            let client = RPCClient(configuration: RPCClientConfiguration(port: port))
            let call = Task {
                try await client.unary(TestMethods.sleep, PingResponse(serverTimeMs: 60_000))
            }
            while probe.started < 1 { try await Task.sleep(for: .milliseconds(5)) }
            await group.triggerGracefulShutdown()
            await #expect(throws: RPCError.self) { _ = try await call.value }
            await client.close()
        }
        // The server returned instead of waiting a minute for the handler.
        #expect(clock.now - started < .seconds(30))
    }

    @Test func newConnectionsAreRefusedAfterShutdown() async throws {
        var port = 0
        try await withTestServer { boundPort, _ in port = boundPort }
        let client = RPCClient(configuration: RPCClientConfiguration(port: port))
        await #expect(throws: RPCError.self) {
            _ = try await client.unary(TestMethods.ping, PingRequest())
        }
    }
}

@Suite struct CancelFrameTests {
    /// A cancel frame ends one call at once, its work stops, and the connection carries on.
    @Test func aCancelledCallEndsAndTheConnectionGoesOn() async throws {
        let probe = Probe()
        try await withTestServer(probe: probe) { port, _ in
            let raw = try await RawConnection(port: port)
            try await raw.sendCall(
                id: 3,
                method: TestMethods.sleep.name,
                payload: PingResponse(serverTimeMs: 30_000).encode()
            )
            for _ in 0..<100 where probe.running == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(probe.running == 1)
            let cancel = RequestFrame(header: RequestHeader(callID: 3), cancel: true)
            try await raw.send(
                Array(Framing.frame(cancel.encode(), allocator: ByteBufferAllocator()).readableBytesView)
            )
            let frame = try #require(try await raw.next(timeout: .seconds(3)))
            #expect(frame.callID == 3)
            #expect(frame.end?.status?.code == .cancelled)
            for _ in 0..<100 where probe.running > 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(probe.running == 0, "the handler's work was cancelled")
            // A cancel for a call that is not in flight is ignored; the connection still answers.
            try await raw.send(
                Array(Framing.frame(cancel.encode(), allocator: ByteBufferAllocator()).readableBytesView)
            )
            try await raw.sendCall(id: 4, method: TestMethods.ping.name, payload: [])
            let ping = try #require(try await raw.next(timeout: .seconds(3)))
            #expect(ping.callID == 4 && ping.end?.status?.code == .ok)
            await raw.close()
        }
    }

    /// A client that stops reading a stream early ends that call on the server, and its
    /// connection goes on serving other calls.
    @Test func aStreamTheClientLeavesIsCancelledOnTheServer() async throws {
        try await withTestServer { port, _ in
            let client = RPCClient(configuration: RPCClientConfiguration(port: port))
            var received = 0
            for try await _ in client.serverStream(TestMethods.stream, PingResponse(serverTimeMs: 1_000_000)) {
                received += 1
                if received == 3 { break }
            }
            #expect(received == 3)
            // The same connection answers at once: the stream no longer floods it.
            let pong = try await client.unary(
                TestMethods.ping,
                PingRequest(),
                options: CallOptions(timeout: .seconds(2))
            )
            #expect(pong.version == "test")
            await client.close()
        }
    }
}
