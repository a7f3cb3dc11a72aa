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
    var running: Int { state.withLockedValue { $0.running } }
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
