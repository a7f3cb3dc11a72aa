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

@Suite struct DatabaseLossTests {
    @Test func clientsGetUnavailableAndTheServerRecoversByItself() async throws {
        let postgres = try PrivatePostgres()
        defer { postgres.destroy() }
        try await Harness.with(database: postgres.urls) { h in
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
