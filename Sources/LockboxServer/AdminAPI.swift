import LockboxCore
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxStore
import Logging

/// Tenants and their settings, principals, tokens and role assignments.
struct AdminAPI: Sendable {
    let gate: Gatekeeper
    /// Suspension withdraws the principal's requests and ends its grants through it.
    let workflow: RequestWorkflow
    let policy: Policy
    /// The tenant's own trust: its root, adopted at enrollment; its keys, revoked with a role.
    let trust: TrustAPI
    let trustStore = TrustStore()
    let tenants = TenantStore()
    let principals = PrincipalStore()
    let tokens = TokenStore()
    let enrollment = EnrollmentStore()
    let audit = AuditStore()
    /// Refused enrollments past the hourly limit of records, by tenant, on this replica.
    let unrecordedRefusals = Tally()
    /// Refused enrollments recorded one by one per tenant and hour; past it they are counted,
    /// and the count goes into the next record.
    static let recordedRefusalsPerHour = 20

    func register(on router: inout RPCRouter) {
        router.register(LockboxMethods.createTenant, gate: gate, createTenant)
        router.register(LockboxMethods.issueEnrollmentCode, gate: gate, issueEnrollmentCode)
        router.register(LockboxMethods.enrollTenantAdmin) { request, context in
            // Every attempt spends the address's and the tenant's budget; a code that cannot be
            // one of ours is refused then, with no database work.
            try gate.spendEnrollmentAttempt(tenantID: request.tenantID, peerIP: context.peerIP)
            let key = try await gate.credentialKey(context)
            guard Credentials.judge(request.code, key: key, prefix: Credentials.enrollmentPrefix) == .checksummed else {
                gate.logger.notice(
                    "enrollment code refused: not one of ours",
                    metadata: ["tenant_id": "\(printable(request.tenantID))", "peer_ip": "\(context.peerIP)"]
                )
                throw RPCError(.unauthenticated, Self.invalidCode.message)
            }
            return try await gate.open(context) { call in try enroll(request, call) }
        }
        router.register(LockboxMethods.setLockboxEnabled, gate: gate, setLockboxEnabled)
        router.register(LockboxMethods.bindCertificate, gate: gate, bindCertificate)
        router.register(LockboxMethods.suspendPrincipal, gate: gate, suspend)
        router.register(LockboxMethods.reactivatePrincipal, gate: gate, reactivate)
        router.register(LockboxMethods.getTenantSettings, gate: gate, settings)
        router.register(LockboxMethods.setTenantSettings, gate: gate, setSettings)
        router.register(LockboxMethods.createPrincipal, gate: gate, createPrincipal)
        router.register(LockboxMethods.listPrincipals, gate: gate, listPrincipals)
        router.register(LockboxMethods.issueToken, gate: gate, issueToken)
        router.register(LockboxMethods.revokeToken, gate: gate, revokeToken)
        router.register(LockboxMethods.assignRole, gate: gate, assignRole)
        router.register(LockboxMethods.removeRole, gate: gate, removeRole)
        router.register(LockboxMethods.listRoleAssignments, gate: gate, listRoleAssignments)
    }

    // MARK: Tenants

    /// Creates a tenant with no principal at all, and a single-use enrollment code for its
    /// first global admin: the provider never holds a credential of the customer's.
    func createTenant(_ request: CreateTenantRequest, _ call: Call) throws -> CreateTenantResponse {
        try InputLimits.checkTenantID(request.tenantID)
        try InputLimits.checkDisplayName(request.displayName)
        guard try tenants.create(id: request.tenantID, displayName: request.displayName, nowMs: call.nowMs, call.db)
        else { throw DomainError(.alreadyExists, "tenant \(request.tenantID) already exists") }
        let code = try newEnrollmentCode(for: request.tenantID, call)
        return CreateTenantResponse(
            tenant: Tenant(
                id: request.tenantID,
                displayName: request.displayName,
                settings: try rules(of: request.tenantID, call).proto(tenantID: request.tenantID),
                createdAtMs: call.nowMs
            ),
            enrollment: code
        )
    }

