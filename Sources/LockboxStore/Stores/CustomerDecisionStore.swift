import LockboxCore

/// One approver's signed decision on a request, as stored (migrations/0014).
package struct StoredCustomerDecision: Sendable, Hashable {
    package var approverID: String
    /// "Approve" or "Deny".
    package var decision: String
    package var signed: CustomerSignature
    package var decidedAtMs: Int64
}

/// Each approver's signed decision on a request, one per approver and request: what an N-of-M
/// policy counts. Append-only: the table refuses updates and deletes.
package struct CustomerDecisionStore: Sendable {
    package init() {}

    /// Adds `approverID`'s decision on the request (the approver it counts as). Whether that
    /// approver decided the request already is the caller's to check, from the decisions that
    /// verify: a row that counts for nothing does not stand in the way.
    package func insert(
        requestID: String,
        tenantID: String,
        approverID: String,
        decision: String,
        signed: CustomerSignature,
        nowMs: Int64,
        _ db: PGConnection
    ) throws {
        try db.query(
            """
            INSERT INTO customer_decisions (request_id, approver_id, tenant_id, decision, statement, key_id, signature,
                                            authenticator_data, client_data, decided_at_ms)
            VALUES (\(requestID), \(approverID), \(tenantID), \(decision), \(PGBytes(signed.statement)),
                    \(signed.keyID), \(PGBytes(signed.signature)), \(PGBytes(signed.authenticatorData)),
                    \(PGBytes(signed.clientData)), \(nowMs))
            """
        )
    }

    /// The decisions on a request, oldest first; at most ``limit`` (more approvers than any rule counts).
    package func list(tenantID: String, requestID: String, _ db: PGConnection) throws -> [StoredCustomerDecision] {
        try db.query(
            """
            SELECT approver_id, decision, statement, key_id, signature, authenticator_data, client_data, decided_at_ms
            FROM customer_decisions WHERE tenant_id = \(tenantID) AND request_id = \(requestID)
            ORDER BY seq LIMIT \(Self.limit)
            """
        ).rows.map { row in
            StoredCustomerDecision(
                approverID: try row.decode("approver_id"),
                decision: try row.decode("decision"),
                signed: CustomerSignature(
                    statement: try row.decode("statement", as: PGBytes.self).bytes,
                    keyID: try row.decode("key_id"),
                    signature: try row.decode("signature", as: PGBytes.self).bytes,
                    authenticatorData: try row.decode("authenticator_data", as: PGBytes.self).bytes,
                    clientData: try row.decode("client_data", as: PGBytes.self).bytes
                ),
                decidedAtMs: try row.decode("decided_at_ms")
            )
        }
    }

    /// The most decisions read for one request.
    package static let limit = 100
}
