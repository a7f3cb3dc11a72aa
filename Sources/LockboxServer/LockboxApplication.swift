import LockboxCore
import LockboxIntegrity
import LockboxObservability
import LockboxRPC
import LockboxStore
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// Everything a serving lockboxd is configured with. Each part keeps its own defaults.
package struct LockboxConfiguration: Sendable {
    /// The RPC listener and its limits (TLS included).
    package var rpc = RPCServerConfiguration()
    /// The primary database and its pool; lockboxd serves as the runtime role.
    package var database: PGPoolConfiguration
    /// A hot standby that audit searches and plain exports read from; nil: the primary.
    package var readDatabaseURL: String?
    /// The migrations this build knows: the schema must be exactly these.
    package var migrations: [Migration] = []
    /// At start, how long to wait for the database to be reachable and migrated.
    package var databaseWait: Duration = .seconds(60)
    /// Serve even as a role that could rewrite the audit log (development only, with a warning).
    package var allowPrivilegedDatabaseRole = false
    package var service = LockboxServiceConfiguration()
    package var integrity = IntegrityConfiguration()
    package var watches = WatchConfiguration()
    package var notifications = NotificationConfiguration()
    /// Where Prometheus metrics, /healthz and /readyz are served; nil: not at all.
    package var metrics: (host: String, port: Int)?

    package init(database: PGPoolConfiguration) { self.database = database }
}

