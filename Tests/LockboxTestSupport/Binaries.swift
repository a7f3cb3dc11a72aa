import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Testing

/// Finds and runs the real `lockboxd` and `lockbox` executables built beside the test bundle.
package enum Binaries {
    package static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["LOCKBOX_BIN_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }()

    /// The executable `name`. `lockboxd` is the release build when `LOCKBOX_TEST_LOCKBOXD`
    /// names one (scripts/test builds it): the binary that ships, whose speed the abuse
    /// tests' bounds are about.
    package static func url(_ name: String) -> URL {
        if name == "lockboxd", let server = ProcessInfo.processInfo.environment["LOCKBOX_TEST_LOCKBOXD"],
            !server.isEmpty
        {
            return URL(fileURLWithPath: server)
        }
        return directory.appending(path: name)
    }

    package struct Output {
        package var status: Int32
        package var stdout: String
        package var stderr: String
    }

    /// Runs one of the built executables to completion.
    package static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Output
    {
        var environment = environment
        if name == "lockboxd", ProcessInfo.processInfo.environment["LOCKBOX_SIGNING_KEY"] == nil,
            environment["LOCKBOX_SIGNING_KEY"] == nil
        {
            environment["LOCKBOX_SIGNING_KEY"] = Daemon.testSigningKey
        }
        if name == "lockboxd", environment["LOCKBOX_PLAINTEXT"] == nil, !arguments.contains("--tls-cert-file") {
            environment["LOCKBOX_PLAINTEXT"] = "1"
        }
        return try runPath(url(name).path, arguments, environment: environment)
    }

    /// Runs any executable to completion, with posix_spawn and waitpid. Output goes through
    /// files, not pipes, and Foundation's Process is not used here: a daemon the command starts
    /// (PostgreSQL) inherits descriptors and outlives it, which keeps Process waiting forever.
    package static func runPath(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> Output
    {
        let scratch = FileManager.default.temporaryDirectory.appending(path: "run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outPath = scratch.appending(path: "stdout").path
        let errPath = scratch.appending(path: "stderr").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let env =
            ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { strdup("\($0.key)=\($0.value)") } + [
                nil
            ]
        defer { for pointer in env { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, env)
        guard spawned == 0 else { throw DaemonFailed(stderr: "cannot run \(path): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Output(
            status: exitCode,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        )
    }
}

/// A running `lockboxd` process.
package final class Daemon {
    package let process = Process()
    package let stdoutFile: URL
    package let stderrFile: URL
    package private(set) var port = 0

    /// The signing key every test daemon gets unless it is given another: 32 bytes, base64.
    package static let testSigningKey = "bG9ja2JveC10ZXN0LXNpZ25pbmcta2V5LTMyLWJ5dGU="

    package init(arguments: [String] = [], environment: [String: String] = [:]) throws {
        let scratch = FileManager.default.temporaryDirectory.appending(path: "lockboxd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        stdoutFile = scratch.appending(path: "stdout")
        stderrFile = scratch.appending(path: "stderr")
        _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        process.executableURL = Binaries.url("lockboxd")
        process.arguments = arguments.isEmpty ? ["--host", "127.0.0.1", "--port", "0"] : arguments
        var merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if merged["LOCKBOX_SIGNING_KEY"] == nil, merged["LOCKBOX_SIGNING_KEY_FILE"] == nil,
            !arguments.contains("--signing-key-file")
        {
            merged["LOCKBOX_SIGNING_KEY"] = Self.testSigningKey
        }
        // Plaintext on loopback unless the test asks for TLS.
        if merged["LOCKBOX_PLAINTEXT"] == nil, !arguments.contains("--tls-cert-file") {
            merged["LOCKBOX_PLAINTEXT"] = "1"
        }
        process.environment = merged
        process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        try process.run()
    }

    /// Waits for the "listening on host:port" line and returns the port.
    package func waitUntilListening(timeout: Duration = .seconds(30)) async throws -> Int {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            let text = (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("listening on") }),
                let port = Int(line.split(separator: ":").last ?? "")
            {
                self.port = port
                return port
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw DaemonFailed(stderr: stderr)
    }

    package var stderr: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }

    package func terminate(signal: Int32 = SIGTERM) { if process.isRunning { kill(process.processIdentifier, signal) } }

    /// Waits for the process to exit; returns its status.
    package func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while process.isRunning {
            guard clock.now < end else {
                kill(process.processIdentifier, SIGKILL)
                throw DaemonFailed(stderr: "did not exit in time\n" + stderr)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

package struct DaemonFailed: Error, CustomStringConvertible {
    package let stderr: String
    package init(stderr: String) { self.stderr = stderr }
    package var description: String { "lockboxd failed: \(stderr)" }
}
