import Foundation
import LockboxProto
import LockboxRPC
import LockboxTestSupport
import NIOConcurrencyHelpers
import NIOPosix
import Testing

@testable import LockboxStore

/// Under load the real lockboxd slows down and never turns away a call it could serve: calls
/// wait for the database as long as their deadlines allow, callers take turns, and what cannot
/// be a caller costs no database work at all.
@Suite(.serialized) struct AdmissionTests {
    static func serve(_ url: String, _ extra: [String] = []) async throws -> Daemon {
        let daemon = try Daemon(
            arguments: ["serve", "--port", "0", "--database-url", url, "--log-level", "warning", "--metrics-port", "0"]
                + extra
        )
        _ = try await daemon.waitUntilListening()
        return daemon
    }

    /// Frames of `count` calls from call id `first`, each made by `call(index)`.
    static func calls(from first: UInt64, count: Int, _ call: (Int) -> (String, [UInt8], String)) -> [UInt8] {
        var bytes: [UInt8] = []
        for index in 0..<count {
            let (method, payload, token) = call(index)
            bytes += RawConnection.callBytes(id: first + UInt64(index), method: method, payload: payload, token: token)
        }
        return bytes
    }

    /// Reads `count` answers; returns the codes that were not OK, with their messages.
    static func answers(_ connection: RawConnection, count: Int) async throws -> [String] {
        var failures: [String] = []
        for _ in 0..<count {
            guard let frame = try await connection.next(timeout: .seconds(120)) else {
                failures.append("connection closed")
                break
            }
            if let status = frame.end?.status, status.code != .ok {
                failures.append("\(status.code): \(status.message)")
            }
        }
        return failures
    }

    static func checkAccess(_ world: API.World, operation: String = "Get-Mailbox") -> CheckAccessRequest {
        CheckAccessRequest(
            tenantID: "contoso",
            service: .exchange,
            operatorID: world.operatorID,
            operation: operation,
            clientIP: "10.0.0.1"
        )
    }

    /// One well-behaved client pipelines 1,000 calls on one connection (reads, creates and
    /// checks): every one is answered OK. 128 run at a time; the rest wait, unread.
    @Test func oneConnectionPipeliningAThousandMixedCallsIsAnsweredOK() async throws {
        let url = try await TestDatabase.migratedURLs().runtime
        let daemon = try await Self.serve(url)
        let api = API(client: AbuseTests.client(daemon.port))
        let world = try await api.makeWorld(adminToken: try ReplicaTests.bootstrap(url))
        let granted = try await api.createRequest(world).id
        try await api.approveInternally(world, granted)
        try await api.approveByCustomer(world, granted)
        let create = CreateAccessRequestRequest(
            tenantID: "fabrikam",
            service: .teams,
            ticketNumber: "SR-9",
            justification: "pipelined",
            requestedDurationSeconds: 600
        ).encode()
        let bytes = Self.calls(from: 1, count: 1000) { index in
            switch index % 4 {
            case 0:
                (
                    LockboxMethods.getAccessRequest.name, GetAccessRequestRequest(requestID: granted).encode(),
                    world.operatorToken
                )
            case 1:
                (
                    LockboxMethods.listAccessRequests.name, ListAccessRequestsRequest(pageSize: 50).encode(),
                    world.managerToken
                )
            case 2: (LockboxMethods.createAccessRequest.name, create, world.operatorToken)
            default: (LockboxMethods.checkAccess.name, Self.checkAccess(world).encode(), world.serviceToken)
            }
        }
        let connection = try await RawConnection(port: daemon.port)
        try await connection.send(bytes)
        let failures = try await Self.answers(connection, count: 1000)
        #expect(failures.isEmpty, "\(failures.count) of 1,000 pipelined calls failed: \(failures.prefix(3))")
        await connection.close()
        await api.client.close()
        try await ReplicaTests.stop(daemon)
    }

