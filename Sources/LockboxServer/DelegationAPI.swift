import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore
import LockboxTrust

/// Approvers' delegations (issue 20, docs/protocol.md "Delegation"): an approver lets another
/// approver of the same tenant decide in their place for a period, with a statement their own
/// key signs, and withdraws it with a revocation their key, or an administering key, signs.
/// Both are part of the tenant's trust: lockboxd checks each against the tenant's keys before
/// it stores it, and verifies it again before a delegate's decision counts.
extension TrustAPI {
    /// The most delegations one approver may have in force (not revoked, not ended) at once,
    /// and may give in a day.
    static let maximumDelegationsInForce = 20
    static let maximumDelegationsPerDay: Int64 = 100
    /// How far before lockboxd's clock a delegation may say it starts (the approver's clock may
    /// run behind), and how far after.
    static let delegationStartSkewMs: Int64 = 3_600_000
    static let delegationStartAheadMs: Int64 = 30 * 86_400_000

    func registerDelegations(on router: inout RPCRouter) {
        router.register(LockboxMethods.createDelegation, gate: gate, createDelegation)
        router.register(LockboxMethods.revokeDelegation, gate: gate, revokeDelegation)
        router.register(LockboxMethods.listDelegations, gate: gate, listDelegations)
    }

    func createDelegation(_ request: SignedStatementRequest, _ call: Call) throws -> LockboxProto.Delegation {
        try authorizeDelegation(request, call)
        guard let delegation = try? DelegationStatement(canonicalBytes: request.statement),
            delegation.tenantID == request.tenantID, delegation.keyID == request.issuerKeyID
        else {
            throw DomainError.invalidArgument(
                "statement is not a lockbox/delegation/v1 of this tenant signed by the key it names (issuer_key_id)"
            )
        }
        if let problem = delegation.termsProblem { throw DomainError.invalidArgument(problem) }
        try InputLimits.check(delegation.delegateID, field: "delegate", max: InputLimits.idLength)
        for service in delegation.services where ContentService(rawValue: service) == nil {
            throw DomainError.invalidArgument(
                "a delegation names services that exist: exchange, sharepoint, onedrive or teams"
            )
        }
        guard delegation.delegatorID == call.caller.id else {
            throw DomainError(.permissionDenied, "an approver gives a delegation of their own: the delegator is you")
        }
        guard delegation.endsAtMs > call.nowMs,
            delegation.startsAtMs >= call.nowMs - Self.delegationStartSkewMs,
            delegation.startsAtMs <= call.nowMs + Self.delegationStartAheadMs
        else {
            throw DomainError.invalidArgument(
                "a delegation starts within the next 30 days (an hour of clock skew allowed) and has not ended"
            )
        }
        guard let delegate = try principals.find(id: delegation.delegateID, call.db),
            delegate.tenantID == request.tenantID, delegate.suspendedAtMs == nil,
            !Set(delegate.roles.map(\.role)).isDisjoint(with: [.lockboxApprover, .globalAdmin])
        else { throw DomainError.notFound("the delegate is not an approver of this tenant") }
        var stored = try store.load(tenantID: request.tenantID, call.db)
        let record = StoredDelegation(
            delegationID: delegation.id,
            delegatorID: delegation.delegatorID,
            delegateID: delegation.delegateID,
            startsAtMs: delegation.startsAtMs,
            endsAtMs: delegation.endsAtMs,
            signed: request.stored(atMs: call.nowMs),
            assertion: request.storedAssertion
        )
        stored.delegations.append(record)
        let verified = TrustKeeper.verify(stored, serverKeys: keeper.integrity.knownKeys())
        guard verified.trust.delegations[delegation.id] == delegation,
            !verified.serverRevoked.contains(delegation.keyID)
        else {
            throw DomainError(
                .permissionDenied,
                "the delegation is not signed by a key certified to you to decide, valid at its start"
            )
        }
        // Only delegations the tenant's keys signed count toward the caps: rows written behind
        // lockboxd's back cannot stop an approver from delegating.
        let inForce = verified.trust.delegations.values.filter {
            $0.delegatorID == delegation.delegatorID && $0.endsAtMs > call.nowMs && $0.id != delegation.id
        }
        guard inForce.count < Self.maximumDelegationsInForce else {
            throw DomainError(
                .failedPrecondition,
                "you have \(Self.maximumDelegationsInForce) delegations in force; revoke one first"
            )
        }
        let givenToday = stored.delegations.filter { row in
            row.delegationID != delegation.id && row.signed.atMs >= call.nowMs - 86_400_000
                && verified.trust.signedDelegations[row.delegationID]?.delegatorID == delegation.delegatorID
        }
        guard givenToday.count < Self.maximumDelegationsPerDay else {
            throw DomainError(
                .failedPrecondition,
                "you have given \(Self.maximumDelegationsPerDay) delegations in the last 24 hours; try again later"
            )
        }
        guard try store.insertDelegation(tenantID: request.tenantID, record, call.db) else {
            throw DomainError(.alreadyExists, "that delegation exists already")
        }
        return record.proto(tenantID: request.tenantID, services: delegation.services, revocation: nil, holds: true)
    }

