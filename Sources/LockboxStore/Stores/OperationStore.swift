import LockboxCore

/// The operations an engineer may run under a grant, per service. Provider-wide.
package struct OperationStore: Sendable {
    package init() {}

    static func record(_ row: PGRow) throws -> PreapprovedOperationRecord {
        PreapprovedOperationRecord(
            service: try row.decode("service"),
            operation: try row.decode("operation"),
            description: try row.decode("description")
        )
    }

    /// The operations of a service (nil: of every service), by service and name.
    /// The service's pre-approved operations, lower-cased and sorted: the scope an approval
    /// fixes for its grant.
    package func scope(service: ContentService, _ db: PGConnection) throws -> [String] {
        try db.query(
            """
            SELECT operation_key FROM preapproved_operations WHERE service = \(service)
            ORDER BY operation_key COLLATE "C" LIMIT \(Self.scopeLimit)
            """
        ).rows.map { try $0.decode("operation_key") }
    }

    /// The operations pre-approved for the request's service now that it asked for (all of
    /// them when it named none), lower-cased and sorted: what an approver may allow.
    package func scope(of request: RequestRecord, _ db: PGConnection) throws -> [String] {
        let preapproved = try scope(service: request.service, db)
        guard let asked = request.requestedOperations.map(Set.init) else { return preapproved }
        return preapproved.filter(asked.contains)
    }

    /// At most this many operations are pre-approved per service (AddPreapprovedOperation).
    package static let scopeLimit = 1000

    package func list(service: ContentService?, limit: Int, _ db: PGConnection) throws -> [PreapprovedOperationRecord] {
        let rows = try db.query(
            """
            SELECT service, operation, description FROM preapproved_operations
            WHERE \(PGQuery.all(service.map { ["service = \($0)"] } ?? []))
            ORDER BY service, operation_key LIMIT \(limit)
            """
        )
        return try rows.rows.map(Self.record)
    }

    /// Adds an operation; false when the service has it already (names match case-insensitively).
    package func add(_ operation: PreapprovedOperationRecord, by principalID: String, nowMs: Int64, _ db: PGConnection)
        throws -> Bool
    {
        let inserted = try db.query(
            """
            INSERT INTO preapproved_operations (service, operation, description, created_by, created_at_ms)
            VALUES (\(operation.service), \(operation.operation), \(operation.description), \(principalID), \(nowMs))
            ON CONFLICT DO NOTHING RETURNING operation
            """
        )
        return !inserted.isEmpty
    }

    /// Removes an operation, matched case-insensitively, and returns it as it was stored; nil when absent.
    package func remove(service: ContentService, operation: String, _ db: PGConnection) throws
        -> PreapprovedOperationRecord?
    {
        let removed = try db.query(
            """
            DELETE FROM preapproved_operations WHERE service = \(service) AND operation_key = lower(\(operation))
            RETURNING service, operation, description
            """
        )
        return try removed.first.map(Self.record)
    }
}
