import ArgumentParser
import Foundation
import LockboxCore
import LockboxDelivery
import LockboxOptionParsing
import LockboxServer

/// Where `serve` sends email and how it delivers notifications (docs/notifications.md).
struct NotificationOptions: ParsableArguments {
    @Option(help: "SMTP relay host. Without it no email is sent. (env LOCKBOX_SMTP_HOST)")
    var smtpHost: String?

    @Option(help: "SMTP relay port. (env LOCKBOX_SMTP_PORT, default 587, or 465 with --smtp-security tls)")
    var smtpPort: Int?

    @Option(
        help: """
            starttls (required: a relay that does not offer it is refused), tls (SMTPS), or none (plain SMTP; \
            a warning is logged when the relay is not on loopback). (env LOCKBOX_SMTP_SECURITY, default starttls)
            """
    )
    var smtpSecurity: String?

    @Option(help: "SMTP AUTH user name. (env LOCKBOX_SMTP_USERNAME)")
    var smtpUsername: String?

    @Option(
        help: """
            File holding the SMTP AUTH password; it must not be readable by group or others. \
            (env LOCKBOX_SMTP_PASSWORD_FILE, or the password itself in LOCKBOX_SMTP_PASSWORD)
            """
    )
    var smtpPasswordFile: String?

    @Option(help: "Envelope sender and From address of Lockbox's email. (env LOCKBOX_SMTP_FROM)")
    var smtpFrom: String?

    @Option(help: "CA certificates (PEM) to trust for the relay, instead of the system's. (env LOCKBOX_SMTP_CA_FILE)")
    var smtpCAFile: String?

    @Option(
        help: """
            How long before a customer's deadline approvers are reminded; 0 sends no reminder. \
            (env LOCKBOX_REMINDER_BEFORE, default 2h)
            """
    )
    var reminderBefore: String?

    @Option(
        help: """
            Wait after a delivery's first failed attempt; it doubles after each later one, up to 1h. \
            (env LOCKBOX_NOTIFICATION_RETRY_BASE, default 30s)
            """
    )
    var notificationRetryBase: String?

    @Option(
        help: "Attempts before a delivery is marked failed. (env LOCKBOX_NOTIFICATION_ATTEMPTS, default 10)"
    )
    var notificationAttempts: Int?

    @Option(
        help: """
            Consecutive failed deliveries after which a webhook endpoint is disabled. \
            (env LOCKBOX_WEBHOOK_DISABLE_AFTER, default 20)
            """
    )
    var webhookDisableAfter: Int?

    @Option(
        help:
            "CA certificates (PEM) to trust for webhook endpoints, instead of the system's. (env LOCKBOX_WEBHOOK_CA_FILE)"
    )
    var webhookCAFile: String?

    @Flag(
        help: """
            Deliver webhooks to loopback, private and link-local addresses too. Off by default, so that no \
            endpoint reaches into the provider's own network. (env LOCKBOX_WEBHOOK_ALLOW_PRIVATE_NETWORKS=1)
            """
    )
    var webhookAllowPrivateNetworks = false

    @Option(
        help: """
            How long request events are kept for watches to resume from; then they are removed. \
            (env LOCKBOX_EVENT_RETENTION, default 168h)
            """
    )
    var eventRetention: String?

    func resolve(_ env: Environment) throws -> NotificationConfiguration {
        var configuration = NotificationConfiguration()
        if let host = smtpHost ?? env["LOCKBOX_SMTP_HOST"] {
            let securityText = smtpSecurity ?? env["LOCKBOX_SMTP_SECURITY"] ?? "starttls"
            guard let security = SMTPRelayConfiguration.Security(rawValue: securityText) else {
                throw ValidationError("smtp security must be starttls, tls or none, got \"\(securityText)\"")
            }
            let port =
                try smtpPort ?? env["LOCKBOX_SMTP_PORT"].map { text in
                    guard let port = Int(text) else { throw ValidationError("LOCKBOX_SMTP_PORT must be a port number") }
                    return port
                } ?? (security == .tls ? 465 : 587)
            guard (1...65535).contains(port) else { throw ValidationError("smtp port must be 1...65535") }
            guard let from = smtpFrom ?? env["LOCKBOX_SMTP_FROM"], EmailAddress.isValid(from) else {
                throw ValidationError("--smtp-from must be the sender's address, such as lockbox@provider.example")
            }
            var password: String?
            if let path = smtpPasswordFile ?? env["LOCKBOX_SMTP_PASSWORD_FILE"] {
                password = try SigningKeyOptions.readPrivateFile(path, what: "SMTP password file")
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            } else if let value = env["LOCKBOX_SMTP_PASSWORD"] {
                password = value
                unsetenv("LOCKBOX_SMTP_PASSWORD")
            }
            let username = smtpUsername ?? env["LOCKBOX_SMTP_USERNAME"]
            if password != nil && username == nil {
                throw ValidationError("an SMTP password needs --smtp-username")
            }
            configuration.smtp = SMTPRelayConfiguration(
                host: host,
                port: port,
                security: security,
                username: username,
                password: password,
                sender: from,
                caFile: smtpCAFile ?? env["LOCKBOX_SMTP_CA_FILE"]
            )
        }
        if let text = reminderBefore ?? env["LOCKBOX_REMINDER_BEFORE"] {
            guard let lead = parseDuration(text) else {
                throw ValidationError("reminder lead must be a duration such as 2h, or 0, got \"\(text)\"")
            }
            configuration.policy.reminderLeadMs =
                lead.wholeMilliseconds
        }
        if let text = notificationRetryBase ?? env["LOCKBOX_NOTIFICATION_RETRY_BASE"] {
            guard let base = parseDuration(text), base >= .milliseconds(10), base <= .seconds(3600) else {
                throw ValidationError("notification retry base must be 10ms...1h, got \"\(text)\"")
            }
            configuration.policy.baseDelayMs =
                base.wholeMilliseconds
        }
        if let attempts = try count(notificationAttempts, env, "LOCKBOX_NOTIFICATION_ATTEMPTS") {
            configuration.policy.maximumAttempts = attempts
        }
        if let failures = try count(webhookDisableAfter, env, "LOCKBOX_WEBHOOK_DISABLE_AFTER") {
            configuration.policy.disableWebhookAfterFailures = failures
        }
        configuration.webhooks.caFile = webhookCAFile ?? env["LOCKBOX_WEBHOOK_CA_FILE"]
        configuration.webhooks.allowPrivateNetworks =
            webhookAllowPrivateNetworks || env["LOCKBOX_WEBHOOK_ALLOW_PRIVATE_NETWORKS"] == "1"
        if let text = eventRetention ?? env["LOCKBOX_EVENT_RETENTION"] {
            guard let retention = parseDuration(text), retention >= .seconds(60) else {
                throw ValidationError("event retention must be at least 1m, such as 168h, got \"\(text)\"")
            }
            configuration.eventRetention = retention
        }
        return configuration
    }

    private func count(_ flag: Int?, _ env: Environment, _ name: String) throws -> Int? {
        guard
            let value = try flag
                ?? env[name].map({ text in
                    guard let value = Int(text) else {
                        throw ValidationError("\(name) must be a number, got \"\(text)\"")
                    }
                    return value
                })
        else { return nil }
        guard (1...1000).contains(value) else { throw ValidationError("\(name.lowercased()) must be 1...1000") }
        return value
    }
}
