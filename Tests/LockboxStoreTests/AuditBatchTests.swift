import LockboxCore
import LockboxTestSupport
import Testing

@testable import LockboxStore

/// A group of checks writes its records in one statement of arrays: every character of every
/// field arrives as it was given, in the order given.
@Suite struct AuditBatchTests {
    @Test func manyRecordsInOneStatementKeepEveryCharacterAndTheirOrder() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let tricky = [
            "plain", "quote \" and backslash \\", "{braces},comma", "NULL", "", "newline\nand\ttab", "ünïcödé ✓ 🔐",
            "\\\"", "  spaced  ",
        ]
        let entries = tricky.enumerated().map { index, text in
            AuditEntry(
                tenantID: "contoso",
                kind: .operatorAction,
                actorID: text,
                actorDisplay: text + "!",
                actorIP: "10.0.0.\(index)",
                activity: "Batch-\(index)",
                item: text,
                details: ["text": .string(text), "index": .int(Int64(index)), "allowed": .bool(index % 2 == 0)]
            )
        }
        try await fixture.pool.transaction { db in try AuditStore().append(all: entries, db) }
        let rows = try await fixture.pool.withConnection { db in
            try db.query(
                """
                SELECT actor_id, actor_display, actor_ip, activity, item, kind, decision, details->>'text' AS text,
                       (details->>'index')::bigint AS n, (details->>'allowed')::boolean AS allowed
                FROM audit_records WHERE activity LIKE 'Batch-%' ORDER BY audit_id
                """
            ).rows
        }
        #expect(rows.count == tricky.count)
        for (index, row) in rows.enumerated() {
            #expect(try row.decode("actor_id", as: String.self) == tricky[index])
            #expect(try row.decode("actor_display", as: String.self) == tricky[index] + "!")
            #expect(try row.decode("actor_ip", as: String.self) == "10.0.0.\(index)")
            #expect(try row.decode("activity", as: String.self) == "Batch-\(index)", "in the order given")
            #expect(try row.decode("item", as: String.self) == tricky[index])
            #expect(try row.decode("kind", as: String.self) == AuditKind.operatorAction.rawValue)
            #expect(try row.decode("decision", as: Int16.self) == AuditDecision.none.rawValue)
            #expect(try row.decode("text", as: String.self) == tricky[index])
            #expect(try row.decode("n", as: Int64.self) == Int64(index))
            #expect(try row.decode("allowed", as: Bool.self) == (index % 2 == 0))
        }
    }
}
