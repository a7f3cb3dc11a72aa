import Foundation
import LockboxCore
import Testing

@testable import LockboxDelivery

@Suite struct EmailTextTests {
    static let request = RequestRecord(
        id: "req_1",
        tenantID: "contoso",
        service: .exchange,
        ticketNumber: "T-42 see https://evil.example/x",
        justification:
            "Mailbox repair.\nDetails at www.evil.example or http://evil.example/login or mailto:x@evil.example",
        requestedDurationSeconds: 5400,
        requesterID: "p_op",
        state: .pendingCustomer,
        createdAtMs: 1_800_000_000_000,
        updatedAtMs: 1_800_000_000_000,
        customerDeadlineMs: 1_800_043_200_000
    )
    static let event = RequestEvent(
        seq: 7,
        tenantID: "contoso",
        requestID: "req_1",
        requesterID: "p_op",
        activity: .internalApprove,
        state: .pendingCustomer,
        actorID: "p_mgr",
        occurredAtMs: 1_800_000_000_000
    )

    /// No scheme, no www., no http of any kind: nothing a mail reader turns into a link,
    /// whatever the requester typed.
    static func hasNoLink(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.range(of: "[a-z][a-z0-9+.-]*://", options: .regularExpression) == nil
            && !lower.contains("www.") && !lower.contains("http") && !lower.contains("mailto:")
    }

    @Test(arguments: NotificationKind.allCases)
    func noEmailCarriesALink(kind: NotificationKind) {
        // A requester's name is typed text too.
        let body = NotificationText.body(
            kind,
            request: Self.request,
            event: Self.event,
            requesterName: "https://evil.example/approve www.evil.example"
        )
        let subject = NotificationText.subject(kind, request: Self.request, event: Self.event)
        #expect(Self.hasNoLink(body), "\(body)")
        #expect(Self.hasNoLink(subject))
    }

    /// Lockbox's own lines fit in 75 columns, so quoted-printable needs no soft line breaks
    /// and the message reads as it is (only what the requester typed may run longer).
    @Test(arguments: NotificationKind.allCases)
    func lockboxsOwnLinesNeedNoSoftBreaks(kind: NotificationKind) {
        let body = NotificationText.body(kind, request: Self.request, event: Self.event)
        // The requester's text: the ticket, and the justification with its continuation lines.
        let typed = ["Ticket:", "Justification:", String(repeating: " ", count: 17)]
        for line in body.split(separator: "\n") where !typed.contains(where: { line.hasPrefix($0) }) {
            #expect(line.utf8.count <= 75, "\(line)")
        }
    }

    @Test func theApproversEmailStatesWhatTheyNeedToDecide() {
        let body = NotificationText.body(.awaitingDecision, request: Self.request, event: Self.event)
        for needle in [
            "req_1", "exchange", "T-42", "Mailbox repair.", "1 h 30 min", "2027-01-15T20:00:00Z",
            "lockbox requests approve req_1", "admin portal",
        ] {
            #expect(body.contains(needle), "missing \(needle)")
        }
    }

    @Test func aRenderedMessageHasOneHeaderPerLineAndAQuotedPrintableBody() {
        let message = EmailMessage(
            from: "lockbox@provider.example",
            to: "admin@contoso.example",
            subject: "Subject\r\nBcc: victim@example.com",
            messageID: "lockbox.7.reminder.ab@provider.example",
            dateSeconds: 1_800_000_000,
            body: "Café = naïve " + String(repeating: "x", count: 100) + "\n.hidden line"
        )
        let text = String(decoding: message.rendered(), as: UTF8.self)
        let headers = text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        #expect(headers.contains("Subject: SubjectBcc: victim@example.com"))
        #expect(!headers.contains { $0.hasPrefix("Bcc:") })
        #expect(headers.contains("Message-ID: <lockbox.7.reminder.ab@provider.example>"))
        #expect(headers.contains("Date: Fri, 15 Jan 2027 08:00:00 +0000"))
        let body = text.components(separatedBy: "\r\n\r\n")[1]
        #expect(body.contains("Caf=C3=A9 =3D na=C3=AFve"))
        #expect(body.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 76 })
        #expect(body.allSatisfy { $0.isASCII })
    }

    @Test(arguments: [
        ("https://a.example", "hxxps[:]//a[.]example"), ("see www.x.example", "see www[.]x[.]example"),
        ("mailto:a@b.example", "mailto[:]a[at]b[.]example"), ("HTTP", "hxxp"), ("plain text", "plain text"),
        ("contoso-lockbox.com/approve", "contoso-lockbox[.]com/approve"), ("\\\\host\\share", "//host/share"),
        ("MAILTO:x", "MAILTO[:]x"), ("wWw.evil.example", "wWw[.]evil[.]example"),
    ])
    func defanging(input: String, contains expected: String) {
        #expect(NotificationText.defang(input).contains(expected))
    }
}

