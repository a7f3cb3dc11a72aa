import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One HTTP/1.0 request to a loopback port over a plain socket, and its status and body: what
/// a Prometheus scraper or a load balancer's health check does.
package func httpRequest(port: Int, path: String, method: String = "GET") throws -> (status: Int, body: String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw DaemonFailed(stderr: "socket: errno \(errno)") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 20, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { throw DaemonFailed(stderr: "connect to \(port): errno \(errno)") }
    let request = Array("\(method) \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
    guard send(fd, request, request.count, 0) == request.count else { throw DaemonFailed(stderr: "send failed") }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = recv(fd, &buffer, buffer.count, 0)
        if count <= 0 { break }
        response += buffer[0..<count]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard let statusLine = text.split(separator: "\r\n").first,
        let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "")
    else { throw DaemonFailed(stderr: "not an HTTP response: \(text.prefix(200))") }
    let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    return (status, body)
}

/// A Prometheus text exposition, parsed: each sample's name, labels and value.
package struct PrometheusSamples {
    package struct Sample {
        package var name: String
        package var labels: [String: String]
        package var value: Double
    }

    package var samples: [Sample] = []

    /// Parses the text format: `# HELP` and `# TYPE` lines are skipped, every other line must
    /// be `name{label="value",…} number` or `name number`.
    package init(parsing text: String) throws {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                throw DaemonFailed(stderr: "not a sample line: \(line)")
            }
            let series = line[..<space]
            var labels: [String: String] = [:]
            var name = String(series)
            if let open = series.firstIndex(of: "{"), series.hasSuffix("}") {
                name = String(series[..<open])
                let inner = series[series.index(after: open)..<series.index(before: series.endIndex)]
                for pair in inner.split(separator: ",") where !pair.isEmpty {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, parts[1].hasPrefix("\""), parts[1].hasSuffix("\"") else {
                        throw DaemonFailed(stderr: "bad label in: \(line)")
                    }
                    labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
                }
            }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
    }

    /// The value of the sample with this name and these labels (others may be present).
    package func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }?.value
    }
}
