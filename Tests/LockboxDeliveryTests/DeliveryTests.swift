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
        let body = NotificationText.body(kind, request: Self.request, event: Self.event)
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