/// Typed text cannot forge a labelled line: every field of every email holds CR, LF, CRLF,
/// U+2028 and a forged "Label:   value" line, and the decoded body's lines that start with a
/// label are exactly Lockbox's own.
@Suite struct EmailForgeryTests {
    static let forged =
        "x\rDuration:        5 min\nRequested by:    Trusted Admin\r\nTenant:          fabrikam"
        + "\u{2028}Access until:    2099-01-01T00:00:00Z\u{2029}Reason:          none\u{0085}Ticket:          SR-1"

    static func request(_ state: RequestState) -> RequestRecord {
        RequestRecord(
            id: "req_1",
            tenantID: "contoso",
            service: .exchange,
            ticketNumber: "SR-28" + forged,
            justification: "repair" + forged,
            requestedDurationSeconds: 5400,
            requesterID: "p_op",
            state: state,
            createdAtMs: 1_800_000_000_000,
            updatedAtMs: 1_800_000_000_000,
            customerDeadlineMs: 1_800_043_200_000,
            internalDecision: InternalDecisionRecord(
                approve: state != .denied,
                comment: "manager" + forged,
                decidedBy: "p_mgr",
                decidedAtMs: 1_800_000_000_000
            ),
            customerDecision: CustomerDecisionRecord(
                decision: state == .denied ? .deny : .approve,
                comment: "customer" + forged,
                approvedDurationSeconds: 5400,
                decidedBy: "p_ga",
                decidedAtMs: 1_800_000_000_000
            ),
            grant: state == .approved
                ? GrantWindow(startsAtMs: 1_800_000_000_000, endsAtMs: 1_800_005_400_000) : nil
        )
    }

