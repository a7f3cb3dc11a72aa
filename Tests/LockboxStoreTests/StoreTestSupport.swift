import LockboxCore
@testable import LockboxStore
import LockboxTestSupport

/// Every store, for tests that reach several.
struct Stores: Sendable {
    static let postgres = Stores()
    let requests = RequestStore()
    let grants = GrantStore()
    let tenants = TenantStore()
    let principals = PrincipalStore()
    let tokens = TokenStore()
    let audit = AuditStore()
    let chain = ChainStore()
    let events = EventStore()
    let notifications = NotificationStore()
}

/// A migrated database with a tenant ("contoso") and an operator ("op"), for store tests.
struct Fixture {
    let pool: PGPool
    let stores = Stores.postgres

    static func make() async throws -> Fixture {
        let fixture = Fixture(pool: try await TestDatabase.migrated())
        try await fixture.pool.transaction { (db: PGConnection) throws in
            _ = try Stores.postgres.tenants.create(id: "contoso", displayName: "Contoso", nowMs: 0, db)
            try Stores.postgres.principals.create(id: "op", tenantID: nil, displayName: "Operator", nowMs: 0, db)
        }
        return fixture
    }

    /// Stores a request in `state`, with a customer deadline and a grant as given.
    func request(
        _ id: String,
        state: RequestState,
        internalDeadlineMs: Int64 = 86_400_000,
        customerDeadlineMs: Int64? = nil,
        grant: GrantWindow? = nil,
        createdAtMs: Int64 = 1
    ) async throws {
        let stores = self.stores
        try await pool.transaction { db in
            let new = NewAccessRequest(
                tenantID: "contoso",
                service: .exchange,
                ticketNumber: "T-\(id)",
                justification: "test",
                requestedDurationSeconds: 3600
            )
            _ = try stores.requests.insert(
                new,
                id: id,
                requesterID: "op",
                idempotencyKey: nil,
                internalDeadlineMs: internalDeadlineMs,
                nowMs: createdAtMs,
                db
            )
            try stores.requests.update(
                id: id,
                RequestUpdate(state: state, customerDeadlineMs: customerDeadlineMs),
                nowMs: createdAtMs,
                db
            )
            if let grant {
                let record = GrantRecord(
                    requestID: id,
                    operatorID: "op",
                    tenantID: "contoso",
                    service: .exchange,
                    requestState: state,
                    window: grant,
                    operations: ["get-mailbox"]
                )
                try stores.grants.insert(record, db)
                if grant.revokedAtMs != nil {
                    try stores.grants.revoke(tenantID: "contoso", requestID: id, nowMs: grant.revokedAtMs!, db)
                }
            }
        }
    }

    func close() async { await pool.shutdown() }
}
