import Crypto
import LockboxCore
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxStore
import LockboxTrust

/// The tenant's own trust (docs/audit-integrity.md, "Customer-signed statements"): its root,
/// the keys it certifies, their revocation and its policy, each a statement a tenant key
/// signed; and, for the other APIs, the decisions those keys sign and the evidence behind a
/// grant. lockboxd checks every statement before it stores it, and every stored one again
/// before it relies on it: what the database says counts only as far as the tenant's keys
/// signed it.
struct TrustAPI: Sendable {
    let gate: Gatekeeper
    let keeper: TrustKeeper
    let store = TrustStore()
    let principals = PrincipalStore()
    let tenants = TenantStore()
    let requests = RequestStore()
    let operations = OperationStore()
    let decisions = CustomerDecisionStore()

    /// A signed decision stays usable this long after lockboxd prepared it.
    static let decisionLifetimeMs: Int64 = 3_600_000

    func register(on router: inout RPCRouter) {
        router.register(LockboxMethods.adoptTenantRoot, gate: gate, adoptRoot)
        router.register(LockboxMethods.certifyKey, gate: gate, certifyKey)
        router.register(LockboxMethods.revokeKey, gate: gate, revokeKey)
        router.register(LockboxMethods.setTenantPolicy, gate: gate, setPolicy)
        router.register(LockboxMethods.getTenantTrust, gate: gate, getTrust)
        registerDelegations(on: &router)
    }

    // MARK: Roots

    /// Checks a root statement's signatures and stores it, attested by lockboxd: the first
    /// root of a tenant (`previous` nil), or a rotation signed by the current root too.
    func adopt(
        tenantID: String,
        publicKey: [UInt8],
        signature: [UInt8],
        previousSignature: [UInt8],
        _ db: PGConnection
    ) throws -> StoredRoot {
        guard publicKey.count == 32 else {
            throw DomainError.invalidArgument("a tenant root is a raw Ed25519 public key of 32 bytes")
        }
        let stored = try store.load(tenantID: tenantID, db)
        let current = try keeper.trust(tenantID: tenantID, version: stored.version, db)
        if !stored.roots.isEmpty, current?.trust.root == nil {
            throw DomainError(.failedPrecondition, "the tenant's stored roots do not verify; it cannot be rotated")
        }
        let previous = current?.trust.root
        let statement = TenantRootStatement(
            tenantID: tenantID,
            publicKey: publicKey,
            previousKeyID: previous?.keyID ?? ""
        )
        let bytes = statement.canonicalBytes
        let key = TrustKey(keyID: statement.keyID, algorithm: .ed25519, publicKey: publicKey)
        guard
            case .success = key.verify(
                SignedBytes(statement: bytes, keyID: key.keyID, signature: signature),
                rules: nil
            )
        else {
            throw DomainError(.permissionDenied, "the root's signature over its statement does not verify")
        }
        if let previous {
            guard previous.keyID != statement.keyID else {
                throw DomainError(.alreadyExists, "that key is the tenant's root already")
            }
            let old = TrustKey(keyID: previous.keyID, algorithm: .ed25519, publicKey: previous.publicKey)
            let rotation = SignedBytes(statement: bytes, keyID: previous.keyID, signature: previousSignature)
            guard case .success = old.verify(rotation, rules: nil) else {
                throw DomainError(
                    .permissionDenied,
                    "a new root needs the current root's signature over its statement (previous_signature)"
                )
            }
        }
        let attestation = keeper.integrity.attest(tenantID: tenantID, rootKeyID: statement.keyID, statement: bytes)
        let root = StoredRoot(
            seq: Int64(stored.roots.count + 1),
            keyID: statement.keyID,
            publicKey: publicKey,
            statement: bytes,
            signature: signature,
            previousSignature: previous == nil ? [] : previousSignature,
            attestation: attestation.signature,
            attestedBy: attestation.keyID
        )
        guard try store.insertRoot(tenantID: tenantID, root, db) else {
            throw DomainError(.failedPrecondition, "another root was adopted at the same time; try again")
        }
        return root
    }

