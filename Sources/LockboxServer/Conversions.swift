import LockboxCore
import LockboxProto

extension ContentService {
    init?(proto: Service) {
        switch proto {
        case .exchange: self = .exchange
        case .sharepoint: self = .sharepoint
        case .onedrive: self = .onedrive
        case .teams: self = .teams
        default: return nil
        }
    }

    var proto: Service {
        switch self {
        case .exchange: .exchange
        case .sharepoint: .sharepoint
        case .onedrive: .onedrive
        case .teams: .teams
        }
    }
}

extension RequestState {
    init?(proto: RequestStatus) {
        switch proto {
        case .pendingInternal: self = .pendingInternal
        case .pendingCustomer: self = .pendingCustomer
        case .approved: self = .approved
        case .denied: self = .denied
        case .expired: self = .expired
        case .canceled: self = .canceled
        case .revoked: self = .revoked
        case .completed: self = .completed
        default: return nil
        }
    }

    var proto: RequestStatus {
        switch self {
        case .pendingInternal: .pendingInternal
        case .pendingCustomer: .pendingCustomer
        case .approved: .approved
        case .denied: .denied
        case .expired: .expired
        case .canceled: .canceled
        case .revoked: .revoked
        case .completed: .completed
        }
    }
}

extension LockboxCore.Role {
    init?(proto: LockboxProto.Role) {
        switch proto {
        case .operator: self = .operator
        case .supportManager: self = .supportManager
        case .providerAdmin: self = .providerAdmin
        case .service: self = .service
        case .auditor: self = .auditor
        case .globalAdmin: self = .globalAdmin
        case .lockboxApprover: self = .lockboxApprover
        default: return nil
        }
    }

    var proto: LockboxProto.Role {
        switch self {
        case .operator: .operator
        case .supportManager: .supportManager
        case .providerAdmin: .providerAdmin
        case .service: .service
        case .auditor: .auditor
        case .globalAdmin: .globalAdmin
        case .lockboxApprover: .lockboxApprover
        }
    }
}

extension AuditDecision {
    var proto: Decision { Decision(rawValue: Int32(rawValue)) }
}
