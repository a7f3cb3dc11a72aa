import Foundation
import NIOConcurrencyHelpers
#if canImport(Glibc)
    import Glibc
#endif
import LockboxProto
import LockboxRPC
import LockboxServer
import LockboxStore
import LockboxTestSupport
import Testing

/// A PostgreSQL of the test's own, so stopping it disturbs no other test.
final class PrivatePostgres: Sendable {
    let directory: String
    let port: Int
    let script: String

    init() throws {
        guard let script = ProcessInfo.processInfo.environment["LOCKBOX_TEST_PG_SCRIPT"], !script.isEmpty else {
            throw TestDatabase.NotConfigured()
        }
        self.script = script
        directory =
            FileManager.default.temporaryDirectory.appending(path: "lockbox-pg-\(UUID().uuidString.prefix(8))").path
        port = try Self.freePort()
        do {
            try run("start", String(port), "--fast")
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// A loopback port the kernel says is free now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Int32 in
                guard bind(fd, raw, length) == 0 else { return -1 }
                return getsockname(fd, raw, &length)
            }
        }
        guard bound == 0 else { throw DaemonFailed(stderr: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    var url: String { "postgresql://lockbox@127.0.0.1:\(port)/postgres" }

    func run(_ arguments: String...) throws {
        let output = try Binaries.runPath(script, [arguments[0], directory] + arguments.dropFirst())
        guard output.status == 0 else { throw DaemonFailed(stderr: output.stderr) }
    }

    func stop() throws { try run("stop") }
    func start() throws { try run("start", String(port)) }

    func destroy() {
        try? stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite struct DatabaseLossTests {
    @Test func clientsGetUnavailableAndTheServerRecoversByItself() async throws {
        let postgres = try PrivatePostgres()
        defer { postgres.destroy() }
        try await Harness.with(databaseURL: postgres.url) { h in
            let w = try await h.makeWorld()
            let committed = try await h.createRequest(w).id

            // Calls keep coming while PostgreSQL goes away under them.
            let stop = NIOLockedValueBox(false)
            let traffic = Task {
                var codes: [StatusCode] = []
                while !stop.withLockedValue({ $0 }) {
                    codes.append(
                        await h.status(
                            LockboxMethods.getAccessRequest,
                            GetAccessRequestRequest(requestID: committed),
                            token: w.managerToken
                        )
                    )
                }
                return codes
            }
            try await Task.sleep(for: .milliseconds(200))
            try postgres.stop()
            try await Task.sleep(for: .milliseconds(300))
            stop.withLockedValue { $0 = true }
            let during = await traffic.value
            #expect(during.contains(.ok), "calls succeeded before the stop")
            #expect(during.contains(.unavailable), "calls failed with UNAVAILABLE after it")
            #expect(
                during.allSatisfy { $0 == .ok || $0 == .unavailable },
                "nothing but OK or UNAVAILABLE: \(Set(during))"
            )
            // With the database down, every call is UNAVAILABLE, and nothing internal leaks.
            let codes = await withTaskGroup(of: StatusCode.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        await h.status(
                            LockboxMethods.getAccessRequest,
                            GetAccessRequestRequest(requestID: committed),
                            token: w.managerToken
                        )
                    }
                }
                return await group.reduce(into: [StatusCode]()) { $0.append($1) }
            }
            #expect(codes.allSatisfy { $0 == .unavailable }, "\(codes)")
            do {
                _ = try await h.createRequest(w)
                Issue.record("create succeeded without a database")
            } catch let error as RPCError {
                #expect(error == RPCError(.unavailable, "database unavailable; try again"))
            }
            // The server itself is alive.
            #expect(try await h.client.unary(LockboxMethods.ping, PingRequest()).version == LockboxVersion.current)

            try postgres.start()
            // No restart: the pool replaces its broken connections.
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(30)
            var recovered: AccessRequest?
            while clock.now < deadline {
                if let request = try? await h.get(committed, token: w.managerToken) {
                    recovered = request
                    break
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(recovered?.id == committed, "the request committed before the outage is still there")
            let after = try await h.createRequest(w)
            #expect(after.status == .pendingInternal)
        }
    }
}
