import Foundation
#if canImport(Glibc)
    import Glibc
#endif

package struct PeerFailed: Error, CustomStringConvertible {
    package let what: String
    package var description: String { what }
}

/// A real helper process of `scripts/` (Debian's Python 3): started, waited for, stopped.
package class ScriptPeer {
    package let process = Process()
    package let directory: URL
    package let port: Int

    init(script: String, arguments: [String], directory: URL? = nil) async throws {
        self.directory =
            directory ?? FileManager.default.temporaryDirectory.appending(path: "\(script)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        port = try PrivatePostgres.freePort()
        let ready = self.directory.appending(path: "ready")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments =
            [packageRoot.appending(path: "scripts/\(script)").path, "--port", "\(port)", "--dir", self.directory.path]
            + ["--ready-file", ready.path]
            + arguments.map { $0.replacingOccurrences(of: "{dir}", with: self.directory.path) }
        let log = self.directory.appending(path: "stderr")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        let process = self.process
        if try await eventually(
            timeout: .seconds(30),
            { FileManager.default.fileExists(atPath: ready.path) || !process.isRunning }
        ),
            FileManager.default.fileExists(atPath: ready.path)
        {
            return
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw PeerFailed(what: "\(script) did not start: \(text)")
    }

    /// Stops the process: SIGTERM, then SIGKILL if it is still there a second later.
    /// Reads until `condition` holds on what `read` returns, for up to `timeout`; returns the last read.
    func poll<Value>(timeout: Duration, _ read: () -> Value, until condition: (Value) -> Bool) async throws -> Value {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            let current = read()
            if condition(current) { return current }
            try await Task.sleep(for: .milliseconds(50))
        }
        return read()
    }

    package func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<100 where process.isRunning { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

/// `scripts/smtp-sink`: a real SMTP server (aiosmtpd) that stores what it accepts.
package final class SMTPSink: ScriptPeer {
    /// One accepted message, as the sink decoded it.
    package struct Message: Decodable, Sendable {
        package var mail_from: String
        package var rcpt_tos: [String]
        package var message_id: String
        package var subject: String?
        package var headers: [String: String]
        package var body: String?
    }

    /// - Parameters:
    ///   - refuseFirst: answers each message's first attempts 451 (try again later).
    ///   - stallFirst: holds the first RCPT this long, for a test to kill the sender meanwhile.
    ///   - requireAuth: `user:password` the relay requires (SMTP AUTH) before it takes mail.
    package init(refuseFirst: Int = 0, stallFirst: Int = 0, requireAuth: String? = nil, directory: URL? = nil)
        async throws
    {
        try await super.init(
            script: "smtp-sink",
            arguments: ["--refuse-first", "\(refuseFirst)", "--stall-first", "\(stallFirst)"]
                + (requireAuth.map { ["--require-auth", $0] } ?? []),
            directory: directory
        )
    }

    package func messages() -> [Message] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".json") }.sorted()
        return names.compactMap { name in
            guard let data = try? Data(contentsOf: directory.appending(path: name)) else { return nil }
            return try? JSONDecoder().decode(Message.self, from: data)
        }
    }

    /// Lines of events.log: `attempt <message-id> accepted|refused`, `stalled <peer>`.
    package func events() -> [String] {
        let text = (try? String(contentsOf: directory.appending(path: "events.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    /// Waits until `condition` holds on the messages, for up to `timeout`.
    package func wait(timeout: Duration = .seconds(20), until condition: ([Message]) -> Bool) async throws
        -> [Message]
    {
        try await poll(timeout: timeout, messages, until: condition)
    }
}

/// `scripts/webhook-receiver`: an HTTPS server that records webhook deliveries and checks
/// their signatures with the secret a test writes to `secretFile`.
package final class WebhookReceiver: ScriptPeer {
    package struct Delivery: Decodable, Sendable {
        package var headers: [String: String]
        package var body: String
        package var status: Int
        package var signature_valid: Bool?
    }

    package var secretFile: URL { directory.appending(path: "secret") }

    /// - Parameter certificates: a directory scripts/tls-dev-certs made (server.pem, server.key).
    package init(certificates: URL, failFirst: Int = 0, alwaysFail: Bool = false) async throws {
        var arguments = [
            "--cert", certificates.appending(path: "server.pem").path, "--key",
            certificates.appending(path: "server.key").path, "--fail-first", "\(failFirst)", "--secret-file",
            "{dir}/secret",
        ]
        if alwaysFail { arguments.append("--always-fail") }
        try await super.init(script: "webhook-receiver", arguments: arguments)
    }

    package func setSecret(_ secret: String) throws {
        try Data(secret.utf8).write(to: secretFile)
    }

    package func deliveries() -> [Delivery] {
        let text = (try? String(contentsOf: directory.appending(path: "requests.jsonl"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Delivery.self, from: Data($0.utf8)) }
    }

    package func wait(timeout: Duration = .seconds(20), until condition: ([Delivery]) -> Bool) async throws
        -> [Delivery]
    {
        try await poll(timeout: timeout, deliveries, until: condition)
    }
}
