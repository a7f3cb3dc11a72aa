import ArgumentParser
import Foundation
import Histogram
import LockboxOptionParsing
import LockboxProto
import LockboxRPC
import NIOConcurrencyHelpers

/// Drives a running lockboxd over the real protocol and reports throughput and latency.

struct LockboxBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockbox-bench",
        abstract: "Load generator for lockboxd: N connections × M calls in flight, warm-up, then a timed run.",
        discussion: """
            Scenarios: ping (RPC layer only), create, decide (internal + customer approval of requests created \
            untimed), check (CheckAccess on an active grant), lifecycle (create → internal approve → customer \
            approve → 5 checks → revoke, timed as one), revoke (RevokeAccess on a grant checked --checks times \
            first, --rounds times, untimed checks), idle (open --connections connections, ping once, hold).
            --flood N runs N more connections beside any scenario, half asking for lists with a token that is \
            no one's, half for the largest page of requests as a support manager, 32 calls in flight each.
            Database scenarios need a provider admin token (lockboxd bootstrap) to create their own tenant and
            principals. Prints a human summary and one JSON line prefixed with "json: ".
            """
    )

    enum Scenario: String, ExpressibleByArgument, CaseIterable {
        case ping, create, decide, check, lifecycle, revoke, idle, search
    }

    @Option(help: "Server address host:port.") var server = "127.0.0.1:7443"
    @Option(help: "Scenario: ping, create, decide, check, lifecycle, revoke, idle or search.") var scenario: Scenario =
        .ping
    @Option(help: "TCP connections.") var connections = 8
    @Option(help: "Calls in flight per connection.") var inFlight = 1
    @Option(help: "Timed run, such as 10s.") var duration = "10s"
    @Option(help: "Warm-up before the timed run, such as 2s.") var warmup = "2s"
    @Option(help: "Provider admin token, for database scenarios. (env LOCKBOX_BENCH_ADMIN_TOKEN)") var adminToken:
        String?
    @Option(help: "Write the fixture's ids and tokens as shell variables to this file (for pgbench).") var fixture:
        String?
    @Option(help: "idle: how long to hold the connections open.") var hold = "5s"
    @Option(help: "revoke: checks on the grant before it is revoked.") var checks = 1
    @Option(help: "search: the tenant whose audit log is paged.") var tenant = ""
    @Option(help: "search: a token that reads that tenant's audit log.") var token = ""
    @Option(help: "search: an activity the page is filtered by (\"\": none).") var activity = ""
    @Option(help: "search: records per page.") var pageSize: UInt32 = 100
    @Option(help: "revoke: grants revoked, one after another.") var rounds = 5
    @Option(help: "Flooding connections beside the scenario (0: none).") var flood = 0
    @Option(
        help: "What the flood sends: mixed (bad tokens and the largest lists) or unauthenticated (bad tokens only)."
    )
    var floodKind = "mixed"

    func run() async throws {
        guard let (host, port) = parseHostPort(server) else {
            throw ValidationError("server must be host:port, got \"\(server)\"")
        }
        guard let runFor = parseDuration(duration), let warm = parseDuration(warmup), let holdFor = parseDuration(hold)
        else {
            throw ValidationError("durations look like 10s or 500ms")
        }
        guard connections > 0, inFlight > 0 else { throw ValidationError("connections and in-flight must be positive") }
        let clients = (0..<connections).map { _ in
            RPCClient(configuration: RPCClientConfiguration(host: host, port: port, defaultTimeout: .seconds(30)))
        }
        defer { for client in clients { Task { await client.close() } } }

        if scenario == .idle {
            for client in clients { _ = try await client.unary(LockboxMethods.ping, PingRequest()) }
            print("holding \(connections) idle connections for \(formatDuration(holdFor))")
            fflushStandardOutput()
            try await Task.sleep(for: holdFor)
            return
        }

        var world: World?
        if scenario == .search {
            guard !tenant.isEmpty, !token.isEmpty else { throw ValidationError("search needs --tenant and --token") }
        } else if scenario != .ping {
            guard let token = adminToken ?? ProcessInfo.processInfo.environment["LOCKBOX_BENCH_ADMIN_TOKEN"] else {
                throw ValidationError("the \(scenario) scenario needs --admin-token (from lockboxd bootstrap)")
            }
            world = try await World.make(clients[0], adminToken: token)
            if let fixture { try world!.write(to: fixture) }
        }
        if scenario == .revoke {
            try await RevokeRounds(world: world!, clients: clients, checks: checks, rounds: rounds).run()
            return
        }
        let operation =
            scenario == .search
            ? Operation.search(tenant: tenant, token: token, activity: activity, pageSize: pageSize)
            : try await Operation.make(scenario, world: world, clients: clients)
        guard let kind = Flood.Kind(rawValue: floodKind) else {
            throw ValidationError("--flood-kind must be mixed or unauthenticated")
        }
        let flooding =
            try await flood > 0
            ? Flood.start(world: world, connections: flood, kind: kind, host: host, port: port) : nil
        defer { flooding?.stop() }

        let recorder = Recorder()
        let clock = ContinuousClock()
        let start = clock.now
        let measureFrom = start + warm
        let end = measureFrom + runFor
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, client) in clients.enumerated() {
                for slot in 0..<inFlight {
                    let worker = index * inFlight + slot
                    group.addTask {
                        var local = Histogram<UInt64>(
                            highestTrackableValue: 60_000_000,
                            numberOfSignificantValueDigits: .three
                        )
                        var errors: [String: Int] = [:]
                        var count = 0
                        var iteration = 0
                        while clock.now < end {
                            iteration += 1
                            let timings = await operation.run(client, worker, iteration)
                            let measuring = clock.now >= measureFrom
                            for timing in timings {
                                switch timing {
                                case .success(let micros):
                                    if measuring {
                                        _ = local.record(UInt64(max(1, micros)))
                                        count += 1
                                    }
                                case .failure(let code):
                                    if measuring { errors[code, default: 0] += 1 }
                                }
                            }
                        }
                        recorder.merge(local, count: count, errors: errors)
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Double(runFor.components.seconds) + Double(runFor.components.attoseconds) / 1e18
        recorder.report(
            scenario: scenario.rawValue,
            connections: connections,
            inFlight: inFlight,
            flood: flood,
            floodKind: flood > 0 ? floodKind : "",
            seconds: seconds
        )
    }
}

func fflushStandardOutput() { FileHandle.standardOutput.synchronizeFile() }

/// Collects the workers' histograms and error counts.
final class Recorder: Sendable {
    private let state = NIOLockedValueBox(
        (
            histogram: Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three),
            count: 0, errors: [String: Int]()
        )
    )

    func merge(_ histogram: Histogram<UInt64>, count: Int, errors: [String: Int]) {
        state.withLockedValue { state in
            state.histogram.add(histogram)
            state.count += count
            state.errors.merge(errors, uniquingKeysWith: +)
        }
    }

    func report(scenario: String, connections: Int, inFlight: Int, flood: Int, floodKind: String, seconds: Double) {
        let (histogram, count, errors) = state.withLockedValue { ($0.histogram, $0.count, $0.errors) }
        func ms(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
        let throughput = Double(count) / seconds
        let maxMs = Double(histogram.max) / 1000
        print(
            String(
                format:
                    "%@: %d connections × %d in flight: %.0f ops/s, p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms, %d ok, %d errors",
                scenario,
                connections,
                inFlight,
                throughput,
                ms(50),
                ms(90),
                ms(99),
                maxMs,
                count,
                errors.values.reduce(0, +)
            )
        )
        for (code, number) in errors.sorted(by: { $0.key < $1.key }) { print("  \(code): \(number)") }
        let errorJSON = errors.sorted(by: { $0.key < $1.key }).map { "\"\($0.key)\":\($0.value)" }.joined(
            separator: ","
        )
        print(
            String(
                format:
                    "json: {\"scenario\":\"%@\",\"connections\":%d,\"in_flight\":%d,\"flood\":%d,\"flood_kind\":\"%@\",\"seconds\":%.1f,\"ops\":%d,\"throughput\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"errors\":{%@}}",
                scenario,
                connections,
                inFlight,
                flood,
                floodKind,
                seconds,
                count,
                throughput,
                ms(50),
                ms(90),
                ms(99),
                maxMs,
                errorJSON
            )
        )
    }
}
