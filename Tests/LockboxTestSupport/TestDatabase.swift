import Foundation
import LockboxIntegrity
@testable import LockboxStore
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A logger that drops everything, for servers under test.
package let testLogger: Logger = {
    var logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()

/// The repository's root folder (the one holding Package.swift).
package let packageRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appending(path: "Package.swift").path) { return url }
    }
    fatalError("Package.swift not found above \(#filePath)")
}()

/// A database of a test's own, and how each role reaches it.
package struct TestDatabaseURLs: Sendable {
    package let name: String
    /// The cluster's superuser: the test acting as the database administrator.
    package let superuser: String
    /// The role migrations run as, which owns the schema.
    package let owner: String
    /// The role lockboxd serves as.
    package let runtime: String
}

/// The PostgreSQL that scripts/test starts. Each test gets a database of its own, owned by
/// the owner role; the server reaches it as the runtime role, as in production.
package enum TestDatabase {
    package struct NotConfigured: Error, CustomStringConvertible {
        package init() {}
        package var description: String {
            "LOCKBOX_TEST_DATABASE_URL, _OWNER_URL and _RUNTIME_URL are not set: run the tests with scripts/test"
        }
    }

    static func environment(_ name: String) throws -> String {
        guard let url = ProcessInfo.processInfo.environment[name], !url.isEmpty else { throw NotConfigured() }
        return url
    }

    /// The superuser's URL to the `postgres` database.
    package static var serverURL: String { get throws { try environment("LOCKBOX_TEST_DATABASE_URL") } }
    /// The runtime role's name, as `lockboxd migrate --runtime-role` takes it.
    package static let runtimeRole = "lockbox_app"

    static let admin: PGPool? = {
        guard let url = try? serverURL else { return nil }
        // Every test creates its database through this one pool, all at once: they may all wait.
        return PGPool(configuration: PGPoolConfiguration(url: url, size: 2), logger: testLogger)
    }()

    /// `url` with its database name replaced.
    package static func url(_ url: String, database: String) -> String {
        guard let slash = url.lastIndex(of: "/") else { return url }
        return url[..<slash] + "/" + database
    }

    /// Creates an empty database owned by the owner role.
    package static func create() async throws -> TestDatabaseURLs {
        let server = try serverURL
        let owner = try environment("LOCKBOX_TEST_OWNER_URL")
        let runtime = try environment("LOCKBOX_TEST_RUNTIME_URL")
        guard let admin else { throw NotConfigured() }
        // A name we generate from random hex: safe to splice, since CREATE DATABASE takes no parameters.
        let name = "lbx_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        try await admin.withConnection { connection in
            try connection.execute(script: "CREATE DATABASE \(name) OWNER lockbox_owner")
        }
        return TestDatabaseURLs(
            name: String(name),
            superuser: url(server, database: String(name)),
            owner: url(owner, database: String(name)),
            runtime: url(runtime, database: String(name))
        )
    }

    /// A fresh database, migrated as the owner with the runtime role granted, as `lockboxd
    /// migrate` leaves it for `lockboxd serve`.
    /// The key the binary tests' lockboxd signs with (``Daemon/testSigningKey``) is trusted, as
    /// `lockboxd migrate --signing-key-file` leaves it.
    package static func migratedURLs() async throws -> TestDatabaseURLs {
        let urls = try await create()
        try await migrate(urls, trusting: [daemonKey])
        return urls
    }

    /// The public half of ``Daemon/testSigningKey``.
    package static var daemonKey: PublicSigningKey {
        get throws {
            try Signer(seed: Data(base64Encoded: Daemon.testSigningKey).map { Array($0) } ?? []).publicKey
        }
    }

    /// A fresh database, migrated as the owner with the runtime role granted; a pool on it as
    /// the runtime role.
    package static func migrated(poolSize: Int = 2) async throws -> PGPool {
        let urls = try await create()
        try await migrate(urls)
        return PGPool(configuration: PGPoolConfiguration(url: urls.runtime, size: poolSize), logger: testLogger)
    }

    /// Applies the migrations as the owner and grants the runtime role, as `lockboxd migrate`
    /// does, and introduces `keys` as trusted server keys.
    package static func migrate(_ urls: TestDatabaseURLs, trusting keys: [PublicSigningKey] = []) async throws {
        let owner = PGPool(
            configuration: PGPoolConfiguration(url: urls.owner, size: 1, connection: .forMigrations),
            logger: testLogger
        )
        try await Migrator.apply(try migrations, pool: owner, runtimeRole: runtimeRole, logger: testLogger)
        for key in keys { try await introduce(key, owner: owner) }
        await owner.shutdown()
    }

    /// Adds a server signing key as the owner role: trusted (migrations/0011).
    package static func introduce(_ key: PublicSigningKey, owner: PGPool) async throws {
        try await owner.transaction { db in
            try ChainStore().introduce(
                keyID: key.keyID,
                publicKey: key.publicKey,
                attestedBy: nil,
                attestation: nil,
                db
            )
        }
    }

    package static var migrations: [Migration] {
        get throws { try Migrator.load(directory: packageRoot.appending(path: "migrations").path) }
    }
}

