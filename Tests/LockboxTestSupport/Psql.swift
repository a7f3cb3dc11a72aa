import Foundation

/// PostgreSQL's own client, `psql`: what someone holding a database role's password runs.
package enum Psql {
    /// The executable: on PATH, or in Debian's versioned directory.
    static let path: String? = {
        var candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map {
            "\($0)/psql"
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.sorted(by: >).map { "/usr/lib/postgresql/\($0)/bin/psql" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    package struct NotFound: Error, CustomStringConvertible {
        package var description: String { "psql not found (apt-get install postgresql-client)" }
    }

    /// Runs `sql` as one statement (or script) against `url`, stopping at the first error;
    /// `-At` output (unaligned, tuples only).
    package static func run(_ url: String, _ sql: String) throws -> Binaries.Output {
        guard let path else { throw NotFound() }
        return try Binaries.runPath(
            path,
            ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
            environment: ["PGCONNECT_TIMEOUT": "10"]
        )
    }
}
