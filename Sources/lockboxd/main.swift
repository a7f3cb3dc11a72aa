import ArgumentParser
import Foundation
import LockboxCommandSupport
import LockboxRPC
import LockboxServer
import Logging
import ServiceLifecycle

@main
struct Lockboxd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockboxd",
        abstract: "The Lockbox server: customer-approved, time-boxed access to customer data.",
        discussion: """
            Every option can also be set by the environment variable shown with it; a flag wins over the \
            environment, which wins over the default.
            """,
        version: LockboxVersion.current,
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self
    )
}

struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on. (env LOCKBOX_HOST, default 127.0.0.1)")
    var host: String?

    @Option(help: "TCP port to listen on; 0 picks a free one. (env LOCKBOX_PORT, default 7443)")
    var port: Int?

    @Option(help: "Largest request frame in bytes. (env LOCKBOX_MAX_FRAME_SIZE, default 4194304)")
    var maxFrameSize: Int?

    @Option(help: "Calls running at once per connection; more wait. (env LOCKBOX_MAX_CONCURRENT_CALLS, default 128)")
    var maxConcurrentCalls: Int?

    @Option(help: "Close connections idle this long, e.g. 300s, 5m. (env LOCKBOX_IDLE_TIMEOUT, default 5m)")
    var idleTimeout: String?

    @Option(help: "Close a connection whose frame is not complete this long after it started. (env LOCKBOX_FRAME_READ_TIMEOUT, default 10s)")
    var frameReadTimeout: String?

    @Option(help: "On shutdown, how long calls in flight may take to finish. (env LOCKBOX_GRACE_PERIOD, default 10s)")
    var gracePeriod: String?

    @Option(help: "Deadline for calls that carry none; 0 for none. (env LOCKBOX_DEFAULT_TIMEOUT, default 60s)")
    var defaultTimeout: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical. (env LOCKBOX_LOG_LEVEL, default info)")
    var logLevel: String?

    func resolve(_ env: Environment) throws -> (RPCServerConfiguration, Logger.Level) {
        var config = RPCServerConfiguration()
        config.host = host ?? env["LOCKBOX_HOST"] ?? config.host
        config.port = try port ?? intValue(env, "LOCKBOX_PORT") ?? config.port
        guard (0...65535).contains(config.port) else { throw ValidationError("port must be 0...65535") }
        config.maxFrameSize = try maxFrameSize ?? intValue(env, "LOCKBOX_MAX_FRAME_SIZE") ?? config.maxFrameSize
        guard (64...(256 << 20)).contains(config.maxFrameSize) else {
            throw ValidationError("max frame size must be between 64 bytes and 256 MiB")
        }
        config.maxConcurrentCallsPerConnection =
            try maxConcurrentCalls ?? intValue(env, "LOCKBOX_MAX_CONCURRENT_CALLS")
            ?? config.maxConcurrentCallsPerConnection
        guard (1...100_000).contains(config.maxConcurrentCallsPerConnection) else {
            throw ValidationError("max concurrent calls must be 1...100000")
        }
        config.idleTimeout = try durationValue(idleTimeout, env, "LOCKBOX_IDLE_TIMEOUT") ?? config.idleTimeout
        config.frameReadTimeout =
            try durationValue(frameReadTimeout, env, "LOCKBOX_FRAME_READ_TIMEOUT") ?? config.frameReadTimeout
        config.shutdownGracePeriod =
            try durationValue(gracePeriod, env, "LOCKBOX_GRACE_PERIOD") ?? config.shutdownGracePeriod
        if let timeout = try durationValue(defaultTimeout, env, "LOCKBOX_DEFAULT_TIMEOUT") {
            config.defaultUnaryTimeout = timeout == .zero ? nil : timeout
        }
        let levelText = logLevel ?? env["LOCKBOX_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
            throw ValidationError("unknown log level \"\(levelText)\"")
        }
        return (config, level)
    }

    private func intValue(_ env: Environment, _ name: String) throws -> Int? {
        guard let text = env[name] else { return nil }
        guard let value = Int(text) else { throw ValidationError("\(name) must be an integer, got \"\(text)\"") }
        return value
    }

    private func durationValue(_ flag: String?, _ env: Environment, _ name: String) throws -> Duration? {
        guard let text = flag ?? env[name] else { return nil }
        guard let value = parseDuration(text) else {
            throw ValidationError("\(name.lowercased()) must be a duration such as 10s, 5m or 1h, got \"\(text)\"")
        }
        return value
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (the default).")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let (config, level) = try options.resolve(Environment(ProcessInfo.processInfo.environment))
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "lockboxd")
        let server = RPCServer(configuration: config, router: LockboxRouter.make(), logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        Task {
            if let address = try? await server.localAddress {
                let line = "lockboxd \(LockboxVersion.current) listening on \(address.ipAddress ?? config.host):\(address.port ?? config.port)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        }
        try await group.run()
    }
}
