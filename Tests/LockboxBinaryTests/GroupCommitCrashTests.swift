import Foundation
import NIOConcurrencyHelpers
#if canImport(Glibc)
    import Glibc
#endif
import LockboxProto
import LockboxRPC
@testable import LockboxStore
import LockboxTestSupport
import Testing

/// Group commit must never answer "allowed" before the record of that check is durable. These
/// run the release lockboxd under eight clients' checks, each check marked by its own client
/// address, then break it mid-group: kill -9 of lockboxd, and its database connections
/// terminated under it. Every check answered allowed must be in the audit log, and the grant's
/// usage must count exactly the allowed records.
@Suite(.serialized) struct GroupCommitCrashTests {
    struct Setup {
        let urls: TestDatabaseURLs
        let daemon: Daemon
        let api: API
        let world: API.World
    }

    static func setUp() async throws -> Setup {
        let urls = try await TestDatabase.migratedURLs()
        let daemon = try Daemon(arguments: [
            "serve", "--port", "0", "--database-url", urls.runtime, "--pool-size", "6",
        ])
        let port = try await daemon.waitUntilListening()
        let api = API(
            client: RPCClient(configuration: RPCClientConfiguration(port: port, defaultTimeout: .seconds(20)))
        )
        let world = try await api.makeWorld(adminToken: try ReplicaTests.bootstrap(urls.runtime))
        let request = try await api.createRequest(world)
        try await api.approveInternally(world, request.id)
        try await api.approveByCustomer(world, request.id)
        return Setup(urls: urls, daemon: daemon, api: api, world: world)
    }

    static func check(_ world: API.World, ip: String) -> CheckAccessRequest {
        CheckAccessRequest(
            tenantID: "contoso",
            service: .exchange,
            operatorID: world.operatorID,
            operation: "Get-Mailbox",
            clientIP: ip
        )
    }

    /// Each check's own address: worker, then a running number.
    static func address(_ worker: Int, _ index: Int) -> String { "10.\(worker).\(index / 256).\(index % 256)" }

    /// The addresses of the allowed checks in the log, and the grant's counted uses.
    static func recorded(_ urls: TestDatabaseURLs) throws -> (addresses: Set<String>, allowed: Int64, used: Int64) {
        let db = try PGConnection(url: urls.owner)
        let rows = try db.query(
            """
            SELECT actor_ip FROM audit_records
            WHERE activity = 'Get-Mailbox' AND details->>'allowed' = 'true'
            """
        ).rows
        let used = try db.query("SELECT coalesce(sum(operations), 0)::bigint AS n FROM grant_usage").first!
            .decode("n", as: Int64.self)
        let addresses = try rows.map { try $0.decode("actor_ip", as: String.self) }
        return (Set(addresses), Int64(addresses.count), used)
    }

