/// How an ``RPCServer`` listens and the limits it enforces.
public struct RPCServerConfiguration: Sendable {
    /// Address to bind, such as "127.0.0.1" or "0.0.0.0".
    public var host: String
    /// TCP port; 0 picks a free one (see ``RPCServer/localAddress``).
    public var port: Int
    /// Largest frame a client may announce, in bytes. A larger one is answered
    /// RESOURCE_EXHAUSTED and the connection is closed.
    public var maxFrameSize: Int
    /// Calls that run at once on one connection. Further calls wait, unread, in
    /// the socket (back-pressure) until one finishes.
    public var maxConcurrentCallsPerConnection: Int
    /// A connection with no call in flight and no frame arriving for this long is closed.
    public var idleTimeout: Duration
    /// A frame whose first byte arrived but whose last did not within this long
    /// gets its connection closed (slow senders).
    public var frameReadTimeout: Duration
    /// On shutdown, calls in flight get this long to finish before their
    /// connections are closed.
    public var shutdownGracePeriod: Duration
    /// Applied to calls that carry no deadline (timeout 0); nil means none.
    /// Streaming calls are exempt.
    public var defaultUnaryTimeout: Duration?
    /// Connections open at once, server-wide. One more is answered RESOURCE_EXHAUSTED on call
    /// id 0 and closed.
    public var maxConnections: Int
    /// Connections open at once from one IP address; one more is answered RESOURCE_EXHAUSTED
    /// on call id 0 and closed.
    public var maxConnectionsPerAddress: Int
    /// Streaming calls (watches, exports) open at once on one connection; more are refused
    /// with RESOURCE_EXHAUSTED.
    public var maxStreamingCallsPerConnection: Int
    /// While a connection's unsent response bytes are above `high`, the server reads nothing
    /// more from it; it reads again once they fall below `low`.
    public var outboundWaterMarks: (low: Int, high: Int)
    /// Unsent response bytes one connection may hold. A client that does not read and lets
    /// more pile up is sent RESOURCE_EXHAUSTED on call id 0 and closed.
    public var maxOutboundBytesPerConnection: Int
    /// Bytes read from one connection per event-loop turn (one read per turn): what bounds
    /// the calls one client's flood starts before the others on its event loop are served.
    public var maxReadSize: Int
    /// TLS for every connection; nil serves plaintext (for loopback and tests).
    public var tls: ServerTLS?

    public init(
        host: String = "127.0.0.1",
        port: Int = 7443,
        maxFrameSize: Int = Framing.defaultMaxFrameSize,
        maxConcurrentCallsPerConnection: Int = 128,
        idleTimeout: Duration = .seconds(300),
        frameReadTimeout: Duration = .seconds(10),
        shutdownGracePeriod: Duration = .seconds(10),
        defaultUnaryTimeout: Duration? = .seconds(60),
        maxConnections: Int = 10_000,
        maxConnectionsPerAddress: Int = 512,
        maxStreamingCallsPerConnection: Int = 16,
        outboundWaterMarks: (low: Int, high: Int) = (32 * 1024, 256 * 1024),
        maxOutboundBytesPerConnection: Int = 16 * 1024 * 1024,
        maxReadSize: Int = 4096,
        tls: ServerTLS? = nil
    ) {
        self.host = host
        self.port = port
        self.maxFrameSize = maxFrameSize
        self.maxConcurrentCallsPerConnection = maxConcurrentCallsPerConnection
        self.idleTimeout = idleTimeout
        self.frameReadTimeout = frameReadTimeout
        self.shutdownGracePeriod = shutdownGracePeriod
        self.defaultUnaryTimeout = defaultUnaryTimeout
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.maxStreamingCallsPerConnection = maxStreamingCallsPerConnection
        self.outboundWaterMarks = outboundWaterMarks
        self.maxOutboundBytesPerConnection = maxOutboundBytesPerConnection
        self.maxReadSize = maxReadSize
        self.tls = tls
    }
}

extension Duration {
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

import NIOCore
