import CCurl
import LockboxCore

/// The SMTP relay Lockbox hands its email to.
package struct SMTPRelayConfiguration: Sendable, Hashable {
    package enum Security: String, Sendable, Hashable, CaseIterable {
        /// Plain SMTP; only for a relay on the same host or a trusted network.
        case none
        /// STARTTLS, required: a relay that does not offer it is refused.
        case starttls
        /// TLS from the first byte (SMTPS, usually port 465).
        case tls
    }

    package var host: String
    package var port: Int
    package var security: Security
    package var username: String?
    package var password: String?
    /// The envelope sender and From address.
    package var sender: String
    /// CA certificates to trust for the relay's certificate, instead of the system's.
    package var caFile: String?
    /// How long one send may take, connection included.
    package var timeout: Duration

    package init(
        host: String,
        port: Int = 25,
        security: Security = .starttls,
        username: String? = nil,
        password: String? = nil,
        sender: String,
        caFile: String? = nil,
        timeout: Duration = .seconds(30)
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.sender = sender
        self.caFile = caFile
        self.timeout = timeout
    }

    /// The domain of the sender address, used in Message-IDs and in EHLO.
    package var senderDomain: String {
        guard let at = sender.lastIndex(of: "@") else { return "lockbox.invalid" }
        let domain = sender[sender.index(after: at)...]
        return domain.isEmpty ? "lockbox.invalid" : String(domain)
    }
}

/// Sends email through the configured relay with libcurl's SMTP client. Blocking.
package struct SMTPRelay: Sendable {
    package let configuration: SMTPRelayConfiguration

    package init(configuration: SMTPRelayConfiguration) {
        self.configuration = configuration
    }

    /// Hands one message to the relay for one recipient. Returns once the relay has accepted
    /// it (its answer to the end of DATA); throws with the relay's answer otherwise.
    package func send(_ message: EmailMessage) throws(DeliveryError) {
        let transfer = try CurlTransfer()
        let scheme = configuration.security == .tls ? "smtps" : "smtp"
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        transfer.set(CURLOPT_URL, "\(scheme)://\(host):\(configuration.port)/\(configuration.senderDomain)")
        transfer.set(CURLOPT_PROTOCOLS_STR, "smtp,smtps")
        switch configuration.security {
        case .none: transfer.set(CURLOPT_USE_SSL, Int(CURLUSESSL_NONE.rawValue))
        case .starttls, .tls: transfer.set(CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue))
        }
        if let caFile = configuration.caFile { transfer.set(CURLOPT_CAINFO, caFile) }
        if let username = configuration.username {
            transfer.set(CURLOPT_USERNAME, username)
            transfer.set(CURLOPT_PASSWORD, configuration.password ?? "")
        }
        let millis = configuration.timeout.wholeMilliseconds
        transfer.set(CURLOPT_TIMEOUT_MS, Int(millis))
        transfer.set(CURLOPT_CONNECTTIMEOUT_MS, Int(min(millis, 10_000)))
        transfer.set(CURLOPT_MAIL_FROM, "<\(configuration.sender)>")
        transfer.set(CURLOPT_MAIL_RCPT, list: ["<\(message.to)>"])
        _ = try transfer.perform(upload: message.rendered())
    }
}
