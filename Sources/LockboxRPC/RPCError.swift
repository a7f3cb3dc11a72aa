import LockboxProto

/// An RPC failure: a gRPC status code and a message that is safe to show the caller.
///
/// Servers throw it from handlers to answer with that status; clients receive
/// it for every call that did not end OK. The message never carries internals
/// (SQL, stack traces, file paths): anything else a handler throws is answered
/// as INTERNAL with a generic message, and logged on the server.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String

    public init(_ code: StatusCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    public static func invalidArgument(_ message: String) -> RPCError { RPCError(.invalidArgument, message) }
    public static func notFound(_ message: String) -> RPCError { RPCError(.notFound, message) }
    public static func permissionDenied(_ message: String = "permission denied") -> RPCError {
        RPCError(.permissionDenied, message)
    }
    public static func unauthenticated(_ message: String = "missing or invalid token") -> RPCError {
        RPCError(.unauthenticated, message)
    }
    public static func failedPrecondition(_ message: String) -> RPCError { RPCError(.failedPrecondition, message) }
    public static func unavailable(_ message: String) -> RPCError { RPCError(.unavailable, message) }
    public static func `internal`() -> RPCError { RPCError(.internal, "internal error") }
}

extension Status {
    init(_ error: RPCError) { self.init(code: error.code, message: error.message) }
    static let ok = Status(code: .ok, message: "")
}
