import Foundation

/// One plain-text email to one recipient, rendered as an RFC 5322 message.
///
/// Every header value is Lockbox's own text or a validated address: nothing a requester
/// typed reaches a header. The body is UTF-8 in quoted-printable, with CRLF line ends.
package struct EmailMessage: Sendable, Hashable {
    package var from: String
    package var to: String
    package var subject: String
    /// Stable for an event and a recipient, so a retried send is recognisable (without the <>).
    package var messageID: String
    /// Seconds since 1970, for the Date header.
    package var dateSeconds: Int64
    package var body: String

    package init(from: String, to: String, subject: String, messageID: String, dateSeconds: Int64, body: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.messageID = messageID
        self.dateSeconds = dateSeconds
        self.body = body
    }

    package func rendered() -> [UInt8] {
        var out = ""
        out += "From: Lockbox <\(Self.headerSafe(from))>\r\n"
        out += "To: <\(Self.headerSafe(to))>\r\n"
        out += "Subject: \(Self.headerSafe(subject))\r\n"
        out += "Date: \(Self.rfc5322Date(dateSeconds))\r\n"
        out += "Message-ID: <\(Self.headerSafe(messageID))>\r\n"
        out += "Auto-Submitted: auto-generated\r\n"
        out += "MIME-Version: 1.0\r\n"
        out += "Content-Type: text/plain; charset=utf-8\r\n"
        out += "Content-Transfer-Encoding: quoted-printable\r\n"
        out += "\r\n"
        out += Self.quotedPrintable(body)
        out += "\r\n"
        return Array(out.utf8)
    }

    /// Printable ASCII only: a header can never be split or extended.
    static func headerSafe(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }))
    }

    /// RFC 2045 quoted-printable, lines at most 76 characters, CRLF line ends.
    static func quotedPrintable(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var lines: [String] = []
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            var encoded: [UInt8] = []
            var width = 0
            let bytes = Array(line.utf8)
            for (index, byte) in bytes.enumerated() {
                let last = index == bytes.count - 1
                let plain =
                    (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || (byte == 0x20 && !last)
                let piece: [UInt8] = plain ? [byte] : [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
                if width + piece.count > 75 {
                    encoded += Array("=\r\n".utf8)
                    width = 0
                }
                encoded += piece
                width += piece.count
            }
            lines.append(String(decoding: encoded, as: UTF8.self))
        }
        return lines.joined(separator: "\r\n")
    }

    static func rfc5322Date(_ seconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, d MMM yyyy HH:mm:ss Z"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
