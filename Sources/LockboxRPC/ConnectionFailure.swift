import NIOCore
import NIOSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension FrameTooLargeError {
    /// Whether the four bytes read as a length are the start of a TLS record (a content type
    /// of 20 to 23, then version 3.x): the peer speaks TLS where plaintext frames were expected.
    public var looksLikeTLS: Bool {
        let type = announcedLength >> 24 & 0xff
        let major = announcedLength >> 16 & 0xff
        let minor = announcedLength >> 8 & 0xff
        return (20...23).contains(type) && major == 3 && minor <= 4
    }
}

/// Why a connection failed, in words a person can act on: never a Swift type's name.
public enum ConnectionFailure {
    /// What the peer did wrong, or what went wrong between us.
    public static func describe(_ error: any Error) -> String {
        if let tooLarge = error as? FrameTooLargeError {
            if tooLarge.looksLikeTLS {
                return "the other side speaks TLS on this port, and this connection is plaintext"
            }
            return "the other side announced a frame of \(tooLarge.announcedLength) bytes, over the limit of "
                + "\(tooLarge.maxFrameSize)"
        }
        if let tls = error as? NIOSSLError {
            let text = "\(tls)"
            if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG")
                || text.contains("HTTP_REQUEST") || text.contains("RECORD_LENGTH_MISMATCH")
            {
                return "TLS handshake failed: the other side does not speak TLS on this port"
            }
            if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("unableToValidateCertificate") {
                return "TLS handshake failed: the server's certificate is not trusted, or does not name this host"
            }
            if text.contains("CERTIFICATE_REQUIRED") || text.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") {
                return "TLS handshake failed: the server requires a client certificate"
            }
            if case .uncleanShutdown = tls { return "the other side closed the connection without ending TLS" }
            if text.contains("EOF during handshake") {
                return "TLS handshake failed: the other side closed the connection; it may not speak TLS on this port"
            }
            return "TLS handshake failed"
        }
        if let io = error as? IOError {
            return "connection error: " + String(cString: strerror(io.errnoCode))
        }
        return "the connection failed"
    }
}
