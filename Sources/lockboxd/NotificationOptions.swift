import ArgumentParser
import Foundation
import LockboxCore
import LockboxDelivery
import LockboxOptionParsing
import LockboxServer

/// Where `serve` sends email and how it delivers notifications (docs/notifications.md).
struct NotificationOptions: ParsableArguments {
    @Option(Settings.smtpHost) var smtpHost: String?
    @Option(Settings.smtpPort) var smtpPort: String?
    @Option(Settings.smtpSecurity) var smtpSecurity: String?
    @Option(Settings.smtpUsername) var smtpUsername: String?
    @Option(Settings.smtpPasswordFile) var smtpPasswordFile: String?
    @Option(Settings.smtpFrom) var smtpFrom: String?
    @Option(Settings.smtpCAFile) var smtpCAFile: String?
    @Option(Settings.reminderBefore) var reminderBefore: String?
    @Option(Settings.notificationRetryBase) var notificationRetryBase: String?
    @Option(Settings.notificationAttempts) var notificationAttempts: String?
    @Option(Settings.webhookDisableAfter) var webhookDisableAfter: String?
    @Option(Settings.webhookCAFile) var webhookCAFile: String?
    @Flag(Settings.webhookAllowPrivateNetworks) var webhookAllowPrivateNetworks = false
    @Option(Settings.eventRetention) var eventRetention: String?

    func resolve(_ env: Environment) throws -> NotificationConfiguration {
        var configuration = NotificationConfiguration()
        if let host = try resolving({ try Settings.smtpHost.value(smtpHost, env) }) {
            configuration.smtp = try smtp(host: host, env)
        }
        try resolving {
            if let lead = try Settings.reminderBefore.value(reminderBefore, env) {
                configuration.policy.reminderLeadMs = lead.wholeMilliseconds
            }
            if let base = try Settings.notificationRetryBase.value(notificationRetryBase, env) {
                configuration.policy.baseDelayMs = base.wholeMilliseconds
            }
            configuration.policy.maximumAttempts =
                try Settings.notificationAttempts.value(notificationAttempts, env)
                ?? configuration.policy.maximumAttempts
            configuration.policy.disableWebhookAfterFailures =
                try Settings.webhookDisableAfter.value(webhookDisableAfter, env)
                ?? configuration.policy.disableWebhookAfterFailures
            configuration.webhooks.caFile = try Settings.webhookCAFile.value(webhookCAFile, env)
            configuration.webhooks.allowPrivateNetworks = Settings.webhookAllowPrivateNetworks.isOn(
                webhookAllowPrivateNetworks,
                env
            )
            configuration.eventRetention =
                try Settings.eventRetention.value(eventRetention, env) ?? configuration.eventRetention
        }
        return configuration
    }

    private func smtp(host: String, _ env: Environment) throws -> SMTPRelayConfiguration {
        try resolving {
            let security = try Settings.smtpSecurity.value(smtpSecurity, env) ?? .starttls
            let port = try Settings.smtpPort.value(smtpPort, env) ?? (security == .tls ? 465 : 587)
            guard let from = try Settings.smtpFrom.value(smtpFrom, env) else {
                throw SettingError("--smtp-from must be the sender's address, such as lockbox@provider.example")
            }
            var password: String?
            if let path = try Settings.smtpPasswordFile.value(smtpPasswordFile, env) {
                password = try SigningKey.readPrivateFile(path, what: "SMTP password file")
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            } else if let value = env["LOCKBOX_SMTP_PASSWORD"] {
                password = value
                unsetenv("LOCKBOX_SMTP_PASSWORD")
            }
            let username = try Settings.smtpUsername.value(smtpUsername, env)
            if password != nil && username == nil { throw SettingError("an SMTP password needs --smtp-username") }
            return SMTPRelayConfiguration(
                host: host,
                port: port,
                security: security,
                username: username,
                password: password,
                sender: from,
                caFile: try Settings.smtpCAFile.value(smtpCAFile, env)
            )
        }
    }
}
