/// The numeric rules of DESIGN.md: request durations, approval windows, input bounds.
public struct Policy: Sendable, Hashable {
    /// Shortest access a request may ask for.
    public var minimumDurationSeconds: Int64 = 60
    /// Longest access any request may ask for: 4 hours.
    public var maximumDurationSeconds: Int64 = 4 * 3600
    /// Customer approval window when the tenant sets none: 12 hours.
    public var defaultApprovalWindowSeconds: Int64 = 12 * 3600
    /// Bounds on a tenant's approval window.
    public var approvalWindowRange: ClosedRange<Int64> = 300...(7 * 24 * 3600)

    public init() {}

    /// Checks a requested duration against the global bounds and the tenant's cap.
    public func validateDuration(_ seconds: Int64, tenantCap: Int64) throws(DomainError) {
        let cap = min(maximumDurationSeconds, tenantCap)
        guard seconds >= minimumDurationSeconds && seconds <= cap else {
            throw DomainError(
                .invalidArgument,
                "requested duration must be between \(minimumDurationSeconds) and \(cap) seconds"
            )
        }
    }

    public func validateTenantCap(_ seconds: Int64) throws(DomainError) {
        guard seconds >= minimumDurationSeconds && seconds <= maximumDurationSeconds else {
            throw DomainError(
                .invalidArgument,
                "max access duration must be between \(minimumDurationSeconds) and \(maximumDurationSeconds) seconds"
            )
        }
    }

    public func validateApprovalWindow(_ seconds: Int64) throws(DomainError) {
        guard approvalWindowRange.contains(seconds) else {
            throw DomainError(
                .invalidArgument,
                "approval window must be between \(approvalWindowRange.lowerBound) and \(approvalWindowRange.upperBound) seconds"
            )
        }
    }
}

/// Bounds on every string and list a caller sends.
public enum InputLimits {
    public static let idLength = 128
    public static let ticketLength = 64
    public static let displayNameLength = 200
    public static let justificationLength = 2000
    public static let commentLength = 2000
    public static let operationLength = 128
    public static let idempotencyKeyLength = 128
    public static let ipLength = 64
    public static let listLength = 32
    public static let defaultPageSize: UInt32 = 50
    public static let maximumPageSize: UInt32 = 500

    /// Checks length, and that the text is free of control characters that have no place in it.
    public static func check(_ value: String, field: String, max: Int, required: Bool = true) throws(DomainError) {
        if required && value.isEmpty { throw DomainError(.invalidArgument, "\(field) is required") }
        guard value.utf8.count <= max else { throw DomainError(.invalidArgument, "\(field) is longer than \(max) bytes") }
        guard !value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" || $0.value == 0x7f })
        else {
            throw DomainError(.invalidArgument, "\(field) contains control characters")
        }
    }

    public static func pageSize(_ requested: UInt32) -> Int {
        Int(requested == 0 ? defaultPageSize : Swift.min(requested, maximumPageSize))
    }
}
