import Foundation
import LockboxCore
import LockboxTestSupport
import Testing

@testable import LockboxStore

/// Every statement on a hot path, as the stores build it, planned by PostgreSQL against a
/// million audit records and a hundred thousand requests: none reads a large table whole.
@Suite struct HotStatementPlanTests {
    static let large: Set<String> = [
        "access_requests", "grants", "grant_usage", "audit_records", "audit_seals", "audit_unsealed",
        "audit_checkpoints", "request_events", "notifications",
    ]

    /// Fills a fresh database in the shape of a deployment that has run for a long time: 100
    /// tenants, 200 operators, 100,000 requests, nearly all decided or finished and one in a
    /// thousand in force (a grant for each approved, revoked or completed one, with usage in
    /// four shards), and 1,000,000 audit records.
    static func fill(_ owner: PGPool) async throws {
        try await owner.withConnection { db in
            try db.execute(
                script: """
                    INSERT INTO tenants (tenant_id, display_name, created_at_ms)
                    SELECT 't' || i, 'Tenant ' || i, 0 FROM generate_series(0, 99) i;
                    INSERT INTO principals (principal_id, display_name, created_at_ms)
                    SELECT 'op' || i, 'Operator ' || i, 0 FROM generate_series(0, 199) i;
                    INSERT INTO access_requests (tenant_id, request_id, service, ticket_number, justification,
                        requested_duration_seconds, requester_id, status, created_at_ms, updated_at_ms,
                        internal_deadline_ms, customer_deadline_ms)
                    SELECT 't' || (i % 100), 'req' || i, (ARRAY['exchange', 'sharepoint', 'onedrive', 'teams'])[1 + i % 4],
                           'T-' || i, 'plan test', 3600, 'op' || (i % 200),
                           CASE WHEN i % 1000 = 0 THEN 'APPROVED'
                                ELSE (ARRAY['PENDING_INTERNAL', 'PENDING_CUSTOMER', 'DENIED', 'EXPIRED', 'CANCELED',
                                            'REVOKED', 'COMPLETED', 'COMPLETED'])[1 + i % 8] END,
                           i * 1000, i * 1000, i * 1000 + 86400000, i * 1000 + 43200000
                    FROM generate_series(1, 100000) i;
                    INSERT INTO grants (tenant_id, request_id, operator_id, service, starts_at_ms, ends_at_ms,
                                        revoked_at_ms, operations)
                    SELECT tenant_id, request_id, requester_id, service, created_at_ms, created_at_ms + 3600000,
                           CASE WHEN status = 'REVOKED' THEN created_at_ms + 60000 END, ARRAY['get-mailbox']
                    FROM access_requests WHERE status IN ('APPROVED', 'REVOKED', 'COMPLETED');
                    INSERT INTO grant_usage (tenant_id, request_id, shard, operations, last_operation_at_ms)
                    SELECT g.tenant_id, g.request_id, s, 10, g.starts_at_ms + 1000
                    FROM grants g, generate_series(0, 3) s;
                    -- The queue is filled below, for the records the fixture leaves unsealed.
                    ALTER TABLE audit_records DISABLE TRIGGER audit_records_stamp;
                    INSERT INTO audit_records (tenant_id, recorded_at_ms, kind, actor_id, actor_display, activity, item)
                    SELECT 't' || (i % 100), i * 100, (ARRAY['operator_action', 'lifecycle'])[1 + i % 2],
                           'op' || (i % 200), 'x', 'Get-Mailbox', 'req' || (i % 100000)
                    FROM generate_series(1, 1000000) i;
                    INSERT INTO audit_seals (tenant_id, seq, audit_id, hash, sealed_at_ms, hash_version)
                    SELECT tenant_id, row_number() OVER (PARTITION BY tenant_id ORDER BY audit_id), audit_id,
                           sha256(audit_id::text::bytea), 0, 1
                    FROM audit_records WHERE audit_id <= 900000;
                    INSERT INTO audit_unsealed (tenant_id, audit_id)
                    SELECT tenant_id, audit_id FROM audit_records WHERE audit_id > 900000;
                    ALTER TABLE audit_records ENABLE TRIGGER audit_records_stamp;
                    INSERT INTO audit_checkpoints (tenant_id, seq, hash, signed_at_ms, key_id, signature)
                    SELECT 't' || (i % 100), i, sha256(i::text::bytea), i, 'ed25519:0000000000000000', '\\x00'
                    FROM generate_series(1, 100000) i;
                    INSERT INTO request_events (tenant_id, seq, request_id, requester_id, activity, state, actor_id,
                                                occurred_at_ms)
                    SELECT 't' || (i % 100), i, 'req' || i, 'op' || (i % 200), 'InternalApprove', 'PENDING_CUSTOMER',
                           'mgr', i * 1000
                    FROM generate_series(1, 200000) i;
                    INSERT INTO request_events (tenant_id, request_id, requester_id, activity, state, actor_id,
                                                occurred_at_ms)
                    SELECT 't' || (i % 100), 'req' || i, 'op1', 'AccessRequestCreated', 'PENDING_INTERNAL', 'op1', 0
                    FROM generate_series(1, 50) i;
                    UPDATE event_positions SET position = 200000 WHERE name IN ('sequenced', 'dispatched');
                    INSERT INTO notifications (tenant_id, event_seq, request_id, channel, kind, recipient, address,
                                               message_id, state, next_attempt_at_ms, created_at_ms, finished_at_ms)
                    SELECT 't' || (i % 100), i, 'req' || i, (ARRAY['email', 'webhook'])[1 + i % 2],
                           'awaiting_decision', 'p' || (i % 500), 'a@b.example', 'm' || i,
                           CASE WHEN i % 10000 = 0 THEN 'pending' WHEN i % 1000 = 0 THEN 'failed' ELSE 'sent' END,
                           i * 1000, i * 1000, CASE WHEN i % 10000 = 0 THEN NULL ELSE i * 1000 + 10 END
                    FROM generate_series(1, 200000) i;
                    ANALYZE;
                    """
            )
        }
    }