extension PGPool {
    /// Runs one statement directly, for fixtures and for checking what the server stored.
    package func sql(_ query: PGQuery) async throws -> PGRows {
        try await withConnection { try $0.query(query) }
    }
}

extension PGRow {
    package func string(_ column: String) throws -> String { try decode(column) }
    package func int64(_ column: String) throws -> Int64 { try decode(column) }
}

/// A PostgreSQL of the test's own, so stopping it disturbs no other test.
package final class PrivatePostgres: Sendable {
    package let directory: String
    package let port: Int
    let script: String
    /// The `postgres` database's URLs for the superuser, the owner and the runtime role.
    package let urls: TestDatabaseURLs

    package init() throws {
        guard let script = ProcessInfo.processInfo.environment["LOCKBOX_TEST_PG_SCRIPT"], !script.isEmpty else {
            throw TestDatabase.NotConfigured()
        }
        self.script = script
        directory =
            FileManager.default.temporaryDirectory.appending(path: "lockbox-pg-\(UUID().uuidString.prefix(8))")
            .path
        port = try Self.freePort()
        do {
            _ = try Self.run(script, "start", directory, String(port), "--fast")
            let roles = try Self.run(script, "roles", directory, String(port), "lockbox")
            var values: [String: String] = [:]
            for line in roles.split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
            }
            urls = TestDatabaseURLs(
                name: "lockbox",
                superuser: values["LOCKBOX_PG_SUPERUSER_URL"] ?? "",
                owner: values["LOCKBOX_OWNER_DATABASE_URL"] ?? "",
                runtime: values["LOCKBOX_DATABASE_URL"] ?? ""
            )
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    package static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Int32 in
                guard bind(fd, raw, length) == 0 else { return -1 }
                return getsockname(fd, raw, &length)
            }
        }
        guard bound == 0 else { throw DaemonFailed(stderr: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func run(_ script: String, _ arguments: String...) throws -> String {
        let output = try Binaries.runPath(script, arguments)
        guard output.status == 0 else { throw DaemonFailed(stderr: output.stderr) }
        return output.stdout
    }

    package func stop() throws { _ = try Self.run(script, "stop", directory) }
    package func start() throws { _ = try Self.run(script, "start", directory, String(port)) }

    /// A copy of `urls` with the host and port of another cluster (a standby's), or several.
    package static func url(_ url: String, hosts: [(String, Int)], options: String? = nil) -> String {
        var components = URLComponents(string: url)!
        let authority = hosts.map { "\($0.0):\($0.1)" }.joined(separator: ",")
        components.host = "HOSTS"
        components.port = nil
        if let options { components.query = options }
        return components.string!.replacingOccurrences(of: "HOSTS", with: authority)
    }

    package func destroy() {
        try? stop()
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.removeItem(atPath: directory + ".secrets")
    }
}

/// A streaming standby of a ``PrivatePostgres`` (pg_basebackup), with the same roles.
package final class PrivateStandby: Sendable {
    package let directory: String
    package let port: Int
    let script: String
    /// The same roles' URLs, on this standby.
    package let urls: TestDatabaseURLs

    package init(of primary: PrivatePostgres) throws {
        script = primary.script
        directory =
            FileManager.default.temporaryDirectory.appending(path: "lockbox-standby-\(UUID().uuidString.prefix(8))")
            .path
        let port = try PrivatePostgres.freePort()
        self.port = port
        _ = try PrivatePostgres.run(script, "standby", directory, String(port), primary.directory, String(primary.port))
        let here = { (url: String) in PrivatePostgres.url(url, hosts: [("127.0.0.1", port)]) }
        urls = TestDatabaseURLs(
            name: primary.urls.name,
            superuser: here(primary.urls.superuser),
            owner: here(primary.urls.owner),
            runtime: here(primary.urls.runtime)
        )
    }

    package func promote() throws { _ = try PrivatePostgres.run(script, "promote", directory) }

    package func destroy() {
        _ = try? PrivatePostgres.run(script, "stop", directory)
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.removeItem(atPath: directory + ".secrets")
    }
}
