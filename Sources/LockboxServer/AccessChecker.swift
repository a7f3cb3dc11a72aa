import LockboxCore
import LockboxProto
import LockboxStore

/// Decides CheckAccess: whether an operator may perform an operation now, and what the check
/// writes. It runs in the transaction of a group of checks (``CheckGroup``).
struct AccessChecker: Sendable {
    /// Whether a grant is backed by the customer's own signature.
    let trust: TrustAPI
    let grants = GrantStore()

    /// A check whose input has been validated.
    struct Check: Sendable {
        var request: CheckAccessRequest
        var service: ContentService

        init(_ request: CheckAccessRequest) throws {
            try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
            try InputLimits.check(request.operatorID, field: "operator_id", max: InputLimits.idLength)
            service = try ContentService.required(request.service)
            try InputLimits.checkOperation(request.operation)
            try InputLimits.checkIP(request.clientIP, field: "client_ip")
            self.request = request
        }

        var key: CheckKey {
            CheckKey(
                operatorID: request.operatorID,
                tenantID: request.tenantID,
                service: service,
                operation: request.operation
            )
        }
    }

    /// What one check decided, and what it writes: its audit record, and the use it counts
    /// against a grant when allowed.
    struct Checked: Sendable {
        var response: CheckAccessResponse
        var record: AuditEntry
        var use: GrantUse?
    }

    /// Decides whether an operator may perform an operation now, from the facts its group read
    /// (``CheckGroup``), in the group's transaction.
    ///
    /// The grants were read under a share lock that the transaction holds until it commits: a
    /// revocation in progress makes the check wait for it and then see it, so the audit log's
    /// order is the order in which checks and revocations took effect. The decision and its
    /// audit record commit together, and if the record cannot be written the call fails and
    /// nothing is allowed.
    func evaluate(_ check: Check, facts: CheckFacts, caller: Caller, nowMs: Int64, _ db: PGConnection) throws
        -> Checked
    {
        let request = check.request
        let service = check.service
        var tenantExists = true
        var decision = try AccessCheck.decide(facts, nowMs: nowMs) {
            let denial = try grants.denialFacts(
                operatorID: request.operatorID,
                tenantID: request.tenantID,
                service: service,
                nowMs: nowMs,
                db
            )
            tenantExists = denial.tenantExists
            return denial
        }
        // No record under a tenant that does not exist: it would wait there for whoever creates it.
        guard tenantExists else { throw DomainError.notFound("no such tenant") }
        // On a tenant with a root, a grant counts only when the customer's own key signed its
        // decision (or its signed policy turns the lockbox off).
        var evidence: [UInt8] = []
        if case .allowed(let requestID, _) = decision {
            let backing = try trust.backing(
                tenantID: request.tenantID,
                requestID: requestID,
                operatorID: request.operatorID,
                service: service,
                operation: request.operation,
                version: facts.trustVersion,
                nowMs: nowMs,
                evidence: request.includeEvidence,
                db
            )
            if backing.backed {
                evidence = backing.evidence
            } else {
                decision = .denied(.unverifiedApproval, requestID: requestID)
            }
        }
        var details: [String: JSONValue] = [
            "operator_id": .string(request.operatorID),
            "service": .string(service.rawValue),
            "allowed": .bool(decision.isAllowed),
            "checked_by": .string(caller.id),
            "checked_by_ip": .string(caller.ip),
            // The token the checking service called with, as every record names its token.
            "token_id": .string(caller.tokenID),
        ]
        var actorID = request.operatorID
        var actorDisplay = AuditEntry.providerOperatorDisplay
        var use: GrantUse?
        switch decision {
        case .allowed(let requestID, _):
            details["reason"] = .string("ALLOWED")
            use = GrantUse(tenantID: request.tenantID, requestID: requestID, operations: 1, lastAtMs: nowMs)
        case .denied(let why, _):
            details["reason"] = .string(why.rawValue)
            if why == .unknownOperator {
                // Not an operator: the record is the service's, and names who it asked about,
                // so that no one else's id appears as the actor of an operator action.
                actorID = caller.id
                actorDisplay = caller.displayName
            }
        }
        let record = AuditEntry(
            tenantID: request.tenantID,
            kind: .operatorAction,
            actorID: actorID,
            actorDisplay: actorDisplay,
            actorIP: request.clientIP,
            activity: request.operation,
            item: decision.requestID,
            details: details
        )
        var response = decision.proto
        response.evidence = evidence
        return Checked(response: response, record: record, use: use)
    }
}
