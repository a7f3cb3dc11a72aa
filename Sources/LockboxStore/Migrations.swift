import Crypto
import Foundation
import Logging

/// One file of `migrations/`, named `NNNN_name.sql`.
package struct Migration: Sendable, Hashable {
    package let version: Int
    package let name: String
    package let sql: String
    /// SHA-256 of the file, hex.
    package let checksum: String

    package init(version: Int, name: String, sql: String) {
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
package enum Migrator {
    /// The advisory lock key ("LBXM").
    static let lockKey: Int64 = 0x4C42_584D

    /// Reads `NNNN_name.sql` files from a directory, in version order.
    package static func load(directory: String) throws(StoreError) -> [Migration] {
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

    /// How a database's schema stands against the migrations a lockboxd knows.
    package enum SchemaState: Sendable, Hashable {
        /// Every migration applied, none changed, none unknown.
        case current
        /// Some are not applied yet (a `lockboxd migrate` may be on its way): which, for the log.
        case behind(String)
    }

    /// Whether the database's schema is exactly `migrations`. Throws `.migration` when an
    /// applied one changed or one is unknown, `.unavailable` when the database is unreachable.
    package static func verify(_ migrations: [Migration], pool: PGPool) async throws -> SchemaState {
        try await pool.withConnection { connection in
            let table = try connection.query(
                """
                SELECT to_regclass('schema_migrations') IS NOT NULL AS present,
                       CASE WHEN to_regclass('schema_migrations') IS NULL THEN false
                            ELSE has_table_privilege('schema_migrations', 'SELECT') END AS readable
                """
            )
            guard try table.first?.decode("present", as: Bool.self) == true else {
                return .behind("the database has no migrations applied")
            }
            guard try table.first?.decode("readable", as: Bool.self) == true else {
                return .behind("this role has not been granted its rights yet (lockboxd migrate --runtime-role)")
            }
            let applied = try appliedChecksums(connection)
            try compare(migrations, applied)
            if let missing = migrations.first(where: { applied[$0.version] == nil }) {
                return .behind("migration \(missing.name) is not applied yet")
            }
            return .current
        }
    }

    static func appliedChecksums(_ connection: PGConnection) throws -> [Int: (name: String, checksum: String)] {
        let applied = try connection.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        var checksums: [Int: (String, String)] = [:]
        for row in applied.rows {
            checksums[try row.decode("version")] = (try row.decode("name"), try row.decode("checksum"))
        }
        return checksums
    }

    /// Throws when an applied migration changed, or the database has one these files do not.
    static func compare(_ migrations: [Migration], _ applied: [Int: (name: String, checksum: String)]) throws {
        for migration in migrations {
            if let (name, checksum) = applied[migration.version], checksum != migration.checksum {
                throw StoreError(
                    .migration,
                    detail: "migration \(name).sql was changed after it was applied "
                        + "(applied checksum \(checksum.prefix(12)), file now \(migration.checksum.prefix(12))); "
                        + "restore the file and add a new migration instead"
                )
            }
        }
        let known = Set(migrations.map(\.version))
        if let unknown = applied.keys.sorted().first(where: { !known.contains($0) }) {
            throw StoreError(
                .migration,
                detail: "the database has migration \(unknown) that this lockboxd does not know; "
                    + "is it older than the schema?"
            )
        }
    }

    /// Applies the migrations that are missing; returns the names it applied.
    @discardableResult
    package static func apply(
        _ migrations: [Migration],
        pool: PGPool,
        runtimeRole: String? = nil,
        logger: Logger
    ) async throws -> [String] {
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
            let appliedChecksums = try appliedChecksums(connection)
            try compare(migrations, appliedChecksums)
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
            if let runtimeRole {
                try connection.execute(script: "BEGIN")
                do {
                    try RuntimeRole.grant(to: runtimeRole, connection)
                    try connection.execute(script: "COMMIT")
                } catch {
                    try? connection.execute(script: "ROLLBACK")
                    throw error
                }
                logger.info("granted the runtime role its rights", metadata: ["role": "\(runtimeRole)"])
            }
            return done
        }
    }
}