    /// A new code for a tenant whose first code was lost before anyone redeemed it. Only while
    /// the tenant has no global admin: after that, its own admins manage its principals.
    func issueEnrollmentCode(_ request: IssueEnrollmentCodeRequest, _ call: Call) throws -> EnrollmentCode {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
        try Authorization.require(call.caller, .issueEnrollmentCode, on: .tenant(request.tenantID))
        guard try tenants.rules(tenantID: request.tenantID, lock: true, call.db) != nil else {
            throw DomainError.notFound("no such tenant")
        }
        guard try principals.holders(of: .globalAdmin, tenantID: request.tenantID, call.db) == 0 else {
            throw DomainError(
                .failedPrecondition,
                "the tenant has a global admin; only its own admins add principals to it"
            )
        }
        // A tenant with a root is its own: even with no global admin left (their roles
        // removed behind lockboxd's back), no code makes a new one.
        guard try trustStore.version(tenantID: request.tenantID, call.db) == nil else {
            throw DomainError(
                .failedPrecondition,
                "the tenant has a root; only a key it certified may administer it, and no code is issued"
            )
        }
        return try newEnrollmentCode(for: request.tenantID, call)
    }

    private func newEnrollmentCode(for tenantID: String, _ call: Call) throws -> EnrollmentCode {
        let secret = Credentials.newEnrollmentCode(key: try tokens.credentialKey(call.db))
        let code = EnrollmentCodeRecord(
            id: Credentials.newID("enr"),
            tenantID: tenantID,
            issuedBy: call.caller.id,
            issuedAtMs: call.nowMs,
            expiresAtMs: call.nowMs + policy.enrollmentCodeLifetimeSeconds * 1000
        )
        try enrollment.issue(code, secretHash: Credentials.hash(secret), call.db)
        return EnrollmentCode(tenantID: tenantID, code: secret, expiresAtMs: code.expiresAtMs)
    }

    static let invalidCode = DomainError(.unauthenticated, "this enrollment code is not valid for this tenant")

