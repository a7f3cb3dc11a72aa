import Foundation
import LockboxCore
import LockboxDelivery
import LockboxProto
import LockboxRPC
import LockboxServer
import LockboxStore
import LockboxTestSupport
import LockboxTrust
import Testing

/// Email through a real SMTP server (scripts/smtp-sink, aiosmtpd) and webhooks to a real HTTPS
/// receiver (scripts/webhook-receiver), driven by the harness clock.
@Suite struct NotificationTests {
    static func configuration(_ sink: SMTPSink, policy: DeliveryPolicy = DeliveryPolicy()) -> NotificationConfiguration
    {
        NotificationConfiguration(
            smtp: SMTPRelayConfiguration(
                host: "127.0.0.1",
                port: sink.port,
                security: .none,
                sender: "lockbox@provider.example",
                timeout: .seconds(10)
            ),
            policy: policy
        )
    }

    /// Gives contoso's admin and approver, and the operator, their addresses.
    static func addresses(_ h: Harness, _ w: Harness.World) async throws {
        for (id, email) in [
            (w.contosoAdminID, "admin@contoso.example"), (w.contosoApproverID, "approver@contoso.example"),
        ] {
            _ = try await h.call(
                LockboxMethods.setPrincipalEmail,
                SetPrincipalEmailRequest(principalID: id, email: email),
                token: w.contosoAdmin
            )
        }
        _ = try await h.call(
            LockboxMethods.setPrincipalEmail,
            SetPrincipalEmailRequest(principalID: w.operatorID, email: "engineer@provider.example"),
            token: w.providerAdmin
        )
    }

    static func hasNoLink(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.range(of: "[a-z][a-z0-9+.-]*://", options: .regularExpression) == nil
            && !lower.contains("www.") && !lower.contains("http")
    }

    static func notifications(_ h: Harness, _ token: String, tenant: String = "contoso") async throws
        -> [LockboxProto.Notification]
    {
        try await h.call(
            LockboxMethods.listNotifications,
            ListNotificationsRequest(tenantID: tenant, pageSize: 100),
            token: token
        ).notifications
    }

