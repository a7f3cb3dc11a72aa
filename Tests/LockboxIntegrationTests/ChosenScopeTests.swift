import Foundation
import LockboxCore
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxTestSupport
import LockboxTrust
import Testing

/// A scope the customer chooses, through the API: the operator asks for some of the
/// pre-approved operations, each approver signs all of them or fewer, and CheckAccess allows
/// only what every counted approval signed.
@Suite struct ChosenScopeTests {
    static func create(_ h: Harness, _ w: Harness.World, operations: [String]) async throws(RPCError)
        -> AccessRequest
    {
        try await h.call(
            LockboxMethods.createAccessRequest,
            CreateAccessRequestRequest(
                tenantID: "contoso",
                service: .exchange,
                ticketNumber: "SR-4001",
                justification: "read two mailboxes",
                requestedDurationSeconds: 3600,
                operations: operations
            ),
            token: w.operatorToken
        )
    }

    /// The approver holding `token` approves, signing only `operations` of the prepared statement.
    static func approve(_ h: Harness, _ w: Harness.World, _ id: String, token: String, operations: [String]) async
        -> StatusCode
    {
        guard let signer = w.signer(for: token),
            let request = try? await h.call(
                LockboxMethods.getAccessRequest,
                GetAccessRequestRequest(requestID: id, signingKeyID: signer.keyID),
                token: token
            ),
            var statement = try? DecisionStatement(canonicalBytes: request.approveStatement)
        else { return .unknown }
        statement.operations = operations
        let bytes = statement.canonicalBytes
        return await h.status(
            LockboxMethods.decideCustomer,
            CustomerDecision(
                requestID: id,
                decision: .approve,
                signedDecision: SignedDecision(
                    statement: bytes,
                    keyID: signer.keyID,
                    signature: signer.signature(over: bytes)
                )
            ),
            token: token
        )
    }

    static func allowed(_ h: Harness, _ w: Harness.World, _ operation: String) async throws -> CheckAccessResponse {
        try await h.checkAccess(w, operation: operation)
    }

    @Test func theApproverAllowsASubsetAndOnlyItIsAllowed() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            // Not pre-approved: refused at filing.
            do {
                _ = try await Self.create(h, w, operations: ["Get-Mailbox", "Set-Mailbox"])
                Issue.record("an operation that is not pre-approved was accepted")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
            }
            let request = try await Self.create(h, w, operations: ["Search-Mailbox", "Get-Mailbox", "get-mailbox"])
            #expect(request.requestedOperations == ["get-mailbox", "search-mailbox"])
            try await h.approveInternally(w, request.id)
            // An operation the request did not ask for cannot be signed into it.
            #expect(
                await Self.approve(
                    h,
                    w,
                    request.id,
                    token: w.contosoApprover,
                    operations: ["get-mailbox", "test-mailflow"]
                )
                    == .failedPrecondition
            )
            #expect(await Self.approve(h, w, request.id, token: w.contosoApprover, operations: ["get-mailbox"]) == .ok)
            let approved = try await h.get(request.id, token: w.operatorToken)
            #expect(approved.status == .approved)
            #expect(approved.grant?.operations == ["get-mailbox"])
            #expect(try await Self.allowed(h, w, "Get-Mailbox").allowed)
            let outside = try await Self.allowed(h, w, "Search-Mailbox")
            #expect(!outside.allowed && outside.reason == .operationNotPreapproved)
            #expect(!(try await Self.allowed(h, w, "Test-MailFlow")).allowed)
        }
    }

    @Test func severalApproversAllowWhatEveryOneSigned() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            try await ApprovalPolicyTests.policy(h, w, [ApprovalRule(service: "exchange", approvalsRequired: 2)])
            let request = try await Self.create(h, w, operations: ["Get-Mailbox", "Search-Mailbox"])
            try await h.approveInternally(w, request.id)
            #expect(
                await Self.approve(
                    h,
                    w,
                    request.id,
                    token: w.contosoApprover,
                    operations: ["get-mailbox", "search-mailbox"]
                ) == .ok
            )
            // Approvals with nothing in common settle nothing: the second is refused, and stays uncounted.
            #expect(
                await Self.approve(h, w, request.id, token: w.contosoAdmin, operations: ["test-mailflow"])
                    == .failedPrecondition
            )
            #expect(try await h.get(request.id, token: w.operatorToken).status == .pendingCustomer)
            #expect(await Self.approve(h, w, request.id, token: w.contosoAdmin, operations: ["search-mailbox"]) == .ok)
            let approved = try await h.get(request.id, token: w.operatorToken)
            #expect(approved.grant?.operations == ["search-mailbox"])
            #expect(try await Self.allowed(h, w, "Search-Mailbox").allowed)
            #expect(!(try await Self.allowed(h, w, "Get-Mailbox")).allowed)
        }
    }
}