    func revokeDelegation(_ request: SignedStatementRequest, _ call: Call) throws -> LockboxProto.Delegation {
        try authorizeDelegation(request, call)
        guard let revocation = try? DelegationRevocation(canonicalBytes: request.statement),
            revocation.tenantID == request.tenantID, revocation.issuerKeyID == request.issuerKeyID
        else {
            throw DomainError.invalidArgument(
                "statement is not a lockbox/delegation-revocation/v1 of this tenant issued by issuer_key_id"
            )
        }
        var stored = try store.load(tenantID: request.tenantID, call.db)
        guard let delegation = stored.delegations.first(where: { $0.delegationID == revocation.delegationID }),
            let statement = try? DelegationStatement(canonicalBytes: delegation.signed.statement)
        else { throw DomainError.notFound("no such delegation") }
        // Revoked already: by a revocation a tenant key signed (a row without one withdraws nothing).
        if let before = try keeper.trust(tenantID: request.tenantID, version: stored.version, call.db),
            before.trust.revokedDelegations.contains(revocation.delegationID)
        {
            throw DomainError(.alreadyExists, "that delegation is revoked already")
        }
        // The delegator withdraws their own; a global admin of the tenant any.
        let admin = (try? Authorization.require(call.caller, .manageTrust, on: .tenant(request.tenantID))) != nil
        guard call.caller.id == delegation.delegatorID || admin else {
            throw DomainError(
                .permissionDenied,
                "a delegation is withdrawn by its delegator, or by a global admin of the tenant"
            )
        }
        let revoked = StoredDelegationRevocation(
            delegationID: revocation.delegationID,
            signed: request.stored(atMs: call.nowMs),
            assertion: request.storedAssertion
        )
        stored.delegationRevocations.append(revoked)
        let verified = TrustKeeper.verify(stored, serverKeys: keeper.integrity.knownKeys())
        guard verified.trust.revokedDelegations.contains(revocation.delegationID) else {
            throw DomainError(
                .permissionDenied,
                "the revocation is not signed by a key certified to the delegator to decide, or by one that "
                    + "administers the tenant"
            )
        }
        try store.insertDelegationRevocation(tenantID: request.tenantID, revoked, call.db)
        return delegation.proto(
            tenantID: request.tenantID,
            services: statement.services,
            revocation: revoked,
            holds: false
        )
    }

    func listDelegations(_ request: ListDelegationsRequest, _ call: Call) throws -> ListDelegationsResponse {
        try InputLimits.checkTenantID(request.tenantID)
        try Authorization.require(call.caller, .readTrust, on: .tenant(request.tenantID))
        try InputLimits.check(request.principalID, field: "principal_id", max: InputLimits.idLength, required: false)
        guard (0...100).contains(request.pageSize) else {
            throw DomainError.invalidArgument("page_size is 0 to 100")
        }
        let stored = try store.load(tenantID: request.tenantID, call.db)
        let verified = try keeper.trust(tenantID: request.tenantID, version: stored.version, call.db)
        var listed: [LockboxProto.Delegation] = []
        for delegation in stored.delegations.reversed() {
            // Revoked: by a revocation that verifies (a row that does not withdraws nothing).
            let revocation = verified?.trust.delegationRevokedBy[delegation.delegationID].flatMap { signed in
                stored.delegationRevocations.first {
                    $0.delegationID == delegation.delegationID && $0.signed.signature == signed.signature
                        && $0.signed.statement == signed.statement
                }
            }
            if !request.includeEnded, revocation != nil || delegation.endsAtMs <= call.nowMs { continue }
            if !request.principalID.isEmpty,
                delegation.delegatorID != request.principalID && delegation.delegateID != request.principalID
            {
                continue
            }
            let holds =
                verified.map { verified in
                    verified.trust.delegations[delegation.delegationID].map {
                        !verified.serverRevoked.contains($0.keyID)
                    } ?? false
                } ?? false
            listed.append(
                delegation.proto(
                    tenantID: request.tenantID,
                    services: (try? DelegationStatement(canonicalBytes: delegation.signed.statement))?.services ?? [],
                    revocation: revocation,
                    holds: holds
                )
            )
            if listed.count == (request.pageSize == 0 ? 100 : Int(request.pageSize)) { break }
        }
        return ListDelegationsResponse(delegations: listed)
    }

    private func authorizeDelegation(_ request: SignedStatementRequest, _ call: Call) throws {
        try InputLimits.checkTenantID(request.tenantID)
        try Authorization.require(call.caller, .delegate, on: .tenant(request.tenantID))
        try InputLimits.check(request.issuerKeyID, field: "issuer_key_id", max: InputLimits.idLength)
        guard request.statement.count <= 4096, request.signature.count <= 1024,
            request.authenticatorData.count <= 1024, request.clientDataJSON.count <= 4096
        else {
            throw DomainError.invalidArgument(
                "statement, signature, authenticator_data and client_data_json are at most 4096, 1024, 1024 and "
                    + "4096 bytes"
            )
        }
        try lockTenant(request.tenantID, call)
    }
}

extension StoredDelegation {
    func proto(
        tenantID: String,
        services: [String],
        revocation: StoredDelegationRevocation?,
        holds: Bool
    ) -> LockboxProto.Delegation {
        LockboxProto.Delegation(
            tenantID: tenantID,
            delegationID: delegationID,
            delegatorID: delegatorID,
            delegateID: delegateID,
            services: services,
            startsAtMs: startsAtMs,
            endsAtMs: endsAtMs,
            keyID: signed.issuerKeyID,
            statement: signed.statement,
            signature: signed.signature,
            createdAtMs: signed.atMs,
            revoked: revocation != nil,
            revokedAtMs: revocation?.signed.atMs ?? 0,
            revokedByKeyID: revocation?.signed.issuerKeyID ?? "",
            holds: holds
        )
    }
}
