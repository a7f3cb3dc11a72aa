import ArgumentParser
import Foundation
import LockboxOptionParsing
import LockboxCore
import LockboxIntegrity
import LockboxObservability
import LockboxRPC
import LockboxServer
import LockboxStore
import Logging
import NIOSSL
import ServiceLifecycle

struct Lockboxd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockboxd",
        abstract: "The Lockbox server: customer-approved, time-boxed access to customer data.",
        discussion: """
            Every option can also be set by the environment variable shown with it; a flag wins over the \
            environment, which wins over the default.
            """,
        version: LockboxVersion.current,
        subcommands: [Serve.self, Migrate.self, Bootstrap.self, Keygen.self],
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

    @Option(
        help: """
            Connections open at once; one more is answered RESOURCE_EXHAUSTED and closed. \
            (env LOCKBOX_MAX_CONNECTIONS, default 10000)
            """
    )
    var maxConnections: Int?

    @Option(
        help: "Watches and exports open at once per connection. (env LOCKBOX_MAX_STREAMS_PER_CONNECTION, default 16)"
    )
    var maxStreamsPerConnection: Int?

    @Option(
        help: """
            Unsent response bytes one connection may hold; a client that does not read past it is closed. \
            (env LOCKBOX_MAX_OUTBOUND_BYTES, default 16777216)
            """
    )
    var maxOutboundBytes: Int?

    @Option(help: "Close connections idle this long, e.g. 300s, 5m. (env LOCKBOX_IDLE_TIMEOUT, default 5m)")
    var idleTimeout: String?

    @Option(
        help:
            "Close a connection whose frame is not complete this long after it started. (env LOCKBOX_FRAME_READ_TIMEOUT, default 10s)"
    )
    var frameReadTimeout: String?

    @Option(help: "On shutdown, how long calls in flight may take to finish. (env LOCKBOX_GRACE_PERIOD, default 10s)")
    var gracePeriod: String?

    @Option(help: "Deadline for calls that carry none; 0 for none. (env LOCKBOX_DEFAULT_TIMEOUT, default 60s)")
    var defaultTimeout: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical. (env LOCKBOX_LOG_LEVEL, default info)")
    var logLevel: String?

    @Option(
        help: """
            The server's TLS certificate chain, PEM, leaf first; read again on SIGHUP. \
            (env LOCKBOX_TLS_CERT_FILE)
            """
    )
    var tlsCertFile: String?

    @Option(help: "The server's TLS private key, PEM; read again on SIGHUP. (env LOCKBOX_TLS_KEY_FILE)")
    var tlsKeyFile: String?

    @Option(
        help: """
            Require every client to present a certificate issued by these roots, PEM (mutual TLS). \
            (env LOCKBOX_TLS_CLIENT_CA_FILE)
            """
    )
    var tlsClientCaFile: String?

    @Option(help: "Oldest TLS version accepted: 1.2 or 1.3. (env LOCKBOX_TLS_MIN_VERSION, default 1.3)")
    var tlsMinVersion: String?

    @Flag(
        help: """
            Serve without TLS: for loopback and tests. Without it, lockboxd needs --tls-cert-file and \
            --tls-key-file. (env LOCKBOX_PLAINTEXT=1)
            """
    )
    var plaintext = false

    /// The TLS settings, or nil for plaintext: which needs saying so.
    func tls(_ env: Environment) throws -> ServerTLS? {
        let cert = tlsCertFile ?? env["LOCKBOX_TLS_CERT_FILE"]
        let key = tlsKeyFile ?? env["LOCKBOX_TLS_KEY_FILE"]
        let clientCA = tlsClientCaFile ?? env["LOCKBOX_TLS_CLIENT_CA_FILE"]
        let plaintext = plaintext || env["LOCKBOX_PLAINTEXT"] == "1"
        guard let cert, let key else {
            if cert != nil || key != nil { throw ValidationError("give both --tls-cert-file and --tls-key-file") }
            guard plaintext else {
                throw ValidationError(
                    "lockboxd serves TLS: give --tls-cert-file and --tls-key-file, or --plaintext for loopback and tests"
                )
            }
            guard clientCA == nil else { throw ValidationError("--tls-client-ca-file needs TLS") }
            return nil
        }
        guard !plaintext else { throw ValidationError("--plaintext and a TLS certificate exclude each other") }
        let version: TLSVersion
        switch tlsMinVersion ?? env["LOCKBOX_TLS_MIN_VERSION"] ?? "1.3" {
        case "1.2": version = .tlsv12
        case "1.3": version = .tlsv13
        case let other: throw ValidationError("TLS min version must be 1.2 or 1.3, got \"\(other)\"")
        }
        do {
            return try ServerTLS(
                ServerTLSFiles(certificateChain: cert, privateKey: key, clientCA: clientCA, minimumVersion: version)
            )
        } catch {
            throw ValidationError("cannot use the TLS certificate \(cert) and key \(key): \(error)")
        }
    }

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
        config.maxConnections =
            try maxConnections ?? intValue(env, "LOCKBOX_MAX_CONNECTIONS") ?? config.maxConnections
        guard (1...1_000_000).contains(config.maxConnections) else {
            throw ValidationError("max connections must be 1...1000000")
        }
        config.maxStreamingCallsPerConnection =
            try maxStreamsPerConnection ?? intValue(env, "LOCKBOX_MAX_STREAMS_PER_CONNECTION")
            ?? config.maxStreamingCallsPerConnection
        guard (1...10_000).contains(config.maxStreamingCallsPerConnection) else {
            throw ValidationError("max streams per connection must be 1...10000")
        }
        config.maxOutboundBytesPerConnection =
            try maxOutboundBytes ?? intValue(env, "LOCKBOX_MAX_OUTBOUND_BYTES") ?? config.maxOutboundBytesPerConnection
        guard config.maxOutboundBytesPerConnection >= max(config.maxFrameSize, config.outboundWaterMarks.high) else {
            throw ValidationError(
                "max outbound bytes must be at least the max frame size and \(config.outboundWaterMarks.high)"
            )
        }
        config.idleTimeout = try durationValue(idleTimeout, env, "LOCKBOX_IDLE_TIMEOUT") ?? config.idleTimeout
        config.frameReadTimeout =
            try durationValue(frameReadTimeout, env, "LOCKBOX_FRAME_READ_TIMEOUT") ?? config.frameReadTimeout
        config.shutdownGracePeriod =
            try durationValue(gracePeriod, env, "LOCKBOX_GRACE_PERIOD") ?? config.shutdownGracePeriod
        if let timeout = try durationValue(defaultTimeout, env, "LOCKBOX_DEFAULT_TIMEOUT") {
            config.defaultUnaryTimeout = timeout == .zero ? nil : timeout
        }
        config.tls = try tls(env)
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
    static let configuration = CommandConfiguration(
        abstract: """
            Run the server (the default), as the runtime role. Waits for the schema that `lockboxd migrate` \
            applies, and refuses a role that could rewrite the audit log.
            """
    )

    @OptionGroup var options: ServerOptions
    @OptionGroup var database: DatabaseOptions

    @Option(
        help: "How often the sweepers expire requests and complete grants. (env LOCKBOX_SWEEP_INTERVAL, default 5s)"
    )
    var sweepInterval: String?

    @Option(
        help:
            "How long a request may wait for a support manager before it expires. (env LOCKBOX_INTERNAL_APPROVAL_WINDOW, default 24h)"
    )
    var internalApprovalWindow: String?

    @Option(
        help:
            "How long a tenant's enrollment code may be redeemed. (env LOCKBOX_ENROLLMENT_CODE_LIFETIME, default 72h)"
    )
    var enrollmentCodeLifetime: String?

    @Option(
        help: "Watches one principal may hold open at once. (env LOCKBOX_MAX_WATCHES_PER_PRINCIPAL, default 32)"
    )
    var maxWatchesPerPrincipal: Int?

    @Option(
        help: """
            How often an open watch checks its caller's token and roles again, besides whenever they change. \
            (env LOCKBOX_WATCH_RECHECK_INTERVAL, default 60s)
            """
    )
    var watchRecheckInterval: String?

    @OptionGroup var signingKey: SigningKeyOptions
    @OptionGroup(title: "Notifications") var notifications: NotificationOptions

    @Option(
        help: """
            Serve Prometheus metrics (/metrics), /healthz and /readyz over HTTP on this port; 0 picks a free one \
            (printed on stdout). Off when not given. (env LOCKBOX_METRICS_PORT)
            """
    )
    var metricsPort: Int?

    @Option(help: "Address of the metrics port. (env LOCKBOX_METRICS_HOST, default 127.0.0.1)")
    var metricsHost: String?

    @Option(
        help: """
            A hot standby (same roles) that audit searches and plain exports read from, so that batch \
            exports leave the primary to writes. Every decision, check and authentication stays on the \
            primary. (env LOCKBOX_READ_DATABASE_URL)
            """
    )
    var readDatabaseURL: String?

    @Option(help: "text or json (one JSON object per line). (env LOCKBOX_LOG_FORMAT, default text)")
    var logFormat: String?

    @Option(
        help: """
            How often committed audit records are sealed into their hash chains: about the longest a record \
            stays unsealed. (env LOCKBOX_SEAL_INTERVAL, default 1s)
            """
    )
    var sealInterval: String?

    @Option(
        help: "How often each audit chain that grew is signed. (env LOCKBOX_CHECKPOINT_INTERVAL, default 60s)"
    )
    var checkpointInterval: String?

    @Flag(
        help: """
            Serve even when the database role is a superuser, owns the schema, or may rewrite the audit log. \
            For development only: lockboxd then logs a warning on every start. (env LOCKBOX_ALLOW_PRIVILEGED_DATABASE_ROLE=1)
            """
    )
    var allowPrivilegedDatabaseRole = false

    func run() async throws {
        let env = Environment(ProcessInfo.processInfo.environment)
        let (config, level) = try options.resolve(env)
        let notificationConfiguration = try notifications.resolve(env)
        var serviceConfiguration = LockboxServiceConfiguration()
        if let interval = try positiveDuration(sweepInterval, env, "LOCKBOX_SWEEP_INTERVAL") {
            serviceConfiguration.sweepInterval = interval
        }
        if let window = try positiveDuration(internalApprovalWindow, env, "LOCKBOX_INTERNAL_APPROVAL_WINDOW") {
            serviceConfiguration.policy.internalApprovalWindowSeconds = window.components.seconds
        }
        if let lifetime = try positiveDuration(enrollmentCodeLifetime, env, "LOCKBOX_ENROLLMENT_CODE_LIFETIME") {
            serviceConfiguration.policy.enrollmentCodeLifetimeSeconds = lifetime.components.seconds
        }
        var integrityConfiguration = IntegrityConfiguration()
        if let interval = try positiveDuration(sealInterval, env, "LOCKBOX_SEAL_INTERVAL") {
            integrityConfiguration.sealInterval = interval
        }
        if let interval = try positiveDuration(checkpointInterval, env, "LOCKBOX_CHECKPOINT_INTERVAL") {
            integrityConfiguration.checkpointInterval = interval
        }
        let signer = try signingKey.load(env)
        let allowPrivileged = allowPrivilegedDatabaseRole || env["LOCKBOX_ALLOW_PRIVILEGED_DATABASE_ROLE"] == "1"
        let format = logFormat ?? env["LOCKBOX_LOG_FORMAT"] ?? "text"
        guard format == "text" || format == "json" else {
            throw ValidationError("log format must be text or json, got \"\(format)\"")
        }
        let metrics =
            try metricsPort
            ?? env["LOCKBOX_METRICS_PORT"].map { text in
                guard let port = Int(text) else { throw ValidationError("LOCKBOX_METRICS_PORT must be a port number") }
                return port
            }
        if let metrics, !(0...65535).contains(metrics) { throw ValidationError("metrics port must be 0...65535") }
        // Before any metric is made: the RPC layer, the pool and the sweepers record into it.
        let registry = metrics.map { _ in MetricsEndpoint.bootstrapMetrics() }
        let logger = bootstrapLogging(level, json: format == "json")
        if config.tls == nil, !isLoopback(config.host) {
            logger.warning(
                "serving plaintext on a non-loopback address: bearer tokens cross the network in clear text",
                metadata: ["host": "\(config.host)"]
            )
        }
        let reloader = config.tls.map { TLSReloader(tls: $0, logger: logger) }
        defer { reloader?.cancel() }
        let (pool, migrations) = try database.open(env, logger: logger)
        try await database.waitForSchema(migrations, pool: pool, env: env, logger: logger)
        try await database.checkRole(pool: pool, allowPrivileged: allowPrivileged, logger: logger)
        var watches = WatchConfiguration()
        if let text = maxWatchesPerPrincipal.map(String.init) ?? env["LOCKBOX_MAX_WATCHES_PER_PRINCIPAL"] {
            guard let value = Int(text), (1...100_000).contains(value) else {
                throw ValidationError("max watches per principal must be 1...100000, got \"\(text)\"")
            }
            watches.maxWatchesPerPrincipal = value
        }
        if let interval = try positiveDuration(watchRecheckInterval, env, "LOCKBOX_WATCH_RECHECK_INTERVAL") {
            watches.recheckInterval = interval
        }
        let notifier = RequestNotifier(
            databaseURL: pool.configuration.url,
            settings: pool.configuration.connection,
            configuration: watches,
            logger: logger
        )
        let readPool = (readDatabaseURL ?? env["LOCKBOX_READ_DATABASE_URL"]).map { url in
            // Only audit reads use it: no share kept for CheckAccess.
            var configuration = PGPoolConfiguration(
                url: url,
                size: max(2, pool.configuration.size / 2),
                reservedForPriority: 0,
                connection: pool.configuration.connection
            )
            configuration.name = "read"
            return PGPool(configuration: configuration, logger: logger)
        }
        let clock = SystemClock()
        // A whole-table count once a minute: only when someone collects it.
        serviceConfiguration.recordRequestStates = metrics != nil
        let integrity = AuditIntegrity(
            pool: pool,
            signer: signer,
            clock: clock,
            configuration: integrityConfiguration,
            logger: logger
        )
        // Published before the first call is served, so that nothing is signed by a key not yet public.
        try await integrity.publishKey()
        logger.info("signing with \(integrity.keyID)")
        let service = LockboxService(
            pool: pool,
            clock: clock,
            integrity: integrity,
            configuration: serviceConfiguration,
            notifier: notifier,
            readPool: readPool,
            logger: logger
        )
        let sweeper = Sweeper(pool: pool, clock: clock, configuration: serviceConfiguration, logger: logger)
        let dispatcher = NotificationDispatcher(
            databaseURL: pool.configuration.url,
            settings: pool.configuration.connection,
            clock: clock,
            configuration: notificationConfiguration,
            logger: logger
        )
        if let smtp = notificationConfiguration.smtp {
            logger.info("emailing through \(smtp.host):\(smtp.port) (\(smtp.security.rawValue)) as \(smtp.sender)")
            if smtp.security == .none && !isLoopback(smtp.host) {
                logger.warning(
                    "plain SMTP to a relay that is not on loopback: request details cross the network in clear text",
                    metadata: ["smtp.host": "\(smtp.host)"]
                )
            }
        } else {
            logger.info("no SMTP relay configured (--smtp-host): no email is sent")
        }
        let server = RPCServer(configuration: config, router: service.makeRouter(), logger: logger)
        var endpoint: MetricsEndpoint?
        if let port = metrics, let registry {
            endpoint = MetricsEndpoint(
                configuration: MetricsEndpointConfiguration(
                    host: metricsHost ?? env["LOCKBOX_METRICS_HOST"] ?? "127.0.0.1",
                    port: port,
                    readiness: {
                        do {
                            guard case .current = try await Migrator.verify(migrations, pool: pool) else {
                                return false
                            }
                            return true
                        } catch let error as StoreError where error.code == .overloaded {
                            // Busy, not broken: taking every busy replica out at once helps nobody.
                            return true
                        } catch {
                            return false
                        }
                    }
                ),
                registry: registry,
                logger: logger
            )
        }
        // Shut down in reverse order: the server drains its calls first, the pool closes last.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: pool)]
        if let readPool { services.append(.init(service: readPool)) }
        services += [
            .init(service: notifier), .init(service: sweeper), .init(service: integrity), .init(service: dispatcher),
        ]
        if let endpoint { services.append(.init(service: endpoint)) }
        services.append(.init(service: server))
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        Task {
            if let address = try? await server.localAddress {
                let host = address.ipAddress ?? config.host
                let line = "lockboxd \(LockboxVersion.current) listening on \(host):\(address.port ?? config.port)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
            if let endpoint, let address = try? await endpoint.localAddress {
                let line = "lockboxd metrics on \(address.ipAddress ?? ""):\(address.port ?? 0)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        }
        try await group.run()
    }

    private func positiveDuration(_ flag: String?, _ env: Environment, _ name: String) throws -> Duration? {
        guard let text = flag ?? env[name] else { return nil }
        guard let value = parseDuration(text), value > .zero else {
            throw ValidationError("\(name.lowercased()) must be a positive duration such as 5s or 24h, got \"\(text)\"")
        }
        return value
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
    static let defaultURL = "postgresql://lockbox_app@127.0.0.1:54329/lockbox"

    @Option(
        help: """
            PostgreSQL connection URL. serve and bootstrap connect as the runtime role; migrate as the owner \
            role. (env LOCKBOX_DATABASE_URL, default \(Self.defaultURL), the project-local database of scripts/run)
            """
    )
    var databaseURL: String?

    @Option(help: "Database connections (and threads that run them). (env LOCKBOX_POOL_SIZE, default 8)")
    var poolSize: Int?

    @Option(
        help: """
            Connections only CheckAccess may use, so that floods of other calls cannot starve it. \
            (env LOCKBOX_POOL_RESERVED_FOR_CHECKS, default a quarter of the pool)
            """
    )
    var poolReservedForChecks: Int?

    @Option(
        help: """
            Calls that may wait for a database connection, per share; one more is refused at once as \
            UNAVAILABLE (overloaded). (env LOCKBOX_POOL_MAX_WAITING, default 8 per connection)
            """
    )
    var poolMaxWaiting: Int?

    @Option(
        help:
            "Time to open a database connection, authentication included. (env LOCKBOX_DB_CONNECT_TIMEOUT, default 5s)"
    )
    var dbConnectTimeout: String?

    @Option(
        help:
            "PostgreSQL cancels a statement running longer. (env LOCKBOX_DB_STATEMENT_TIMEOUT, default 10s; 6h for migrate)"
    )
    var dbStatementTimeout: String?

    @Option(
        help:
            "PostgreSQL cancels a statement waiting longer for a lock. (env LOCKBOX_DB_LOCK_TIMEOUT, default 5s; 60s for migrate)"
    )
    var dbLockTimeout: String?

    @Option(
        help: """
            Give up on a statement whose reply has not arrived, and discard its connection; longer than the \
            statement timeout. (env LOCKBOX_DB_REPLY_TIMEOUT, default 15s; 6h 1m for migrate)
            """
    )
    var dbReplyTimeout: String?

    @Option(help: "TCP keepalive: idle time before the first probe. (env LOCKBOX_DB_KEEPALIVE_IDLE, default 10s)")
    var dbKeepaliveIdle: String?

    @Option(help: "TCP keepalive: time between probes. (env LOCKBOX_DB_KEEPALIVE_INTERVAL, default 5s)")
    var dbKeepaliveInterval: String?

    @Option(
        help:
            "TCP keepalive: unanswered probes before the connection is dropped. (env LOCKBOX_DB_KEEPALIVE_COUNT, default 3)"
    )
    var dbKeepaliveCount: Int?

    @Option(
        help:
            "Drop a connection whose sent data stays unacknowledged this long. (env LOCKBOX_DB_TCP_USER_TIMEOUT, default 15s)"
    )
    var dbTcpUserTimeout: String?

    @Option(
        help:
            "Directory of NNNN_name.sql migrations. (env LOCKBOX_MIGRATIONS_DIR, default: ./migrations or the one beside the build)"
    )
    var migrations: String?

    @Option(
        help: """
            At start, how long to wait for the database to be reachable (and, for serve, migrated). \
            (env LOCKBOX_DATABASE_WAIT, default 60s)
            """
    )
    var databaseWait: String?

    /// The pool and the migrations. `defaults` are the connection settings the flags and
    /// environment change: `migrate` passes ``PGConnectionSettings/forMigrations``.
    func open(
        _ env: Environment,
        logger: Logger,
        defaults: PGConnectionSettings = PGConnectionSettings()
    ) throws -> (PGPool, [Migration]) {
        let url = databaseURL ?? env["LOCKBOX_DATABASE_URL"] ?? Self.defaultURL
        let size = try integer(poolSize, env, "LOCKBOX_POOL_SIZE", in: 1...256) ?? 8
        var settings = defaults
        func duration(_ flag: String?, _ name: String, _ keyPath: WritableKeyPath<PGConnectionSettings, Duration>)
            throws
        {
            guard let text = flag ?? env[name] else { return }
            guard let value = parseDuration(text), value > .zero else {
                throw ValidationError("\(name.lowercased()) must be a positive duration such as 5s, got \"\(text)\"")
            }
            settings[keyPath: keyPath] = value
        }
        try duration(dbConnectTimeout, "LOCKBOX_DB_CONNECT_TIMEOUT", \.connectTimeout)
        try duration(dbStatementTimeout, "LOCKBOX_DB_STATEMENT_TIMEOUT", \.statementTimeout)
        try duration(dbLockTimeout, "LOCKBOX_DB_LOCK_TIMEOUT", \.lockTimeout)
        try duration(dbReplyTimeout, "LOCKBOX_DB_REPLY_TIMEOUT", \.replyTimeout)
        try duration(dbKeepaliveIdle, "LOCKBOX_DB_KEEPALIVE_IDLE", \.keepaliveIdle)
        try duration(dbKeepaliveInterval, "LOCKBOX_DB_KEEPALIVE_INTERVAL", \.keepaliveInterval)
        try duration(dbTcpUserTimeout, "LOCKBOX_DB_TCP_USER_TIMEOUT", \.tcpUserTimeout)
        settings.keepaliveCount =
            try integer(dbKeepaliveCount, env, "LOCKBOX_DB_KEEPALIVE_COUNT", in: 1...100) ?? settings.keepaliveCount
        if let problem = settings.problem { throw ValidationError(problem) }
        var configuration = PGPoolConfiguration(url: url, size: size, connection: settings)
        configuration.reservedForPriority =
            try integer(poolReservedForChecks, env, "LOCKBOX_POOL_RESERVED_FOR_CHECKS", in: 0...(size - 1))
            ?? configuration.reservedForPriority
        configuration.maxWaiting =
            try integer(poolMaxWaiting, env, "LOCKBOX_POOL_MAX_WAITING", in: 1...1_000_000) ?? configuration.maxWaiting
        let directory = try migrationsDirectory(env)
        let loaded: [Migration]
        do {
            loaded = try Migrator.load(directory: directory)
        } catch {
            throw ValidationError(error.detail)
        }
        return (PGPool(configuration: configuration, logger: logger), loaded)
    }

    private func integer(_ flag: Int?, _ env: Environment, _ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = flag.map(String.init) ?? env[name] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ValidationError(
                "\(name.lowercased()) must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\""
            )
        }
        return value
    }

    func migrationsDirectory(_ env: Environment) throws -> String {
        if let explicit = migrations ?? env["LOCKBOX_MIGRATIONS_DIR"] { return explicit }
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
        throw ValidationError("cannot find the migrations directory; set --migrations or LOCKBOX_MIGRATIONS_DIR")
    }

    func waitLimit(_ env: Environment) throws -> Duration {
        guard let text = databaseWait ?? env["LOCKBOX_DATABASE_WAIT"] else { return .seconds(60) }
        guard let value = parseDuration(text) else { throw ValidationError("bad database wait \"\(text)\"") }
        return value
    }

    /// Applies migrations, retrying while the database is unreachable; a changed migration stops at once.
    func migrateWaiting(
        _ migrations: [Migration],
        pool: PGPool,
        runtimeRole: String?,
        env: Environment,
        logger: Logger
    ) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + (try waitLimit(env))
        while true {
            do {
                try await Migrator.apply(migrations, pool: pool, runtimeRole: runtimeRole, logger: logger)
                return
            } catch let error as StoreError where error.code == .unavailable && clock.now < deadline {
                logger.warning("database unreachable; retrying", metadata: ["error": "\(error.detail)"])
                try await Task.sleep(for: .seconds(1))
            } catch let error as StoreError {
                logger.critical("cannot migrate the database", metadata: ["error": "\(error.detail)"])
                throw ExitCode(3)
            }
        }
    }

    /// Waits until the database is reachable and its schema is exactly these migrations (a
    /// `lockboxd migrate` may still be running); a changed or unknown migration stops at once.
    func waitForSchema(_ migrations: [Migration], pool: PGPool, env: Environment, logger: Logger) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + (try waitLimit(env))
        while true {
            do {
                switch try await Migrator.verify(migrations, pool: pool) {
                case .current:
                    return
                case .behind(let what) where clock.now < deadline:
                    logger.warning("database not migrated yet; waiting", metadata: ["schema": "\(what)"])
                case .behind(let what):
                    logger.critical(
                        "the database is not migrated: run lockboxd migrate as the owner role",
                        metadata: ["schema": "\(what)"]
                    )
                    throw ExitCode(3)
                }
            } catch let error as StoreError where clock.now < deadline && error.code == .unavailable {
                logger.warning("database unreachable; retrying", metadata: ["error": "\(error.detail)"])
            } catch let error as StoreError {
                logger.critical(
                    "the database schema does not match this lockboxd; run lockboxd migrate as the owner role",
                    metadata: ["error": "\(error.detail)"]
                )
                throw ExitCode(3)
            }
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// Refuses to serve as a role that could rewrite the audit log, unless told to for development.
    func checkRole(pool: PGPool, allowPrivileged: Bool, logger: Logger) async throws {
        let problems = try await pool.withConnection { try RuntimeRole.problems($0) }
        guard !problems.isEmpty else { return }
        if allowPrivileged {
            logger.warning(
                "serving as a privileged database role: the database does not protect the audit log from lockboxd",
                metadata: ["problems": "\(problems.joined(separator: "; "))"]
            )
            return
        }
        logger.critical(
            """
            refusing to serve: \(problems.joined(separator: "; ")). Connect as a runtime role that is not a \
            superuser and owns nothing (scripts/pg creates lockbox_app), granted by `lockboxd migrate \
            --runtime-role NAME` run as the owner role; or pass --allow-privileged-database-role for development.
            """
        )
        throw ExitCode(3)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending migrations as the owner role, grant the runtime role its rights, then exit."
    )

    @OptionGroup var database: DatabaseOptions

    @Option(
        help: """
            The role lockboxd serves as: given its rights, exactly, after the migrations. \
            (env LOCKBOX_RUNTIME_ROLE; none: no grants are made)
            """
    )
    var runtimeRole: String?

    @Option(help: "trace … critical. (env LOCKBOX_LOG_LEVEL, default info)")
    var logLevel: String?

    func run() async throws {
        let env = Environment(ProcessInfo.processInfo.environment)
        let levelText = logLevel ?? env["LOCKBOX_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText) else { throw ValidationError("unknown log level") }
        let role = runtimeRole ?? env["LOCKBOX_RUNTIME_ROLE"]
        if let role, role.isEmpty || role.utf8.count > 63 {
            throw ValidationError("runtime role must be a role name of 1 to 63 bytes")
        }
        let logger = bootstrapLogging(level)
        let (pool, migrations) = try database.open(env, logger: logger, defaults: .forMigrations)
        try await database.migrateWaiting(migrations, pool: pool, runtimeRole: role, env: env, logger: logger)
        await pool.shutdown()
        print("migrations: \(migrations.count) known, database up to date" + (role.map { "; \($0) granted" } ?? ""))
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
        let env = Environment(ProcessInfo.processInfo.environment)
        let logger = bootstrapLogging(.warning)
        let (pool, migrations) = try database.open(env, logger: logger)
        try await database.waitForSchema(migrations, pool: pool, env: env, logger: logger)
        do {
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
        }
    }
}
