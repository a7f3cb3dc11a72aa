import CCurl
import Crypto
import Foundation
import LockboxIntegrity

#if canImport(Glibc)
    import Glibc
#endif

/// The signature a webhook delivery carries in its `Lockbox-Signature` header:
/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>` (docs/notifications.md).
package enum WebhookSignature {
    package static let header = "Lockbox-Signature"

    package static func sign(secret: String, timestampSeconds: Int64, body: [UInt8]) -> String {
        "t=\(timestampSeconds),v1=\(mac(secret: secret, timestampSeconds: timestampSeconds, body: body))"
    }

    static func mac(secret: String, timestampSeconds: Int64, body: [UInt8]) -> String {
        var message = Array("\(timestampSeconds).".utf8)
        message += body
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        return Array(code).hex
    }

    /// Checks a header value against the body, accepting timestamps within `tolerance` seconds
    /// of `nowSeconds` (what a receiver does; the docs give the same in a few lines of Python).
    package static func verify(
        header value: String,
        secret: String,
        body: [UInt8],
        nowSeconds: Int64,
        toleranceSeconds: Int64 = 300
    ) -> Bool {
        var timestamp: Int64?
        var signatures: [String] = []
        for part in value.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int64(pair[1]) }
            if pair[0] == "v1" { signatures.append(pair[1]) }
        }
        guard let timestamp, abs(nowSeconds - timestamp) <= toleranceSeconds else { return false }
        let expected = Array(mac(secret: secret, timestampSeconds: timestamp, body: body).utf8)
        return signatures.contains { candidate in
            let given = Array(candidate.utf8)
            guard given.count == expected.count else { return false }
            return zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }

    /// A new secret: 32 random bytes, hex, prefixed so that it is recognisable in a vault.
    package static func newSecret() -> String {
        let key = SymmetricKey(size: .bits256)
        return "whsec_" + key.withUnsafeBytes { Array($0).hex }
    }
}

/// Where webhooks may go, and how long one delivery may take.
package struct WebhookTransportConfiguration: Sendable, Hashable {
    /// CA certificates to trust for endpoints, instead of the system's.
    package var caFile: String?
    package var timeout: Duration
    /// Deliver to loopback, private, link-local and other non-public addresses. Off by default:
    /// a tenant's endpoint must not reach into the provider's own network.
    package var allowPrivateNetworks: Bool

    package init(caFile: String? = nil, timeout: Duration = .seconds(10), allowPrivateNetworks: Bool = false) {
        self.caFile = caFile
        self.timeout = timeout
        self.allowPrivateNetworks = allowPrivateNetworks
    }
}

/// Posts webhook deliveries with libcurl: HTTPS only, no redirects, to the address Lockbox
/// resolved and checked itself (so DNS cannot swap in a private address afterwards). Blocking.
package struct WebhookTransport: Sendable {
    package let configuration: WebhookTransportConfiguration

    package init(configuration: WebhookTransportConfiguration) {
        self.configuration = configuration
    }

    /// Posts `body` as JSON with `headers`; returns the HTTP status, throwing unless it is 2xx.
    package func post(url: String, body: [UInt8], headers: [(String, String)]) throws(DeliveryError) -> Int {
        let endpoint = try WebhookURL.parse(url)
        let address = try resolve(endpoint)
        let transfer = try CurlTransfer()
        try transfer.require(CURLOPT_URL, url)
        try transfer.require(CURLOPT_PROTOCOLS_STR, "https")
        try transfer.require(CURLOPT_REDIR_PROTOCOLS_STR, "https")
        try transfer.require(CURLOPT_RESOLVE, list: ["\(endpoint.host):\(endpoint.port):\(address)"])
        if let caFile = configuration.caFile { transfer.set(CURLOPT_CAINFO, caFile) }
        let millis = configuration.timeout.wholeMilliseconds
        transfer.set(CURLOPT_TIMEOUT_MS, Int(millis))
        transfer.set(CURLOPT_CONNECTTIMEOUT_MS, Int(min(millis, 5000)))
        transfer.set(CURLOPT_POST, 1)
        transfer.set(
            CURLOPT_HTTPHEADER,
            list: ["Content-Type: application/json", "User-Agent: lockboxd", "Expect:"]
                + headers.map { "\($0.0): \($0.1)" }
        )
        transfer.setBody(body)
        let status = try transfer.perform()
        guard (200..<300).contains(status) else { throw DeliveryError(.refused, "answered HTTP \(status)") }
        return status
    }

    /// The first address of the endpoint's host, refused unless public (or allowed).
    func resolve(_ endpoint: WebhookURL) throws(DeliveryError) -> String {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        // One answer for "does not resolve" and "is not public": a tenant learns nothing of the
        // provider's own names from it.
        let refusal = DeliveryError(.notAllowed, "the endpoint's host does not resolve to a public address")
        guard getaddrinfo(endpoint.host.trimmingCharacters(in: ["[", "]"]), nil, &hints, &result) == 0, let result
        else {
            throw refusal
        }
        defer { freeaddrinfo(result) }
        var cursor: UnsafeMutablePointer<addrinfo>? = result
        while let info = cursor {
            cursor = info.pointee.ai_next
            guard let address = NetworkAddress(info.pointee.ai_addr) else { continue }
            guard configuration.allowPrivateNetworks || address.isPublic else { throw refusal }
            return address.description
        }
        throw refusal
    }
}

/// An endpoint URL as Lockbox accepts it: https, a host, an optional port, no user info, at most
/// 2,048 bytes.
package struct WebhookURL: Sendable, Hashable {
    package var host: String
    package var port: Int

    package static let maxLength = 2048

    package static func parse(_ text: String) throws(DeliveryError) -> WebhookURL {
        guard text.utf8.count <= maxLength, let components = URLComponents(string: text),
            components.scheme?.lowercased() == "https", let host = components.host, !host.isEmpty,
            components.user == nil, components.password == nil, components.fragment == nil
        else {
            throw DeliveryError(
                .notAllowed,
                "an endpoint must be an https URL with a host, no user info, at most \(maxLength) bytes"
            )
        }
        let port = components.port ?? 443
        guard (1...65535).contains(port) else {
            throw DeliveryError(.notAllowed, "the endpoint's port is out of range")
        }
        return WebhookURL(host: host, port: port)
    }
}

/// An IPv4 or IPv6 address from a socket address.
struct NetworkAddress: CustomStringConvertible {
    var bytes: [UInt8]

    init?(_ pointer: UnsafeMutablePointer<sockaddr>?) {
        guard let pointer else { return nil }
        switch Int32(pointer.pointee.sa_family) {
        case AF_INET:
            let address = pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            bytes = withUnsafeBytes(of: address) { Array($0) }
        case AF_INET6:
            let address = pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
            bytes = withUnsafeBytes(of: address) { Array($0) }
        default:
            return nil
        }
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var raw = bytes
        inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
        return "[" + String(cString: text) + "]"
    }

    /// True for globally routed unicast addresses only.
    var isPublic: Bool {
        if bytes.count == 16 {
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return NetworkAddress(bytes: Array(bytes[12...])).isPublic  // IPv4-mapped
            }
            if bytes.allSatisfy({ $0 == 0 }) { return false }  // ::
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return false }  // ::1
            if bytes[0..<12].allSatisfy({ $0 == 0 }) { return false }  // ::/96, IPv4-compatible
            if bytes[0..<4] == [0x00, 0x64, 0xFF, 0x9B] { return false }  // 64:ff9b::/96, 64:ff9b:1::/48 NAT64
            if bytes[0] == 0x20 && bytes[1] == 0x02 { return false }  // 2002::/16 6to4
            if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0 && bytes[3] == 0 { return false }  // Teredo
            if bytes[0] & 0xFE == 0xFC { return false }  // fc00::/7 unique local
            // fe80::/10 link-local and fec0::/10 site-local.
            if bytes[0] == 0xFE && bytes[1] & 0x80 == 0x80 { return false }
            if bytes[0] == 0xFF { return false }  // multicast
            return true
        }
        let (a, b) = (bytes[0], bytes[1])
        switch a {
        case 0, 10, 127: return false
        case 100 where b & 0xC0 == 64: return false  // 100.64/10 shared
        case 169 where b == 254: return false  // link-local, cloud metadata
        case 172 where b & 0xF0 == 16: return false
        case 192 where b == 168: return false
        case 192 where b == 0 && bytes[2] == 0: return false
        case 198 where b & 0xFE == 18: return false  // benchmarking
        case 224...255: return false  // multicast, reserved, broadcast
        default: return true
        }
    }
}
