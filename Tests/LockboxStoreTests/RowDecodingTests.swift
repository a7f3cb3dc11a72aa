import LockboxTestSupport
import Testing

@testable import LockboxStore

/// Typed rows against a real PostgreSQL: a missing column, an unexpected NULL or text of the
/// wrong type throws instead of reading as 0 or "".
@Suite struct RowDecodingTests {
    @Test func valuesRoundTripThroughTheirTypes() async throws {
        let pool = try await TestDatabase.migrated(poolSize: 1)
        defer { Task { await pool.shutdown() } }
        let bytes = PGBytes([0x00, 0x01, 0xfe, 0xff])
        let text = "quote ' and unicode 🔐"
        let row = try #require(
            try await pool.sql(
                """
                SELECT \(text) AS text, \(Int64.max) AS big, \(true) AS flag, \(bytes) = '\\x0001feff'::bytea AS same_bytes,
                       \(PGJSON("{\"a\": [1, 2]}"))->'a'->>1 AS json_element,
                       'APPROVED' = ANY(\(PGTextArray(["PENDING_INTERNAL", "APPROVED"]))) AS in_array,
                       \(nil as Int64?) AS nothing
                """
            ).first
        )
        #expect(try row.decode("text", as: String.self) == text)
        #expect(try row.decode("big", as: Int64.self) == .max)
        #expect(try row.decode("flag", as: Bool.self))
        #expect(try row.decode("same_bytes", as: Bool.self))
        #expect(try row.decode("json_element", as: String.self) == "2")
        #expect(try row.decode("in_array", as: Bool.self))
        #expect(try row.decode("nothing", as: Int64?.self) == nil)
    }

    @Test func aMissingColumnANullOrAWrongTypeThrows() async throws {
        let pool = try await TestDatabase.migrated(poolSize: 1)
        defer { Task { await pool.shutdown() } }
        let row = try #require(try await pool.sql("SELECT 'abc'::text AS word, NULL::bigint AS nothing").first)
        #expect(throws: StoreError.self) { try row.decode("wrod", as: String.self) }
        #expect(throws: StoreError.self) { try row.decode("nothing", as: Int64.self) }
        #expect(throws: StoreError.self) { try row.decode("word", as: Int64.self) }
        #expect(throws: StoreError.self) { try row.decode("word", as: Bool.self) }
        do {
            _ = try row.decode("wrod", as: String.self)
        } catch {
            #expect(error.code == .decoding)
        }
    }
}
