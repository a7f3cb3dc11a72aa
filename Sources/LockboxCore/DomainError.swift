/// A broken domain rule, with the gRPC-style class of the failure.
package struct DomainError: Error, Hashable, Sendable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        package static let invalidArgument = Code(name: "invalidArgument")
        package static let failedPrecondition = Code(name: "failedPrecondition")
        package static let permissionDenied = Code(name: "permissionDenied")
        /// The thing does not exist, or the caller may not know that it does.
        package static let notFound = Code(name: "notFound")
        package static let alreadyExists = Code(name: "alreadyExists")
        /// A credential the request carries (an enrollment code) is not valid.
        package static let unauthenticated = Code(name: "unauthenticated")
        /// A position (a watch cursor) outside what is kept.
        package static let outOfRange = Code(name: "outOfRange")
        package var description: String { name }
    }

    package let code: Code
    /// Safe to show to the caller.
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(code.name): \(message)" }

    package static func invalidArgument(_ message: String) -> DomainError { DomainError(.invalidArgument, message) }
    package static func notFound(_ message: String) -> DomainError { DomainError(.notFound, message) }
    package static let permissionDenied = DomainError(.permissionDenied, "permission denied")
}