    /// Fifty connections keep 32 reads each in flight at once (1,600 waiting on 8 database
    /// connections): none is refused.
    @Test func fiftyConnectionsWithThirtyTwoReadsInFlightAreAllServed() async throws {
        let url = try await TestDatabase.migratedURLs().runtime
        let daemon = try await Self.serve(url)
        let api = API(client: AbuseTests.client(daemon.port))
        let world = try await api.makeWorld(adminToken: try ReplicaTests.bootstrap(url))
        for _ in 0..<50 { _ = try await api.createRequest(world) }
        let list = ListAccessRequestsRequest(tenantID: "contoso", pageSize: 50).encode()
        let tokens = [world.managerToken, world.contosoAdmin, world.auditorToken, world.contosoApprover]
        let connections = try await (0..<50).asyncMap { _ in try await RawConnection(port: daemon.port) }
        let failures = try await withThrowingTaskGroup(of: [String].self) { group in
            for (index, connection) in connections.enumerated() {
                group.addTask {
                    for round in 0..<3 {
                        let bytes = Self.calls(from: UInt64(round * 32 + 1), count: 32) { _ in
                            (LockboxMethods.listAccessRequests.name, list, tokens[index % tokens.count])
                        }
                        try await connection.send(bytes)
                        let failed = try await Self.answers(connection, count: 32)
                        if !failed.isEmpty { return failed }
                    }
                    return []
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(failures.isEmpty, "\(failures.count) of 4,800 reads failed: \(failures.prefix(3))")
        for connection in connections { await connection.close() }
        await api.client.close()
        try await ReplicaTests.stop(daemon)
    }

    /// A flood of tokens that cannot be anyone's, from 127.0.0.2, while legitimate clients
    /// call from 127.0.0.1: at least 99% of theirs succeed, and the flood takes no database
    /// connection, and under 1% of its calls in database commits.
    @Test func aGarbageTokenFloodCostsTheDatabaseNothing() async throws {
        let urls = try await TestDatabase.migratedURLs()
        let daemon = try await Self.serve(urls.runtime)
        let metrics = try await ObservabilityTests.metricsPort(daemon)
        let api = API(client: AbuseTests.client(daemon.port))
        let world = try await api.makeWorld(adminToken: try ReplicaTests.bootstrap(urls.runtime))
        let granted = try await api.createRequest(world).id
        try await api.approveInternally(world, granted)
        try await api.approveByCustomer(world, granted)
        let superuser = PGPool(configuration: PGPoolConfiguration(url: urls.superuser, size: 1), logger: testLogger)
        func commits() async throws -> Int64 {
            try await superuser.withConnection { db in
                try db.query("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
                    .first!.decode("xact_commit")
            }
        }
        let commitsBefore = try await commits()
        let checkoutsBefore = try Scrape.metrics(port: metrics).sum(
            "lockbox_db_pool_wait_seconds_count",
            ["pool": "primary"]
        )

        // Garbage of both forms: the old length, and the new one with a checksum that fails.
        let garbage = [
            "lbx_" + String(repeating: "A", count: 43), "lbx_" + String(repeating: "B", count: 51),
            "lbx_not-a-token", "",
        ]
        let list = ListAccessRequestsRequest(pageSize: 500).encode()
        let floodLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let flooders = try await (0..<8).asyncMap { _ in
            try await RawConnection(port: daemon.port, keeping: false, from: "127.0.0.2", group: floodLoop)
        }
        let end = ContinuousClock.now + .seconds(20)
        let floods = flooders.enumerated().map { index, connection in
            Task {
                let batch = Self.calls(from: 1, count: 100) { call in
                    (LockboxMethods.listAccessRequests.name, list, garbage[(index + call) % garbage.count])
                }
                var sent = 0
                while ContinuousClock.now < end && !Task.isCancelled {
                    do { try await connection.send(batch) } catch { break }
                    sent += 100
                    while connection.received < sent && !connection.isClosed && !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(1))
                    }
                }
                return sent
            }
        }
        var legitimate = 0
        var failures: [String] = []
        while ContinuousClock.now < end {
            do {
                let answer = try await api.client.unary(
                    LockboxMethods.checkAccess,
                    Self.checkAccess(world),
                    options: CallOptions(timeout: .seconds(5), authToken: world.serviceToken)
                )
                #expect(answer.allowed)
            } catch {
                failures.append("\(error)")
            }
            legitimate += 1
        }
        var flood = 0
        for task in floods { flood += await task.value }
        let checkouts =
            try Scrape.metrics(port: metrics).sum("lockbox_db_pool_wait_seconds_count", ["pool": "primary"])
            - checkoutsBefore
        for connection in flooders { await connection.close() }
        try await floodLoop.shutdownGracefully()
        await api.client.close()
        // Its backends flush their statistics as they exit.
        try await ReplicaTests.stop(daemon)
        let commitGrowth = try await commits() - commitsBefore
        await superuser.shutdown()
        print(
            "garbage flood: \(flood) calls, \(legitimate) legitimate checks, \(failures.count) failed; "
                + "\(Int(checkouts)) pool checkouts, \(commitGrowth) commits"
        )
        #expect(flood >= 20_000, "the flood was answered: \(flood)")
        #expect(Double(failures.count) <= Double(legitimate) * 0.01, "\(failures.prefix(3))")
        // Every legitimate check takes one checkout; the flood takes none.
        #expect(checkouts <= Double(legitimate + 20), "\(checkouts) checkouts for \(legitimate) checks")
        #expect(Double(commitGrowth) < Double(flood) * 0.01 + Double(legitimate) + 200)
        #expect(Double(commitGrowth - Int64(legitimate)) < Double(flood) * 0.01)
    }

    /// During a flood of the most expensive reads, a service token made a moment ago, and then a
    /// replica started a moment ago, each answer their first CheckAccess within its deadline:
    /// a service's checks have their own share from the first call.
    @Test func aNewServiceTokensFirstCheckAndANewReplicasAreServedDuringAFlood() async throws {
        let url = try await TestDatabase.migratedURLs().runtime
        let first = try await Self.serve(url)
        let api = API(client: AbuseTests.client(first.port))
        let world = try await api.makeWorld(adminToken: try ReplicaTests.bootstrap(url))
        let granted = try await api.createRequest(world).id
        try await api.approveInternally(world, granted)
        try await api.approveByCustomer(world, granted)
        for _ in 0..<300 { _ = try await api.createRequest(world, tenant: "fabrikam") }

        let list = ListAccessRequestsRequest(pageSize: 500).encode()
        let floodLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let end = ContinuousClock.now + .seconds(40)
        func flood(_ port: Int) async throws -> [Task<Void, Never>] {
            let flooders = try await (0..<25).asyncMap { _ in
                try await RawConnection(port: port, keeping: false, group: floodLoop)
            }
            return flooders.map { connection in
                Task {
                    let batch = Self.calls(from: 1, count: 64) { _ in
                        (LockboxMethods.listAccessRequests.name, list, world.managerToken)
                    }
                    var sent = 0
                    while ContinuousClock.now < end && !Task.isCancelled {
                        do { try await connection.send(batch) } catch { break }
                        sent += 64
                        while connection.received < sent && !connection.isClosed && !Task.isCancelled {
                            try? await Task.sleep(for: .milliseconds(2))
                        }
                    }
                    await connection.close()
                }
            }
        }
        var floods = try await flood(first.port)
        try await Task.sleep(for: .seconds(1))
        // A new data-plane service, and its first check, in the middle of the flood.
        let (token, _) = try await api.principal("Fresh Store", roles: [.service], by: world.providerAdmin)
        let options = CallOptions(timeout: .seconds(2), authToken: token)
        let answer = try await api.client.unary(LockboxMethods.checkAccess, Self.checkAccess(world), options: options)
        #expect(answer.allowed)
        // A replica that has just started, flooded as well: the first check it serves.
        let second = try await Self.serve(url)
        floods += try await flood(second.port)
        try await Task.sleep(for: .seconds(1))
        let fresh = AbuseTests.client(second.port)
        let again = try await fresh.unary(LockboxMethods.checkAccess, Self.checkAccess(world), options: options)
        #expect(again.allowed)
        for task in floods { task.cancel() }
        for task in floods { await task.value }
        try await floodLoop.shutdownGracefully()
        await fresh.close()
        await api.client.close()
        try await ReplicaTests.stop(first, second)
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

extension PrometheusSamples {
    /// The sum of a metric over the label sets that have `labels`.
    func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
            .map(\.value).reduce(0, +)
    }
}
