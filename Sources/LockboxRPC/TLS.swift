import Crypto
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import NIOTLS

/// Where a server's TLS comes from: PEM files, read again on ``ServerTLS/reload()``.
public struct ServerTLSFiles: Sendable, Hashable {
    /// The server's certificate chain, leaf first.
    public var certificateChain: String
    public var privateKey: String
    /// When set, every client must present a certificate that chains to these roots (mutual TLS).
    public var clientCA: String?
    /// TLS 1.3 by default; 1.2 when older clients must connect.
    public var minimumVersion: TLSVersion

    public init(
        certificateChain: String,
        privateKey: String,
        clientCA: String? = nil,
        minimumVersion: TLSVersion = .tlsv13
    ) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.clientCA = clientCA
        self.minimumVersion = minimumVersion
    }
}

/// A server's TLS context, which ``reload()`` replaces: new connections get the new
/// certificate, and connections already open keep the one they were made with.
public final class ServerTLS: Sendable {
    public let files: ServerTLSFiles
    private let context: NIOLockedValueBox<NIOSSLContext>

    /// Reads the files; throws when they do not make a usable server context.
    public init(_ files: ServerTLSFiles) throws {
        self.files = files
        context = NIOLockedValueBox(try Self.load(files))
    }

    /// Reads the files again. On error the old context stays in use.
    public func reload() throws {
        let fresh = try Self.load(files)
        context.withLockedValue { $0 = fresh }
    }

    /// Whether clients must present a certificate.
    public var requiresClientCertificate: Bool { files.clientCA != nil }

    var current: NIOSSLContext { context.withLockedValue { $0 } }

    static func load(_ files: ServerTLSFiles) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain).map {
            NIOSSLCertificateSource.certificate($0)
        }
        let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(file: files.privateKey, format: .pem))
        var configuration: TLSConfiguration
        if let clientCA = files.clientCA {
            configuration = .makeServerConfigurationWithMTLS(
                certificateChain: chain,
                privateKey: key,
                trustRoots: .file(clientCA)
            )
        } else {
            configuration = .makeServerConfiguration(certificateChain: chain, privateKey: key)
        }
        configuration.minimumTLSVersion = files.minimumVersion
        return try NIOSSLContext(configuration: configuration)
    }
}

/// How a client speaks TLS: whom it trusts, what it presents, and the name it checks.
public struct RPCClientTLS: Sendable {
    let context: NIOSSLContext
    /// The name the server's certificate must carry; the host connected to when nil.
    public var serverName: String?

    /// - Parameters:
    ///   - caFile: PEM roots to trust; the system's when nil.
    ///   - certificateChain, privateKey: PEM files of a client certificate, for mutual TLS.
    public init(
        caFile: String? = nil,
        certificateChain: String? = nil,
        privateKey: String? = nil,
        serverName: String? = nil,
        minimumVersion: TLSVersion = .tlsv12
    ) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = minimumVersion
        if let caFile { configuration.trustRoots = .file(caFile) }
        if let certificateChain, let privateKey {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateChain).map {
                .certificate($0)
            }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: privateKey, format: .pem))
        }
        context = try NIOSSLContext(configuration: configuration)
        self.serverName = serverName
    }
}

/// Closes a connection whose TLS handshake has not finished in time, so that a client that
/// connects and says nothing holds its slot for seconds, not for the idle timeout.
final class TLSHandshakeDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        if case .handshakeCompleted = event as? TLSUserEvent {
            timer?.cancel()
            timer = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }
}

extension ChannelHandlerContext {
    /// SHA-256 of the client certificate's DER bytes on a mutual-TLS connection; nil without one.
    /// Read after the handshake.
    func peerCertificateSHA256() -> [UInt8]? {
        let certificate = (try? pipeline.syncOperations.nioSSL_peerCertificate()) ?? nil
        return certificate.flatMap { try? $0.toDERBytes() }.map { Array(SHA256.hash(data: $0)) }
    }
}