    func adoptRoot(_ request: AdoptTenantRootRequest, _ call: Call) throws -> TenantRoot {
        try InputLimits.checkTenantID(request.tenantID)
        try Authorization.require(call.caller, .manageTrust, on: .tenant(request.tenantID))
        try lockTenant(request.tenantID, call)
        let root = try adopt(
            tenantID: request.tenantID,
            publicKey: request.publicKey,
            signature: request.signature,
            previousSignature: request.previousSignature,
            call.db
        )
        // A tenant with a root follows its signed policy: the initial one has the lockbox on.
        if root.seq == 1 {
            try tenants.update(
                tenantID: request.tenantID,
                lockboxEnabled: true,
                approvalWindowSeconds: nil,
                maxAccessDurationSeconds: nil,
                call.db
            )
        }
        return root.proto(tenantID: request.tenantID)
    }

    // MARK: Certificates, revocations, policy

    func certifyKey(_ request: SignedStatementRequest, _ call: Call) throws -> TenantKey {
        try authorize(request, call)
        guard let certificate = try? KeyCertificate(canonicalBytes: request.statement),
            certificate.tenantID == request.tenantID, certificate.issuerKeyID == request.issuerKeyID,
            certificate.keyID == certificate.algorithm.keyID(for: certificate.publicKey)
        else {
            throw DomainError.invalidArgument(
                "statement is not a lockbox/key-certificate/v1 of this tenant issued by issuer_key_id"
            )
        }
        guard certificate.notBeforeMs < certificate.notAfterMs else {
            throw DomainError.invalidArgument("the certificate's validity ends before it starts")
        }
        guard certificate.algorithm == .ed25519 || !certificate.capabilities.contains(.administer) else {
            throw DomainError.invalidArgument("only an Ed25519 key may administer; a passkey may decide")
        }
        guard !certificate.capabilities.isEmpty else {
            throw DomainError.invalidArgument("a certificate allows at least one of decide and administer")
        }
        guard let principal = try principals.find(id: certificate.principalID, call.db),
            principal.tenantID == request.tenantID
        else { throw DomainError.notFound("no such principal in this tenant") }
        let roles = Set(principal.roles.map(\.role))
        if certificate.capabilities.contains(.decide), roles.isDisjoint(with: [.lockboxApprover, .globalAdmin]) {
            throw DomainError(.failedPrecondition, "only an approver or a global admin may hold a key that decides")
        }
        if certificate.capabilities.contains(.administer), !roles.contains(.globalAdmin) {
            throw DomainError(.failedPrecondition, "only a global admin may hold a key that administers")
        }
        var stored = try store.load(tenantID: request.tenantID, call.db)
        let signed = request.stored()
        stored.certificates.append(
            StoredCertificate(keyID: certificate.keyID, principalID: principal.id, signed: signed)
        )
        let verified = TrustKeeper.verify(stored, serverKeys: keeper.integrity.knownKeys())
        guard verified.trust.certificates[certificate.keyID] == certificate else {
            throw DomainError(
                .permissionDenied,
                "the certificate is not signed by the tenant's root or by a key certified to administer"
            )
        }
        guard
            try store.insertCertificate(
                tenantID: request.tenantID,
                keyID: certificate.keyID,
                principalID: principal.id,
                algorithm: certificate.algorithm.rawValue,
                publicKey: certificate.publicKey,
                capabilities: certificate.capabilities.rawValue,
                notBeforeMs: certificate.notBeforeMs,
                notAfterMs: certificate.notAfterMs,
                signed: signed,
                call.db
            )
        else { throw DomainError(.alreadyExists, "that key is certified already") }
        return certificate.proto(signed: signed, revokedAtMs: nil)
    }