    /// The store calls of every hot path, each run once on a connection that records its statements.
    static func hotStatements(_ db: PGConnection) throws -> [(name: String, query: PGQuery)] {
        let stores = Stores.postgres
        let now: Int64 = 50_000_000
        var statements: [(String, PGQuery)] = []
        func record(_ name: String, _ body: () throws -> Void) throws {
            db.recorded = []
            try body()
            for query in db.recorded ?? [] { statements.append((name, query)) }
            db.recorded = nil
        }
        try record("a tenant's requests") {
            _ = try stores.requests.list(RequestFilter(tenantID: "t7"), nowMs: now, limit: 50, db)
        }
        try record("a tenant's pending requests") {
            _ = try stores.requests.list(
                RequestFilter(tenantID: "t7", state: .pendingCustomer),
                nowMs: now,
                limit: 50,
                db
            )
        }
        try record("an operator's requests") {
            _ = try stores.requests.list(RequestFilter(requesterID: "op7"), nowMs: now, limit: 50, db)
        }
        try record("every request, a support manager's list") {
            _ = try stores.requests.list(RequestFilter(), nowMs: now, limit: 50, db)
        }
        try record("the next page of a list") {
            _ = try stores.requests.list(
                RequestFilter(requesterID: "op7", before: (createdAtMs: 50_000_000, id: "req50000")),
                nowMs: now,
                limit: 50,
                db
            )
        }
        try record("one request, locked") { _ = try stores.requests.find(id: "req77", lock: true, db) }
        try record("CheckAccess") {
            _ = try stores.grants.checkFacts(
                CheckKey(operatorID: "op7", tenantID: "t7", service: .teams, operation: "Get-Mailbox"),
                nowMs: now,
                db
            )
        }
        try record("CheckAccess's denial") {
            _ = try stores.grants.denialFacts(operatorID: "op7", tenantID: "t7", service: .teams, nowMs: now, db)
        }
        try record("CheckAccess's usage") {
            try stores.grants.recordUses([GrantUse(tenantID: "t0", requestID: "req1000", lastAtMs: now)], db)
        }
        try record("a tenant's export") {
            _ = try stores.audit.page(
                AuditFilter(tenantID: "t7", fromMs: 10_000_000, toMs: 20_000_000),
                after: .start,
                limit: 500,
                db
            )
        }
        try record("everyone's export") {
            _ = try stores.audit.page(
                AuditFilter(fromMs: 10_000_000, toMs: 20_000_000),
                after: AuditCursor(timeMs: 15_000_000, id: 150_000),
                limit: 500,
                db
            )
        }
        try record("a tenant's audit search") {
            _ = try stores.audit.search(AuditFilter(tenantID: "t7"), beforeID: .max, limit: 50, db)
        }
        try record("a tenant's audit search by kind") {
            _ = try stores.audit.search(AuditFilter(tenantID: "t7", kind: .lifecycle), beforeID: 500_000, limit: 50, db)
        }
        try record("an operator's open grants") {
            _ = try stores.grants.openGrants(tenantID: nil, operatorID: "op7", nowMs: now, limit: 100, db)
        }
        try record("authentication") {
            _ = try stores.tokens.authenticate(secretHash: Array(repeating: 7, count: 32), ip: "", nowMs: now, db)
        }
        try record("the audit sealer's scopes") { _ = try stores.chain.pendingScopes(after: nil, limit: 1000, db) }
        try record("the audit sealer's next scopes") {
            _ = try stores.chain.pendingScopes(after: "t5", limit: 1000, db)
        }
        try record("an audit seal's hash") { _ = try stores.chain.sealHash(scope: "t7", seq: 4000, db) }
        try record("the audit sealer's head") { _ = try stores.chain.head(scope: "t7", db) }
        try record("the audit sealer's batch") { _ = try stores.chain.unsealed(scope: "t7", limit: 500, db) }
        try record("sealing audit records") {
            try stores.chain.seal(
                scope: "t7",
                [NewSeal(auditID: 900_007, seq: 9001, hash: Array(repeating: 1, count: 32))],
                sealedAtMs: try stores.chain.now(db),
                db
            )
        }
        try record("an integrity export's page") {
            _ = try stores.chain.chain(scope: "t7", afterSeq: 4000, upToSeq: 9000, limit: 500, db)
        }
        try record("an integrity export's checkpoints") {
            _ = try stores.chain.checkpoints(scope: "t7", afterID: 500, upToID: .max, limit: 500, db)
        }
        try record("the latest audit checkpoint") { _ = try stores.chain.latestCheckpoint(scope: "t7", db) }
        try record("a tenant's audit checkpoints") {
            _ = try stores.chain.checkpoints(scope: "t7", afterSeq: 5000, limit: 50, db)
        }
        try record("a watch's page of every tenant") {
            _ = try stores.events.events(after: 150_000, tenantID: nil, limit: 64, db)
        }
        try record("a watch's page of a tenant") {
            _ = try stores.events.events(after: 150_000, tenantID: "t7", limit: 64, db)
        }
        try record("an event") { _ = try stores.events.event(seq: 150_007, db) }
        try record("sequencing events") { _ = try stores.events.sequence(limit: 1000, db) }
        try record("the next email due") { _ = try stores.notifications.claimDue(channel: .email, nowMs: now, db) }
        try record("the next webhook due") {
            _ = try stores.notifications.claimDue(channel: .webhook, nowMs: now, db)
        }
        try record("failed deliveries, every tenant's") {
            _ = try stores.notifications.list(tenantID: nil, state: .failed, beforeID: nil, limit: 50, db)
        }
        try record("a tenant's failed deliveries") {
            _ = try stores.notifications.list(tenantID: "t7", state: .failed, beforeID: 150_000, limit: 50, db)
        }
        try record("a webhook's pending deliveries abandoned") {
            _ = try stores.notifications.failPending(webhookID: "p7", reason: "gone", nowMs: now, db)
        }
        try record("pruning events") { _ = try stores.events.prune(beforeMs: 1_000_000, limit: 1000, db) }
        try record("pruning deliveries") {
            _ = try stores.notifications.prune(beforeMs: 1_000_000, limit: 1000, db)
        }
        for rule in Lifecycle.clockRules {
            try record("the sweeper: \(rule.from.rawValue) → \(rule.to.rawValue)") {
                _ = try stores.requests.overtaken(by: rule, nowMs: now, limit: 100, db)
            }
        }
        return statements
    }

