#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The provider-wide numeric rules of DESIGN.md: request durations and approval windows.
package struct Policy: Sendable, Hashable {
    /// Shortest access a request may ask for.
    package var minimumDurationSeconds: Int64 = 60
    /// Longest access any request may ask for: 4 hours.
    package var maximumDurationSeconds: Int64 = 4 * 3600
    /// Customer approval window when the tenant sets none: 12 hours.
    package var defaultApprovalWindowSeconds: Int64 = 12 * 3600
    /// How long a request may wait for a support manager before it expires: 24 hours.
    package var internalApprovalWindowSeconds: Int64 = 24 * 3600
    /// How long an enrollment code may be redeemed: 72 hours.
    package var enrollmentCodeLifetimeSeconds: Int64 = 72 * 3600
    /// How many distinct support managers must approve a request internally, one level each
    /// (1 to ``maximumInternalApprovals``), before it goes to the customer.
    package var internalApprovalsRequired = 1
    /// The most internal approval levels.
    package static let maximumInternalApprovals = 3
    /// How far ahead a request may schedule its start: 7 days.
    package var maximumScheduleAheadSeconds: Int64 = 7 * 24 * 3600
    /// The longest a grant and its extensions may run together, from the first grant's start: 12 hours.
    package var maximumExtendedAccessSeconds: Int64 = 12 * 3600
    /// Bounds on a tenant's approval window.
    package var approvalWindowRange: ClosedRange<Int64> = 300...(7 * 24 * 3600)

    package init() {}

    /// Checks a requested duration against the global bounds and the tenant's cap.
    package func validateDuration(_ seconds: Int64, tenantCap: Int64) throws(DomainError) {
        let cap = min(maximumDurationSeconds, tenantCap)
        guard seconds >= minimumDurationSeconds && seconds <= cap else {
            throw DomainError(
                .invalidArgument,
                "requested duration must be between \(minimumDurationSeconds) and \(cap) seconds"
            )
        }
    }

    package func validateTenantCap(_ seconds: Int64) throws(DomainError) {
        guard seconds >= minimumDurationSeconds && seconds <= maximumDurationSeconds else {
            throw DomainError(
                .invalidArgument,
                "max access duration must be between \(minimumDurationSeconds) and \(maximumDurationSeconds) seconds"
            )
        }
    }

    package func validateApprovalWindow(_ seconds: Int64) throws(DomainError) {
        guard approvalWindowRange.contains(seconds) else {
            throw DomainError(
                .invalidArgument,
                "approval window must be between \(approvalWindowRange.lowerBound) and \(approvalWindowRange.upperBound) seconds"
            )
        }
    }
}

/// Bounds on every string and list a caller sends.
package enum InputLimits {
    package static let idLength = 128
    package static let ticketLength = 64
    package static let displayNameLength = 200
    package static let justificationLength = 2000
    package static let commentLength = 2000
    package static let operationLength = 128
    package static let idempotencyKeyLength = 128
    package static let ipLength = 64
    package static let listLength = 32
    /// The most rows an unpaged list returns (grants, principals, role assignments).
    package static let maximumListLength = 1000
    /// The longest a token may live: ten years.
    package static let maximumTokenLifetimeSeconds: Int64 = 10 * 365 * 86400
    package static let defaultPageSize: UInt32 = 50
    package static let maximumPageSize: UInt32 = 500

    /// Checks length, and that the text is free of control characters that have no place in it.
    package static func check(_ value: String, field: String, max: Int, required: Bool = true) throws(DomainError) {
        if required && value.isEmpty { throw DomainError(.invalidArgument, "\(field) is required") }
        guard value.utf8.count <= max else {
            throw DomainError(.invalidArgument, "\(field) is longer than \(max) bytes")
        }
        guard !value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" || $0.value == 0x7f })
        else {
            throw DomainError(.invalidArgument, "\(field) contains control characters")
        }
    }

    /// One line of text, such as a ticket number: as ``check(_:field:max:required:)``, and no
    /// line break, tab or other character ``Names/isAllowed(_:)`` refuses, so that it cannot
    /// start a line of its own wherever it is shown (an email's labelled lines, a table).
    package static func checkLine(_ value: String, field: String, max: Int) throws(DomainError) {
        try check(value, field: field, max: max)
        guard value.unicodeScalars.allSatisfy(Names.isAllowed) else {
            throw DomainError(.invalidArgument, "\(field) must be one line, without control characters")
        }
    }

    package static func pageSize(_ requested: UInt32) -> Int {
        Int(requested == 0 ? defaultPageSize : Swift.min(requested, maximumPageSize))
    }

    /// Tenant ids: 2 to 63 characters of a-z, 0-9 and '-', not starting with '-'.
    package static func checkTenantID(_ id: String) throws(DomainError) {
        let valid =
            (2...63).contains(id.utf8.count)
            && id.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
            && id.first != "-"
        guard valid else {
            throw DomainError.invalidArgument("tenant_id must be 2 to 63 characters of a-z, 0-9 and '-'")
        }
    }

    /// A principal's display name: bounded, and never one of the names Lockbox gives the actors
    /// of its own records, so that nobody can pass for them in the audit log.
    /// Names are compared as ``Names/folded(_:)`` folds them, and hold no control characters,
    /// line breaks or bidirectional controls (``Names/isAllowed(_:)``).
    package static func checkDisplayName(_ name: String) throws(DomainError) {
        try check(name, field: "display_name", max: displayNameLength)
        guard name.unicodeScalars.allSatisfy(Names.isAllowed) else {
            throw DomainError.invalidArgument(
                "display_name contains control characters, line breaks or bidirectional controls"
            )
        }
        guard !AuditEntry.reservedDisplayNames.contains(Names.folded(name)) else {
            throw DomainError.invalidArgument("that is a name Lockbox gives its own records; choose another")
        }
    }

    /// Operation names such as `Get-Mailbox`: letters, digits, '.', '_' and '-', starting with a
    /// letter or digit; no wildcards; never one of Lockbox's own activity names.
    package static func checkOperation(_ operation: String) throws(DomainError) {
        func isNameByte(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == 0x2d || byte == 0x2e || byte == 0x5f
        }
        let valid =
            !operation.isEmpty && operation.utf8.count <= operationLength && operation.utf8.allSatisfy(isNameByte)
            && operation.utf8.first.map { $0 != 0x2d && $0 != 0x2e && $0 != 0x5f } ?? false
        guard valid else {
            throw DomainError.invalidArgument(
                "operation must be a name such as Get-Mailbox: letters, digits, '.', '_' and '-'"
            )
        }
        guard !Activity.isReserved(operation) else {
            throw DomainError.invalidArgument("\(operation) is an activity name of Lockbox's own, not an operation")
        }
    }

    /// An IPv4 or IPv6 address in its usual text form.
    package static func checkIP(_ text: String, field: String) throws(DomainError) {
        var v4 = in_addr()
        var v6 = in6_addr()
        let valid =
            text.utf8.count <= ipLength && (inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1)
        guard valid else { throw DomainError.invalidArgument("\(field) must be an IPv4 or IPv6 address") }
    }
}
