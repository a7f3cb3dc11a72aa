import LockboxProto

/// A unary method: its full name and its request and response types. The one definition a
/// server registers and a client calls; pairing it with other message types does not compile.
public struct UnaryMethod<Request: ProtoMessage, Response: ProtoMessage>: Sendable, Hashable {
    /// Full name, such as "lockbox.v1.Lockbox/Ping".
    public let name: String

    public init(_ name: String) { self.name = name }

    public var erased: AnyRPCMethod {
        AnyRPCMethod(name: name, kind: .unary, request: Request.self, response: Response.self)
    }
}

/// A server-streaming method: one request, a stream of responses.
public struct ServerStreamingMethod<Request: ProtoMessage, Response: ProtoMessage>: Sendable, Hashable {
    /// Full name, such as "lockbox.v1.Lockbox/ExportAudit".
    public let name: String

    public init(_ name: String) { self.name = name }

    public var erased: AnyRPCMethod {
        AnyRPCMethod(name: name, kind: .serverStreaming, request: Request.self, response: Response.self)
    }
}

/// A method descriptor with its types erased, for catalogs and documentation checks.
public struct AnyRPCMethod: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case unary
        case serverStreaming
    }

    public let name: String
    public let kind: Kind
    /// The Swift names of the request and response types, which are their proto names.
    public let requestType: String
    public let responseType: String
    /// The request's message type: what decodes it (the fuzz target decodes every one).
    public let requestMessage: any ProtoMessage.Type

    init(name: String, kind: Kind, request: any ProtoMessage.Type, response: any ProtoMessage.Type) {
        self.name = name
        self.kind = kind
        self.requestType = String(describing: request)
        self.responseType = String(describing: response)
        self.requestMessage = request
    }

    public static func == (lhs: AnyRPCMethod, rhs: AnyRPCMethod) -> Bool {
        lhs.name == rhs.name && lhs.kind == rhs.kind && lhs.requestType == rhs.requestType
            && lhs.responseType == rhs.responseType
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(kind)
        hasher.combine(requestType)
        hasher.combine(responseType)
    }

    /// The part after the service, such as "Ping".
    public var shortName: String { String(name.split(separator: "/").last ?? "") }

    public var description: String {
        "\(name)(\(requestType)) returns (\(kind == .serverStreaming ? "stream " : "")\(responseType))"
    }
}
