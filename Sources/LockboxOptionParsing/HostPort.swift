/// Splits "host:port" (or "[v6]:port") into its parts; nil unless the port is 1...65535.
package func parseHostPort(_ address: String) -> (host: String, port: Int)? {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
        (1...65535).contains(port)
    else { return nil }
    var host = String(address[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host, port)
}

/// Whether `host` names this machine's loopback: where plaintext stays on the machine.
package func isLoopback(_ host: String) -> Bool { ["127.0.0.1", "::1", "localhost"].contains(host) }
