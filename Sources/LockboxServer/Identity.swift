import Crypto
import Foundation
import LockboxCore
import LockboxStore

/// An authenticated caller, with its role assignments as the database holds them now.
struct Caller: Sendable {
    struct Assignment: Hashable, Sendable {
        var role: LockboxCore.Role
        /// "" for provider roles.
        var tenantID: String
    }

    var id: String
    var displayName: String
    /// nil for provider principals.
    var tenantID: String?
    var assignments: Set<Assignment>
    /// The peer IP the server's socket saw.
    var ip: String

    var roles: Set<LockboxCore.Role> { Set(assignments.map(\.role)) }

    func holds(_ role: LockboxCore.Role, in tenant: String = "") -> Bool {
        assignments.contains(Assignment(role: role, tenantID: role.isTenantRole ? tenant : ""))
    }
}

/// SHA-256 of the UTF-8 text, as lower-case hex.
func sha256Hex(_ text: String) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(64)
    for byte in SHA256.hash(data: Data(text.utf8)) {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Bearer tokens: 256 random bits, shown once, stored as SHA-256.
enum Tokens {
    static let prefix = "lbx_"

    /// A new token secret from the system's CSPRNG (getrandom on Linux).
    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let base64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return prefix + base64
    }

    static func hashHex(_ secret: String) -> String { sha256Hex(secret) }

    static func newID(_ kind: String) -> String {
        kind + "_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    }
}

enum Authenticator {
    /// Resolves a bearer token to its principal and current roles, or throws UNAUTHENTICATED.
    static func authenticate(token: String, ip: String, connection: PGConnection, nowMs: Int64) throws -> Caller {
        guard token.hasPrefix(Tokens.prefix), token.utf8.count <= 128 else { throw AuthError.unauthenticated }
        let rows = try connection.query(
            """
            SELECT p.principal_id, p.display_name, p.tenant_id, r.role, r.tenant_id AS role_tenant
            FROM api_tokens t
            JOIN principals p ON p.principal_id = t.principal_id
            LEFT JOIN role_assignments r ON r.principal_id = p.principal_id
            WHERE t.token_hash = decode($1, 'hex')
              AND t.revoked_at_ms IS NULL
              AND (t.expires_at_ms IS NULL OR t.expires_at_ms > $2::bigint)
            """,
            [Tokens.hashHex(token), String(nowMs)]
        )
        guard let first = rows.first else { throw AuthError.unauthenticated }
        var assignments = Set<Caller.Assignment>()
        for row in rows.rows {
            if let roleName = row["role"], let role = LockboxCore.Role(rawValue: roleName) {
                assignments.insert(Caller.Assignment(role: role, tenantID: row.string("role_tenant")))
            }
        }
        return Caller(
            id: first.string("principal_id"),
            displayName: first.string("display_name"),
            tenantID: first["tenant_id"],
            assignments: assignments,
            ip: ip
        )
    }
}

enum AuthError: Error {
    case unauthenticated
}