/// The composition root of a serving lockboxd: the pools, the services and the RPC server,
/// in one ServiceGroup that stops them in order (the server drains its calls first; the pool
/// closes last). The executable parses its options into a ``LockboxConfiguration``,
/// bootstraps logging and metrics (a library never does), and runs this.
package struct LockboxApplication: Sendable {
    package let configuration: LockboxConfiguration
    let signer: Signer
    let registry: PrometheusCollectorRegistry?
    let logger: Logger

    /// - Parameters:
    ///   - signer: the server's signing key.
    ///   - registry: the metrics registry the process bootstrapped; required when metrics are served.
    package init(
        configuration: LockboxConfiguration,
        signer: Signer,
        registry: PrometheusCollectorRegistry?,
        logger: Logger
    ) {
        self.configuration = configuration
        self.signer = signer
        self.registry = registry
        self.logger = logger
    }

    /// What the application tells its runner once it listens: the RPC address, and the metrics
    /// address when metrics are served.
    package typealias Listening = @Sendable (SocketAddress, SocketAddress?) -> Void

    /// Waits for the database and its schema, checks the role, then serves until SIGTERM or
    /// SIGINT. Throws ``StartupError`` when it cannot start.
    package func run(onListening: @escaping Listening = { _, _ in }) async throws {
        let config = configuration
        logTransports()
        let pool = PGPool(configuration: config.database, logger: logger)
        try await Self.waitForSchema(config.migrations, pool: pool, wait: config.databaseWait, logger: logger)
        try await checkRole(pool)
        let clock = SystemClock()
        if config.metrics != nil { MetricCatalog.register() }
        var service = config.service
        // A whole-table count once a minute: only when someone collects it.
        service.recordRequestStates = config.metrics != nil
        // The server's own work (sealing and signing the audit chains, the sweepers) has
        // connections of its own: it never waits behind clients, nor they behind it. The feed
        // follower and the deliveries keep a connection each.
        var system = PGPoolConfiguration(url: config.database.url, size: 2, reservedForPriority: 0)
        system.connection = config.database.connection
        system.name = "system"
        let systemPool = PGPool(configuration: system, logger: logger)
        let integrity = AuditIntegrity(
            pool: systemPool,
            signer: signer,
            clock: clock,
            configuration: config.integrity,
            logger: logger
        )
        // Trusted before the first call is served, so that nothing is signed by a key no one can trust.
        do {
            try await integrity.requireTrustedKey()
        } catch let error as AuditIntegrity.UntrustedKey {
            throw StartupError(description: error.description, exitCode: 3)
        }
        logger.info("signing with \(integrity.keyID)")
        let notifier = RequestNotifier(
            databaseURL: config.database.url,
            settings: config.database.connection,
            configuration: config.watches,
            logger: logger
        )
        let readPool = config.readDatabaseURL.map { url in
            // Only audit reads use it: no share kept for CheckAccess.
            var read = PGPoolConfiguration(
                url: url,
                size: max(2, config.database.size / 2),
                reservedForPriority: 0,
                connection: config.database.connection
            )
            read.name = "read"
            return PGPool(configuration: read, logger: logger)
        }
        let lockbox = LockboxService(
            pool: pool,
            clock: clock,
            integrity: integrity,
            configuration: service,
            notifier: notifier,
            readPool: readPool,
            logger: logger
        )
        let sweeper = Sweeper(pool: systemPool, clock: clock, configuration: service, logger: logger)
        let dispatcher = NotificationDispatcher(
            databaseURL: config.database.url,
            settings: config.database.connection,
            clock: clock,
            configuration: config.notifications,
            logger: logger
        )
        let server = RPCServer(configuration: config.rpc, router: lockbox.makeRouter(), logger: logger)
        let endpoint = metricsEndpoint(pool)
        // Shut down in reverse order: the server drains its calls first, the pool closes last.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: pool), .init(service: systemPool),
        ]
        if let readPool { services.append(.init(service: readPool)) }
        services += [
            .init(service: notifier), .init(service: sweeper), .init(service: integrity), .init(service: dispatcher),
        ]
        if let endpoint { services.append(.init(service: endpoint)) }
        services.append(.init(service: server))
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        Task {
            guard let address = try? await server.localAddress else { return }
            onListening(address, try? await endpoint?.localAddress)
        }
        try await group.run()
    }

    /// Why lockboxd could not start, said to the operator; the process exits with `exitCode`.
    package struct StartupError: Error, CustomStringConvertible {
        package let description: String
        package let exitCode: Int32
    }

    private func metricsEndpoint(_ pool: PGPool) -> MetricsEndpoint? {
        guard let metrics = configuration.metrics, let registry else { return nil }
        let migrations = configuration.migrations
        return MetricsEndpoint(
            configuration: MetricsEndpointConfiguration(
                host: metrics.host,
                port: metrics.port,
                readiness: {
                    do {
                        guard case .current = try await Migrator.verify(migrations, pool: pool) else { return false }
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

    /// Says where email goes, and warns of what crosses the network in clear text.
    private func logTransports() {
        if configuration.rpc.tls == nil, !Self.isLoopback(configuration.rpc.host) {
            logger.warning(
                "serving plaintext on a non-loopback address: bearer tokens cross the network in clear text",
                metadata: ["host": "\(configuration.rpc.host)"]
            )
        }
        guard let smtp = configuration.notifications.smtp else {
            logger.info("no SMTP relay configured (--smtp-host): no email is sent")
            return
        }
        logger.info("emailing through \(smtp.host):\(smtp.port) (\(smtp.security.rawValue)) as \(smtp.sender)")
        if smtp.security == .none && !Self.isLoopback(smtp.host) {
            logger.warning(
                "plain SMTP to a relay that is not on loopback: request details cross the network in clear text",
                metadata: ["smtp.host": "\(smtp.host)"]
            )
        }
    }

    static func isLoopback(_ host: String) -> Bool { ["127.0.0.1", "::1", "localhost"].contains(host) }

    /// Waits until the database is reachable and its schema is exactly `migrations` (a
    /// `lockboxd migrate` may still be running); a changed or unknown migration stops at once.
    package static func waitForSchema(
        _ migrations: [Migration],
        pool: PGPool,
        wait: Duration,
        logger: Logger
    ) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + wait
        while true {
            do {
                switch try await Migrator.verify(migrations, pool: pool) {
                case .current:
                    return
                case .behind(let what) where clock.now < deadline:
                    logger.warning("database not migrated yet; waiting", metadata: ["schema": "\(what)"])
                case .behind(let what):
                    throw StartupError(
                        description: "the database is not migrated (\(what)): run lockboxd migrate as the owner role",
                        exitCode: 3
                    )
                }
            } catch let error as StoreError where clock.now < deadline && error.code == .unavailable {
                logger.warning("database unreachable; retrying", metadata: ["error": "\(error.detail)"])
            } catch let error as StoreError {
                throw StartupError(
                    description: "the database schema does not match this lockboxd (\(error.detail)); "
                        + "run lockboxd migrate as the owner role",
                    exitCode: 3
                )
            }
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// Refuses to serve as a role that could rewrite the audit log, unless told to for development.
    private func checkRole(_ pool: PGPool) async throws {
        let problems = try await pool.withConnection { try RuntimeRole.problems($0) }
        guard !problems.isEmpty else { return }
        if configuration.allowPrivilegedDatabaseRole {
            logger.warning(
                "serving as a privileged database role: the database does not protect the audit log from lockboxd",
                metadata: ["problems": "\(problems.joined(separator: "; "))"]
            )
            return
        }
        throw StartupError(
            description: """
                refusing to serve: \(problems.joined(separator: "; ")). Connect as a runtime role that is not a \
                superuser and owns nothing (scripts/pg creates lockbox_app), granted by `lockboxd migrate \
                --runtime-role NAME` run as the owner role; or pass --allow-privileged-database-role for development.
                """,
            exitCode: 3
        )
    }
}