    func revokeKey(_ request: SignedStatementRequest, _ call: Call) throws -> TenantKey {
        try authorize(request, call)
        guard let revocation = try? KeyRevocation(canonicalBytes: request.statement),
            revocation.tenantID == request.tenantID, revocation.issuerKeyID == request.issuerKeyID
        else {
            throw DomainError.invalidArgument(
                "statement is not a lockbox/key-revocation/v1 of this tenant issued by issuer_key_id"
            )
        }
        var stored = try store.load(tenantID: request.tenantID, call.db)
        guard let certified = stored.certificates.first(where: { $0.keyID == revocation.keyID }),
            let certificate = try? KeyCertificate(canonicalBytes: certified.signed.statement)
        else { throw DomainError.notFound("no such certified key") }
        let signed = request.stored()
        stored.revocations.append(StoredRevocation(keyID: revocation.keyID, signed: signed, reason: ""))
        let verified = TrustKeeper.verify(stored, serverKeys: keeper.integrity.knownKeys())
        guard verified.trust.revoked.contains(revocation.keyID) else {
            throw DomainError(
                .permissionDenied,
                "the revocation is not signed by the tenant's root or by a key certified to administer"
            )
        }
        guard
            try store.insertRevocation(
                tenantID: request.tenantID,
                keyID: revocation.keyID,
                signed: signed,
                reason: "",
                call.db
            )
        else { throw DomainError(.alreadyExists, "that key is revoked already") }
        return certificate.proto(signed: certified.signed, revokedAtMs: call.nowMs)
    }

    func setPolicy(_ request: SignedStatementRequest, _ call: Call) throws -> TenantPolicyRecord {
        try authorize(request, call)
        guard let policy = try? TenantPolicy(canonicalBytes: request.statement),
            policy.tenantID == request.tenantID, policy.issuerKeyID == request.issuerKeyID
        else {
            throw DomainError.invalidArgument(
                "statement is not a lockbox/tenant-policy/v1 of this tenant issued by issuer_key_id"
            )
        }
        try InputLimits.check(policy.rpID, field: "rp_id", max: 253, required: false)
        for origin in policy.origins where !origin.hasPrefix("https://") || origin.utf8.count > 256 {
            throw DomainError.invalidArgument("each origin is an https:// origin of at most 256 bytes")
        }
        for rule in policy.approvalRules where ContentService(rawValue: rule.service) == nil {
            throw DomainError.invalidArgument(
                "an approval rule names a service that does not exist: use exchange, sharepoint, onedrive or teams"
            )
        }
        for rule in policy.autoApprovals {
            guard ContentService(rawValue: rule.service) != nil,
                LockboxCore.JustificationCategory(rawValue: rule.category) != nil,
                rule.maxDurationSeconds <= Policy().maximumDurationSeconds
            else {
                throw DomainError.invalidArgument(
                    "a pre-approval names a known service and justification category, for at most 4 hours"
                )
            }
            for operation in rule.operations { try InputLimits.checkOperation(operation) }
        }
        for category in policy.justificationCategories
        where LockboxCore.JustificationCategory(rawValue: category) == nil {
            throw DomainError.invalidArgument(
                "a justification category is one of incident, service_request, security_investigation, customer_requested"
            )
        }
        var stored = try store.load(tenantID: request.tenantID, call.db)
        guard stored.version != nil, !stored.roots.isEmpty else {
            throw DomainError(.failedPrecondition, "the tenant has no root: adopt one first")
        }
        let current = TrustKeeper.verify(stored, serverKeys: keeper.integrity.knownKeys()).policy.version
        guard policy.version == current + 1 else {
            throw DomainError(
                .failedPrecondition,
                "the policy's version must be \(current + 1), one past the one in force"
            )
        }
        let signed = request.stored()
        stored.policies.insert(StoredPolicy(version: policy.version, signed: signed), at: 0)
        guard TrustKeeper.verify(stored, serverKeys: keeper.integrity.knownKeys()).policy == policy else {
            throw DomainError(
                .permissionDenied,
                "the policy is not signed by the tenant's root or by a key certified to administer"
            )
        }
        guard try store.insertPolicy(tenantID: request.tenantID, version: policy.version, signed: signed, call.db)
        else {
            throw DomainError(.failedPrecondition, "another policy was set at the same time; try again")
        }
        // The column follows the signed policy, so that the workflow reads it; CheckAccess reads
        // the signed policy itself.
        try tenants.update(
            tenantID: request.tenantID,
            lockboxEnabled: policy.lockboxEnabled,
            approvalWindowSeconds: nil,
            maxAccessDurationSeconds: nil,
            call.db
        )
        return policy.proto(signed: signed, setAtMs: call.nowMs)
    }

