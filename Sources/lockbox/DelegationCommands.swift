import ArgumentParser
import Foundation
import LockboxProto
import LockboxRPC
import LockboxTrust

/// `lockbox delegations …`: an approver lets another approver of the same tenant decide in
/// their place for a while, signed with their own key; lists and withdraws delegations.
struct Delegations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delegations",
        abstract: "Let another approver decide in your place for a while, signed with your key; list, revoke.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delegate your decisions to another approver of your tenant, for a period (at most 90 days).",
            discussion: """
                Signed with your key file, which must be certified to you to decide. The delegate then \
                approves or denies with `lockbox requests approve ID --delegation DLG --key-file THEIRS`, and \
                the decision counts as yours. Revoke it with `lockbox delegations revoke`.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var key: KeyFileOption
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "The approver who may decide in your place (principal id).") var to: String
        @Option(name: .customLong("for"), help: "For how long from now, such as 72h or 14d (at most 90d).")
        var period: String
        @Option(help: "Only requests for this service; repeat for several. Default: every service.")
        var service: [String] = []
        @Flag(help: "Print only the delegation's id.") var idOnly = false

        func run() async throws {
            let signer = try key.signer()
            let seconds = try parseSeconds(period, what: "--for")
            guard seconds > 0, seconds * 1000 <= DelegationStatement.maximumPeriodMs else {
                throw ValidationError("--for is more than 0 and at most 90 days (90d)")
            }
            let services = service.map { $0.lowercased() }
            for name in services where !["exchange", "sharepoint", "onedrive", "teams"].contains(name) {
                throw ValidationError("--service is exchange, sharepoint, onedrive or teams, got \"\(name)\"")
            }
            // Whose key this is, as the tenant's certificates say: the delegator. A server that
            // names another principal gets a statement the tenant's trust refuses.
            let trust = try await connection.call(
                LockboxMethods.getTenantTrust,
                GetTenantTrustRequest(tenantID: tenant)
            )
            guard let certified = trust.keys.first(where: { $0.keyID == signer.keyID && !$0.revoked }) else {
                throw ValidationError("key \(signer.keyID) is not certified for tenant \(tenant)")
            }
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            let delegation = DelegationStatement(
                tenantID: tenant,
                delegatorID: certified.principalID,
                keyID: signer.keyID,
                delegateID: to,
                services: services,
                startsAtMs: nowMs,
                endsAtMs: nowMs + seconds * 1000,
                nonce: (0..<16).map { _ in UInt8.random(in: 0...255) }
            )
            if let problem = delegation.termsProblem { throw ValidationError(problem) }
            let signed = signer.sign(delegation)
            let created = try await connection.call(
                LockboxMethods.createDelegation,
                SignedStatementRequest(tenantID: tenant, signed: signed)
            )
            if idOnly { print(created.delegationID) } else { connection.show(created) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A tenant's delegations, newest first.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "Only those this principal gave or was given.") var principal: String = ""
        @Flag(help: "Include revoked and ended delegations.") var all = false

        func run() async throws {
            let response = try await connection.call(
                LockboxMethods.listDelegations,
                ListDelegationsRequest(tenantID: tenant, principalID: principal, includeEnded: all)
            )
            connection.show(
                response.delegations,
                columns: ["delegation_id", "delegator_id", "delegate_id", "services", "ends_at_ms", "state"],
                computed: [
                    "services": { $0.services.isEmpty ? "all" : $0.services.joined(separator: ",") },
                    "state": { $0.revoked ? "revoked" : ($0.holds ? "holds" : "does not verify") },
                ]
            )
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw a delegation, signed with your key (the delegator's, or one that administers).",
            discussion: "Decisions made under it count for nothing from then on: grants they back end."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var key: KeyFileOption
        @Option(help: "Tenant id.") var tenant: String
        @Argument(help: "The delegation (dlg_…).") var id: String

        func run() async throws {
            let signer = try key.signer()
            let signed = signer.sign(
                DelegationRevocation(tenantID: tenant, delegationID: id, issuerKeyID: signer.keyID)
            )
            connection.show(
                try await connection.call(
                    LockboxMethods.revokeDelegation,
                    SignedStatementRequest(tenantID: tenant, signed: signed)
                )
            )
        }
    }

    /// The delegation `id` as its delegator signed it: read from the server, and checked to be
    /// the statement its id names.
    static func statement(_ id: String, tenant: String, delegate: String, _ connection: ConnectionOptions)
        async throws -> DelegationStatement
    {
        let listed = try await connection.call(
            LockboxMethods.listDelegations,
            ListDelegationsRequest(tenantID: tenant, principalID: delegate, includeEnded: false, pageSize: 100)
        )
        guard let found = listed.delegations.first(where: { $0.delegationID == id }) else {
            throw ValidationError("no delegation \(id) in force in tenant \(tenant)")
        }
        guard DelegationStatement.id(of: found.statement) == id,
            let statement = try? DelegationStatement(canonicalBytes: found.statement), statement.tenantID == tenant
        else { throw ValidationError("the server's delegation \(id) is not the statement its id names") }
        return statement
    }
}
