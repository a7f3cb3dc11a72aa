import LockboxProto
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOSSL
import Testing

@testable import LockboxRPC

/// The client's connection handler on NIO's testing channel: a call that starts after its
/// connection has closed hears why it closed, as the calls in flight did.
@Suite struct ClientConnectionHandlerTests {
    static func failure(of handler: ClientConnectionHandler) -> RPCError? {
        let heard = NIOLockedValueBox<RPCError?>(nil)
        handler.start(
            RequestHeader(method: "lockbox.v1.Lockbox/Ping"),
            payload: [],
            timeout: nil,
            onFrame: { _ in true },
            onFailure: { error in heard.withLockedValue { $0 = error } }
        )
        return heard.withLockedValue { $0 }
    }

    @Test func aCallAfterAFailedHandshakeHearsWhy() throws {
        let handler = ClientConnectionHandler(awaitingTLSHandshake: true)
        let channel = EmbeddedChannel(handler: handler)
        channel.pipeline.fireErrorCaught(NIOSSLError.handshakeFailed(.sslError([])))
        _ = try? channel.finish()
        let error = try #require(Self.failure(of: handler))
        #expect(error.code == .unavailable)
        #expect(error.message.contains("TLS handshake failed"), "\(error.message)")
    }

    @Test func aCallAfterAClosedHandshakeHearsThatTheOtherSideMayNotSpeakTLS() throws {
        let handler = ClientConnectionHandler(awaitingTLSHandshake: true)
        let channel = EmbeddedChannel(handler: handler)
        _ = try? channel.finish()
        let error = try #require(Self.failure(of: handler))
        #expect(error.message.contains("it may not speak TLS"), "\(error.message)")
    }

    @Test func aCallAfterAPlainCloseHearsConnectionClosed() throws {
        let handler = ClientConnectionHandler()
        let channel = EmbeddedChannel(handler: handler)
        _ = try? channel.finish()
        let error = try #require(Self.failure(of: handler))
        #expect(error.message == "connection closed")
    }
}
