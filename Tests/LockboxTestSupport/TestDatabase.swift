import Foundation
import LockboxStore
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

/// The PostgreSQL that scripts/test starts. Each test gets a database of its own.
package enum TestDatabase {
    package struct NotConfigured: Error, CustomStringConvertible {
        package init() {}
        package var description: String {
            "LOCKBOX_TEST_DATABASE_URL is not set: run the tests with scripts/test, which starts PostgreSQL"
        }
    }

    package static var serverURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["LOCKBOX_TEST_DATABASE_URL"], !url.isEmpty else {
                throw NotConfigured()
            }
            return url
        }
    }

    static let admin: PGPool? = {
        guard let url = try? serverURL else { return nil }
        return PGPool(configuration: PGPoolConfiguration(url: url, size: 2), logger: testLogger)
    }()

    /// Creates an empty database and returns its URL.
    package static func create() async throws -> String {
        let server = try serverURL
        guard let admin else { throw NotConfigured() }
        // A name we generate from random hex: safe to splice, since CREATE DATABASE takes no parameters.
        let name = "lbx_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        try await admin.withConnection { connection in
            try connection.execute(script: "CREATE DATABASE \(name)")
        }
        guard let slash = server.lastIndex(of: "/") else { throw NotConfigured() }
        return server[..<slash] + "/" + name
    }

    /// A fresh, migrated database and a pool on it.
    package static func migrated(poolSize: Int = 2) async throws -> PGPool {
        let pool = PGPool(
            configuration: PGPoolConfiguration(url: try await create(), size: poolSize),
            logger: testLogger
        )
        try await Migrator.apply(try migrations, pool: pool, logger: testLogger)
        return pool
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
            try run("start", String(port), "--fast")
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// A loopback port the kernel says is free now.
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

    package var url: String { "postgresql://lockbox@127.0.0.1:\(port)/postgres" }

    func run(_ arguments: String...) throws {
        let output = try Binaries.runPath(script, [arguments[0], directory] + arguments.dropFirst())
        guard output.status == 0 else { throw DaemonFailed(stderr: output.stderr) }
    }

    package func stop() throws { try run("stop") }
    package func start() throws { try run("start", String(port)) }

    package func destroy() {
        try? stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