    @Test func killNineMidGroupLosesNoAllowedCheck() async throws {
        let setup = try await Self.setUp()
        let (api, world, urls) = (setup.api, setup.world, setup.urls)
        let pid = setup.daemon.process.processIdentifier
        let answered = NIOLockedValueBox(Set<String>())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for index in 0..<100_000 {
                        let ip = Self.address(worker, index)
                        do {
                            let answer = try await api.call(
                                LockboxMethods.checkAccess,
                                Self.check(world, ip: ip),
                                token: world.serviceToken
                            )
                            #expect(answer.allowed)
                            answered.withLockedValue { _ = $0.insert(ip) }
                        } catch is RPCError {
                            return  // lockboxd is gone
                        }
                    }
                }
            }
            group.addTask {
                try await eventually(timeout: .seconds(120), poll: .milliseconds(5)) {
                    answered.withLockedValue { $0.count } >= 400
                }
                kill(pid, SIGKILL)
            }
            try await group.waitForAll()
        }
        _ = try await setup.daemon.waitForExit()
        await setup.api.client.close()
        let acknowledged = answered.withLockedValue { $0 }
        let log = try Self.recorded(setup.urls)
        #expect(acknowledged.count >= 400)
        #expect(acknowledged.subtracting(log.addresses).isEmpty, "answered allowed, not recorded")
        #expect(log.used == log.allowed, "usage counts exactly the allowed records")
        print("kill -9 mid-group: \(acknowledged.count) answered allowed, \(log.allowed) recorded")

        // A new lockboxd on the same database serves, and counts on from there.
        let again = try Daemon(arguments: ["serve", "--port", "0", "--database-url", setup.urls.runtime])
        let port = try await again.waitUntilListening()
        let restarted = API(
            client: RPCClient(configuration: RPCClientConfiguration(port: port, defaultTimeout: .seconds(20)))
        )
        let answer = try await restarted.call(
            LockboxMethods.checkAccess,
            Self.check(setup.world, ip: "10.9.9.9"),
            token: setup.world.serviceToken
        )
        #expect(answer.allowed)
        #expect(try Self.recorded(setup.urls).addresses.contains("10.9.9.9"))
        await restarted.client.close()
        again.terminate()
        #expect(try await again.waitForExit() == 0, "\(again.stderr)")
    }

    @Test func aLostDatabaseConnectionMidGroupLosesNoAllowedCheck() async throws {
        let setup = try await Self.setUp()
        let (api, world, urls) = (setup.api, setup.world, setup.urls)
        let answered = NIOLockedValueBox(Set<String>())
        let statuses = NIOLockedValueBox([StatusCode: Int]())
        let killing = NIOLockedValueBox(true)
        let afterKilling = NIOLockedValueBox(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var index = 0
                    // Until the killing has stopped and this worker has been answered 20 times
                    // since: the server recovered by itself.
                    var since = 0
                    while since < 20 {
                        index += 1
                        let ip = Self.address(worker, index)
                        do {
                            let answer = try await api.call(
                                LockboxMethods.checkAccess,
                                Self.check(world, ip: ip),
                                token: world.serviceToken
                            )
                            #expect(answer.allowed)
                            answered.withLockedValue { _ = $0.insert(ip) }
                            statuses.withLockedValue { $0[.ok, default: 0] += 1 }
                            if !killing.withLockedValue({ $0 }) {
                                since += 1
                                afterKilling.withLockedValue { $0 += 1 }
                            }
                        } catch let error as RPCError {
                            statuses.withLockedValue { $0[error.code, default: 0] += 1 }
                            #expect(error.code == .unavailable, "\(error)")
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
            }
            group.addTask {
                let superuser = try PGConnection(url: urls.superuser)
                try await eventually(timeout: .seconds(120), poll: .milliseconds(5)) {
                    answered.withLockedValue { $0.count } >= 100
                }
                // Twenty times, the runtime role's connections are terminated under it.
                for _ in 0..<20 {
                    try superuser.query(
                        """
                        SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
                        WHERE datname = \(urls.name) AND usename = \(TestDatabase.runtimeRole)
                        """
                    )
                    try await Task.sleep(for: .milliseconds(100))
                }
                killing.withLockedValue { $0 = false }
            }
            try await group.waitForAll()
        }
        let acknowledged = answered.withLockedValue { $0 }
        let log = try Self.recorded(setup.urls)
        #expect(acknowledged.subtracting(log.addresses).isEmpty, "answered allowed, not recorded")
        #expect(log.used == log.allowed, "usage counts exactly the allowed records")
        #expect(afterKilling.withLockedValue { $0 } >= 160, "every worker was served again")
        print(
            "lost connections mid-group: \(acknowledged.count) answered allowed, \(log.allowed) recorded, statuses \(statuses.withLockedValue { $0 })"
        )
        await setup.api.client.close()
        setup.daemon.terminate()
        #expect(try await setup.daemon.waitForExit() == 0, "\(setup.daemon.stderr)")
    }
}