    /// Redeems an enrollment code: the tenant's first global admin is created with their own
    /// token, which nobody else sees. A wrong, expired, superseded or spent code is refused,
    /// and the refusal is recorded in the tenant's audit log.
    func enroll(_ request: EnrollTenantAdminRequest, _ call: OpenCall) throws
        -> Result<EnrollTenantAdminResponse, DomainError>
    {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
        try InputLimits.check(request.code, field: "code", max: InputLimits.idLength)
        try InputLimits.checkDisplayName(request.displayName)
        // The tenant's root comes with its first admin: the provider never holds it.
        guard request.rootPublicKey.count == 32, request.rootSignature.count == 64 else {
            throw DomainError.invalidArgument(
                "root_public_key (32 bytes) and root_signature (64 bytes) are required: the first admin brings "
                    + "the tenant's root key (lockbox tenants enroll makes one)"
            )
        }
        let invalid = Self.invalidCode
        // A code that is not one of the tenant's is refused before any lock or write: anyone may
        // call this, so guesses must neither block the tenant's other calls nor fill its audit
        // log. They are logged; refusals of a real code are audited below.
        let secretHash = Credentials.hash(request.code)
        guard try enrollment.find(tenantID: request.tenantID, secretHash: secretHash, lock: false, call.db) != nil
        else {
            gate.logger.notice(
                "enrollment code refused: no such code",
                metadata: ["tenant_id": "\(request.tenantID)", "peer_ip": "\(call.peerIP)"]
            )
            return .failure(invalid)
        }
        // Serializes redemptions of the tenant's codes, and with IssueEnrollmentCode.
        guard try tenants.rules(tenantID: request.tenantID, lock: true, call.db) != nil else {
            return .failure(invalid)
        }
        func refuse(_ error: DomainError, _ details: [String: JSONValue]) throws -> Result<
            EnrollTenantAdminResponse, DomainError
        > {
            var details = details
            details["reason"] = .string(error.message)
            // Anyone with a spent code may try again and again: past the limit, refusals are
            // counted, not recorded one by one.
            let recent = try audit.count(
                tenantID: request.tenantID,
                activity: .enrollmentRefused,
                withinMs: 3_600_000,
                db: call.db
            )
            guard recent < Self.recordedRefusalsPerHour else {
                unrecordedRefusals.add(request.tenantID)
                return .failure(error)
            }
            let unrecorded = unrecordedRefusals.take(request.tenantID)
            if unrecorded > 0 { details["refusals_unrecorded_before"] = .int(unrecorded) }
            if recent == Self.recordedRefusalsPerHour - 1 {
                details["note"] = .string(
                    "the last refusal recorded one by one this hour; later ones are counted in the next record"
                )
            }
            try audit.append(
                AuditEntry(
                    tenantID: request.tenantID,
                    kind: .enrollment,
                    actorID: "",
                    actorDisplay: AuditEntry.unauthenticatedDisplay,
                    actorIP: call.peerIP,
                    activity: Activity.enrollmentRefused.rawValue,
                    details: details
                ),
                call.db
            )
            return .failure(error)
        }
        guard let code = try enrollment.find(tenantID: request.tenantID, secretHash: secretHash, lock: true, call.db)
        else { return .failure(invalid) }
        if let refusal = code.refusal(nowMs: call.nowMs) {
            return try refuse(refusal, ["code_id": .string(code.id)])
        }
        guard try principals.holders(of: .globalAdmin, tenantID: request.tenantID, call.db) == 0 else {
            return try refuse(
                DomainError(.failedPrecondition, "the tenant has a global admin already"),
                ["code_id": .string(code.id)]
            )
        }
        let adminID = Credentials.newID("p")
        let admin = Caller(
            id: adminID,
            displayName: request.displayName,
            tenantID: request.tenantID,
            assignments: [Caller.Assignment(role: .globalAdmin, tenantID: request.tenantID)],
            ip: call.peerIP
        )
        let acting = Call(caller: admin, db: call.db, nowMs: call.nowMs, idempotencyKey: "")
        // The new admin is the actor of its own enrollment.
        try audit.attribute(to: AuditActor(admin), call.db)
        try principals.create(
            id: adminID,
            tenantID: request.tenantID,
            displayName: request.displayName,
            nowMs: call.nowMs,
            call.db
        )
        try assign(.globalAdmin, to: adminID, tenantID: request.tenantID, acting)
        try enrollment.redeem(tenantID: request.tenantID, codeID: code.id, by: adminID, nowMs: call.nowMs, call.db)
        do {
            _ = try trust.adopt(
                tenantID: request.tenantID,
                publicKey: request.rootPublicKey,
                signature: request.rootSignature,
                previousSignature: [],
                call.db
            )
        } catch let error as DomainError {
            // Nothing of the enrollment stays: the code is not spent.
            throw error
        }
        let token = try newToken(principalID: adminID, tenantID: request.tenantID, ttlSeconds: 0, acting)
        return .success(EnrollTenantAdminResponse(admin: try principal(adminID, acting).proto, token: token))
    }

    func settings(_ request: GetTenantSettingsRequest, _ call: Call) throws -> TenantSettings {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
        try Authorization.require(call.caller, .readTenantSettings, on: .tenant(request.tenantID))
        return try rules(of: request.tenantID, call).proto(tenantID: request.tenantID)
    }

    /// Changes the settings that are present in the request, and only those. The lockbox is
    /// switched with ``setLockboxEnabled(_:_:)``, never here.
    func setSettings(_ request: SetTenantSettingsRequest, _ call: Call) throws -> TenantSettings {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
        try Authorization.require(call.caller, .writeTenantSettings, on: .tenant(request.tenantID))
        if let window = request.approvalWindowSeconds { try policy.validateApprovalWindow(window.value) }
        if let cap = request.maxAccessDurationSeconds { try policy.validateTenantCap(cap.value) }
        _ = try rules(of: request.tenantID, call)
        // The database records what changed, with the values before and after.
        try tenants.update(
            tenantID: request.tenantID,
            lockboxEnabled: nil,
            approvalWindowSeconds: request.approvalWindowSeconds?.value,
            maxAccessDurationSeconds: request.maxAccessDurationSeconds?.value,
            call.db
        )
        return try rules(of: request.tenantID, call).proto(tenantID: request.tenantID)
    }