    /// Under a 2-of-2 policy, the first approval tells every approver again, naming who has
    /// approved and how many the policy asks for; no second reminder is planned for it.
    @Test func aCountedApprovalTellsTheApproversWhoHasApproved() async throws {
        let sink = try await SMTPSink()
        defer { sink.stop() }
        try await Harness.with(notifications: Self.configuration(sink)) { h in
            let w = try await h.makeWorld()
            try await Self.addresses(h, w)
            try await ApprovalPolicyTests.policy(h, w, [ApprovalRule(service: "exchange", approvalsRequired: 2)])
            let id = try await h.createRequest(w).id
            try await h.approveInternally(w, id)
            try await h.deliverNotifications()
            try await h.deliverNotifications()
            #expect(sink.messages().count == 2)
            #expect(
                await h.decideStatus(
                    w,
                    CustomerDecision(requestID: id, decision: .approve, comment: "fine"),
                    token: w.contosoApprover
                ) == .ok
            )
            try await h.deliverNotifications()
            try await h.deliverNotifications()
            let again = sink.messages().dropFirst(2)
            #expect(again.flatMap(\.rcpt_tos).sorted() == ["admin@contoso.example", "approver@contoso.example"])
            for message in again {
                let body = try #require(message.body)
                #expect(body.contains("access unless 2 of your approvers approve it."), "\(body)")
                #expect(body.contains("Approvals:       1 of 2 so far"), "\(body)")
                #expect(body.contains("Approved by:     \(w.contosoApproverID)"), "\(body)")
            }
            // One reminder per approver in all: the one planned when the request first awaited them.
            let reminders = try await h.sql(
                "SELECT count(*) AS n FROM notifications WHERE request_id = \(id) AND kind = 'reminder'"
            )
            #expect(try reminders.first?.int64("n") == 2)
        }
    }

    /// One request reaching PENDING_CUSTOMER: exactly one email to each approver and global
    /// admin with an address, stating what they need and carrying no link at all, even though
    /// the requester put one in the justification. Then the requester hears of the approval.
    @Test func approversAreEmailedOnceAndTheRequesterHearsTheOutcome() async throws {
        let sink = try await SMTPSink()
        defer { sink.stop() }
        try await Harness.with(notifications: Self.configuration(sink)) { h in
            let w = try await h.makeWorld()
            try await Self.addresses(h, w)
            // A principal of the tenant without an address, and another tenant's admin, get nothing.
            let request = try await h.call(
                LockboxMethods.createAccessRequest,
                CreateAccessRequestRequest(
                    tenantID: "contoso",
                    service: .sharepoint,
                    ticketNumber: "SR-77",
                    justification: "Restore site; see https://evil.example/login and www.evil.example",
                    requestedDurationSeconds: 5400
                ),
                token: w.operatorToken
            )
            try await h.deliverNotifications()
            #expect(sink.messages().isEmpty, "nothing to email while the request awaits the provider")
            try await h.approveInternally(w, request.id)
            try await h.deliverNotifications()
            try await h.deliverNotifications()
            let messages = sink.messages()
            #expect(messages.flatMap(\.rcpt_tos).sorted() == ["admin@contoso.example", "approver@contoso.example"])
            #expect(Set(messages.map(\.message_id)).count == 2)
            let deadline = ISO8601DateFormatter().string(
                from: Date(timeIntervalSince1970: TimeInterval(Harness.start + 12 * 3600 * 1000) / 1000)
            )
            for message in messages {
                let body = try #require(message.body)
                for field in [request.id, "sharepoint", "SR-77", "Restore site", "1 h 30 min", deadline] {
                    #expect(body.contains(field), "the email lacks \(field)")
                }
                #expect(body.contains("lockbox requests approve \(request.id)"))
                #expect(Self.hasNoLink(body) && Self.hasNoLink(message.subject ?? ""))
                #expect(message.mail_from == "lockbox@provider.example")
                #expect(message.message_id.hasPrefix("<lockbox.") && message.message_id.hasSuffix("@provider.example>"))
            }
            // The raw messages too: no link in any header or part.
            let raw = try FileManager.default.contentsOfDirectory(atPath: sink.directory.path)
                .filter { $0.hasSuffix(".eml") }
                .map { try String(contentsOf: sink.directory.appending(path: $0), encoding: .utf8) }
            #expect(raw.count == 2 && raw.allSatisfy(Self.hasNoLink))

            _ = try await h.decide(
                w,
                CustomerDecision(requestID: request.id, decision: .approve, comment: "go ahead"),
                token: w.contosoApprover
            )
            try await h.deliverNotifications()
            let outcome = sink.messages().filter { $0.rcpt_tos == ["engineer@provider.example"] }
            #expect(outcome.count == 1)
            #expect(outcome.first?.subject?.contains("approved") == true)
            #expect(outcome.first?.body?.contains("Access until:") == true)
            // Each send is audited, in the tenant's log.
            let audit = try await h.call(
                LockboxMethods.searchAudit,
                SearchAuditRequest(tenantID: "contoso", item: request.id, pageSize: 100),
                token: w.contosoAdmin
            )
            #expect(audit.records.filter { $0.activity == Activity.notificationSent.rawValue }.count == 3)
            let listed = try await Self.notifications(h, w.contosoAdmin)
            #expect(listed.filter { $0.state == "sent" && $0.channel == "email" }.count == 3)
            // The tenant sees its own approvers' addresses, and not the provider engineer's.
            #expect(
                Set(listed.map(\.address))
                    == ["admin@contoso.example", "approver@contoso.example", "e***@provider.example"]
            )
            let provider = try await h.call(
                LockboxMethods.listNotifications,
                ListNotificationsRequest(tenantID: "contoso", pageSize: 100),
                token: w.providerAdmin
            ).notifications
            #expect(
                Set(provider.map(\.address))
                    == ["a***@contoso.example", "engineer@provider.example"]
            )
        }
    }

    /// The reminder goes a configured time before the deadline while the request still waits,
    /// and not for a request decided meanwhile.
    @Test func approversAreRemindedBeforeTheDeadline() async throws {
        let sink = try await SMTPSink()
        defer { sink.stop() }
        let policy = DeliveryPolicy(reminderLeadMs: 3 * 3_600_000)
        try await Harness.with(notifications: Self.configuration(sink, policy: policy)) { h in
            let w = try await h.makeWorld()
            try await Self.addresses(h, w)
            let waiting = try await h.createRequest(w).id
            let decided = try await h.createRequest(w).id
            try await h.approveInternally(w, waiting)
            try await h.approveInternally(w, decided)
            try await h.deliverNotifications()
            #expect(sink.messages().count == 4)
            _ = try await h.decide(
                w,
                CustomerDecision(requestID: decided, decision: .deny, comment: "not now"),
                token: w.contosoAdmin
            )
            // Not yet: 9 h pass, the reminder is due at 12 h - 3 h.
            h.clock.advance(by: .seconds(9 * 3600 - 60))
            try await h.deliverNotifications()
            #expect(sink.messages().filter { ($0.subject ?? "").contains("reminder") }.isEmpty)
            h.clock.advance(by: .seconds(61))
            try await h.deliverNotifications()
            let reminders = sink.messages().filter { ($0.subject ?? "").contains("reminder") }
            #expect(reminders.count == 2)
            #expect(
                reminders.allSatisfy {
                    ($0.subject ?? "").contains(waiting) && ($0.body ?? "").contains("still awaits")
                }
            )
            let listed = try await Self.notifications(h, w.contosoAdmin)
            #expect(
                listed.filter { $0.kind == "reminder" && $0.requestID == decided }.allSatisfy { $0.state == "skipped" }
            )
            #expect(listed.filter { $0.kind == "reminder" && $0.requestID == decided }.count == 2)
        }
    }

    /// The relay refuses the first two attempts: the email is retried with backoff, delivered
    /// exactly once, under one Message-ID.
    @Test func aRefusedSendIsRetriedAndDeliveredOnce() async throws {
        let sink = try await SMTPSink(refuseFirst: 2)
        defer { sink.stop() }
        let policy = DeliveryPolicy(baseDelayMs: 1000, maximumDelayMs: 60_000)
        try await Harness.with(notifications: Self.configuration(sink, policy: policy)) { h in
            let w = try await h.makeWorld()
            _ = try await h.call(
                LockboxMethods.setPrincipalEmail,
                SetPrincipalEmailRequest(principalID: w.contosoApproverID, email: "approver@contoso.example"),
                token: w.contosoAdmin
            )
            let id = try await h.createRequest(w).id
            try await h.approveInternally(w, id)
            try await h.deliverNotifications()
            var listed = try await Self.notifications(h, w.contosoAdmin).filter { $0.kind == "awaiting_decision" }
            #expect(listed.count == 1)
            #expect(listed.first?.state == "pending" && listed.first?.attempts == 1, "\(listed) \(sink.events())")
            #expect(listed.first?.lastError.contains("451") == true)
            // The retry waits its backoff: nothing happens before it.
            try await h.deliverNotifications()
            #expect(sink.events().filter { $0.hasPrefix("attempt") }.count == 1)
            h.clock.advance(by: .seconds(1))
            try await h.deliverNotifications()
            h.clock.advance(by: .seconds(2))
            try await h.deliverNotifications()
            try await h.deliverNotifications()
            let attempts = sink.events().filter { $0.hasPrefix("attempt") }
            #expect(attempts.count == 3)
            #expect(Set(attempts.map { $0.split(separator: " ")[1] }).count == 1, "one Message-ID for every attempt")
            #expect(sink.messages().count == 1)
            listed = try await Self.notifications(h, w.contosoAdmin).filter { $0.kind == "awaiting_decision" }
            #expect(listed.first?.state == "sent" && listed.first?.attempts == 3)
        }
    }

    /// A send that keeps failing is marked failed after its last attempt, audited, and visible
    /// to provider admins, with the customer's address masked.
    @Test func aSendThatKeepsFailingIsMarkedFailedForProviderAdminsToSee() async throws {
        let sink = try await SMTPSink(refuseFirst: 100)
        defer { sink.stop() }
        let policy = DeliveryPolicy(baseDelayMs: 1000, maximumAttempts: 2)
        try await Harness.with(notifications: Self.configuration(sink, policy: policy)) { h in
            let w = try await h.makeWorld()
            try await Self.addresses(h, w)
            let id = try await h.createRequest(w).id
            try await h.approveInternally(w, id)
            try await h.deliverNotifications()
            h.clock.advance(by: .seconds(2))
            try await h.deliverNotifications()
            let provider = try await h.call(
                LockboxMethods.listNotifications,
                ListNotificationsRequest(state: "failed"),
                token: w.providerAdmin
            ).notifications
            #expect(provider.count == 2)
            #expect(provider.allSatisfy { $0.attempts == 2 && $0.lastError.contains("451") })
            #expect(provider.map(\.address).sorted() == ["a***@contoso.example", "a***@contoso.example"])
            // The tenant's own admins see where their mail went.
            let own = try await Self.notifications(h, w.contosoAdmin)
            #expect(Set(own.map(\.address)) == ["admin@contoso.example", "approver@contoso.example"])
            let audit = try await h.call(
                LockboxMethods.searchAudit,
                SearchAuditRequest(tenantID: "contoso", item: id, pageSize: 100),
                token: w.contosoAdmin
            )
            #expect(audit.records.filter { $0.activity == Activity.notificationFailed.rawValue }.count == 2)
            // Operators, support managers and other tenants see none of it.
            await #expect(throws: RPCError.self) {
                _ = try await Self.notifications(h, w.operatorToken)
            }
            await #expect(throws: RPCError.self) {
                _ = try await Self.notifications(h, w.fabrikamAdmin)
            }
        }
    }

    /// A relay that requires SMTP AUTH takes mail from Lockbox with the right password only;
    /// with the wrong one the send fails with the relay's answer and is retried, not lost.
    @Test func aRelayThatRequiresAuthenticationIsServed() async throws {
        let sink = try await SMTPSink(requireAuth: "lockbox:s3cret")
        defer { sink.stop() }
        for (password, delivered) in [("wrong", false), ("s3cret", true)] {
            var configuration = Self.configuration(sink)
            configuration.smtp?.username = "lockbox"
            configuration.smtp?.password = password
            try await Harness.with(notifications: configuration) { h in
                let w = try await h.makeWorld()
                _ = try await h.call(
                    LockboxMethods.setPrincipalEmail,
                    SetPrincipalEmailRequest(principalID: w.contosoApproverID, email: "approver@contoso.example"),
                    token: w.contosoAdmin
                )
                let id = try await h.createRequest(w).id
                try await h.approveInternally(w, id)
                try await h.deliverNotifications()
                let listed = try await Self.notifications(h, w.contosoAdmin).filter { $0.kind == "awaiting_decision" }
                #expect(listed.first?.state == (delivered ? "sent" : "pending"), "\(listed)")
                if !delivered { #expect(listed.first?.lastError.isEmpty == false) }
            }
        }
        #expect(sink.messages().count == 1)
    }

    /// Who may set whose address: a tenant's global admins their principals', provider admins
    /// the provider's, and no provider principal a customer's. Bad addresses are refused.
    @Test func onlyTheTenantsOwnAdminsSetItsAddresses() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            for (principal, token) in [
                (w.contosoApproverID, w.providerAdmin), (w.contosoApproverID, w.fabrikamAdmin),
                (w.operatorID, w.contosoAdmin), (w.contosoApproverID, w.contosoApprover),
            ] {
                await #expect(throws: RPCError.self) {
                    _ = try await h.call(
                        LockboxMethods.setPrincipalEmail,
                        SetPrincipalEmailRequest(principalID: principal, email: "attacker@evil.example"),
                        token: token
                    )
                }
            }
            for bad in ["not-an-address", "a@b.example\r\nBcc: x@evil.example", "<a@b.example>"] {
                do {
                    _ = try await h.call(
                        LockboxMethods.setPrincipalEmail,
                        SetPrincipalEmailRequest(principalID: w.contosoApproverID, email: bad),
                        token: w.contosoAdmin
                    )
                    Issue.record("accepted \(bad)")
                } catch let error as RPCError {
                    #expect(error.code == .invalidArgument)
                }
            }
            let set = try await h.call(
                LockboxMethods.setPrincipalEmail,
                SetPrincipalEmailRequest(principalID: w.contosoApproverID, email: "approver@contoso.example"),
                token: w.contosoAdmin
            )
            #expect(set.email == "approver@contoso.example")
        }
    }
}

