/// A broken domain rule, with the gRPC-style class of the failure.
public struct DomainError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public static let invalidArgument = Code(name: "invalidArgument")
        public static let failedPrecondition = Code(name: "failedPrecondition")
        public static let permissionDenied = Code(name: "permissionDenied")
        /// The thing does not exist, or the caller may not know that it does.
        public static let notFound = Code(name: "notFound")
        public static let alreadyExists = Code(name: "alreadyExists")
        /// A credential the request carries (an enrollment code) is not valid.
        public static let unauthenticated = Code(name: "unauthenticated")
        /// A position (a watch cursor) outside what is kept.
        public static let outOfRange = Code(name: "outOfRange")
        public var description: String { name }
    }

    public let code: Code
    /// Safe to show to the caller.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.name): \(message)" }

    public static func invalidArgument(_ message: String) -> DomainError { DomainError(.invalidArgument, message) }
    public static func notFound(_ message: String) -> DomainError { DomainError(.notFound, message) }
    public static let permissionDenied = DomainError(.permissionDenied, "permission denied")
}
