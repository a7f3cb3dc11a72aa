import LockboxCore
import Testing

@testable import LockboxStore

/// Typed binds: every interpolated value is a numbered parameter with its PostgreSQL type,
/// and nothing a caller supplies reaches the SQL text. Pure: no database.
@Suite struct PGQueryTests {
    @Test func interpolatedValuesBecomeTypedParameters() {
        let id = "x'); DROP TABLE audit_records; --"
        let limit: Int64 = 5
        let flag = true
        let missing: String? = nil
        let query: PGQuery = "SELECT * FROM t WHERE a = \(id) AND b < \(limit) AND c = \(flag) AND d = \(missing)"
        #expect(query.sql == "SELECT * FROM t WHERE a = $1 AND b < $2 AND c = $3 AND d = $4")
        #expect(
            query.binds == [
                PGBind(type: .text, text: id), PGBind(type: .int8, text: "5"), PGBind(type: .bool, text: "t"),
                PGBind(type: .text, text: nil),
            ]
        )
    }

    @Test func fragmentsAreRenumbered() {
        let inner: PGQuery = "x = \(Int64(1)) OR y = \("two")"
        var outer: PGQuery = "SELECT \(Int64(0)) WHERE \(inner) AND z = \("three")"
        outer.append(" LIMIT \(Int64(9))")
        #expect(outer.sql == "SELECT $1 WHERE x = $2 OR y = $3 AND z = $4 LIMIT $5")
        #expect(outer.binds.map(\.text) == ["0", "1", "two", "three", "9"])
        let joined = PGQuery.joined([inner, "w = \(Int64(3))"], separator: " AND ")
        #expect(joined.sql == "x = $1 OR y = $2 AND w = $3")
    }

    @Test func coreEnumsBindAsTheirStoredText() {
        let query: PGQuery =
            "\(RequestState.pendingCustomer) \(Role.globalAdmin) \(ContentService.teams) \(AuditDecision.deny)"
        #expect(
            query.binds == [
                PGBind(type: .text, text: "PENDING_CUSTOMER"), PGBind(type: .text, text: "global_admin"),
                PGBind(type: .text, text: "teams"), PGBind(type: .int2, text: "2"),
            ]
        )
    }

    @Test func bytesAndArraysUseTheTextInputFormats() {
        #expect(PGBytes([0x00, 0xab, 0xff]).pgText == "\\x00abff")
        #expect(PGTextArray(["a", "b\"c", "d\\e"]).pgText == "{\"a\",\"b\\\"c\",\"d\\\\e\"}")
        #expect(PGInt64Array([1, -2, Int64.max]).pgText == "{1,-2,9223372036854775807}")
        #expect(PGInt64Array([]).pgText == "{}")
    }
}