    /// The relations a plan reads by sequential scan.
    static func sequentialScans(_ plan: Any) -> [String] {
        var found: [String] = []
        if let node = plan as? [String: Any] {
            if node["Node Type"] as? String == "Seq Scan", let relation = node["Relation Name"] as? String {
                found.append(relation)
            }
            for value in node.values { found += sequentialScans(value) }
        } else if let list = plan as? [Any] {
            for value in list { found += sequentialScans(value) }
        }
        return found
    }

    @Test func noHotStatementScansALargeTable() async throws {
        let urls = try await TestDatabase.migratedURLs()
        let owner = PGPool(
            configuration: PGPoolConfiguration(url: urls.owner, size: 1, connection: .forMigrations),
            logger: testLogger
        )
        try await Self.fill(owner)
        await owner.shutdown()
        let db = try PGConnection(url: urls.runtime)
        let statements = try Self.hotStatements(db)
        #expect(statements.count >= 15)
        for (name, query) in statements {
            let rows = try db.query(query.prefixed("EXPLAIN (FORMAT JSON) "))
            let text: String = try #require(try rows.first?.decode("QUERY PLAN"))
            let plan = try JSONSerialization.jsonObject(with: Data(text.utf8))
            let scanned = Set(Self.sequentialScans(plan)).intersection(Self.large)
            #expect(scanned.isEmpty, "\(name) scans \(scanned.sorted()): \(query.sql)\n\(text)")
        }
        // Reading a request costs the same however much its grant was used: no statement but
        // the audit log's own reads the audit log.
        for (name, query) in statements where !name.contains("audit") && !name.contains("export") {
            #expect(!query.sql.contains("audit_records"), "\(name) reads the audit log")
        }
    }
}
