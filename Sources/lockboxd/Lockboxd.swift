import ArgumentParser
import Foundation
import LockboxCore
import LockboxIntegrity
import LockboxObservability
import LockboxOptionParsing
import LockboxRPC
import LockboxServer
import LockboxStore
import Logging
import NIOSSL

struct Lockboxd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockboxd",
        abstract: "The Lockbox server: customer-approved, time-boxed access to customer data.",
        discussion: """
            Every option can also be set by the environment variable shown with it; a flag wins over the \
            environment, which wins over the default.
            """,
        version: LockboxVersion.current,
        subcommands: [Serve.self, Migrate.self, Bootstrap.self, Keygen.self, Keys.self],
        defaultSubcommand: Serve.self
    )
}

extension Option where Value == String? {
    /// An option whose flag, environment variable, help and default come from the table.
    init<T>(_ setting: Setting<T>) { self.init(name: .customLong(setting.flag), help: ArgumentHelp(setting.help)) }
}

extension Flag where Value == Bool {
    init(wrappedValue: Bool, _ setting: Switch) {
        self.init(wrappedValue: wrappedValue, name: .customLong(setting.flag), help: ArgumentHelp(setting.help))
    }
}

/// The process's environment, read once.
var environment: Environment { Environment(ProcessInfo.processInfo.environment) }

/// Runs `body`, turning a refused setting into the usage error the command line shows.
func resolving<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as SettingError {
        throw ValidationError(error.description)
    }
}

struct ServerOptions: ParsableArguments {
    @Option(Settings.host) var host: String?
    @Option(Settings.port) var port: String?
    @Option(Settings.maxFrameSize) var maxFrameSize: String?
    @Option(Settings.maxConcurrentCalls) var maxConcurrentCalls: String?
    @Option(Settings.maxConnections) var maxConnections: String?
    @Option(Settings.maxConnectionsPerAddress) var maxConnectionsPerAddress: String?
    @Option(Settings.maxStreamsPerConnection) var maxStreamsPerConnection: String?
    @Option(Settings.maxOutboundBytes) var maxOutboundBytes: String?
    @Option(Settings.idleTimeout) var idleTimeout: String?
    @Option(Settings.frameReadTimeout) var frameReadTimeout: String?
    @Option(Settings.gracePeriod) var gracePeriod: String?
    @Option(Settings.defaultTimeout) var defaultTimeout: String?
    @Option(Settings.logLevel) var logLevel: String?
    @Option(Settings.logFormat) var logFormat: String?
    @Option(Settings.tlsCertFile) var tlsCertFile: String?
    @Option(Settings.tlsKeyFile) var tlsKeyFile: String?
    @Option(Settings.tlsClientCAFile) var tlsClientCaFile: String?
    @Option(Settings.tlsMinVersion) var tlsMinVersion: String?
    @Flag(Settings.plaintext) var plaintext = false

    func resolve(_ env: Environment) throws -> RPCServerConfiguration {
        try resolving {
            var config = RPCServerConfiguration()
            config.host = try Settings.host.value(host, env) ?? config.host
            config.port = try Settings.port.value(port, env) ?? config.port
            config.maxFrameSize = try Settings.maxFrameSize.value(maxFrameSize, env) ?? config.maxFrameSize
            config.maxConcurrentCallsPerConnection =
                try Settings.maxConcurrentCalls.value(maxConcurrentCalls, env) ?? config.maxConcurrentCallsPerConnection
            config.maxConnections = try Settings.maxConnections.value(maxConnections, env) ?? config.maxConnections
            config.maxConnectionsPerAddress =
                try Settings.maxConnectionsPerAddress.value(maxConnectionsPerAddress, env)
                ?? config.maxConnectionsPerAddress
            config.maxStreamingCallsPerConnection =
                try Settings.maxStreamsPerConnection.value(maxStreamsPerConnection, env)
                ?? config.maxStreamingCallsPerConnection
            config.maxOutboundBytesPerConnection =
                try Settings.maxOutboundBytes.value(maxOutboundBytes, env) ?? config.maxOutboundBytesPerConnection
            guard config.maxOutboundBytesPerConnection >= max(config.maxFrameSize, config.outboundWaterMarks.high)
            else {
                throw SettingError(
                    "--max-outbound-bytes must be at least the max frame size and \(config.outboundWaterMarks.high)"
                )
            }
            config.idleTimeout = try Settings.idleTimeout.value(idleTimeout, env) ?? config.idleTimeout
            config.frameReadTimeout =
                try Settings.frameReadTimeout.value(frameReadTimeout, env) ?? config.frameReadTimeout
            config.shutdownGracePeriod = try Settings.gracePeriod.value(gracePeriod, env) ?? config.shutdownGracePeriod
            if let timeout = try Settings.defaultTimeout.value(defaultTimeout, env) {
                config.defaultUnaryTimeout = timeout == .zero ? nil : timeout
            }
            config.tls = try tls(env)
            return config
        }
    }

