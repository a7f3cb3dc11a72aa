import Foundation
import LockboxCore
import LockboxTestSupport
import Testing

@testable import LockboxStore

/// Every vocabulary the database stores is a Swift enum bound from Swift, and each column's
/// CHECK constraint in the migrations allows exactly that enum's values: a value added on one
/// side only fails here, not in production.
@Suite struct StoredEnumTests {
    struct Column: Sendable, CustomTestStringConvertible {
        var table: String
        var column: String
        var values: Set<String>
        var testDescription: String { "\(table).\(column)" }
    }

    static let columns: [Column] = [
        Column(table: "access_requests", column: "status", values: Set(RequestState.allCases.map(\.rawValue))),
        Column(table: "access_requests", column: "service", values: Set(ContentService.allCases.map(\.rawValue))),
        Column(
            table: "access_requests",
            column: "justification_category",
            values: Set(JustificationCategory.allCases.map(\.rawValue))
        ),
        Column(
            table: "preapproved_operations",
            column: "service",
            values: Set(ContentService.allCases.map(\.rawValue))
        ),
        Column(table: "role_assignments", column: "role", values: Set(Role.allCases.map(\.rawValue))),
        Column(table: "request_events", column: "state", values: Set(RequestState.allCases.map(\.rawValue))),
        Column(table: "request_events", column: "activity", values: Set(Activity.lifecycle.map(\.rawValue))),
        // Records written before kinds existed have kind ''.
        Column(table: "audit_records", column: "kind", values: Set(AuditKind.allCases.map(\.rawValue) + [""])),
        Column(table: "notifications", column: "channel", values: Set(NotificationChannel.allCases.map(\.rawValue))),
        Column(table: "notifications", column: "state", values: Set(NotificationState.allCases.map(\.rawValue))),
        Column(table: "notifications", column: "kind", values: Set(NotificationKind.allCases.map(\.rawValue))),
        Column(table: "event_positions", column: "name", values: Set(FeedPositionName.allCases.map(\.rawValue))),
    ]

    /// The values a column's own CHECK (`CHECK ((column = ANY (ARRAY[…])))`, as PostgreSQL
    /// prints `column IN (…)`) allows.
    static func allowed(_ column: Column, in checks: [String]) -> Set<String>? {
        for check in checks where check.hasPrefix("CHECK ((\(column.column) = ANY (ARRAY[") {
            let list = check
            let literals = list.matches(of: /'((?:[^']|'')*)'::text/).map { String($0.output.1) }
            return Set(literals)
        }
        return nil
    }

    @Test func everyStoredEnumMatchesItsCheck() async throws {
        let pool = try await TestDatabase.migrated()
        defer { Task { await pool.shutdown() } }
        for column in Self.columns {
            let checks = try await pool.withConnection { db in
                try db.query(
                    """
                    SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
                    WHERE conrelid = \(column.table)::regclass AND contype = 'c'
                    """
                ).rows.map { try $0.decode("definition", as: String.self) }
            }
            let allowed = Self.allowed(column, in: checks)
            #expect(allowed == column.values, "\(column.table).\(column.column): CHECK allows \(allowed ?? [])")
        }
    }

    /// A value the enum does not have is refused by the database itself.
    @Test func aValueOutsideTheEnumIsRefused() async throws {
        let pool = try await TestDatabase.migrated()
        defer { Task { await pool.shutdown() } }
        await #expect(throws: StoreError.self) {
            try await pool.withConnection { db in
                try db.query(
                    "UPDATE event_positions SET name = 'rewound' WHERE name = \(literal: FeedPositionName.pruned)"
                )
            }
        }
    }
}
