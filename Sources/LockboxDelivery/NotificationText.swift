import Foundation
import LockboxCore

/// The words of Lockbox's emails (docs/notifications.md has them in full).
///
/// An email carries no link of any kind: approvers decide in their own portal or CLI, so an
/// email that asks them to follow a link is never Lockbox's. Text a requester typed
/// (ticket, justification) is defanged: a URL in it loses its scheme separator.
package enum NotificationText {
    package static func subject(_ kind: NotificationKind, request: RequestRecord, event: RequestEvent) -> String {
        switch kind {
        case .awaitingDecision: "Lockbox: access request \(request.id) awaits your decision"
        case .reminder: "Lockbox reminder: access request \(request.id) still awaits your decision"
        case .outcome: "Lockbox: access request \(request.id) is \(event.state.rawValue.lowercased())"
        case .event: "Lockbox: access request \(request.id)"
        }
    }

    /// What an N-of-M request's approvers have decided so far, for its emails to approvers.
    package struct Standing: Sendable, Hashable {
        /// How many approvals the tenant's policy asks for, as the decisions so far signed it;
        /// 1 before any decision (or on a tenant that asks for one).
        package var approvalsRequired: Int64
        /// Who approved and who denied so far, by principal id, oldest first.
        package var approvedBy: [String]
        package var deniedBy: [String]

        package init(approvalsRequired: Int64 = 1, approvedBy: [String] = [], deniedBy: [String] = []) {
            self.approvalsRequired = approvalsRequired
            self.approvedBy = approvedBy
            self.deniedBy = deniedBy
        }
    }

    /// The body. `requesterName` is the requester's display name, shown with its id.
    package static func body(
        _ kind: NotificationKind,
        request: RequestRecord,
        event: RequestEvent,
        requesterName: String = "",
        standing: Standing = Standing()
    ) -> String {
        var lines: [String] = []
        switch kind {
        case .awaitingDecision, .reminder:
            if kind == .reminder {
                lines.append("Reminder: this request still awaits your decision.")
                lines.append("")
            }
            lines.append("A support engineer of your service provider asks for access to your")
            lines.append("organization's data. The provider's support manager has approved the")
            lines.append("request; it now needs a decision from your organization. Nobody gets")
            if standing.approvalsRequired > 1 {
                lines.append("access unless \(standing.approvalsRequired) of your approvers approve it.")
            } else {
                lines.append("access unless your approvers approve it as your policy requires.")
            }
            lines.append("")
            lines += details(request, requesterName: requesterName)
            if !standing.approvedBy.isEmpty || !standing.deniedBy.isEmpty {
                lines.append(
                    "Approvals:       \(standing.approvedBy.count) of \(standing.approvalsRequired) so far"
                )
                if !standing.approvedBy.isEmpty {
                    lines += field("Approved by:", standing.approvedBy.joined(separator: ", "))
                }
                if !standing.deniedBy.isEmpty {
                    lines += field("Denied by:", standing.deniedBy.joined(separator: ", "))
                }
            }
            lines.append("Decide by:       \(time(request.customerDeadlineMs ?? event.occurredAtMs))")
            lines.append("")
            lines.append("How to decide: sign in to your organization's Lockbox admin portal")
            lines.append("as you usually do, or use the Lockbox command-line tool:")
            lines.append("")
            lines.append("  lockbox requests approve \(request.id)")
            lines.append("  lockbox requests deny \(request.id) --reason WHY")
            lines.append("")
            lines.append("If nobody decides by the deadline, the request expires and no access")
            lines.append("is granted.")
        case .outcome, .event:
            lines.append("Your access request \(request.id) is now \(event.state.rawValue).")
            lines.append("")
            lines += details(request, requesterName: requesterName)
            switch event.state {
            case .approved:
                if let grant = request.grant {
                    lines.append("Access from:     \(time(grant.startsAtMs))")
                    lines.append("Access until:    \(time(grant.endsAtMs))")
                }
                if let note = request.customerDecision?.comment, !note.isEmpty {
                    lines += field("Approver's note:", note)
                }
            case .denied:
                let reason = request.customerDecision?.comment ?? request.internalDecision?.comment ?? ""
                if !reason.isEmpty { lines += field("Reason:", reason) }
            case .expired:
                if request.internalDecision == nil {
                    lines.append("The provider's support manager did not decide before the deadline;")
                    lines.append("no access was granted.")
                } else {
                    lines.append("The customer did not decide before the deadline; no access was")
                    lines.append("granted.")
                }
            case .revoked:
                lines.append("The grant was ended before its time.")
            case .completed:
                lines.append("The grant ran its course; access has ended.")
            default:
                break
            }
        }
        lines.append("")
        lines.append("This message contains no links, and Lockbox never sends any. Do not")
        lines.append("act on a Lockbox message that asks you to open a link or to sign in")
        lines.append("through it.")
        return lines.joined(separator: "\n")
    }

    static func details(_ request: RequestRecord, requesterName: String) -> [String] {
        var lines = [
            "Request:         \(request.id)",
            "Tenant:          \(request.tenantID)",
            "Service:         \(request.service.rawValue)",
        ]
        lines += field("Ticket:", request.ticketNumber)
        lines += field("Justification:", request.justification)
        lines.append("Duration:        \(duration(request.requestedDurationSeconds))")
        // A name is text someone typed too: defanged, so that no name reads as a link.
        lines += field(
            "Requested by:",
            requesterName.isEmpty ? request.requesterID : "\(defang(requesterName)) (\(request.requesterID))",
            defanged: false
        )
        return lines
    }

    /// The width of a label and its padding: where every field's value starts.
    static let valueColumn = 17

    /// A labelled field holding text someone typed: defanged, and split at every kind of line
    /// break (CR, LF, CRLF, VT, FF, NEL, U+2028, U+2029), each continuation line indented to
    /// the value's column, so that no typed text can start a line of its own and pass for a
    /// label ("Duration:  5 min"). Other control characters are dropped.
    static func field(_ label: String, _ value: String, defanged: Bool = true) -> [String] {
        let text = defanged ? defang(value) : value
        var lines: [String] = [""]
        var afterCR = false
        for scalar in text.unicodeScalars {
            defer { afterCR = scalar == "\r" }
            switch scalar.value {
            case 0x0A where afterCR:
                continue
            case 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029:
                lines.append("")
            case 0x00..<0x20, 0x7F, 0x80..<0xA0, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069:
                continue
            default:
                lines[lines.count - 1].unicodeScalars.append(scalar)
            }
        }
        let indent = String(repeating: " ", count: valueColumn)
        let padded = label.padding(toLength: max(label.count + 1, valueColumn), withPad: " ", startingAt: 0)
        return [padded + lines[0]] + lines.dropFirst().map { indent + $0 }
    }

    /// Text a requester typed, with anything a mail reader would turn into a link broken up:
    /// `://` becomes `[:]//`, `http` becomes `hxxp`, schemes such as `mailto:` lose their
    /// colon, a dot inside a name becomes `[.]` (so `example.com` is no bare domain), an `@`
    /// inside an address becomes `[at]`, and backslashes (UNC paths) become slashes.
    package static func defang(_ text: String) -> String {
        var result = text.replacingOccurrences(of: "://", with: "[:]//").replacingOccurrences(of: "\\", with: "/")
        let rules: [(pattern: String, template: String)] = [
            ("(?i)h(tt|xx)p", "hxxp"),
            ("(?i)\\b(mailto|tel|sms|data|javascript|vbscript|file|ftp|news|callto|skype|ms-[a-z-]+):", "$1[:]"),
            ("(?<=[\\p{L}\\p{N}])\\.(?=[\\p{L}\\p{N}])", "[.]"),
            ("(?<=[\\p{L}\\p{N}._%+-])@(?=[\\p{L}\\p{N}])", "[at]"),
        ]
        for rule in rules {
            guard let expression = try? NSRegularExpression(pattern: rule.pattern) else { continue }
            result = expression.stringByReplacingMatches(
                in: result,
                range: NSRange(result.startIndex..., in: result),
                withTemplate: rule.template
            )
        }
        return result
    }

    static func duration(_ seconds: Int64) -> String {
        let hours = seconds / 3600
        let minutes = seconds % 3600 / 60
        let rest = seconds % 60
        var parts: [String] = []
        if hours > 0 { parts.append("\(hours) h") }
        if minutes > 0 { parts.append("\(minutes) min") }
        if rest > 0 || parts.isEmpty { parts.append("\(rest) s") }
        return parts.joined(separator: " ")
    }

    static func time(_ millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(millis) / 1000)) + " (UTC)"
    }
}
