import LockboxCore
import LockboxStore

/// Creates the first provider admin, directly in the database. Run once, by `lockboxd bootstrap`.
package enum Bootstrap {
    package struct Result: Sendable {
        package let principalID: String
        package let token: String
    }

    package struct AlreadyBootstrapped: Error, CustomStringConvertible {
        package var description: String {
            "a provider admin already exists; use its token to create more principals"
        }
    }

    package static func createProviderAdmin(
        displayName: String,
        pool: PGPool,
        clock: any LockboxClock
    ) async throws -> Result {
        let principals = PrincipalStore()
        let tokens = TokenStore()
        let audit = AuditStore()
        try InputLimits.checkDisplayName(displayName)
        return try await pool.transaction { db in
            // One bootstrap at a time, even from two processes.
            try principals.lockBootstrap(db)
            guard try principals.holders(of: .providerAdmin, tenantID: "", db) == 0 else {
                throw AlreadyBootstrapped()
            }
            let now = clock.nowMillis()
            // The database records the principal, its role and its token, as the bootstrap's.
            try audit.attribute(
                to: AuditActor(id: "bootstrap", display: "lockboxd bootstrap", ip: "", tokenID: ""),
                db
            )
            let id = Credentials.newID("p")
            let secret = Credentials.newSecret(key: try tokens.credentialKey(db))
            let token = TokenRecord(
                id: Credentials.newID("tok"),
                principalID: id,
                tenantID: nil,
                createdAtMs: now,
                expiresAtMs: nil
            )
            try principals.create(id: id, tenantID: nil, displayName: displayName, nowMs: now, db)
            let assignment = RoleAssignmentRecord(
                principalID: id,
                role: .providerAdmin,
                tenantID: "",
                assignedBy: "bootstrap",
                assignedAtMs: now
            )
            _ = try principals.assign(assignment, db)
            try tokens.insert(token, secretHash: Credentials.hash(secret), db)
            return Result(principalID: id, token: secret)
        }
    }
}
