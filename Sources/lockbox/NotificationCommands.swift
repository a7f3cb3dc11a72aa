import ArgumentParser
import LockboxProto
import LockboxRPC

extension Principals {
    struct SetEmail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-email",
            abstract: """
                Set where Lockbox emails a principal, or clear it with --clear. A tenant's global admins set \
                their principals' addresses; provider admins the provider's.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Principal id.") var principal: String
        @Argument(help: "Email address, such as approver@contoso.example.") var email: String?
        @Flag(help: "Remove the address: the principal gets no email.") var clear = false

        func run() async throws {
            guard (email != nil) != clear else { throw ValidationError("give either an address or --clear") }
            connection.show(
                try await connection.call(
                    LockboxMethods.setPrincipalEmail,
                    SetPrincipalEmailRequest(principalID: principal, email: email ?? "")
                )
            )
        }
    }
}

struct Webhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: """
            Register, list and remove HTTPS endpoints that receive request events, signed \
            (docs/notifications.md). A tenant's global admins manage its endpoints; provider admins \
            manage the provider's, which receive every tenant's events.
            """,
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an endpoint. Prints its signing secret, this once: store it with the receiver."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "https URL of the endpoint.") var url: String
        @Option(help: "Tenant id; omit for a provider endpoint (provider admins).") var tenant: String = ""

        func run() async throws {
            let response = try await connection.call(
                LockboxMethods.addWebhook,
                AddWebhookRequest(tenantID: tenant, url: url)
            )
            connection.show(response)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List endpoints (never their secrets).")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id; omit for the provider's endpoints.") var tenant: String = ""

        func run() async throws {
            let response = try await connection.call(LockboxMethods.listWebhooks, ListWebhooksRequest(tenantID: tenant))
            connection.show(
                response.webhooks,
                columns: ["id", "tenant_id", "url", "consecutive_failures", "disabled_at_ms", "created_at_ms"]
            )
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an endpoint; its pending deliveries are marked failed."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Webhook id.") var id: String

        func run() async throws {
            connection.show(
                try await connection.call(LockboxMethods.removeWebhook, RemoveWebhookRequest(webhookID: id))
            )
        }
    }
}

struct Notifications: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Where email and webhook deliveries stand.",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: """
                List deliveries, newest first: pending, sent, failed (after their last attempt) or skipped. \
                Provider admins see every tenant's, with customers' addresses masked.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id (tenant principals: their own; provider admins: omit for all).") var tenant: String =
            ""
        @Option(help: "Only deliveries in this state: pending, sent, failed or skipped.") var state: String = ""
        @Option(help: "Page size (server caps it).") var pageSize: UInt32 = 0
        @Option(help: "Token from the previous page.") var pageToken: String = ""

        func run() async throws {
            let response = try await connection.call(
                LockboxMethods.listNotifications,
                ListNotificationsRequest(tenantID: tenant, state: state, pageSize: pageSize, pageToken: pageToken)
            )
            connection.show(
                response.notifications,
                columns: [
                    "id", "tenant_id", "request_id", "channel", "kind", "address", "state", "attempts", "last_error",
                ],
                next: response.nextPageToken
            )
        }
    }
}