    /// Switches the tenant's lockbox on or off: its own call, its own audit record, and a
    /// reason required to switch it off.
    func setLockboxEnabled(_ request: SetLockboxEnabledRequest, _ call: Call) throws -> TenantSettings {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength)
        try InputLimits.check(
            request.reason,
            field: "reason",
            max: InputLimits.commentLength,
            required: !request.enabled
        )
        try Authorization.require(call.caller, .writeTenantSettings, on: .tenant(request.tenantID))
        let before = try rules(of: request.tenantID, call)
        // A tenant with a root switches its lockbox with a policy its own key signs: a switch
        // here would change nothing CheckAccess reads.
        guard try trustStore.version(tenantID: request.tenantID, call.db) == nil else {
            throw DomainError(
                .failedPrecondition,
                "this tenant's lockbox is switched by its signed policy: lockbox tenants policy TENANT --lockbox "
                    + (request.enabled ? "on" : "off") + " --key-file FILE"
            )
        }
        if before.lockboxEnabled != request.enabled {
            try audit.with(details: ["reason": .string(request.reason)], call.db) {
                try tenants.update(
                    tenantID: request.tenantID,
                    lockboxEnabled: request.enabled,
                    approvalWindowSeconds: nil,
                    maxAccessDurationSeconds: nil,
                    call.db
                )
            }
        }
        return try rules(of: request.tenantID, call).proto(tenantID: request.tenantID)
    }

    private func rules(of tenantID: String, _ call: Call) throws -> TenantRules {
        guard let rules = try tenants.rules(tenantID: tenantID, call.db) else {
            throw DomainError.notFound("no such tenant")
        }
        return rules
    }

    // MARK: Principals and tokens

    func createPrincipal(_ request: CreatePrincipalRequest, _ call: Call) throws -> Principal {
        try InputLimits.checkDisplayName(request.displayName)
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        guard request.roles.count <= InputLimits.listLength else { throw DomainError.invalidArgument("too many roles") }
        try Authorization.require(call.caller, .managePrincipals, on: Target(tenantID: request.tenantID))
        var roles: [LockboxCore.Role] = []
        for assignment in request.roles {
            guard let role = LockboxCore.Role(proto: assignment.role) else {
                throw DomainError.invalidArgument("unknown role")
            }
            guard role.isTenantRole == !request.tenantID.isEmpty else {
                throw DomainError.invalidArgument(
                    request.tenantID.isEmpty
                        ? "provider principals take provider roles only" : "tenant principals take tenant roles only"
                )
            }
            roles.append(role)
        }
        if !request.tenantID.isEmpty {
            _ = try rules(of: request.tenantID, call)
        }
        let id = try newPrincipal(
            displayName: request.displayName,
            tenantID: request.tenantID.isEmpty ? nil : request.tenantID,
            call
        )
        for role in Set(roles) { try assign(role, to: id, tenantID: request.tenantID, call) }
        return try principal(id, call).proto
    }

    func listPrincipals(_ request: ListPrincipalsRequest, _ call: Call) throws -> ListPrincipalsResponse {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        try Authorization.require(call.caller, .managePrincipals, on: Target(tenantID: request.tenantID))
        let records = try principals.list(
            tenantID: request.tenantID.isEmpty ? nil : request.tenantID,
            limit: InputLimits.maximumListLength,
            call.db
        )
        return ListPrincipalsResponse(principals: records.map(\.proto))
    }

    func issueToken(_ request: IssueTokenRequest, _ call: Call) throws -> IssuedToken {
        try InputLimits.check(request.principalID, field: "principal_id", max: InputLimits.idLength)
        guard request.ttlSeconds >= 0 && request.ttlSeconds <= InputLimits.maximumTokenLifetimeSeconds else {
            throw DomainError.invalidArgument("ttl_seconds must be between 0 (no expiry) and ten years")
        }
        let owner = try principal(request.principalID, call)
        try Authorization.require(call.caller, .managePrincipals, on: owner.target)
        return try newToken(principalID: owner.id, tenantID: owner.tenantID, ttlSeconds: request.ttlSeconds, call)
    }

    func revokeToken(_ request: RevokeTokenRequest, _ call: Call) throws -> Token {
        try InputLimits.check(request.tokenID, field: "token_id", max: InputLimits.idLength)
        guard let token = try tokens.find(id: request.tokenID, lock: true, call.db) else {
            throw DomainError.notFound("no such token")
        }
        try Authorization.require(call.caller, .managePrincipals, on: Target(tenantID: token.tenantID ?? ""))
        _ = try tokens.revoke(id: token.id, nowMs: call.nowMs, call.db)
        var revoked = token.proto
        revoked.revoked = true
        return revoked
    }

    /// Binds a principal to its client certificate (or unbinds it): whoever may manage the
    /// principal may. Its tokens then authenticate only over mutual TLS with that certificate.
    func bindCertificate(_ request: BindCertificateRequest, _ call: Call) throws -> Principal {
        try InputLimits.check(request.principalID, field: "principal_id", max: InputLimits.idLength)
        guard request.certificateSHA256.isEmpty || request.certificateSHA256.count == 32 else {
            throw DomainError.invalidArgument("certificate_sha256 must be 32 bytes (SHA-256), or empty to unbind")
        }
        let target = try principal(request.principalID, call)
        try Authorization.require(call.caller, .managePrincipals, on: target.target, notFound: "no such principal")
        let sha256 = request.certificateSHA256.isEmpty ? nil : request.certificateSHA256
        try principals.bindCertificate(id: target.id, sha256: sha256, call.db)
        return try principal(target.id, call).proto
    }

    /// Suspends a principal: revokes all of its tokens and ends its active grants, in one
    /// audited transaction. The provider's offboarding; a tenant's global admins may suspend
    /// their own tenant's principals.
    func suspend(_ request: SuspendPrincipalRequest, _ call: Call) throws -> Principal {
        try InputLimits.check(request.principalID, field: "principal_id", max: InputLimits.idLength)
        try InputLimits.check(request.reason, field: "reason", max: InputLimits.commentLength)
        let target = try principal(request.principalID, call)
        try Authorization.require(call.caller, .suspendPrincipals, on: target.target, notFound: "no such principal")
        guard target.id != call.caller.id else {
            throw DomainError(.failedPrecondition, "a principal cannot suspend itself")
        }
        // The suspension's record, and each token's revocation, carry the reason.
        try audit.with(details: ["reason": .string(request.reason)], call.db) {
            guard try principals.suspend(id: target.id, nowMs: call.nowMs, call.db) else {
                throw DomainError(.failedPrecondition, "the principal is suspended already")
            }
            _ = try tokens.revokeAll(principalID: target.id, nowMs: call.nowMs, call.db)
            if let tenantID = target.tenantID {
                _ = try trustStore.revokeAll(
                    tenantID: tenantID,
                    principalID: target.id,
                    reason: "the principal was suspended",
                    call.db
                )
            }
        }
        _ = try workflow.withdraw(
            requesterID: target.id,
            reason: "operator suspended: " + request.reason,
            by: call.caller,
            nowMs: call.nowMs,
            call.db
        )
        return try principal(target.id, call).proto
    }

    /// Lets a suspended principal authenticate again. Its tokens, grants and requests stay
    /// ended: it needs a new token, and an operator new requests. A request a support manager
    /// or the customer approved while it was suspended (racing the suspension) ends here too.
    func reactivate(_ request: ReactivatePrincipalRequest, _ call: Call) throws -> Principal {
        try InputLimits.check(request.principalID, field: "principal_id", max: InputLimits.idLength)
        try InputLimits.check(request.reason, field: "reason", max: InputLimits.commentLength, required: false)
        let target = try principal(request.principalID, call)
        try Authorization.require(call.caller, .suspendPrincipals, on: target.target, notFound: "no such principal")
        try audit.with(details: ["reason": .string(request.reason)], call.db) {
            guard try principals.reactivate(id: target.id, call.db) else {
                throw DomainError(.failedPrecondition, "the principal is not suspended")
            }
        }
        _ = try workflow.withdraw(
            requesterID: target.id,
            reason: "decided while the operator was suspended",
            by: call.caller,
            nowMs: call.nowMs,
            call.db
        )
        return try principal(target.id, call).proto
    }

    private func principal(_ id: String, _ call: Call) throws -> PrincipalRecord {
        guard let principal = try principals.find(id: id, call.db) else {
            throw DomainError.notFound("no such principal")
        }
        return principal
    }

    private func newPrincipal(displayName: String, tenantID: String?, _ call: Call) throws -> String {
        let id = Credentials.newID("p")
        try principals.create(id: id, tenantID: tenantID, displayName: displayName, nowMs: call.nowMs, call.db)
        return id
    }

    private func newToken(principalID: String, tenantID: String?, ttlSeconds: Int64, _ call: Call) throws
        -> IssuedToken
    {
        let secret = Credentials.newSecret(key: try tokens.credentialKey(call.db))
        let token = TokenRecord(
            id: Credentials.newID("tok"),
            principalID: principalID,
            tenantID: tenantID,
            createdAtMs: call.nowMs,
            expiresAtMs: ttlSeconds > 0 ? call.nowMs + ttlSeconds * 1000 : nil
        )
        try tokens.insert(token, secretHash: Credentials.hash(secret), call.db)
        return IssuedToken(token: token.proto, secret: secret)
    }

    // MARK: Roles

    func assignRole(_ request: RoleAssignment, _ call: Call) throws -> RoleAssignment {
        let role = try checkRoleChange(request, call)
        try assign(role, to: request.principalID, tenantID: request.tenantID, call)
        return RoleAssignmentRecord(
            principalID: request.principalID,
            role: role,
            tenantID: request.tenantID,
            assignedBy: call.caller.id,
            assignedAtMs: call.nowMs
        ).proto
    }

    func removeRole(_ request: RoleAssignment, _ call: Call) throws -> RoleAssignment {
        let role = try checkRoleChange(request, call)
        if role == .globalAdmin {
            // Serialize removals of a tenant's global admins, so two cannot remove the last two at once.
            _ = try tenants.rules(tenantID: request.tenantID, lock: true, call.db)
            if try principals.holders(of: .globalAdmin, tenantID: request.tenantID, call.db) <= 1 {
                throw DomainError(.failedPrecondition, "a tenant must keep at least one global admin")
            }
        }
        guard
            let removed = try principals.remove(
                principalID: request.principalID,
                role: role,
                tenantID: request.tenantID,
                call.db
            )
        else { throw DomainError.notFound("the principal does not hold that role") }
        // The keys the role let the principal use go with it.
        if role == .globalAdmin || role == .lockboxApprover {
            _ = try trustStore.revokeAll(
                tenantID: request.tenantID,
                principalID: request.principalID,
                reason: "the role \(role.rawValue) was removed",
                call.db
            )
        }
        return removed.proto
    }

    func listRoleAssignments(_ request: ListRoleAssignmentsRequest, _ call: Call) throws -> ListRoleAssignmentsResponse
    {
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        try Authorization.require(call.caller, .readRoles, on: Target(tenantID: request.tenantID))
        let records = try principals.assignments(
            tenantID: request.tenantID,
            limit: InputLimits.maximumListLength,
            call.db
        )
        return ListRoleAssignmentsResponse(assignments: records.map(\.proto))
    }

    /// Checks who may change this assignment: a tenant role only by a global admin of that
    /// tenant, on a principal of that tenant; a provider role only by a provider admin.
    private func checkRoleChange(_ request: RoleAssignment, _ call: Call) throws -> LockboxCore.Role {
        try InputLimits.check(request.principalID, field: "principal_id", max: InputLimits.idLength)
        try InputLimits.check(request.tenantID, field: "tenant_id", max: InputLimits.idLength, required: false)
        guard let role = LockboxCore.Role(proto: request.role) else {
            throw DomainError.invalidArgument("unknown role")
        }
        guard role.isTenantRole == !request.tenantID.isEmpty else {
            throw DomainError.invalidArgument(
                role.isTenantRole ? "tenant roles need a tenant_id" : "provider roles take no tenant_id"
            )
        }
        try Authorization.require(call.caller, .manageRoles, on: Target(tenantID: request.tenantID))
        guard let holder = try principals.find(id: request.principalID, call.db),
            (holder.tenantID ?? "") == request.tenantID
        else { throw DomainError.notFound("no such principal") }
        return role
    }

    private func assign(_ role: LockboxCore.Role, to principalID: String, tenantID: String, _ call: Call) throws {
        let assignment = RoleAssignmentRecord(
            principalID: principalID,
            role: role,
            tenantID: tenantID,
            assignedBy: call.caller.id,
            assignedAtMs: call.nowMs
        )
        guard try principals.assign(assignment, call.db) else {
            throw DomainError(.alreadyExists, "the principal already holds that role")
        }
    }
}