    func getTrust(_ request: GetTenantTrustRequest, _ call: Call) throws -> LockboxProto.TenantTrust {
        try InputLimits.checkTenantID(request.tenantID)
        try Authorization.require(call.caller, .readTrust, on: .tenant(request.tenantID))
        let stored = try store.load(tenantID: request.tenantID, call.db)
        let verified = try keeper.trust(tenantID: request.tenantID, version: stored.version, call.db)
        let revoked = Dictionary(stored.revocations.map { ($0.keyID, $0.signed.atMs) }, uniquingKeysWith: { a, _ in a })
        return LockboxProto.TenantTrust(
            roots: stored.roots.map { $0.proto(tenantID: request.tenantID) },
            keys: stored.certificates.compactMap { certified in
                (try? KeyCertificate(canonicalBytes: certified.signed.statement)).map {
                    $0.proto(signed: certified.signed, revokedAtMs: revoked[certified.keyID])
                }
            },
            policy: verified.map { verified in
                verified.policy.proto(
                    signed: stored.policies.first { $0.version == verified.policy.version }?.signed,
                    setAtMs: stored.policies.first { $0.version == verified.policy.version }?.signed.atMs ?? 0
                )
            }
        )
    }

    private func authorize(_ request: SignedStatementRequest, _ call: Call) throws {
        try InputLimits.checkTenantID(request.tenantID)
        try Authorization.require(call.caller, .manageTrust, on: .tenant(request.tenantID))
        try InputLimits.check(request.issuerKeyID, field: "issuer_key_id", max: InputLimits.idLength)
        guard request.statement.count <= 4096, request.signature.count <= 1024 else {
            throw DomainError.invalidArgument("statement and signature are at most 4096 and 1024 bytes")
        }
        try lockTenant(request.tenantID, call)
    }

    /// Serializes changes to one tenant's trust.
    func lockTenant(_ tenantID: String, _ call: Call) throws {
        guard try tenants.rules(tenantID: tenantID, lock: true, call.db) != nil else {
            throw DomainError.notFound("no such tenant")
        }
    }

    // MARK: Decisions

