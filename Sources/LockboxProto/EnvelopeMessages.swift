import CLockboxProto

// The RPC envelope (docs/protocol.md): the frames every call travels in.

/// The header of one call, sent by the client.
public struct RequestHeader: ProtoMessage {
    /// Chosen by the client, unique among the calls in flight on its connection.
    /// Must be non-zero: 0 is reserved for connection-level frames.
    public var callID: UInt64
    /// Full method name, such as "lockbox.v1.Lockbox/Ping".
    public var method: String
    /// Relative deadline in milliseconds, measured by the server from the moment
    /// the frame is read. 0 means none given: the server then applies its default
    /// to unary calls (60 s unless configured) and no deadline to streaming calls.
    /// The server never reads the client's clock.
    public var timeoutMs: UInt32
    /// Bearer token. "" means none (only Ping and EnrollTenantAdmin accept that).
    public var authToken: String
    /// Idempotency key for create calls. "" means none.
    public var idempotencyKey: String

    public init(
        callID: UInt64 = 0,
        method: String = "",
        timeoutMs: UInt32 = 0,
        authToken: String = "",
        idempotencyKey: String = ""
    ) {
        self.callID = callID
        self.method = method
        self.timeoutMs = timeoutMs
        self.authToken = authToken
        self.idempotencyKey = idempotencyKey
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension RequestHeader: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__RequestHeader>) {
        lockbox__v1__request_header__init(message)
    }

    init(c: Lockbox__V1__RequestHeader) throws(ProtoDecodeError) {
        self.init(
            callID: c.call_id,
            method: try CRead.string(c.method, in: Self.self),
            timeoutMs: c.timeout_ms,
            authToken: try CRead.string(c.auth_token, in: Self.self),
            idempotencyKey: try CRead.string(c.idempotency_key, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__RequestHeader, _ arena: Arena) {
        c.call_id = callID
        c.method = arena.string(method)
        c.timeout_ms = timeoutMs
        c.auth_token = arena.string(authToken)
        c.idempotency_key = arena.string(idempotencyKey)
    }
}

/// Client -> server frame: one call.
public struct RequestFrame: ProtoMessage {
    public var header: RequestHeader?
    /// The encoded request message of the method.
    public var payload: [UInt8]
    /// Cancels the call `header.callID` of this connection instead of starting one.
    public var cancel: Bool

    public init(
        header: RequestHeader? = nil,
        payload: [UInt8] = [],
        cancel: Bool = false
    ) {
        self.header = header
        self.payload = payload
        self.cancel = cancel
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension RequestFrame: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__RequestFrame>) {
        lockbox__v1__request_frame__init(message)
    }

    init(c: Lockbox__V1__RequestFrame) throws(ProtoDecodeError) {
        self.init(
            header: try CRead.message(c.header),
            payload: CRead.bytes(c.payload),
            cancel: Bool(protobuf: c.cancel)
        )
    }

    func fill(_ c: inout Lockbox__V1__RequestFrame, _ arena: Arena) {
        c.header = arena.optionalMessage(header)
        c.payload = arena.bytes(payload)
        c.cancel = cancel.protobuf
    }
}

public struct Status: ProtoMessage {
    public var code: StatusCode
    /// Human-readable, safe to show to the caller. Never contains internals.
    public var message: String

    public init(
        code: StatusCode = StatusCode(rawValue: 0),
        message: String = ""
    ) {
        self.code = code
        self.message = message
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension Status: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__Status>) { lockbox__v1__status__init(message) }

    init(c: Lockbox__V1__Status) throws(ProtoDecodeError) {
        self.init(
            code: StatusCode(cRaw: c.code.rawValue),
            message: try CRead.string(c.message, in: Self.self)
        )
    }

    func fill(_ c: inout Lockbox__V1__Status, _ arena: Arena) {
        c.code = .init(rawValue: code.cRaw)
        c.message = arena.string(message)
    }
}

/// Marks the end of a call and carries its status.
public struct StreamEnd: ProtoMessage {
    public var status: Status?

    public init(
        status: Status? = nil
    ) {
        self.status = status
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension StreamEnd: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__StreamEnd>) {
        lockbox__v1__stream_end__init(message)
    }

    init(c: Lockbox__V1__StreamEnd) throws(ProtoDecodeError) {
        self.init(
            status: try CRead.message(c.status)
        )
    }

    func fill(_ c: inout Lockbox__V1__StreamEnd, _ arena: Arena) {
        c.status = arena.optionalMessage(status)
    }
}

/// Server -> client frame.
///
/// - Unary call: exactly one frame, with `end` present. When end.status.code is
/// OK, `payload` holds the response message.
/// - Server-streaming call: zero or more frames with `end` absent, each with
/// one response message in `payload`, then one frame with `end` present and
/// an empty payload.
/// - call_id 0 is a connection-level frame: `end.status` says why (for example
/// RESOURCE_EXHAUSTED before the server closes the connection, or
/// INVALID_ARGUMENT for a frame whose envelope could not be decoded), and
/// `goaway` is true when the server is draining: it accepts no new calls on
/// this connection but finishes the ones in flight.
public struct ResponseFrame: ProtoMessage {
    public var callID: UInt64
    public var payload: [UInt8]
    /// Present (non-NULL) on the last frame of a call.
    public var end: StreamEnd?
    public var goaway: Bool

    public init(
        callID: UInt64 = 0,
        payload: [UInt8] = [],
        end: StreamEnd? = nil,
        goaway: Bool = false
    ) {
        self.callID = callID
        self.payload = payload
        self.end = end
        self.goaway = goaway
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) { try self.init(cDecoding: bytes) }
    public func encode() -> [UInt8] { cEncode() }
}

extension ResponseFrame: CBinding {
    static func cInit(_ message: UnsafeMutablePointer<Lockbox__V1__ResponseFrame>) {
        lockbox__v1__response_frame__init(message)
    }

    init(c: Lockbox__V1__ResponseFrame) throws(ProtoDecodeError) {
        self.init(
            callID: c.call_id,
            payload: CRead.bytes(c.payload),
            end: try CRead.message(c.end),
            goaway: Bool(protobuf: c.goaway)
        )
    }

    func fill(_ c: inout Lockbox__V1__ResponseFrame, _ arena: Arena) {
        c.call_id = callID
        c.payload = arena.bytes(payload)
        c.end = arena.optionalMessage(end)
        c.goaway = goaway.protobuf
    }
}