/// Webhooks to a real HTTPS receiver with a certificate from scripts/tls-dev-certs.
@Suite struct WebhookTests {
    static func certificates() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appending(path: "hooks-\(UUID().uuidString)")
        let made = try Binaries.runPath(packageRoot.appending(path: "scripts/tls-dev-certs").path, [directory.path])
        try #require(made.status == 0, "\(made.stderr)")
        return directory
    }

    static func configuration(_ certificates: URL, policy: DeliveryPolicy) -> NotificationConfiguration {
        NotificationConfiguration(
            webhooks: WebhookTransportConfiguration(
                caFile: certificates.appending(path: "ca.pem").path,
                timeout: .seconds(10),
                allowPrivateNetworks: true
            ),
            policy: policy
        )
    }

    /// A tenant's endpoint receives its events, signed; a 500 is retried; an endpoint that
    /// keeps failing is disabled, and that is audited.
    @Test func deliveriesAreSignedRetriedAndAFailingEndpointIsDisabled() async throws {
        let certificates = try Self.certificates()
        let receiver = try await WebhookReceiver(certificates: certificates, failFirst: 1)
        defer { receiver.stop() }
        let policy = DeliveryPolicy(baseDelayMs: 1000, disableWebhookAfterFailures: 3)
        try await Harness.with(notifications: Self.configuration(certificates, policy: policy)) { h in
            let w = try await h.makeWorld()
            // Only https, and only by the tenant's own global admins.
            await #expect(throws: RPCError.self) {
                _ = try await h.call(
                    LockboxMethods.addWebhook,
                    AddWebhookRequest(tenantID: "contoso", url: "http://127.0.0.1:\(receiver.port)/hook"),
                    token: w.contosoAdmin
                )
            }
            await #expect(throws: RPCError.self) {
                _ = try await h.call(
                    LockboxMethods.addWebhook,
                    AddWebhookRequest(tenantID: "contoso", url: "https://127.0.0.1:\(receiver.port)/hook"),
                    token: w.providerAdmin
                )
            }
            let added = try await h.call(
                LockboxMethods.addWebhook,
                AddWebhookRequest(tenantID: "contoso", url: "https://127.0.0.1:\(receiver.port)/hook"),
                token: w.contosoAdmin
            )
            #expect(added.secret.hasPrefix("whsec_"))
            try receiver.setSecret(added.secret)
            // The secret is shown once: the list never carries it.
            let listed = try await h.call(
                LockboxMethods.listWebhooks,
                ListWebhooksRequest(tenantID: "contoso"),
                token: w.contosoAdmin
            )
            #expect(listed.webhooks.map(\.id) == [added.webhook?.id])

            let id = try await h.createRequest(w).id
            _ = try await h.createRequest(w, tenant: "fabrikam")
            try await h.deliverNotifications()
            // The first attempt got a 500; the retry waits its backoff.
            h.clock.advance(by: .seconds(1))
            try await h.deliverNotifications()
            let deliveries = try await receiver.wait { $0.contains { $0.status == 204 } }
            #expect(deliveries.map(\.status) == [500, 204])
            #expect(deliveries.allSatisfy { $0.signature_valid == true }, "\(deliveries)")
            let body = try #require(deliveries.last?.body)
            let event = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            #expect(event["request_id"] as? String == id)
            #expect(event["activity"] as? String == "AccessRequestCreated")
            #expect(event["tenant_id"] as? String == "contoso")
            #expect(deliveries.last?.headers["lockbox-event-id"] == "\(event["event_id"] as? Int ?? -1)")
            // Verification as a receiver does it, in Swift too.
            let header = try #require(deliveries.last?.headers["lockbox-signature"])
            let signed = Int64(header.split(separator: ",")[0].dropFirst(2)) ?? 0
            #expect(
                WebhookSignature.verify(
                    header: header,
                    secret: added.secret,
                    body: Array(body.utf8),
                    nowSeconds: signed
                )
            )
            #expect(
                !WebhookSignature.verify(
                    header: header,
                    secret: "whsec_wrong",
                    body: Array(body.utf8),
                    nowSeconds: signed
                )
            )
        }
    }

    @Test func anEndpointThatKeepsFailingIsDisabled() async throws {
        let certificates = try Self.certificates()
        let receiver = try await WebhookReceiver(certificates: certificates, alwaysFail: true)
        defer { receiver.stop() }
        let policy = DeliveryPolicy(baseDelayMs: 1000, maximumDelayMs: 1000, disableWebhookAfterFailures: 3)
        try await Harness.with(notifications: Self.configuration(certificates, policy: policy)) { h in
            let w = try await h.makeWorld()
            let added = try await h.call(
                LockboxMethods.addWebhook,
                AddWebhookRequest(tenantID: "contoso", url: "https://127.0.0.1:\(receiver.port)/hook"),
                token: w.contosoAdmin
            )
            let webhookID = try #require(added.webhook?.id)
            for _ in 0..<2 { _ = try await h.createRequest(w) }
            for _ in 0..<4 {
                try await h.deliverNotifications()
                h.clock.advance(by: .seconds(1))
            }
            #expect(receiver.deliveries().count == 3, "three failures, then no more attempts")
            let listed = try await h.call(
                LockboxMethods.listWebhooks,
                ListWebhooksRequest(tenantID: "contoso"),
                token: w.contosoAdmin
            )
            #expect(listed.webhooks.first?.disabledAtMs ?? 0 > 0)
            let notifications = try await h.call(
                LockboxMethods.listNotifications,
                ListNotificationsRequest(tenantID: "contoso", pageSize: 100),
                token: w.contosoAdmin
            ).notifications
            #expect(notifications.count == 2 && notifications.allSatisfy { $0.state == "failed" })
            let audit = try await h.call(
                LockboxMethods.searchAudit,
                SearchAuditRequest(tenantID: "contoso", activity: Activity.webhookDisabled.rawValue, pageSize: 10),
                token: w.contosoAdmin
            )
            #expect(audit.records.count == 1)
            #expect(audit.records.first?.detailsJSON.contains(webhookID) == true)
        }
    }
}
