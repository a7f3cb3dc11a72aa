import Foundation
import ArgumentParser
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxTrust

let requestColumns = ["id", "tenant_id", "service", "status", "requested_by", "ticket_number", "created_at_ms"]

/// The columns computed for a request table: the requester's name, with its id beside it.
let requestComputed: [String: @Sendable (AccessRequest) -> String] = [
    "requested_by": { $0.requesterName.isEmpty ? $0.requesterID : "\($0.requesterName) (\($0.requesterID))" }
]

struct Requests: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "File, list, decide, cancel and revoke access requests.",
        subcommands: [
            Create.self, Extend.self, List.self, Get.self, Watch.self, Cancel.self, DecideInternal.self, Approve.self,
            Deny.self, Revoke.self, VerifyApproval.self,
        ]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "File an access request (operators).")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "exchange, sharepoint, onedrive or teams.") var service: String
        @Option(help: "Support ticket number.") var ticket: String
        @Option(help: "Why access is needed.") var justification: String
        @Option(help: "How long, such as 30m or 2h (1 minute to 4 hours).") var duration: String
        @Option(
            help: """
                A scheduled start: ISO-8601 such as 2026-12-07T09:00:00Z, or +DURATION from now such as +2h \
                (at most 7 days ahead). The customer approves that window, and the request expires \
                if it is not approved by then. Default: access starts at approval.
                """
        )
        var startAt: String = ""
        @Option(
            help: """
                An operation you need, of those pre-approved for the service; repeat for several. \
                Default: all of them.
                """
        )
        var operation: [String] = []
        @Option(
            help: "Why, in a word: incident, service_request, security_investigation or customer_requested."
        )
        var category: String = ""
        @Option(help: "Idempotency key: the same key and request returns the original.") var idempotencyKey: String = ""
        @Flag(help: "Print only the new request's id.") var idOnly = false

        func run() async throws {
            let request = CreateAccessRequestRequest(
                tenantID: tenant,
                service: try parseService(service),
                ticketNumber: ticket,
                justification: justification,
                requestedDurationSeconds: try parseSeconds(duration, what: "duration"),
                startsAtMs: startAt.isEmpty ? 0 : try parseStart(startAt),
                operations: operation,
                category: try parseCategory(category)
            )
            let created = try await connection.call(
                LockboxMethods.createAccessRequest,
                request,
                idempotencyKey: idempotencyKey
            )
            if idOnly { print(created.id) } else { connection.show(created) }
        }
    }

    struct Extend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask to extend your approved grant (operators).",
            discussion: """
                The extension is a request of its own, linked to the grant: it goes through the same \
                approvals (a support manager, then the customer's signed decisions), and once approved \
                its access starts where the grant ends, without a gap. If it is not approved before \
                the grant ends, it expires and the grant ends as it would have. A grant and its \
                extensions run at most 12 hours together.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The approved request whose grant to extend.") var requestID: String
        @Option(help: "How much longer, such as 30m or 1h (1 minute up to the tenant's cap).") var duration: String
        @Option(help: "Why more time is needed.") var justification: String
        @Option(help: "Support ticket number (default: the extended request's).") var ticket: String = ""
        @Option(help: "Why, in a word (default: the extended request's category).") var category: String = ""
        @Option(help: "Idempotency key: the same key and request returns the original.") var idempotencyKey: String = ""
        @Flag(help: "Print only the new request's id.") var idOnly = false

        func run() async throws {
            let extended = try await connection.call(
                LockboxMethods.getAccessRequest,
                GetAccessRequestRequest(requestID: requestID)
            )
            let created = try await connection.call(
                LockboxMethods.createAccessRequest,
                CreateAccessRequestRequest(
                    tenantID: extended.tenantID,
                    service: extended.service,
                    ticketNumber: ticket.isEmpty ? extended.ticketNumber : ticket,
                    justification: justification,
                    requestedDurationSeconds: try parseSeconds(duration, what: "duration"),
                    extendsRequestID: requestID,
                    category: category.isEmpty ? extended.category : try parseCategory(category)
                ),
                idempotencyKey: idempotencyKey
            )
            if idOnly { print(created.id) } else { connection.show(created) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List requests you may see, newest first.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id.") var tenant: String = ""
        @Option(help: "PENDING_INTERNAL, PENDING_CUSTOMER, APPROVED, DENIED, EXPIRED, CANCELED, REVOKED or COMPLETED.")
        var status: String = ""
        @Option(help: "exchange, sharepoint, onedrive or teams.") var service: String = ""
        @Option(help: "Created after this time: ISO-8601, or a duration ago such as 24h.") var createdAfter: String = ""
        @Option(help: "One request id.") var id: String = ""
        @Option(help: "Page size (server caps it at 500).") var pageSize: UInt32 = 0
        @Option(help: "Token from the previous page.") var pageToken: String = ""

        func run() async throws {
            var request = ListAccessRequestsRequest(
                tenantID: tenant,
                requestID: id,
                pageSize: pageSize,
                pageToken: pageToken
            )
            if !status.isEmpty {
                guard let parsed = RequestStatus(protoName: "REQUEST_STATUS_" + status.uppercased()) else {
                    throw ValidationError("unknown status \"\(status)\"")
                }
                request.status = parsed
            }
            if !service.isEmpty { request.service = try parseService(service) }
            if !createdAfter.isEmpty { request.createdAfterMs = try parseTime(createdAfter) }
            let response = try await connection.call(LockboxMethods.listAccessRequests, request)
            connection.show(
                response.requests,
                columns: requestColumns,
                computed: requestComputed,
                next: response.nextPageToken
            )
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one request, its decisions, grant and usage.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Request id.") var id: String

        func run() async throws {
            connection.show(
                try await connection.call(LockboxMethods.getAccessRequest, GetAccessRequestRequest(requestID: id))
            )
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print each change to the requests you may see as it happens, until interrupted."
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id (tenant principals: their own).") var tenant: String = ""
        @Option(
            help: """
                Resume after this event id (the last one printed, or the one the watch began at): every \
                change since is printed first, in order. Refused once the server no longer keeps it.
                """
        )
        var since: Int64 = 0

        func run() async throws {
            guard since >= 0 else { throw ValidationError("--since must not be negative") }
            try await connection.stream(
                LockboxMethods.watchAccessRequests,
                WatchAccessRequestsRequest(tenantID: tenant, since: since)
            ) { event in
                // Written at once, unbuffered, so a pipe sees each change as it happens.
                if event.live && !connection.json {
                    let from = since > 0 ? "every change after event \(since)" : "every change from now on"
                    FileHandle.standardError.write(
                        Data("watching from event \(event.eventID): \(from) follows\n".utf8)
                    )
                    return
                }
                var line = ""
                if connection.json {
                    let data = try JSONSerialization.data(withJSONObject: Render.object(event), options: [.sortedKeys])
                    line = String(decoding: data, as: UTF8.self)
                } else if let request = event.request {
                    let status = Render.shortName(request.status)
                    line =
                        "\(event.eventID)  \(Render.time(event.occurredAtMs))  \(event.activity)  \(request.id)  "
                        + "\(request.tenantID)  \(status)"
                }
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw a request (its requester) or cancel it before deciding (the tenant's approvers)."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Request id.") var id: String
        @Option(help: "Why.") var reason: String = ""

        func run() async throws {
            connection.show(
                try await connection.call(
                    LockboxMethods.cancelAccessRequest,
                    CancelAccessRequestRequest(requestID: id, reason: reason)
                )
            )
        }
    }

    struct DecideInternal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve or deny a request internally (support managers, never their own)."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Request id.") var id: String
        @Flag(exclusivity: .exclusive, help: "The decision.") var decision: InternalChoice
        @Option(help: "Comment on an approval, reason for a denial.") var comment: String = ""

        enum InternalChoice: EnumerableFlag {
            case approve, deny
        }

        func run() async throws {
            let request = InternalDecision(requestID: id, approve: decision == .approve, comment: comment)
            connection.show(try await connection.call(LockboxMethods.decideInternal, request))
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a request as the customer (the tenant's approvers and global admins)."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var key: KeyFileOption
        @Argument(help: "Request id.") var id: String
        @Option(help: "Comment.") var comment: String = ""
        @Option(help: "Grant less time than requested, such as 30m (never more).") var duration: String?
        @Option(
            help: """
                Allow only this operation of those requested; repeat for several (signed decisions only). \
                Default: all the request asked for.
                """
        )
        var operation: [String] = []
        @Option(help: "Decide in the place of the approver who delegated to you, under this delegation (dlg_…).")
        var delegation: String?

        func run() async throws {
            var decision = CustomerDecision(requestID: id, decision: .approve, comment: comment)
            if let duration { decision.approvedDurationSeconds = try parseSeconds(duration, what: "duration") }
            decision.signedDecision = try await CustomerSigning.sign(
                decision,
                with: key,
                connection,
                operations: operation.isEmpty ? nil : operation,
                delegation: delegation
            )
            connection.show(try await connection.call(LockboxMethods.decideCustomer, decision))
        }
    }

    /// The customer's decision signed with the approver's own key, as its tenant requires: the
    /// statement the server prepared for this key (an approval's end brought forward for a
    /// shorter duration). Nil without a key file.
    enum CustomerSigning {
        static func sign(
            _ decision: CustomerDecision,
            with key: KeyFileOption,
            _ connection: ConnectionOptions,
            operations chosen: [String]? = nil,
            delegation delegationID: String? = nil
        ) async throws -> SignedDecision? {
            guard let signer = try key.signerIfGiven() else {
                guard chosen == nil else { throw ValidationError("--operation needs --key-file: it is signed") }
                guard delegationID == nil else { throw ValidationError("--delegation needs --key-file: it is signed") }
                return nil
            }
            let request = try await connection.call(
                LockboxMethods.getAccessRequest,
                GetAccessRequestRequest(requestID: decision.requestID, signingKeyID: signer.keyID)
            )
            let bytes = decision.decision == .approve ? request.approveStatement : request.denyStatement
            guard !bytes.isEmpty else {
                throw ValidationError(
                    "there is nothing to sign: the request does not wait for your decision, or its tenant has no root"
                )
            }
            guard var statement = try? DecisionStatement(canonicalBytes: bytes) else {
                throw ValidationError("the server prepared a statement that is not a decision; nothing was signed")
            }
            if let chosen {
                let wanted = Set(chosen.map { $0.lowercased() })
                if let missing = wanted.first(where: { !statement.operations.contains($0) }) {
                    throw ValidationError("\(missing) is not among the operations this request may be approved for")
                }
                statement.operations = statement.operations.filter(wanted.contains)
            }
            if decision.approvedDurationSeconds > 0 {
                statement.endsAtMs = min(
                    statement.endsAtMs,
                    statement.startsAtMs + decision.approvedDurationSeconds * 1000
                )
            }
            // The server's statement is checked against what this approver asked for, by this
            // machine's clock, before the key signs anything: a server that is not what it
            // claims cannot get this signature on another request or a longer window.
            let intent = DecisionIntent(
                requestID: decision.requestID,
                tenantID: request.tenantID,
                operatorID: request.requesterID,
                service: Render.shortName(request.service).lowercased(),
                decision: (decision.decision == .approve ? DecisionWord.approve : DecisionWord.deny).rawValue,
                keyID: signer.keyID,
                requestedDurationSeconds: request.requestedDurationSeconds,
                scheduledStartMs: request.startsAtMs == 0 ? nil : request.startsAtMs
            )
            if let problem = intent.problem(with: statement, nowMs: Int64(Date().timeIntervalSince1970 * 1000)) {
                throw ValidationError(
                    "the statement the server prepared is not what you asked for (\(problem)); nothing was signed"
                )
            }
            if let delegationID {
                let delegation = try await Delegations.statement(
                    delegationID,
                    tenant: request.tenantID,
                    delegate: statement.approverID,
                    connection
                )
                guard delegation.delegateID == statement.approverID else {
                    throw ValidationError("delegation \(delegationID) is to \(delegation.delegateID), not to you")
                }
                statement.delegationID = delegationID
                statement.onBehalfOf = delegation.delegatorID
            }
            let operations = statement.operations.isEmpty ? "none" : statement.operations.joined(separator: ", ")
            FileHandle.standardError.write(
                Data(
                    printable(
                        "signing: \(statement.decision) \(statement.requestID) for \(statement.operatorID) on "
                            + "\(statement.service), \(Render.time(statement.startsAtMs)) to \(Render.time(statement.endsAtMs)), "
                            + "operations: \(operations)"
                            + (statement.approvalsRequired > 1
                                ? ", one of \(statement.approvalsRequired) approvals required" : "")
                            + (statement.delegationID.isEmpty
                                ? ""
                                : ", on behalf of \(statement.onBehalfOf) under \(statement.delegationID)"),
                        limit: 2000
                    ).appending("\n").utf8
                )
            )
            let signed = statement.canonicalBytes
            return SignedDecision(statement: signed, keyID: signer.keyID, signature: signer.signature(over: signed))
        }
    }

    struct Deny: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deny a request as the customer.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var key: KeyFileOption
        @Argument(help: "Request id.") var id: String
        @Option(help: "Reason.") var reason: String = ""
        @Option(help: "Decide in the place of the approver who delegated to you, under this delegation (dlg_…).")
        var delegation: String?

        func run() async throws {
            var decision = CustomerDecision(requestID: id, decision: .deny, comment: reason)
            decision.signedDecision = try await CustomerSigning.sign(
                decision,
                with: key,
                connection,
                delegation: delegation
            )
            connection.show(try await connection.call(LockboxMethods.decideCustomer, decision))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End an approved grant early (the customer or the requester)."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Request id.") var id: String
        @Option(help: "Reason.") var reason: String = ""

        func run() async throws {
            connection.show(
                try await connection.call(
                    LockboxMethods.revokeAccess,
                    RevokeAccessRequest(requestID: id, reason: reason)
                )
            )
        }
    }
}

struct Access: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check access as a data-plane service.",
        subcommands: [Check.self, VerifyEvidence.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "May this operator perform this operation on this tenant now? Exits 0 when allowed, 7 when denied."
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "exchange, sharepoint, onedrive or teams.") var service: String
        @Option(name: .customLong("operator"), help: "The operator's principal id.") var operatorID: String
        @Option(help: "The operation, such as Get-Mailbox.") var operation: String
        @Option(help: "The operator's client IP.") var ip: String
        @Option(help: "Save the evidence behind an allowed answer here, for lockbox access verify-evidence.")
        var evidence: String?

        func run() async throws {
            let request = CheckAccessRequest(
                tenantID: tenant,
                service: try parseService(service),
                operatorID: operatorID,
                operation: operation,
                clientIP: ip,
                includeEvidence: evidence != nil
            )
            let response = try await connection.call(LockboxMethods.checkAccess, request)
            if let evidence, response.allowed {
                guard FileManager.default.createFile(atPath: evidence, contents: Data(response.evidence)) else {
                    throw ValidationError("cannot write \(evidence)")
                }
            }
            if connection.json {
                print(Render.json(response))
            } else if response.allowed {
                print("allowed: request \(response.requestID), grant ends \(Render.time(response.grantEndsAtMs))")
            } else {
                let reason = String(response.reason.description.dropFirst("ACCESS_DENY_REASON_".count))
                print("denied: \(reason)" + (response.requestID.isEmpty ? "" : " (request \(response.requestID))"))
            }
            if !response.allowed { throw ExitCode(ExitStatus.accessDenied) }
        }
    }
}

struct Grants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Active grants.",
        subcommands: [List.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Active grants: your own (operators), or on a tenant's data (its admins and approvers)."
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id.") var tenant: String = ""
        @Option(name: .customLong("operator"), help: "Operator id.") var operatorID: String = ""

        func run() async throws {
            let response = try await connection.call(
                LockboxMethods.listGrants,
                ListGrantsRequest(tenantID: tenant, operatorID: operatorID)
            )
            connection.show(
                response.grants,
                columns: ["request_id", "operator_id", "tenant_id", "service", "ends_at_ms", "seconds_left"]
            )
        }
    }
}
