import ArgumentParser
import Foundation
import LockboxIntegrity
import LockboxProto
import LockboxRPC

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search, export and verify the audit log.",
        subcommands: [Search.self, Export.self, Verify.self, Keys.self, Checkpoints.self, Checkpoint.self]
    )

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Search audit records, newest first.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id (tenant principals: their own).") var tenant: String = ""
        @Option(help: "From this time: ISO-8601, or a duration ago such as 24h.") var from: String = ""
        @Option(help: "Up to this time (exclusive).") var to: String = ""
        @Option(help: "Activity, such as CustomerApprove or Get-Mailbox.") var activity: String = ""
        @Option(help: "Actor principal id.") var actor: String = ""
        @Option(help: "Item: a request id.") var item: String = ""
        @Option(
            help: """
                Kind: lifecycle, operator_action, role_change, settings, principal, token, tenant, operation \
                or enrollment.
                """
        )
        var kind: String = ""
        @Option(help: "Page size (server caps it at 500).") var pageSize: UInt32 = 0
        @Option(help: "Token from the previous page.") var pageToken: String = ""

        func run() async throws {
            var request = SearchAuditRequest(
                tenantID: tenant,
                activity: activity,
                actorID: actor,
                item: item,
                pageSize: pageSize,
                pageToken: pageToken
            )
            if !kind.isEmpty {
                guard let parsed = AuditKind(protoName: "AUDIT_KIND_" + kind.uppercased()), parsed != .unspecified
                else { throw ValidationError("unknown kind \"\(kind)\"") }
                request.kind = parsed
            }
            if !from.isEmpty { request.fromMs = try parseTime(from) }
            if !to.isEmpty { request.toMs = try parseTime(to) }
            let response = try await connection.call(LockboxMethods.searchAudit, request)
            connection.show(
                response.records,
                columns: [
                    "time_ms", "kind", "activity", "outcome", "actor_display", "actor_id", "actor_ip", "item",
                    "decision",
                ],
                computed: ["outcome": Render.outcome],
                next: response.nextPageToken
            )
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stream audit records of a time range, or a whole chain to verify, to standard output."
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id.") var tenant: String = ""
        @Option(help: "From this time: ISO-8601, or a duration ago such as 24h.") var from: String = ""
        @Option(help: "Up to this time (exclusive).") var to: String = ""
        @Option(help: "jsonl or csv.") var format: String = "jsonl"
        @Flag(
            help: """
                The whole chain, with sequence numbers, hashes and signed checkpoints, for `lockbox audit verify`. \
                JSON Lines; no --from or --to. Auditors: --tenant, or none for the provider-wide chain.
                """
        )
        var integrity = false

        func run() async throws {
            guard format == "jsonl" || format == "csv" else { throw ValidationError("--format must be jsonl or csv") }
            if integrity, format != "jsonl" || !from.isEmpty || !to.isEmpty {
                throw ValidationError("--integrity exports the whole chain as jsonl: no --format csv, --from or --to")
            }
            var request = ExportAuditRequest(
                tenantID: tenant,
                format: format == "csv" ? .csv : .jsonLines,
                includeIntegrity: integrity
            )
            if !from.isEmpty { request.fromMs = try parseTime(from) }
            if !to.isEmpty { request.toMs = try parseTime(to) }
            try await connection.stream(LockboxMethods.exportAudit, request) { chunk in
                FileHandle.standardOutput.write(Data(chunk.data))
            }
        }
    }
}
