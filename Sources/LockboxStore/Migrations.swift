import Crypto
import Foundation
import Logging

/// One file of `migrations/`, named `NNNN_name.sql`.
public struct Migration: Sendable, Hashable {
    public let version: Int
    public let name: String
    public let sql: String
    /// SHA-256 of the file, hex.
    public let checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        checksum = SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Applies `migrations/` in order, once, recording each with its checksum.
///
/// Replicas that start together serialize on a PostgreSQL advisory lock; the
/// first applies what is missing and the others find it done. If a file that
/// was already applied has changed, nothing is applied and `apply` throws.
public enum Migrator {
    /// The advisory lock key ("LBXM").
    static let lockKey: Int64 = 0x4C42_584D

    /// Reads `NNNN_name.sql` files from a directory, in version order.
    public static func load(directory: String) throws(StoreError) -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw StoreError(.migration, detail: "cannot read migrations directory \(directory)")
        }
        var migrations: [Migration] = []
        for name in names.sorted() where name.hasSuffix(".sql") {
            guard let version = Int(name.prefix(while: { $0.isNumber })), name.count > 5, name.dropFirst(4).first == "_"
            else {
                throw StoreError(.migration, detail: "migration file \(name) is not named NNNN_name.sql")
            }
            guard let sql = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) else {
                throw StoreError(.migration, detail: "cannot read \(name)")
            }
            if let previous = migrations.last, previous.version == version {
                throw StoreError(.migration, detail: "two migrations have version \(version)")
            }
            migrations.append(Migration(version: version, name: String(name.dropLast(4)), sql: sql))
        }
        return migrations
    }

    /// Applies the migrations that are missing; returns the names it applied.
    @discardableResult
    public static func apply(_ migrations: [Migration], pool: PGPool, logger: Logger) async throws -> [String] {
        try await pool.withConnection { connection in
            try connection.query("SELECT pg_advisory_lock(\(lockKey))")
            defer { _ = try? connection.query("SELECT pg_advisory_unlock(\(lockKey))") }
            try connection.execute(
                script: """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version integer PRIMARY KEY,
                        name text NOT NULL,
                        checksum text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """
            )
            let applied = try connection.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
            var appliedChecksums: [Int: (String, String)] = [:]
            for row in applied.rows {
                appliedChecksums[try row.decode("version")] = (try row.decode("name"), try row.decode("checksum"))
            }
            for migration in migrations {
                if let (name, checksum) = appliedChecksums[migration.version], checksum != migration.checksum {
                    throw StoreError(
                        .migration,
                        detail: "migration \(name).sql was changed after it was applied "
                            + "(applied checksum \(checksum.prefix(12)), file now \(migration.checksum.prefix(12))); "
                            + "restore the file and add a new migration instead"
                    )
                }
            }
            let known = Set(migrations.map(\.version))
            if let unknown = appliedChecksums.keys.sorted().first(where: { !known.contains($0) }) {
                throw StoreError(
                    .migration,
                    detail:
                        "the database has migration \(unknown) that this lockboxd does not know; is it older than the schema?"
                )
            }
            var done: [String] = []
            for migration in migrations where appliedChecksums[migration.version] == nil {
                try connection.execute(script: "BEGIN")
                do {
                    try connection.execute(script: migration.sql)
                    try connection.query(
                        """
                        INSERT INTO schema_migrations (version, name, checksum)
                        VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                        """
                    )
                    try connection.execute(script: "COMMIT")
                } catch {
                    try? connection.execute(script: "ROLLBACK")
                    throw error
                }
                logger.info("applied migration", metadata: ["migration": "\(migration.name)"])
                done.append(migration.name)
            }
            return done
        }
    }
}