    /// The message's body as a mail reader shows it: quoted-printable decoded, split into lines.
    static func decodedLines(_ message: EmailMessage) -> [String] {
        let text = String(decoding: message.rendered(), as: UTF8.self)
        let body = Array(text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n").utf8)
        var bytes: [UInt8] = []
        var index = 0
        while index < body.count {
            if body[index] == UInt8(ascii: "="), index + 2 < body.count {
                if body[index + 1] == 13, body[index + 2] == 10 {
                    index += 3
                    continue
                }
                if let value = UInt8(String(decoding: body[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) {
                    bytes.append(value)
                    index += 3
                    continue
                }
            }
            bytes.append(body[index])
            index += 1
        }
        // A mail reader breaks lines at CRLF, and may at any other line break.
        return String(decoding: bytes, as: UTF8.self).components(
            separatedBy: CharacterSet(charactersIn: "\r\n\u{0B}\u{0C}\u{85}\u{2028}\u{2029}")
        ).filter { !$0.isEmpty }
    }

    @Test(arguments: [
        (NotificationKind.awaitingDecision, RequestState.pendingCustomer),
        (.reminder, .pendingCustomer),
        (.outcome, .approved),
        (.outcome, .denied),
        (.outcome, .expired),
        (.event, .revoked),
    ])
    func typedTextCannotForgeALabelledLine(kind: NotificationKind, state: RequestState) {
        let request = Self.request(state)
        let event = RequestEvent(
            seq: 7,
            tenantID: "contoso",
            requestID: "req_1",
            requesterID: "p_op",
            activity: .internalApprove,
            state: state,
            actorID: "p_mgr",
            occurredAtMs: 1_800_000_000_000
        )
        let message = EmailMessage(
            from: "lockbox@provider.example",
            to: "a@contoso.example",
            subject: NotificationText.subject(kind, request: request, event: event),
            messageID: "m@provider.example",
            dateSeconds: 1_800_000_000,
            body: NotificationText.body(kind, request: request, event: event, requesterName: "Olivia Operator")
        )
        let lines = Self.decodedLines(message)
        let labelled = lines.filter { $0.range(of: #"^[A-Z][A-Za-z' ]*:\s"#, options: .regularExpression) != nil }
        let labels = labelled.map { String($0.prefix { $0 != ":" }) }
        var expected = ["Request", "Tenant", "Service", "Ticket", "Justification", "Duration", "Requested by"]
        switch (kind, state) {
        case (.awaitingDecision, _): expected += ["Decide by", "How to decide"]
        case (.reminder, _): expected = ["Reminder"] + expected + ["Decide by", "How to decide"]
        case (_, .approved): expected += ["Access from", "Access until", "Approver's note"]
        case (_, .denied): expected.append("Reason")
        default: break
        }
        #expect(labels == expected, "\(labelled)")
        #expect(labelled.contains("Duration:        1 h 30 min"))
        #expect(labelled.contains("Tenant:          contoso"))
        #expect(labelled.contains("Requested by:    Olivia Operator (p_op)"))
        // Every forged label is there, indented under the field it was typed in.
        #expect(lines.contains { $0.hasPrefix(String(repeating: " ", count: 17) + "Duration:") })
    }
}

@Suite struct WebhookSignatureTests {
    let body = Array(#"{"event_id":1}"#.utf8)

    @Test func aSignatureVerifiesWithItsSecretOnly() {
        let header = WebhookSignature.sign(secret: "whsec_a", timestampSeconds: 1_800_000_000, body: body)
        #expect(header.hasPrefix("t=1800000000,v1="))
        #expect(WebhookSignature.verify(header: header, secret: "whsec_a", body: body, nowSeconds: 1_800_000_010))
        #expect(!WebhookSignature.verify(header: header, secret: "whsec_b", body: body, nowSeconds: 1_800_000_010))
        #expect(
            !WebhookSignature.verify(header: header, secret: "whsec_a", body: body + [32], nowSeconds: 1_800_000_010)
        )
        // Replayed later than the tolerance.
        #expect(!WebhookSignature.verify(header: header, secret: "whsec_a", body: body, nowSeconds: 1_800_001_000))
    }

    /// The value docs/notifications.md shows, computed independently with Python's hmac.
    @Test func theDocumentedExampleHolds() {
        #expect(
            WebhookSignature.sign(secret: "whsec_example", timestampSeconds: 1_800_000_000, body: body)
                == "t=1800000000,v1=ca4ae51465fb2fa617a4b910f643f4a298f066fdd1e661d77c543c741e974742"
        )
    }

    @Test func secretsAreFreshAndLong() {
        let a = WebhookSignature.newSecret()
        #expect(a.hasPrefix("whsec_") && a.count == 6 + 64)
        #expect(a != WebhookSignature.newSecret())
    }
}

@Suite struct WebhookDestinationTests {
    @Test(
        arguments: [
            ([10, 0, 0, 1], false), ([127, 0, 0, 1], false), ([169, 254, 169, 254], false), ([172, 16, 0, 1], false),
            ([172, 32, 0, 1], true), ([192, 168, 1, 1], false), ([100, 64, 0, 1], false), ([0, 0, 0, 0], false),
            ([224, 0, 0, 1], false), ([93, 184, 216, 34], true), ([8, 8, 8, 8], true),
        ] as [([UInt8], Bool)]
    )
    func ipv4(bytes: [UInt8], isPublic: Bool) {
        #expect(NetworkAddress(bytes: bytes).isPublic == isPublic)
    }

    @Test func ipv6() {
        var loopback = [UInt8](repeating: 0, count: 16)
        loopback[15] = 1
        #expect(!NetworkAddress(bytes: loopback).isPublic)
        let mappedPrivate: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF, 10, 0, 0, 1]
        #expect(!NetworkAddress(bytes: mappedPrivate).isPublic)
        #expect(!NetworkAddress(bytes: [0xFE, 0x80] + Array(repeating: 0, count: 14)).isPublic)
        #expect(!NetworkAddress(bytes: [0xFD, 0x00] + Array(repeating: 0, count: 14)).isPublic)
        #expect(NetworkAddress(bytes: [0x26, 0x06, 0x28, 0x00] + Array(repeating: 1, count: 12)).isPublic)
    }

    @Test(arguments: [
        ("https://hooks.example/lockbox", true), ("http://hooks.example/x", false),
        ("https://user:pw@hooks.example/", false),
        ("ftp://hooks.example", false), ("https:///nohost", false), ("https://hooks.example:8443/x", true),
        ("https://" + String(repeating: "a", count: 2100) + ".example", false),
    ])
    func urls(url: String, accepted: Bool) {
        #expect(((try? WebhookURL.parse(url)) != nil) == accepted)
    }

    /// A webhook to a private address is refused before any connection is made.
    @Test func aPrivateDestinationIsRefused() {
        let transport = WebhookTransport(configuration: WebhookTransportConfiguration())
        #expect(throws: DeliveryError.self) {
            _ = try transport.post(url: "https://127.0.0.1:1/x", body: [], headers: [])
        }
        do {
            _ = try transport.post(url: "https://127.0.0.1:1/x", body: [], headers: [])
        } catch {
            #expect(error.code == .notAllowed)
        }
    }
}