    /// The statements an approver signs to approve or deny `request` now, naming `keyID`; nil
    /// when the tenant has no root (its decisions are not signed by its own keys).
    func decisionStatements(
        for request: RequestRecord,
        keyID: String,
        by caller: Caller,
        nowMs: Int64,
        policy: Policy,
        _ db: PGConnection
    ) throws -> (approve: DecisionStatement, deny: DecisionStatement)? {
        let version = try store.version(tenantID: request.tenantID, db)
        guard let verified = try keeper.trust(tenantID: request.tenantID, version: version, db),
            let rules = try tenants.rules(tenantID: request.tenantID, db)
        else { return nil }
        let fresh = SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) }
        let nonce = try requests.decisionNonce(id: request.id, fresh: fresh, db)
        let seconds = min(
            request.requestedDurationSeconds,
            rules.maxAccessDurationSeconds,
            policy.maximumDurationSeconds
        )
        // The window the approver allows: from now, or from the scheduled start (an extension's
        // is the end of the grant it continues).
        let start = max(nowMs, request.scheduledStartMs ?? nowMs)
        var approve = DecisionStatement(
            tenantID: request.tenantID,
            requestID: request.id,
            operatorID: request.requesterID,
            service: request.service.rawValue,
            operations: try operations.scope(of: request, db),
            startsAtMs: start,
            endsAtMs: start + seconds * 1000,
            decision: DecisionWord.approve.rawValue,
            approverID: caller.id,
            keyID: keyID,
            nonce: nonce,
            approvalsRequired: verified.policy.approvalRule(service: request.service.rawValue).approvalsRequired,
            personCountsOnce: verified.policy.approvalRule(service: request.service.rawValue).personCountsOnce
        )
        var deny = approve
        deny.decision = DecisionWord.deny.rawValue
        approve.decision = DecisionWord.approve.rawValue
        return (approve, deny)
    }

    /// A customer's decision, verified: the statement, its signature, and how the tenant's
    /// signed policy counts decisions on the request's service.
    struct VerifiedDecision: Sendable {
        var statement: DecisionStatement
        var signature: CustomerSignature
        var rule: ApprovalRule
        /// How many principals hold a key certified to decide (the M of N of M).
        var eligible: Int
        /// The tenant's trust it was verified against: the other decisions are verified the same.
        var trust: VerifiedTrust
    }

    /// What a customer's decision needs on a tenant with a root: the approver's signature, by
    /// a key certified to them to decide, over the statement lockboxd prepared (an approval may
    /// end earlier). Returns the verified statement, or nil for a tenant without a root or
    /// whose policy does not require signatures and that sent none (and asks for one approval).
    func verifyDecision(
        _ signed: SignedDecision?,
        approve: Bool,
        for request: RequestRecord,
        by caller: Caller,
        nowMs: Int64,
        _ db: PGConnection
    ) throws -> VerifiedDecision? {
        let version = try store.version(tenantID: request.tenantID, db)
        guard let verified = try keeper.trust(tenantID: request.tenantID, version: version, db) else { return nil }
        let rule = verified.policy.approvalRule(service: request.service.rawValue)
        guard let signed else {
            guard rule.approvalsRequired == 1 else {
                throw DomainError(
                    .failedPrecondition,
                    "this tenant's policy asks for \(rule.approvalsRequired) approvers' signed decisions on "
                        + "\(request.service.rawValue) (lockbox requests approve ID --key-file FILE)"
                )
            }
            guard !verified.policy.signaturesRequired else {
                throw DomainError(
                    .failedPrecondition,
                    "this tenant requires decisions signed by the approver's own key "
                        + "(lockbox requests approve ID --key-file FILE)"
                )
            }
            return nil
        }
        guard signed.statement.count <= 8192, signed.signature.count <= 1024,
            signed.authenticatorData.count <= 1024, signed.clientDataJSON.count <= 4096
        else { throw DomainError.invalidArgument("the signed decision is too large") }
        let customer = CustomerSignature(
            statement: signed.statement,
            keyID: signed.keyID,
            signature: signed.signature,
            authenticatorData: signed.authenticatorData,
            clientData: signed.clientDataJSON
        )
        let statement: DecisionStatement
        let counter: UInt32
        switch verified.verifyDecision(customer.bytes) {
        case .success(let result): (statement, counter) = result
        case .failure(let problem):
            throw DomainError(.permissionDenied, "the signed decision does not verify: \(problem)")
        }
        let scope = Set(try operations.scope(of: request, db))
        let checks: [(Bool, String)] = [
            (
                statement.requestID == request.id && statement.tenantID == request.tenantID,
                "it is about another request"
            ),
            (
                statement.operatorID == request.requesterID && statement.service == request.service.rawValue,
                "it names another operator or service"
            ),
            (statement.approverID == caller.id, "it names another approver than the caller"),
            (
                statement.delegationID.isEmpty
                    || verified.trust.delegations[statement.delegationID].map {
                        $0.startsAtMs <= nowMs && nowMs < $0.endsAtMs
                    } == true,
                "the delegation it names is not in force now"
            ),
            (
                statement.decision == (approve ? DecisionWord.approve : DecisionWord.deny).rawValue,
                "its decision is not the one asked for"
            ),
            (statement.nonce == request.decisionNonce, "its nonce is not this request's (get the request again)"),
            (
                !statement.operations.isEmpty && statement.operations == Array(Set(statement.operations)).sorted()
                    && Set(statement.operations).isSubset(of: scope),
                "its operations are not some of those the request asked for and are pre-approved now "
                    + "(get the request again)"
            ),
            (
                statement.approvalsRequired == rule.approvalsRequired
                    && statement.personCountsOnce == rule.personCountsOnce,
                "the tenant's approval rule changed since it was prepared (get the request again)"
            ),
            request.scheduledStartMs.map { start in
                // A scheduled window starts where lockboxd put it; the nonce binds it to the request.
                (statement.startsAtMs == start, "its window does not start at the request's scheduled start")
            }
                ?? (
                    statement.startsAtMs <= nowMs && nowMs - statement.startsAtMs <= Self.decisionLifetimeMs,
                    "it was prepared more than an hour ago, or not by this server (get the request again)"
                ),
            (!approve || statement.endsAtMs > nowMs, "its window has ended"),
            (
                statement.endsAtMs - statement.startsAtMs <= request.requestedDurationSeconds * 1000,
                "its window is longer than the request's duration"
            ),
        ]
        if let failed = checks.first(where: { !$0.0 }) {
            throw DomainError(.failedPrecondition, "the signed decision does not fit this request: \(failed.1)")
        }
        if let certificate = verified.trust.certificates[statement.keyID], certificate.algorithm == .es256WebAuthn {
            guard
                try store.advanceCounter(
                    tenantID: request.tenantID,
                    keyID: statement.keyID,
                    counter: Int64(counter),
                    db
                )
            else {
                throw DomainError(
                    .permissionDenied,
                    "the passkey's signature counter did not move forward: a replayed assertion or a cloned key"
                )
            }
        }
        return VerifiedDecision(
            statement: statement,
            signature: customer,
            rule: rule,
            eligible: verified.eligibleApprovers(nowMs: nowMs),
            trust: verified
        )
    }

    /// The tenant's signed policy in force at trust change `version` (read with the tenant's
    /// rules), verified; nil for a tenant without trust material.
    func policy(tenantID: String, version: Int64?, _ db: PGConnection) throws -> TenantPolicy? {
        try keeper.trust(tenantID: tenantID, version: version, db)?.policy
    }

    /// How many approvers' decisions the tenant's signed policy asks for on the request's
    /// service (0 for a tenant without a root), and each approver's decision so far.
    func standing(of request: RequestRecord, _ db: PGConnection) throws -> (required: Int32, votes: [CustomerVote]) {
        let version = try store.version(tenantID: request.tenantID, db)
        guard let verified = try keeper.trust(tenantID: request.tenantID, version: version, db) else { return (0, []) }
        let required = verified.policy.approvalRule(service: request.service.rawValue).approvalsRequired
        let decided = try verifiedDecisions(tenantID: request.tenantID, requestID: request.id, verified, db)
        let votes = decided.map { stored, statement in
            CustomerVote(
                approverID: statement.countedApproverID,
                decision: statement.decision == DecisionWord.approve.rawValue ? .approve : .deny,
                keyID: statement.keyID,
                decidedAtMs: stored.decidedAtMs,
                delegateID: statement.delegationID.isEmpty ? "" : statement.approverID,
                delegationID: statement.delegationID
            )
        }
        return (Int32(required), votes)
    }

    /// Each approver's stored decision on `request` that verifies against `verified` (the trust
    /// the caller's own decision verified against), with its statement, oldest first: about this
    /// request, by the approver and with the decision its row names. A row written behind
    /// lockboxd's back without the approver's signature counts for nothing.
    func verifiedDecisions(of request: RequestRecord, _ verified: VerifiedDecision, _ db: PGConnection) throws
        -> [DecisionStatement]
    {
        try verifiedDecisions(tenantID: request.tenantID, requestID: request.id, verified.trust, db).map(\.1)
    }

    private func verifiedDecisions(tenantID: String, requestID: String, _ verified: VerifiedTrust, _ db: PGConnection)
        throws -> [(StoredCustomerDecision, DecisionStatement)]
    {
        try decisions.list(tenantID: tenantID, requestID: requestID, db).compactMap { stored in
            guard case .success(let (statement, _)) = verified.verifyDecision(stored.signed.bytes),
                statement.requestID == requestID, statement.countedApproverID == stored.approverID,
                statement.decision == stored.decision
            else { return nil }
            return (stored, statement)
        }
    }

    // MARK: Access checks

    /// What backs an allowed grant on a tenant with trust material: the signed decisions of as
    /// many approvers as the tenant's policy asks for, each allowing this operation now, or the
    /// tenant's signed policy with the lockbox off. nil when it is backed; the denial otherwise.
    /// With `evidence`, the evidence for the data plane.
    func backing(
        tenantID: String,
        requestID: String,
        operatorID: String,
        service: ContentService,
        operation: String,
        version: Int64?,
        nowMs: Int64,
        evidence: Bool,
        _ db: PGConnection
    ) throws -> (backed: Bool, evidence: [UInt8]) {
        guard let verified = try keeper.trust(tenantID: tenantID, version: version, db) else { return (true, []) }
        guard !verified.trust.roots.isEmpty else { return (false, []) }
        if !verified.policy.lockboxEnabled {
            return (true, evidence ? verified.evidence(for: []).canonicalBytes : [])
        }
        let rule = verified.policy.approvalRule(service: service.rawValue)
        let trustVersion = verified.stored.version ?? 0
        var statements = keeper.verifiedDecisions(tenantID: tenantID, requestID: requestID, version: trustVersion)
        var approvals: [SignedBytes] = []
        if statements == nil || evidence {
            // Each approver's signed decision (migration 0014 holds the ones made before it too),
            // whatever the rule asks for now: a grant approved under N stays backed when N is lowered.
            let verifiedPairs = try verifiedDecisions(tenantID: tenantID, requestID: requestID, verified, db)
            let verifiedStatements = verifiedPairs.map(\.1)
            var approvers = Set<String>()
            var signers = Set<String>()
            let counting = rule.signedInto(verifiedStatements)
            // The evidence carries the approvals that count now: distinct approvers whose signed
            // window and scope allow this operation (each person once where the rule says so),
            // at most as many as any rule asks.
            for (stored, statement) in verifiedPairs
            where statement.allows(operation: operation, atMs: nowMs)
                && approvers.count < ApprovalRule.maximumApprovals
                && Quorum.counts(statement, rule: counting, seen: &approvers, signers: &signers)
            {
                approvals.append(stored.signed.bytes)
            }
            if statements == nil {
                statements = verifiedStatements
                keeper.remember(verifiedStatements, tenantID: tenantID, requestID: requestID, version: trustVersion)
            }
        }
        let all = statements ?? []
        let mine =
            all.allSatisfy { $0.operatorID == operatorID && $0.service == service.rawValue }
            ? all : all.filter { $0.operatorID == operatorID && $0.service == service.rawValue }
        if Quorum.backs(mine, rule: rule, operation: operation, atMs: nowMs) {
            return (true, evidence ? verified.evidence(for: approvals).canonicalBytes : [])
        }
        // A grant no approver signed may be one the tenant's signed pre-approval made: backed
        // while a rule of the policy in force still covers its service, category, length and
        // this operation. (Its evidence carries the policy only, which a data plane cannot
        // check against the request: it is refused there.)
        guard mine.isEmpty, !verified.policy.autoApprovals.isEmpty,
            let request = try requests.find(id: requestID, lock: false, db), request.tenantID == tenantID,
            request.requesterID == operatorID, request.service == service, let grant = request.grant,
            request.extendsRequestID == nil, request.customerDecision?.decidedBy == AuditEntry.systemActorID,
            let (_, granted) = verified.policy.autoApproval(
                service: service.rawValue,
                category: request.category?.rawValue,
                durationSeconds: (grant.endsAtMs - grant.startsAtMs) / 1000,
                asked: request.requestedOperations,
                preapproved: request.grantOperations
            ),
            granted.contains(operation.lowercased())
        else { return (false, []) }
        return (true, evidence ? verified.evidence(for: []).canonicalBytes : [])
    }
}

