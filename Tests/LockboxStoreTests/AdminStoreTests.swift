import LockboxCore
import LockboxTestSupport
import Testing

@testable import LockboxStore

/// Tenants, principals, roles and tokens against a real PostgreSQL.
@Suite struct AdminStoreTests {
    @Test func principalsAreListedWithTheirRolesInOneStatement() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        try await fixture.pool.transaction { (db: PGConnection) throws in
            let principals = fixture.stores.principals
            try principals.create(id: "ga", tenantID: "contoso", displayName: "Admin", nowMs: 1, db)
            try principals.create(id: "ap", tenantID: "contoso", displayName: "Approver", nowMs: 2, db)
            for (id, role) in [("ga", Role.globalAdmin), ("ga", .lockboxApprover), ("ap", .lockboxApprover)] {
                let assignment = RoleAssignmentRecord(
                    principalID: id,
                    role: role,
                    tenantID: "contoso",
                    assignedBy: "t",
                    assignedAtMs: 3
                )
                #expect(try principals.assign(assignment, db))
                #expect(try !principals.assign(assignment, db), "held already")
            }
            let listed = try principals.list(tenantID: "contoso", limit: 10, db)
            #expect(listed.map(\.id) == ["ga", "ap"])
            #expect(listed.first?.roles.map(\.role) == [.globalAdmin, .lockboxApprover])
            #expect(listed.last?.roles.map(\.role) == [.lockboxApprover])
            #expect(try principals.list(tenantID: nil, limit: 10, db).map(\.id) == ["op"])
            #expect(try principals.holders(of: .globalAdmin, tenantID: "contoso", db) == 1)
            #expect(
                try principals.remove(principalID: "ga", role: .globalAdmin, tenantID: "contoso", db)?.role
                    == .globalAdmin
            )
            #expect(try principals.remove(principalID: "ga", role: .globalAdmin, tenantID: "contoso", db) == nil)
        }
    }

    @Test func tokensAuthenticateUntilRevokedOrExpired() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        try await fixture.pool.transaction { (db: PGConnection) throws in
            let tokens = fixture.stores.tokens
            let assignment = RoleAssignmentRecord(
                principalID: "op",
                role: .operator,
                tenantID: "",
                assignedBy: "t",
                assignedAtMs: 0
            )
            _ = try fixture.stores.principals.assign(assignment, db)
            let hash = Hashing.sha256("secret")
            try tokens.insert(
                TokenRecord(id: "t1", principalID: "op", tenantID: nil, createdAtMs: 0, expiresAtMs: 1000),
                secretHash: hash,
                db
            )
            let caller = try #require(try tokens.authenticate(secretHash: hash, ip: "10.0.0.1", nowMs: 999, db))
            #expect(caller.id == "op")
            #expect(caller.ip == "10.0.0.1")
            #expect(caller.assignments == [Caller.Assignment(role: .operator, tenantID: "")])
            #expect(try tokens.authenticate(secretHash: hash, ip: "", nowMs: 1000, db) == nil, "expired")
            #expect(try tokens.authenticate(secretHash: Hashing.sha256("other"), ip: "", nowMs: 0, db) == nil)
            #expect(try tokens.revoke(id: "t1", nowMs: 5, db))
            #expect(try !tokens.revoke(id: "t1", nowMs: 6, db), "revoked already")
            #expect(try tokens.authenticate(secretHash: hash, ip: "", nowMs: 10, db) == nil, "revoked")
            #expect(try tokens.find(id: "t1", lock: false, db)?.revokedAtMs == 5)
        }
    }

    @Test func settingsNotGivenAreLeftAsTheyAre() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        try await fixture.pool.transaction { (db: PGConnection) throws in
            let tenants = fixture.stores.tenants
            #expect(try !tenants.create(id: "contoso", displayName: "again", nowMs: 1, db))
            try tenants.update(
                tenantID: "contoso",
                lockboxEnabled: nil,
                approvalWindowSeconds: 600,
                maxAccessDurationSeconds: nil,
                db
            )
            #expect(
                try tenants.rules(tenantID: "contoso", db)
                    == TenantRules(lockboxEnabled: true, approvalWindowSeconds: 600, maxAccessDurationSeconds: 14400)
            )
            #expect(try tenants.rules(tenantID: "nowhere", db) == nil)
        }
    }
}
