import LockboxCore
import LockboxProto

// Between Core's domain values and the wire's messages, both ways, in one place.

extension LockboxCore.JustificationCategory {
    /// nil for none; INVALID_ARGUMENT for an unknown one.
    static func from(_ proto: LockboxProto.JustificationCategory) throws(DomainError) -> Self? {
        switch proto {
        case .unspecified: return nil
        case .incident: return .incident
        case .serviceRequest: return .serviceRequest
        case .securityInvestigation: return .securityInvestigation
        case .customerRequested: return .customerRequested
        default: throw DomainError.invalidArgument("unknown justification category \(proto)")
        }
    }

    var proto: LockboxProto.JustificationCategory {
        switch self {
        case .incident: .incident
        case .serviceRequest: .serviceRequest
        case .securityInvestigation: .securityInvestigation
        case .customerRequested: .customerRequested
        }
    }
}

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

    /// The service a request names; INVALID_ARGUMENT for none or an unknown one.
    static func required(_ proto: Service) throws(DomainError) -> ContentService {
        guard let service = ContentService(proto: proto) else {
            throw DomainError.invalidArgument("service must be one of exchange, sharepoint, onedrive, teams")
        }
        return service
    }

    /// nil for SERVICE_UNSPECIFIED (any); INVALID_ARGUMENT for an unknown one.
    static func filter(_ proto: Service) throws(DomainError) -> ContentService? {
        guard proto != .unspecified else { return nil }
        guard let service = ContentService(proto: proto) else {
            throw DomainError.invalidArgument("unknown service \(proto)")
        }
        return service
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

extension LockboxCore.AccessDenyReason {
    var proto: LockboxProto.AccessDenyReason {
        switch self {
        case .noGrant: .noGrant
        case .notApproved: .notApproved
        case .grantExpired: .grantExpired
        case .revoked: .revoked
        case .operationNotPreapproved: .operationNotPreapproved
        case .tenantServiceMismatch: .tenantServiceMismatch
        case .unknownOperator: .unknownOperator
        case .operatorSuspended: .operatorSuspended
        case .requestExpired: .requestExpired
        case .unverifiedApproval: .unverifiedApproval
        case .notStarted: .notStarted
        }
    }
}

extension LockboxCore.AuditKind {
    /// nil for AUDIT_KIND_UNSPECIFIED (any); INVALID_ARGUMENT for an unknown one.
    static func filter(_ proto: LockboxProto.AuditKind) throws(DomainError) -> LockboxCore.AuditKind? {
        guard proto != .unspecified else { return nil }
        guard let kind = allCases.first(where: { $0.proto == proto }) else {
            throw DomainError.invalidArgument("unknown audit kind \(proto)")
        }
        return kind
    }

    var proto: LockboxProto.AuditKind {
        switch self {
        case .lifecycle: .lifecycle
        case .operatorAction: .operatorAction
        case .roleChange: .roleChange
        case .settings: .settings
        case .principal: .principal
        case .token: .token
        case .tenant: .tenant
        case .operation: .operation
        case .enrollment: .enrollment
        case .notification: .notification
        case .key: .key
        case .trust: .trust
        }
    }
}

extension AccessDecision {
    var proto: CheckAccessResponse {
        switch self {
        case .allowed(let requestID, let ends):
            CheckAccessResponse(allowed: true, reason: .unspecified, requestID: requestID, grantEndsAtMs: ends)
        case .denied(let reason, let requestID):
            CheckAccessResponse(allowed: false, reason: reason.proto, requestID: requestID, grantEndsAtMs: 0)
        }
    }
}

extension GrantRecord {
    /// The grant as the API shows it, with activity and time left by the clock at `nowMs`.
    func proto(nowMs: Int64) -> Grant {
        let active = isActive(nowMs: nowMs)
        return Grant(
            requestID: requestID,
            operatorID: operatorID,
            tenantID: tenantID,
            service: service.proto,
            startsAtMs: window.startsAtMs,
            endsAtMs: window.endsAtMs,
            active: active,
            secondsLeft: active ? (window.endsAtMs - nowMs) / 1000 : 0,
            operations: operations
        )
    }
}

extension RequestRecord {
    /// The request as the API shows it, with its state as the clock says at `nowMs`.
    func proto(nowMs: Int64) -> AccessRequest {
        var request = AccessRequest(
            id: id,
            tenantID: tenantID,
            service: service.proto,
            ticketNumber: ticketNumber,
            justification: justification,
            requestedDurationSeconds: requestedDurationSeconds,
            requesterID: requesterID,
            status: Lifecycle.effectiveState(facts, nowMs: nowMs).proto,
            createdAtMs: createdAtMs,
            updatedAtMs: updatedAtMs,
            customerDeadlineMs: customerDeadlineMs ?? 0,
            operationsPerformed: usage.operationsPerformed,
            lastOperationAtMs: usage.lastOperationAtMs ?? 0,
            requesterName: requesterName,
            startsAtMs: scheduledStartMs ?? 0,
            extendsRequestID: extendsRequestID ?? "",
            requestedOperations: requestedOperations ?? [],
            category: category?.proto ?? .unspecified,
            internalApprovers: internalApprovers
        )
        if let decision = internalDecision {
            request.internalDecision = InternalDecision(
                requestID: id,
                approve: decision.approve,
                comment: decision.comment,
                decidedBy: decision.decidedBy,
                decidedAtMs: decision.decidedAtMs
            )
        }
        if let decision = customerDecision {
            request.customerDecision = CustomerDecision(
                requestID: id,
                decision: decision.decision.proto,
                comment: decision.comment,
                approvedDurationSeconds: decision.approvedDurationSeconds ?? 0,
                decidedBy: decision.decidedBy,
                decidedAtMs: decision.decidedAtMs
            )
            if let signed = decision.signed {
                request.approval = SignedApproval(
                    statement: signed.statement,
                    keyID: signed.keyID,
                    signature: signed.signature
                )
            }
            if let customer = decision.customerSigned {
                request.customerSignature = SignedDecision(
                    statement: customer.statement,
                    keyID: customer.keyID,
                    signature: customer.signature,
                    authenticatorData: customer.authenticatorData,
                    clientDataJSON: customer.clientData
                )
            }
        }
        if let window = grant {
            request.grant = GrantRecord(
                requestID: id,
                operatorID: requesterID,
                tenantID: tenantID,
                service: service,
                requestState: state,
                window: window,
                operations: grantOperations
            ).proto(nowMs: nowMs)
        }
        return request
    }
}

extension RoleAssignmentRecord {
    var proto: RoleAssignment {
        RoleAssignment(
            principalID: principalID,
            role: role.proto,
            tenantID: tenantID,
            assignedBy: assignedBy,
            assignedAtMs: assignedAtMs
        )
    }
}

extension PrincipalRecord {
    var proto: Principal {
        Principal(
            id: id,
            displayName: displayName,
            tenantID: tenantID ?? "",
            roles: roles.map(\.proto),
            createdAtMs: createdAtMs,
            suspendedAtMs: suspendedAtMs ?? 0,
            email: email ?? ""
        )
    }
}

extension TokenRecord {
    var proto: Token {
        Token(
            id: id,
            principalID: principalID,
            createdAtMs: createdAtMs,
            expiresAtMs: expiresAtMs ?? 0,
            revoked: revokedAtMs != nil
        )
    }
}

extension TenantRules {
    func proto(tenantID: String) -> TenantSettings {
        TenantSettings(
            tenantID: tenantID,
            lockboxEnabled: lockboxEnabled,
            approvalWindowSeconds: approvalWindowSeconds,
            maxAccessDurationSeconds: maxAccessDurationSeconds
        )
    }
}

extension StoredAuditRecord {
    var proto: AuditRecord {
        AuditRecord(
            id: id,
            timeMs: timeMs,
            tenantID: tenantID,
            actorID: actorID,
            actorDisplay: actorDisplay,
            actorIP: actorIP,
            activity: activity,
            item: item,
            decision: decision.proto,
            detailsJSON: detailsJSON,
            kind: kind?.proto ?? .unspecified,
            seq: seal?.seq ?? 0,
            hash: seal?.hash ?? []
        )
    }
}

extension PreapprovedOperationRecord {
    var proto: PreapprovedOperation {
        PreapprovedOperation(service: service.proto, operation: operation, description: description)
    }
}

extension StoredCheckpoint {
    var proto: Checkpoint {
        Checkpoint(scope: scope, seq: seq, hash: hash, signedAtMs: signedAtMs, keyID: keyID, signature: signature)
    }
}

extension StoredSigningKey {
    var proto: SigningKey {
        SigningKey(
            keyID: keyID,
            publicKey: publicKey,
            firstSeenAtMs: firstSeenAtMs,
            introducedByOwner: introducedByOwner,
            attestedBy: attestedBy ?? "",
            attestation: attestation ?? []
        )
    }
}
