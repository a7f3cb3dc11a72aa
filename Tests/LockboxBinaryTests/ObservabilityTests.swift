import Foundation
import LockboxProto
import LockboxRPC
import LockboxTestSupport
import Testing

/// The metrics port of the real lockboxd: Prometheus text after known calls, health and
/// readiness, and JSON log lines.
/// Scrapes a metrics port.
enum Scrape {
    static func metrics(port: Int) throws -> PrometheusSamples {
        try PrometheusSamples(parsing: httpRequest(port: port, path: "/metrics").body)
    }
}

@Suite(.serialized) struct ObservabilityTests {
    /// The metrics port the daemon printed.
    static func metricsPort(_ daemon: Daemon) async throws -> Int {
        var port: Int?
        try await eventually {
            let out = (try? String(contentsOf: daemon.stdoutFile, encoding: .utf8)) ?? ""
            let line = out.split(separator: "\n").first(where: { $0.hasPrefix("lockboxd metrics on ") })
            port = line?.split(separator: ":").last.flatMap({ Int($0) })
            return port != nil
        }
        guard let port else { throw DaemonFailed(stderr: daemon.stderr) }
        return port
    }

    @Test func metricsCountKnownCallsAndHealthAnswers() async throws {
        let url = try await TestDatabase.migratedURLs().runtime
        let daemon = try Daemon(arguments: [
            "serve", "--port", "0", "--database-url", url, "--metrics-port", "0", "--log-format", "json",
        ])
        let port = try await daemon.waitUntilListening()
        let metrics = try await Self.metricsPort(daemon)
        let api = API(client: RPCClient(configuration: RPCClientConfiguration(port: port)))
        for _ in 0..<5 { _ = try await api.call(LockboxMethods.ping, PingRequest(), token: "") }
        let token = "lbx_" + String(repeating: "A", count: 43)
        for _ in 0..<3 {
            #expect(
                await api.status(LockboxMethods.getAccessRequest, GetAccessRequestRequest(requestID: "r"), token: token)
                    == .unauthenticated
            )
        }
        var (status, body) = try httpRequest(port: metrics, path: "/metrics")
        #expect(status == 200)
        var samples = try PrometheusSamples(parsing: body)
        // A call is counted just after its answer is written: let the last one land.
        try await eventually {
            guard
                samples.value("lockbox_rpc_calls_total", ["method": "lockbox.v1.Lockbox/GetAccessRequest"]) != 3
                    || samples.value("lockbox_rpc_calls_in_flight") != 0
            else { return true }
            (status, body) = try httpRequest(port: metrics, path: "/metrics")
            samples = try PrometheusSamples(parsing: body)
            return false
        }
        let ping = "lockbox.v1.Lockbox/Ping"
        let get = "lockbox.v1.Lockbox/GetAccessRequest"
        #expect(samples.value("lockbox_rpc_calls_total", ["method": ping, "status": "OK"]) == 5, "\(body)")
        #expect(samples.value("lockbox_rpc_calls_total", ["method": get, "status": "UNAUTHENTICATED"]) == 3)
        #expect(samples.value("lockbox_rpc_call_duration_seconds_count", ["method": ping]) == 5)
        #expect(samples.value("lockbox_rpc_connections") == 1)
        #expect(samples.value("lockbox_rpc_calls_in_flight") == 0)
        #expect(samples.value("lockbox_db_pool_in_use") != nil)
        // Starting up (the schema's version, the role's rights) waited for the primary pool.
        #expect(samples.value("lockbox_db_pool_wait_seconds_count", ["pool": "primary", "lane": "standard"]) ?? 0 >= 1)
        // The sweeper's first pass (and its count of requests per state) may still be running.
        var background = samples
        try await eventually {
            guard background.value("lockbox_requests", ["state": "COMPLETED"]) == nil else { return true }
            background = try Scrape.metrics(port: metrics)
            return false
        }
        #expect(background.value("lockbox_sweeper_runs_total") ?? 0 >= 1)
        for state in ["PENDING_INTERNAL", "PENDING_CUSTOMER", "APPROVED", "REVOKED", "COMPLETED"] {
            #expect(background.value("lockbox_requests", ["state": state]) == 0, "\(state)")
        }
        // Counters are exported from the start, at 0 until their first event.
        for (name, labels) in [
            ("lockbox_auth_refused_total", ["reason": "address_budget"]),
            ("lockbox_auth_refused_total", ["reason": "enrollment_budget"]),
            ("lockbox_db_pool_refused_total", ["pool": "primary"]),
            ("lockbox_audit_seal_failures_total", [:]),
            ("lockbox_audit_forged_checkpoints_total", [:]),
            ("lockbox_notifications_failed_total", ["channel": "webhook"]),
            ("lockbox_sweeper_failures_total", [:]),
            ("lockbox_rpc_connections_refused_total", [:]),
        ] as [(String, [String: String])] {
            #expect(samples.value(name, labels) == 0, "\(name) \(labels)")
        }
        // Methods the server does not serve share one label: a client cannot invent series.
        #expect(!body.contains("NoSuchMethod"))

        #expect(try httpRequest(port: metrics, path: "/healthz").status == 200)
        #expect(try httpRequest(port: metrics, path: "/readyz").status == 200)
        #expect(try httpRequest(port: metrics, path: "/nothing").status == 404)
        #expect(try httpRequest(port: metrics, path: "/metrics", method: "POST").status == 405)
        await api.client.close()

        // Every line is a JSON object; a call's lines carry its id and method.
        daemon.terminate()
        #expect(try await daemon.waitForExit() == 0)
        let lines = daemon.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        var callLines = 0
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["message"] is String && object?["level"] is String, "\(line)")
            if object?["message"] as? String == "call" {
                callLines += 1
                #expect(object?["call.id"] is String && object?["call.method"] is String, "\(line)")
            }
        }
        #expect(callLines == 8)
    }

    /// The database host goes silent: /readyz says so (503) while /healthz still answers, and
    /// readiness returns with the database.
    @Test func readinessFollowsTheDatabase() async throws {
        let database = try await TestDatabase.migratedURLs()
        var direct = try #require(URLComponents(string: database.runtime))
        let proxy = try await TCPProxy(targetPort: try #require(direct.port))
        direct.port = proxy.port
        let daemon = try Daemon(arguments: [
            "serve", "--port", "0", "--database-url", try #require(direct.string), "--metrics-port", "0",
            "--db-statement-timeout", "1s", "--db-reply-timeout", "2s", "--db-connect-timeout", "2s",
        ])
        _ = try await daemon.waitUntilListening()
        let metrics = try await Self.metricsPort(daemon)
        #expect(try httpRequest(port: metrics, path: "/readyz").status == 200)
        proxy.pause()
        // Answers are kept for a second, so that health checks cannot load the database.
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try httpRequest(port: metrics, path: "/readyz").status == 503)
        #expect(try httpRequest(port: metrics, path: "/healthz").status == 200)
        proxy.resume()
        #expect(try await eventually { try httpRequest(port: metrics, path: "/readyz").status == 200 })
        daemon.terminate()
        #expect(try await daemon.waitForExit() == 0, "\(daemon.stderr)")
        await proxy.close()
    }
}