extension SignedStatementRequest {
    /// The statement and its signature as stored, by lockboxd's clock when `atMs` is given.
    func stored(atMs: Int64 = 0) -> StoredStatement {
        StoredStatement(statement: statement, issuerKeyID: issuerKeyID, signature: signature, atMs: atMs)
    }

    /// What a passkey signed beside the statement, as stored.
    var storedAssertion: StoredAssertion {
        StoredAssertion(authenticatorData: authenticatorData, clientData: clientDataJSON)
    }
}

extension StoredRoot {
    func proto(tenantID: String) -> TenantRoot {
        TenantRoot(
            tenantID: tenantID,
            keyID: keyID,
            publicKey: publicKey,
            statement: statement,
            signature: signature,
            previousSignature: previousSignature,
            attestedBy: attestedBy,
            attestation: attestation,
            adoptedAtMs: adoptedAtMs
        )
    }
}

extension KeyCertificate {
    func proto(signed: StoredStatement, revokedAtMs: Int64?) -> TenantKey {
        TenantKey(
            tenantID: tenantID,
            keyID: keyID,
            principalID: principalID,
            algorithm: algorithm.rawValue,
            publicKey: publicKey,
            capabilities: capabilities.names,
            notBeforeMs: notBeforeMs,
            notAfterMs: notAfterMs,
            issuerKeyID: issuerKeyID,
            statement: signed.statement,
            signature: signed.signature,
            revoked: revokedAtMs != nil,
            revokedAtMs: revokedAtMs ?? 0,
            certifiedAtMs: signed.atMs
        )
    }
}

