/// A database failure, classified by SQLSTATE. The server maps it to a status code;
/// `detail` is for logs only and never reaches a client.
package struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The database cannot be reached, or the connection broke mid-call (SQLSTATE class 08, 57P0x).
        package static let unavailable = Code(name: "unavailable")
        /// COMMIT was sent and no answer came: the transaction may or may not have committed.
        package static let commitUnknown = Code(name: "commitUnknown")
        /// A statement ran past its time: the server's statement or lock timeout (57014, 55P03),
        /// or no reply within the client's reply timeout (the connection is then discarded).
        package static let timedOut = Code(name: "timedOut")
        /// The pool's queue of callers waiting for a connection is full: the server is
        /// overloaded, and refuses at once rather than queue without bound.
        package static let overloaded = Code(name: "overloaded")
        package static let uniqueViolation = Code(name: "uniqueViolation")
        package static let foreignKeyViolation = Code(name: "foreignKeyViolation")
        package static let checkViolation = Code(name: "checkViolation")
        /// A serialization failure or deadlock: the transaction may be retried.
        package static let retryable = Code(name: "retryable")
        /// Raised by a trigger, such as the audit table refusing UPDATE and DELETE.
        package static let raised = Code(name: "raised")
        /// A migration file changed after it was applied, or another migration problem.
        package static let migration = Code(name: "migration")
        /// A row did not hold what the statement promised: a missing column, an unexpected NULL,
        /// text that does not parse. A bug, never the caller's fault.
        package static let decoding = Code(name: "decoding")
        package static let other = Code(name: "other")
        package var description: String { name }
    }

    package let code: Code
    /// The SQLSTATE, when the server sent one.
    package let sqlState: String?
    /// Internal detail for logs.
    package let detail: String

    package init(_ code: Code, sqlState: String? = nil, detail: String) {
        self.code = code
        self.sqlState = sqlState
        self.detail = detail
    }

    static func classify(sqlState: String?, detail: String) -> StoreError {
        guard let state = sqlState else { return StoreError(.unavailable, detail: detail) }
        let code: Code =
            switch state {
            case "23505": .uniqueViolation
            case "23503": .foreignKeyViolation
            case "23514": .checkViolation
            case "40001", "40P01": .retryable
            case "P0001": .raised
            case "57P01", "57P02", "57P03": .unavailable
            case "57014", "55P03": .timedOut
            default: state.hasPrefix("08") ? .unavailable : .other
            }
        return StoreError(code, sqlState: state, detail: detail)
    }

    package var description: String { "\(code) (SQLSTATE \(sqlState ?? "-")): \(detail)" }
}
