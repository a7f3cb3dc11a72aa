import Foundation
import LockboxProto
import LockboxRPC
import NIOConcurrencyHelpers

/// Connections that flood the server beside a scenario, 32 calls in flight each, ignoring every
/// answer. `mixed`: half ask for lists with a token that is no one's, half for the largest page
/// of requests as a support manager. `unauthenticated`: every call carries a token that is no
/// one's (old form, new form with a failing checksum, none).
struct Flood: Sendable {
    enum Kind: String, CaseIterable, Sendable {
        case mixed
        case unauthenticated
    }

    let tasks: [Task<Void, Never>]
    let clients: [RPCClient]

    static func start(world: World?, connections: Int, kind: Kind, host: String, port: Int) async throws -> Flood {
        guard let world else { throw FloodNeedsAWorld() }
        // Something to list: 300 requests, made untimed.
        let setup = RPCClient(configuration: RPCClientConfiguration(host: host, port: port))
        for index in 0..<300 {
            _ = try await setup.unary(
                LockboxMethods.createAccessRequest,
                CreateAccessRequestRequest(
                    tenantID: world.tenant,
                    service: .sharepoint,
                    ticketNumber: "F-\(index)",
                    justification: "flood fixture",
                    requestedDurationSeconds: 3600
                ),
                options: CallOptions(authToken: world.operatorToken)
            )
        }
        await setup.close()
        let strangers = [
            "lbx_" + String(repeating: "x", count: 43), "lbx_" + String(repeating: "y", count: 51), "",
        ]
        var tasks: [Task<Void, Never>] = []
        var clients: [RPCClient] = []
        for index in 0..<connections {
            let client = RPCClient(
                configuration: RPCClientConfiguration(host: host, port: port, defaultTimeout: .seconds(10))
            )
            clients.append(client)
            let token =
                kind == .unauthenticated || index % 2 == 0 ? strangers[index % strangers.count] : world.managerToken
            for _ in 0..<32 {
                tasks.append(
                    Task {
                        while !Task.isCancelled {
                            _ = try? await client.unary(
                                LockboxMethods.listAccessRequests,
                                ListAccessRequestsRequest(pageSize: 500),
                                options: CallOptions(authToken: token)
                            )
                        }
                    }
                )
            }
        }
        print("flooding (\(kind.rawValue)) with \(connections) connections × 32 calls in flight")
        return Flood(tasks: tasks, clients: clients)
    }

    func stop() {
        for task in tasks { task.cancel() }
        for client in clients { Task { await client.close() } }
    }
}

struct FloodNeedsAWorld: Error, CustomStringConvertible {
    var description: String { "--flood needs a database scenario (and --admin-token)" }
}

/// The revoke scenario: a grant is checked `checks` times (untimed, on every connection at
/// once), then revoked, timed; `rounds` times. Revocation reads the grant's usage, so this
/// shows whether its cost grows with how much the grant was used.
struct RevokeRounds {
    let world: World
    let clients: [RPCClient]
    let checks: Int
    let rounds: Int

    func run() async throws {
        let client = clients[0]
        func call<Request, Response>(_ method: UnaryMethod<Request, Response>, _ request: Request, token: String)
            async throws -> Response
        {
            try await client.unary(method, request, options: CallOptions(authToken: token))
        }
        var latencies: [Double] = []
        for round in 0..<rounds {
            let id = try await call(
                LockboxMethods.createAccessRequest,
                CreateAccessRequestRequest(
                    tenantID: world.tenant,
                    service: .exchange,
                    ticketNumber: "R-\(round)",
                    justification: "benchmark",
                    requestedDurationSeconds: 14400
                ),
                token: world.operatorToken
            ).id
            _ = try await call(
                LockboxMethods.decideInternal,
                InternalDecision(requestID: id, approve: true),
                token: world.managerToken
            )
            _ = try await call(
                LockboxMethods.decideCustomer,
                try await world.approval(client, id),
                token: world.approverToken
            )
            let remaining = NIOLockedValueBox(checks)
            let check = world.checkRequest
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in clients {
                    for _ in 0..<4 {
                        group.addTask {
                            while remaining.withLockedValue({ left in
                                guard left > 0 else { return false }
                                left -= 1
                                return true
                            }) {
                                let answer = try await worker.unary(
                                    LockboxMethods.checkAccess,
                                    check,
                                    options: CallOptions(authToken: world.serviceToken)
                                )
                                guard answer.allowed else { throw CheckDenied() }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let clock = ContinuousClock()
            let start = clock.now
            let revoked = try await call(
                LockboxMethods.revokeAccess,
                RevokeAccessRequest(requestID: id),
                token: world.approverToken
            )
            let elapsed = clock.now - start
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            latencies.append(ms)
            print(
                String(
                    format: "round %d: revoke after %d checks took %.3f ms (usage reported: %d)",
                    round + 1,
                    checks,
                    ms,
                    revoked.operationsPerformed
                )
            )
        }
        latencies.sort()
        let median = latencies[latencies.count / 2]
        print(String(format: "revoke after %d checks: median %.3f ms over %d rounds", checks, median, rounds))
        print(
            String(
                format: "json: {\"scenario\":\"revoke\",\"checks\":%d,\"rounds\":%d,\"median_ms\":%.3f}",
                checks,
                rounds,
                median
            )
        )
    }
}

struct CheckDenied: Error, CustomStringConvertible {
    var description: String { "a check on the benchmark grant was denied" }
}