    func level(_ env: Environment) throws -> Logger.Level {
        try resolving { Logger.Level(rawValue: try Settings.logLevel.value(logLevel, env) ?? "info") ?? .info }
    }

    /// The TLS settings, or nil for plaintext: which needs saying so.
    func tls(_ env: Environment) throws -> ServerTLS? {
        let cert = try Settings.tlsCertFile.value(tlsCertFile, env)
        let key = try Settings.tlsKeyFile.value(tlsKeyFile, env)
        let clientCA = try Settings.tlsClientCAFile.value(tlsClientCaFile, env)
        let plaintext = Settings.plaintext.isOn(plaintext, env)
        guard let cert, let key else {
            if cert != nil || key != nil { throw SettingError("give both --tls-cert-file and --tls-key-file") }
            guard plaintext else {
                throw SettingError(
                    "lockboxd serves TLS: give --tls-cert-file and --tls-key-file, or --plaintext for loopback and tests"
                )
            }
            guard clientCA == nil else { throw SettingError("--tls-client-ca-file needs TLS") }
            return nil
        }
        guard !plaintext else { throw SettingError("--plaintext and a TLS certificate exclude each other") }
        let version: TLSVersion = try Settings.tlsMinVersion.value(tlsMinVersion, env) == "1.2" ? .tlsv12 : .tlsv13
        do {
            return try ServerTLS(
                ServerTLSFiles(certificateChain: cert, privateKey: key, clientCA: clientCA, minimumVersion: version)
            )
        } catch {
            throw SettingError("cannot use the TLS certificate \(cert) and key \(key): \(error)")
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: """
            Run the server (the default), as the runtime role. Waits for the schema that `lockboxd migrate` \
            applies, and refuses a role that could rewrite the audit log.
            """
    )

    @OptionGroup var options: ServerOptions
    @OptionGroup var database: DatabaseOptions
    @Option(Settings.readDatabaseURL) var readDatabaseURL: String?
    @Option(Settings.sweepInterval) var sweepInterval: String?
    @Option(Settings.checkGroupSize) var checkGroupSize: String?
    @Option(Settings.checkGroups) var checkGroups: String?
    @Option(Settings.internalApprovalWindow) var internalApprovalWindow: String?
    @Option(Settings.internalApprovals) var internalApprovals: String?
    @Option(Settings.enrollmentCodeLifetime) var enrollmentCodeLifetime: String?
    @Option(Settings.maxWatchesPerPrincipal) var maxWatchesPerPrincipal: String?
    @Option(Settings.watchRecheckInterval) var watchRecheckInterval: String?
    @Option(Settings.sealInterval) var sealInterval: String?
    @Option(Settings.checkpointInterval) var checkpointInterval: String?
    @Option(Settings.signingKeyFile) var signingKeyFile: String?
    @Option(Settings.metricsPort) var metricsPort: String?
    @Option(Settings.metricsHost) var metricsHost: String?
    @Flag(Settings.allowPrivilegedDatabaseRole) var allowPrivilegedDatabaseRole = false
    @Option(Settings.unauthenticatedBurst) var unauthenticatedBurst: String?
    @Option(Settings.unauthenticatedPerSecond) var unauthenticatedPerSecond: String?
    @Option(Settings.enrollmentBurst) var enrollmentBurst: String?
    @Option(Settings.enrollmentPerMinute) var enrollmentPerMinute: String?
    @OptionGroup(title: "Notifications") var notifications: NotificationOptions

    func configuration(_ env: Environment) throws -> LockboxConfiguration {
        var config = try database.resolve(env)
        config.rpc = try options.resolve(env)
        config.notifications = try notifications.resolve(env)
        try resolving {
            config.readDatabaseURL = try Settings.readDatabaseURL.value(readDatabaseURL, env)
            config.allowPrivilegedDatabaseRole = Settings.allowPrivilegedDatabaseRole.isOn(
                allowPrivilegedDatabaseRole,
                env
            )
            config.service.sweepInterval =
                try Settings.sweepInterval.value(sweepInterval, env) ?? config.service.sweepInterval
            config.service.checkGroups.maxSize =
                try Settings.checkGroupSize.value(checkGroupSize, env) ?? config.service.checkGroups.maxSize
            config.service.checkGroups.maxInFlight =
                try Settings.checkGroups.value(checkGroups, env) ?? config.service.checkGroups.maxInFlight
            if let levels = try Settings.internalApprovals.value(internalApprovals, env) {
                config.service.policy.internalApprovalsRequired = levels
            }
            if let window = try Settings.internalApprovalWindow.value(internalApprovalWindow, env) {
                config.service.policy.internalApprovalWindowSeconds = window.components.seconds
            }
            if let lifetime = try Settings.enrollmentCodeLifetime.value(enrollmentCodeLifetime, env) {
                config.service.policy.enrollmentCodeLifetimeSeconds = lifetime.components.seconds
            }
            config.watches.maxWatchesPerPrincipal =
                try Settings.maxWatchesPerPrincipal.value(maxWatchesPerPrincipal, env)
                ?? config.watches.maxWatchesPerPrincipal
            config.watches.recheckInterval =
                try Settings.watchRecheckInterval.value(watchRecheckInterval, env) ?? config.watches.recheckInterval
            config.integrity.sealInterval =
                try Settings.sealInterval.value(sealInterval, env) ?? config.integrity.sealInterval
            config.integrity.checkpointInterval =
                try Settings.checkpointInterval.value(checkpointInterval, env) ?? config.integrity.checkpointInterval
            let budgets = config.service.budgets
            config.service.budgets.unauthenticatedBurst = Double(
                try Settings.unauthenticatedBurst.value(unauthenticatedBurst, env)
                    ?? Int(budgets.unauthenticatedBurst)
            )
            config.service.budgets.unauthenticatedPerSecond = Double(
                try Settings.unauthenticatedPerSecond.value(unauthenticatedPerSecond, env)
                    ?? Int(budgets.unauthenticatedPerSecond)
            )
            config.service.budgets.enrollmentBurst = Double(
                try Settings.enrollmentBurst.value(enrollmentBurst, env) ?? Int(budgets.enrollmentBurst)
            )
            config.service.budgets.enrollmentPerMinute = Double(
                try Settings.enrollmentPerMinute.value(enrollmentPerMinute, env) ?? Int(budgets.enrollmentPerMinute)
            )
            if let port = try Settings.metricsPort.value(metricsPort, env) {
                config.metrics = (try Settings.metricsHost.value(metricsHost, env) ?? "127.0.0.1", port)
            }
        }
        return config
    }

    func run() async throws {
        let env = environment
        let config = try configuration(env)
        let level = try options.level(env)
        let json = try resolving { try Settings.logFormat.value(options.logFormat, env) == "json" }
        let signer = try SigningKey.load(file: try resolving { try Settings.signingKeyFile.value(signingKeyFile, env) })
        // Before any metric is made: the RPC layer, the pool and the sweepers record into it.
        let registry = config.metrics.map { _ in MetricsEndpoint.bootstrapMetrics() }
        let logger = bootstrapLogging(level, json: json)
        let reloader = config.rpc.tls.map { TLSReloader(tls: $0, logger: logger) }
        defer { reloader?.cancel() }
        let application = LockboxApplication(configuration: config, signer: signer, registry: registry, logger: logger)
        do {
            try await application.run { rpc, metrics in
                var lines = "lockboxd \(LockboxVersion.current) listening on \(rpc.ipAddress ?? ""):\(rpc.port ?? 0)\n"
                if let metrics { lines += "lockboxd metrics on \(metrics.ipAddress ?? ""):\(metrics.port ?? 0)\n" }
                FileHandle.standardOutput.write(Data(lines.utf8))
            }
        } catch let error as LockboxApplication.StartupError {
            logger.critical("\(error.description)")
            throw ExitCode(error.exitCode)
        }
    }
}

/// Reads the TLS certificate and key again on SIGHUP: new connections get them, open ones
/// keep theirs. A bad file is logged and the old certificate stays in use.
final class TLSReloader {
    private let source: any DispatchSourceSignal