extension TenantPolicy {
    func proto(signed: StoredStatement?, setAtMs: Int64) -> TenantPolicyRecord {
        TenantPolicyRecord(
            tenantID: tenantID,
            version: version,
            lockboxEnabled: lockboxEnabled,
            signaturesRequired: signaturesRequired,
            userVerificationRequired: userVerificationRequired,
            rpID: rpID,
            origins: origins,
            issuerKeyID: issuerKeyID,
            statement: signed?.statement ?? [],
            signature: signed?.signature ?? [],
            setAtMs: setAtMs,
            approvalRules: approvalRules.map { rule in
                ApprovalRuleRecord(
                    service: ContentService(rawValue: rule.service)?.proto ?? .unspecified,
                    approvalsRequired: Int32(rule.approvalsRequired),
                    denialEnds: rule.denialEnds,
                    personCountsOnce: rule.personCountsOnce
                )
            },
            justificationCategories: justificationCategories,
            autoApprovals: autoApprovals.map { rule in
                AutoApprovalRecord(
                    service: ContentService(rawValue: rule.service)?.proto ?? .unspecified,
                    category: LockboxCore.JustificationCategory(rawValue: rule.category)?.proto ?? .unspecified,
                    maxDurationSeconds: rule.maxDurationSeconds,
                    operations: rule.operations
                )
            }
        )
    }
}
