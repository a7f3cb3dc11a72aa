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
            let seen = NIOLockedValueBox([StatusCode]())
            let traffic = Task {
                while !stop.withLockedValue({ $0 }) {
                    let code = await h.status(
                        LockboxMethods.getAccessRequest,
                        GetAccessRequestRequest(requestID: committed),
                        token: w.managerToken
                    )
                    seen.withLockedValue { $0.append(code) }
                }
                return seen.withLockedValue { $0 }
            }
            // The database goes away once calls are being served, however long that takes here.
            #expect(try await eventually { seen.withLockedValue { $0.contains(.ok) } })
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

    /// The database host goes silent: a proxy between lockboxd and PostgreSQL stops
    /// forwarding, closing nothing, so no reset ever reaches libpq. Calls still end in
    /// UNAVAILABLE, well within their 10 s deadlines (the reply and connect timeouts end each
    /// wait, and the dead connection is discarded), and service comes back by itself once the
    /// proxy forwards again.
    @Test func aSilentDatabaseHostFailsCallsInTimeAndServiceRecovers() async throws {
        let database = try await TestDatabase.migratedURLs()
        var direct = try #require(URLComponents(string: database.runtime))
        let proxy = try await TCPProxy(targetPort: try #require(direct.port))
        direct.port = proxy.port
        let daemon = try Daemon(arguments: [
            "serve", "--port", "0", "--database-url", try #require(direct.string), "--pool-size", "4",
            "--db-statement-timeout", "1s", "--db-reply-timeout", "2s", "--db-connect-timeout", "2s",
        ])
        let client = RPCClient(configuration: RPCClientConfiguration(port: try await daemon.waitUntilListening()))
        let api = API(client: client)
        let world = try await api.makeWorld(adminToken: try ReplicaTests.bootstrap(database.runtime))
        let id = try await api.createRequest(world).id
        let get = GetAccessRequestRequest(requestID: id)
        let options = CallOptions(timeout: .seconds(10), authToken: world.managerToken)

        proxy.pause()
        let clock = ContinuousClock()
        let start = clock.now
        let codes = await withTaskGroup(of: StatusCode.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        _ = try await client.unary(LockboxMethods.getAccessRequest, get, options: options)
                        return .ok
                    } catch let error as RPCError {
                        return error.code
                    } catch {
                        return .unknown
                    }
                }
            }
            return await group.reduce(into: [StatusCode]()) { $0.append($1) }
        }
        let failedWithin = clock.now - start
        #expect(codes.allSatisfy { $0 == .unavailable }, "\(codes)")
        #expect(failedWithin < .seconds(10), "every call ended before its deadline: \(failedWithin)")
        // The server itself answers meanwhile.
        #expect(try await client.unary(LockboxMethods.ping, PingRequest()).version == LockboxVersion.current)

        proxy.resume()
        let deadline = clock.now + .seconds(30)
        var recovered: AccessRequest?
        while clock.now < deadline, recovered == nil {
            recovered = try? await client.unary(LockboxMethods.getAccessRequest, get, options: options)
            if recovered == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(recovered?.id == id, "service came back without a restart")
        await client.close()
        daemon.terminate()
        #expect(try await daemon.waitForExit() == 0, "\(daemon.stderr.suffix(2000))")
        await proxy.close()
        #expect(daemon.stderr.contains("database timed out") || daemon.stderr.contains("database unavailable"))
        print("silent database host: 8 calls failed UNAVAILABLE within \(failedWithin)")
    }
}