    init(tls: ServerTLS, logger: Logger) {
        signal(SIGHUP, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler {
            do {
                try tls.reload()
                logger.notice("reloaded the TLS certificate", metadata: ["file": "\(tls.files.certificateChain)"])
            } catch {
                logger.error("cannot reload the TLS certificate; keeping the old one", metadata: ["error": "\(error)"])
            }
        }
        source.resume()
    }

    func cancel() { source.cancel() }
}

func bootstrapLogging(_ level: Logger.Level, json: Bool = false) -> Logger {
    LoggingSystem.bootstrap { label in
        if json { return JSONLogHandler(label: label, level: level) }
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    return Logger(label: "lockboxd")
}

struct DatabaseOptions: ParsableArguments {
    @Option(Settings.databaseURL) var databaseURL: String?
    @Option(Settings.poolSize) var poolSize: String?
    @Option(Settings.poolReservedForChecks) var poolReservedForChecks: String?
    @Option(Settings.dbConnectTimeout) var dbConnectTimeout: String?
    @Option(Settings.dbStatementTimeout) var dbStatementTimeout: String?
    @Option(Settings.dbLockTimeout) var dbLockTimeout: String?
    @Option(Settings.dbReplyTimeout) var dbReplyTimeout: String?
    @Option(Settings.dbKeepaliveIdle) var dbKeepaliveIdle: String?
    @Option(Settings.dbKeepaliveInterval) var dbKeepaliveInterval: String?
    @Option(Settings.dbKeepaliveCount) var dbKeepaliveCount: String?
    @Option(Settings.dbTcpUserTimeout) var dbTcpUserTimeout: String?
    @Option(Settings.migrations) var migrations: String?
    @Option(Settings.databaseWait) var databaseWait: String?

    /// The database part of the configuration. `defaults` are the connection settings the
    /// flags and environment change: `migrate` passes ``PGConnectionSettings/forMigrations``.
    func resolve(_ env: Environment, defaults: PGConnectionSettings = PGConnectionSettings()) throws
        -> LockboxConfiguration
    {
        try resolving {
            var settings = defaults
            settings.connectTimeout =
                try Settings.dbConnectTimeout.value(dbConnectTimeout, env) ?? settings.connectTimeout
            settings.statementTimeout =
                try Settings.dbStatementTimeout.value(dbStatementTimeout, env) ?? settings.statementTimeout
            settings.lockTimeout = try Settings.dbLockTimeout.value(dbLockTimeout, env) ?? settings.lockTimeout
            settings.replyTimeout = try Settings.dbReplyTimeout.value(dbReplyTimeout, env) ?? settings.replyTimeout
            settings.keepaliveIdle = try Settings.dbKeepaliveIdle.value(dbKeepaliveIdle, env) ?? settings.keepaliveIdle
            settings.keepaliveInterval =
                try Settings.dbKeepaliveInterval.value(dbKeepaliveInterval, env) ?? settings.keepaliveInterval
            settings.keepaliveCount =
                try Settings.dbKeepaliveCount.value(dbKeepaliveCount, env) ?? settings.keepaliveCount
            settings.tcpUserTimeout =
                try Settings.dbTcpUserTimeout.value(dbTcpUserTimeout, env) ?? settings.tcpUserTimeout
            if let problem = settings.problem { throw SettingError(problem) }
            let size = try Settings.poolSize.value(poolSize, env) ?? Settings.pool.size
            var pool = PGPoolConfiguration(
                url: try Settings.databaseURL.value(databaseURL, env) ?? Settings.defaultDatabaseURL,
                size: size,
                connection: settings
            )
            if let reserved = try Settings.poolReservedForChecks.value(poolReservedForChecks, env) {
                guard reserved < size else {
                    throw SettingError("--pool-reserved-for-checks must be below --pool-size")
                }
                pool.reservedForPriority = reserved
            }
            var config = LockboxConfiguration(database: pool)
            config.databaseWait = try Settings.databaseWait.value(databaseWait, env) ?? config.databaseWait
            do {
                config.migrations = try Migrator.load(directory: try migrationsDirectory(env))
            } catch let error as StoreError {
                throw SettingError(error.detail)
            }
            return config
        }
    }

    func migrationsDirectory(_ env: Environment) throws -> String {
        if let explicit = try Settings.migrations.value(migrations, env) { return explicit }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        let candidates = [
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appending(path: "migrations"),
            executable.appending(path: "../../../migrations"),
            executable.appending(path: "../../migrations"),
            executable.appending(path: "../share/lockbox/migrations"),
        ]
        for candidate in candidates
        where FileManager.default.fileExists(atPath: candidate.appending(path: "0001_initial.sql").path) {
            return candidate.standardizedFileURL.path
        }
        throw SettingError("cannot find the migrations directory; set --migrations or LOCKBOX_MIGRATIONS_DIR")
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending migrations as the owner role, grant the runtime role its rights, then exit."
    )

    @OptionGroup var database: DatabaseOptions
    @Option(Settings.runtimeRole) var runtimeRole: String?
    @Option(Settings.logLevel) var logLevel: String?
    @Option(
        name: .customLong("signing-key-file"),
        help: """
            Also introduce this server signing key (its public half) as trusted, as lockboxd keys add does \
            (env: LOCKBOX_SIGNING_KEY_FILE, or the key itself in LOCKBOX_SIGNING_KEY).
            """
    )
    var signingKeyFile: String?

    func run() async throws {
        let env = environment
        let config = try database.resolve(env, defaults: .forMigrations)
        let role = try resolving { try Settings.runtimeRole.value(runtimeRole, env) }
        let level = try resolving { try Settings.logLevel.value(logLevel, env) }
        let logger = bootstrapLogging(level.flatMap { Logger.Level(rawValue: $0) } ?? .info)
        let pool = PGPool(configuration: config.database, logger: logger)
        defer { Task { await pool.shutdown() } }
        let deadline = ContinuousClock.now + config.databaseWait
        while true {
            do {
                try await Migrator.apply(config.migrations, pool: pool, runtimeRole: role, logger: logger)
                break
            } catch let error as StoreError where error.code == .unavailable && ContinuousClock.now < deadline {
                logger.warning("database unreachable; retrying", metadata: ["error": "\(error.detail)"])
                try await Task.sleep(for: .seconds(1))
            } catch let error as StoreError {
                logger.critical("cannot migrate the database", metadata: ["error": "\(error.detail)"])
                throw ExitCode(3)
            }
        }
        await pool.shutdown()
        let granted = role.map { "; \($0) granted" } ?? ""
        print("migrations: \(config.migrations.count) known, database up to date" + granted)
        let file = signingKeyFile ?? env["LOCKBOX_SIGNING_KEY_FILE"]
        if file != nil || env["LOCKBOX_SIGNING_KEY"] != nil {
            let key = try SigningKey.load(file: file).publicKey
            try await KeyCommand.introduce(key, by: nil, database: database, what: "lockboxd migrate", logger: logger)
        }
    }
}

struct Bootstrap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the first provider admin and print its token (once). Talks to the database directly."
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Display name of the provider admin.")
    var displayName = "Provider Admin"

    func run() async throws {
        let env = environment
        let config = try database.resolve(env)
        let logger = bootstrapLogging(.warning)
        let pool = PGPool(configuration: config.database, logger: logger)
        do {
            try await LockboxApplication.waitForSchema(
                config.migrations,
                pool: pool,
                wait: config.databaseWait,
                logger: logger
            )
            let result = try await LockboxServer.Bootstrap.createProviderAdmin(
                displayName: displayName,
                pool: pool,
                clock: SystemClock()
            )
            await pool.shutdown()
            print("provider admin: \(result.principalID)")
            print("token (shown once): \(result.token)")
        } catch let error as LockboxServer.Bootstrap.AlreadyBootstrapped {
            await pool.shutdown()
            FileHandle.standardError.write(Data("bootstrap: \(error)\n".utf8))
            throw ExitCode(4)
        } catch let error as LockboxApplication.StartupError {
            await pool.shutdown()
            logger.critical("\(error.description)")
            throw ExitCode(error.exitCode)
        }
    }
}
