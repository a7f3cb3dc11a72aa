/// The state of an access request (DESIGN.md, "Request lifecycle").
package enum RequestState: String, Sendable, CaseIterable, Hashable {
    case pendingInternal = "PENDING_INTERNAL"
    case pendingCustomer = "PENDING_CUSTOMER"
    case approved = "APPROVED"
    case denied = "DENIED"
    case expired = "EXPIRED"
    case canceled = "CANCELED"
    case revoked = "REVOKED"
    case completed = "COMPLETED"

    /// Terminal states never change again.
    package var isTerminal: Bool {
        switch self {
        case .pendingInternal, .pendingCustomer, .approved: false
        case .denied, .expired, .canceled, .revoked, .completed: true
        }
    }
}

/// A role a principal holds. Provider roles belong to no tenant; tenant roles to exactly one.
package enum Role: String, Sendable, CaseIterable, Hashable {
    case `operator` = "operator"
    case supportManager = "support_manager"
    case providerAdmin = "provider_admin"
    case service = "service"
    case auditor = "auditor"
    case globalAdmin = "global_admin"
    case lockboxApprover = "lockbox_approver"

    package var isTenantRole: Bool { self == .globalAdmin || self == .lockboxApprover }
}

/// A customer-content service that a request can cover.
/// Why access is needed, in a word a tenant's policy can require or refuse.
package enum JustificationCategory: String, Sendable, CaseIterable, Hashable {
    case incident
    case serviceRequest = "service_request"
    case securityInvestigation = "security_investigation"
    case customerRequested = "customer_requested"
}

package enum ContentService: String, Sendable, CaseIterable, Hashable {
    case exchange
    case sharepoint
    case onedrive
    case teams
}
