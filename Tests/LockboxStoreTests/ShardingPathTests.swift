import Foundation
import LockboxTestSupport
import Testing

@testable import LockboxStore

/// The path to sharding by tenant (docs/scaling.md): on a database migrated from
/// `migrations/`, every tenant-scoped table (one with a NOT NULL `tenant_id`) carries
/// `tenant_id` in its primary key and in every unique constraint and unique index, as Citus
/// requires of a table distributed by that column. A later migration cannot quietly break it.
@Suite struct ShardingPathTests {
    /// Tables with no NOT NULL tenant_id, kept whole on every node (Citus reference tables)
    /// or on the coordinator; docs/scaling.md lists them.
    static let reference: Set<String> = [
        "principals", "api_tokens", "preapproved_operations", "signing_keys", "schema_migrations",
    ]

    @Test func everyTenantScopedKeyIncludesTheTenant() async throws {
        let db = try PGConnection(url: try await TestDatabase.migratedURLs().owner)
        let scoped = try db.query(
            """
            SELECT c.relname AS name FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attname = 'tenant_id' AND a.attnotnull
            ORDER BY 1
            """
        ).rows.map { try $0.decode("name") as String }
        #expect(scoped.count >= 10, "\(scoped)")
        #expect(Set(scoped).isDisjoint(with: Self.reference), "a reference table became tenant-scoped: \(scoped)")
        // Every unique index (primary keys and unique constraints have one) of those tables.
        let indexes = try db.query(
            """
            SELECT c.relname AS table_name, i.relname AS index_name,
                   bool_or(a.attname = 'tenant_id') AS has_tenant
            FROM pg_index x
            JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(x.indkey)
            WHERE n.nspname = 'public' AND x.indisunique AND c.relname = ANY(\(PGTextArray(scoped))::text[])
            GROUP BY 1, 2 ORDER BY 1, 2
            """
        ).rows
        #expect(indexes.count >= scoped.count)
        for index in indexes {
            let table: String = try index.decode("table_name")
            let name: String = try index.decode("index_name")
            #expect(try index.decode("has_tenant", as: Bool.self), "\(table): unique index \(name) lacks tenant_id")
        }
        // And every tenant-scoped table has a primary key.
        let withoutKey = try db.query(
            """
            SELECT c.relname AS name FROM pg_class c
            WHERE c.relname = ANY(\(PGTextArray(scoped))::text[])
              AND NOT EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND x.indisprimary)
            """
        ).rows.map { try $0.decode("name") as String }
        #expect(withoutKey.isEmpty, "\(withoutKey)")
    }
}
