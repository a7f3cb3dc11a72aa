import Foundation
import Testing

/// Finds and runs the real `lockboxd` and `lockbox` executables built beside the test bundle.
enum Binaries {
    static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["LOCKBOX_BIN_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }()

    static func url(_ name: String) -> URL { directory.appending(path: name) }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a command to completion.
    static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = url(name)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self)
        )
    }
}

/// A running `lockboxd` process.
final class Daemon {
    let process = Process()
    let stdoutFile: URL
    let stderrFile: URL
    private(set) var port = 0

    init(arguments: [String] = [], environment: [String: String] = [:]) throws {
        let scratch = FileManager.default.temporaryDirectory.appending(path: "lockboxd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        stdoutFile = scratch.appending(path: "stdout")
        stderrFile = scratch.appending(path: "stderr")
        FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
        FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        process.executableURL = Binaries.url("lockboxd")
        process.arguments = arguments.isEmpty ? ["--host", "127.0.0.1", "--port", "0"] : arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        try process.run()
    }

    /// Waits for the "listening on host:port" line and returns the port.
    func waitUntilListening(timeout: Duration = .seconds(30)) async throws -> Int {
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

    var stderr: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }

    func terminate(signal: Int32 = SIGTERM) { if process.isRunning { kill(process.processIdentifier, signal) } }

    /// Waits for the process to exit; returns its status.
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
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

struct DaemonFailed: Error, CustomStringConvertible {
    let stderr: String
    var description: String { "lockboxd failed: \(stderr)" }
}
