/// Where an ``RPCClient`` connects and how long it waits.
public struct RPCClientConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// How long to wait for the TCP connection.
    public var connectTimeout: Duration
    /// Deadline for calls that do not set one in ``CallOptions``; nil for none.
    public var defaultTimeout: Duration?
    /// Largest response frame accepted.
    public var maxFrameSize: Int
    /// TLS, checking the server's certificate; nil speaks plaintext.
    public var tls: RPCClientTLS?

    public init(
        host: String = "127.0.0.1",
        port: Int = 7443,
        connectTimeout: Duration = .seconds(5),
        defaultTimeout: Duration? = .seconds(30),
        maxFrameSize: Int = Framing.defaultMaxFrameSize,
        tls: RPCClientTLS? = nil
    ) {
        self.host = host
        self.port = port
        self.connectTimeout = connectTimeout
        self.defaultTimeout = defaultTimeout
        self.maxFrameSize = maxFrameSize
        self.tls = tls
    }
}

/// Per-call settings.
public struct CallOptions: Sendable {
    /// Deadline, sent to the server as a relative timeout; nil uses the client's default.
    public var timeout: Duration?
    public var authToken: String
    public var idempotencyKey: String

    public init(timeout: Duration? = nil, authToken: String = "", idempotencyKey: String = "") {
        self.timeout = timeout
        self.authToken = authToken
        self.idempotencyKey = idempotencyKey
    }
}
