import ArgumentParser
import Foundation
import LockboxCommandSupport
import LockboxProto
import LockboxRPC

@main
struct Lockbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockbox",
        abstract: "Command-line client for a Lockbox server.",
        subcommands: [Ping.self]
    )
}

struct ConnectionOptions: ParsableArguments {
    @Option(help: "Server address host:port. (env LOCKBOX_SERVER, default 127.0.0.1:7443)")
    var server: String?

    @Option(help: "Bearer token. (env LOCKBOX_TOKEN)")
    var token: String?

    @Option(help: "Deadline for the call, e.g. 500ms, 10s. (default 30s)")
    var timeout: String?

    func client() throws -> (RPCClient, CallOptions) {
        let env = Environment(ProcessInfo.processInfo.environment)
        let address = server ?? env["LOCKBOX_SERVER"] ?? "127.0.0.1:7443"
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (1...65535).contains(port)
        else {
            throw ValidationError("server must be host:port, got \"\(address)\"")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var callTimeout = Duration.seconds(30)
        if let timeout {
            guard let parsed = parseDuration(timeout) else { throw ValidationError("bad timeout \"\(timeout)\"") }
            callTimeout = parsed
        }
        let client = RPCClient(configuration: RPCClientConfiguration(host: host, port: port, defaultTimeout: callTimeout))
        return (client, CallOptions(authToken: token ?? env["LOCKBOX_TOKEN"] ?? ""))
    }
}

/// Exit codes by status class, documented in the README.
enum ExitStatus {
    static func code(for status: StatusCode) -> Int32 {
        switch status {
        case .ok: 0
        case .invalidArgument, .outOfRange: 2
        case .unauthenticated, .permissionDenied: 3
        case .notFound: 4
        case .failedPrecondition, .alreadyExists, .aborted: 5
        case .unavailable, .deadlineExceeded, .cancelled: 6
        default: 1
        }
    }
}

func fail(_ error: RPCError) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(error.code): \(error.message)\n".utf8))
    return ExitCode(ExitStatus.code(for: error.code))
}

struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check that the server answers; print its version and the round-trip time.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let (client, options) = try connection.client()
        defer { Task { await client.close() } }
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let response = try await client.unary("lockbox.v1.Lockbox/Ping", PingRequest(), as: PingResponse.self, options: options)
            let elapsed = clock.now - start
            let millis = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
            print("pong from lockboxd \(response.version) in \(String(format: "%.2f", millis)) ms")
        } catch {
            throw fail(error)
        }
    }
}
