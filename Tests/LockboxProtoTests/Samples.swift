import LockboxProto

/// Populated samples: unicode, bytes with 0x00 and 0xff, extreme integers, nested messages present.
enum Samples {
    static let unicode = "Zoë — 日本語 — 🔐 — \u{202E}rtl"
    static let binary: [UInt8] = [0x00, 0xff, 0x00, 0x7f, 0x80, 0xff, 0x00]

    static let header = RequestHeader(
        callID: .max,
        method: "lockbox.v1.Lockbox/Ping",
        timeoutMs: .max,
        authToken: "lbx_" + String(repeating: "a", count: 43),
        idempotencyKey: unicode
    )
    static let status = Status(code: .failedPrecondition, message: unicode)
    static let internalDecision = InternalDecision(
        requestID: "req-1",
        approve: true,
        comment: unicode,
        decidedBy: "mgr-1",
        decidedAtMs: 1_790_000_000_000
    )
    static let customerDecision = CustomerDecision(
        requestID: "req-1",
        decision: .deny,
        comment: "not now — " + unicode,
        approvedDurationSeconds: 1800,
        decidedBy: "approver-1",
        decidedAtMs: 1_790_000_100_000,
        signedDecision: signedDecision
    )
    static let grant = Grant(
        requestID: "req-1",
        operatorID: "op-1",
        tenantID: "contoso",
        service: .sharepoint,
        startsAtMs: 1_790_000_100_000,
        endsAtMs: 1_790_003_700_000,
        active: true,
        secondsLeft: 3599,
        operations: ["get-mailbox", "get-mailboxstatistics", "ü-ünicode"]
    )
    static let accessRequest = AccessRequest(
        id: "req-1",
        tenantID: "contoso",
        service: .exchange,
        ticketNumber: "SR-12345",
        justification: unicode,
        requestedDurationSeconds: 14_400,
        requesterID: "op-1",
        status: .approved,
        createdAtMs: 1_789_999_000_000,
        updatedAtMs: 1_790_000_100_000,
        customerDeadlineMs: 1_790_043_000_000,
        internalDecision: internalDecision,
        customerDecision: customerDecision,
        grant: grant,
        operationsPerformed: .max,
        lastOperationAtMs: .min,
        approval: approval,
        requesterName: "Olivia " + unicode,
        approveStatement: binary + [1],
        denyStatement: binary + [2],
        customerSignature: signedDecision,
        approvalsRequired: 5,
        customerVotes: [
            customerVote, CustomerVote(approverID: unicode, decision: .deny, keyID: "", decidedAtMs: .max),
        ],
        startsAtMs: .max,
        extendsRequestID: unicode,
        requestedOperations: ["get-mailbox", unicode],
        category: .securityInvestigation,
        internalApprovers: ["mgr-1", unicode]
    )
    static let approval = SignedApproval(
        statement: binary + Array("lockbox/approval/v1".utf8),
        keyID: "ed25519:0123456789abcdef",
        signature: Array(repeating: 0xA5, count: 64)
    )
    static let checkpoint = Checkpoint(
        scope: "contoso",
        seq: .max,
        hash: binary + Array(repeating: 0xff, count: 25),
        signedAtMs: 1_790_000_000_999,
        keyID: "ed25519:0123456789abcdef",
        signature: Array(repeating: 0x5A, count: 64)
    )
    static let signedDecision = SignedDecision(
        statement: binary + [9],
        keyID: "es256:0123456789abcdef",
        signature: binary,
        authenticatorData: Array(repeating: 0xA1, count: 37),
        clientDataJSON: Array(#"{"type":"webauthn.get"}"#.utf8)
    )
    static let tenantRoot = TenantRoot(
        tenantID: "contoso",
        keyID: "ed25519:0123456789abcdef",
        publicKey: Array(repeating: 7, count: 32),
        statement: binary,
        signature: binary + [2],
        previousSignature: [],
        attestedBy: "ed25519:fedcba9876543210",
        attestation: binary + [3],
        adoptedAtMs: 1_790_000_000_000
    )
    static let tenantKey = TenantKey(
        tenantID: "contoso",
        keyID: "ed25519:0123456789abcdef",
        principalID: "p_approver",
        algorithm: "ed25519",
        publicKey: Array(repeating: 7, count: 32),
        capabilities: ["decide", "administer"],
        notBeforeMs: -1,
        notAfterMs: .max,
        issuerKeyID: "ed25519:fedcba9876543210",
        statement: binary,
        signature: binary,
        revoked: true,
        revokedAtMs: 1_790_000_000_001,
        certifiedAtMs: 1_790_000_000_000
    )
    static let tenantPolicy = TenantPolicyRecord(
        tenantID: "contoso",
        version: 3,
        lockboxEnabled: true,
        signaturesRequired: true,
        userVerificationRequired: false,
        rpID: "portal.contoso.example",
        origins: ["https://portal.contoso.example", "https://admin.contoso.example"],
        issuerKeyID: "ed25519:0123456789abcdef",
        statement: binary,
        signature: binary,
        setAtMs: 1_790_000_000_000,
        approvalRules: [approvalRule, ApprovalRuleRecord(service: .teams, approvalsRequired: 2, denialEnds: false)],
        justificationCategories: ["incident", unicode],
        autoApprovals: [autoApproval]
    )
    static let autoApproval = AutoApprovalRecord(
        service: .exchange,
        category: .incident,
        maxDurationSeconds: .max,
        operations: ["get-mailbox", unicode]
    )
    static let approvalRule = ApprovalRuleRecord(
        service: .exchange,
        approvalsRequired: .max,
        denialEnds: true,
        personCountsOnce: true
    )
    static let customerVote = CustomerVote(
        approverID: "p_approver",
        decision: .approve,
        keyID: "ed25519:0123456789abcdef",
        decidedAtMs: 1_790_000_000_000,
        delegateID: "p_delegate",
        delegationID: "dlg_0123"
    )
    static let delegation = LockboxProto.Delegation(
        tenantID: "contoso",
        delegationID: "dlg_0123456789abcdef0123456789abcdef",
        delegatorID: "p_alice",
        delegateID: unicode,
        services: ["exchange", unicode],
        startsAtMs: 1,
        endsAtMs: .max,
        keyID: "ed25519:0123456789abcdef",
        statement: binary,
        signature: binary,
        createdAtMs: 2,
        revoked: true,
        revokedAtMs: .max,
        revokedByKeyID: "es256:0123",
        holds: true
    )
    static let signingKey = SigningKey(
        keyID: "ed25519:0123456789abcdef",
        publicKey: binary + Array(repeating: 1, count: 25),
        firstSeenAtMs: 1,
        introducedByOwner: false,
        attestedBy: "ed25519:fedcba9876543210",
        attestation: Array(repeating: 0xA5, count: 64)
    )
    static let auditRecord = AuditRecord(
        id: 9_007_199_254_740_993,
        timeMs: 1_790_000_000_123,
        tenantID: "contoso",
        actorID: "op-1",
        actorDisplay: "Provider Operator",
        actorIP: "2001:db8::1",
        activity: "Get-Mailbox",
        item: "req-1",
        decision: .approve,
        detailsJSON: #"{"operator":"op-1","note":"\u0000 escaped"}"#,
        kind: .operatorAction,
        seq: 42,
        hash: binary + Array(repeating: 0x11, count: 25)
    )
    static let role = RoleAssignment(
        principalID: "p-1",
        role: .lockboxApprover,
        tenantID: "contoso",
        assignedBy: "ga-1",
        assignedAtMs: 1
    )
    static let settings = TenantSettings(
        tenantID: "contoso",
        lockboxEnabled: true,
        approvalWindowSeconds: 43_200,
        maxAccessDurationSeconds: 7200
    )
    static let principal = Principal(
        id: "p-1",
        displayName: unicode,
        tenantID: "contoso",
        roles: [role, RoleAssignment(principalID: "p-1", role: .globalAdmin, tenantID: "contoso")],
        createdAtMs: 5,
        suspendedAtMs: 6,
        email: "ann@contoso.example"
    )
    static let webhook = Webhook(
        id: "wh-1",
        tenantID: "contoso",
        url: "https://hooks.contoso.example/lockbox?k=" + unicode,
        createdBy: "p-1",
        createdAtMs: 7,
        consecutiveFailures: .max,
        disabledAtMs: 8
    )
    static let notification = LockboxProto.Notification(
        id: .max,
        tenantID: "contoso",
        requestID: "req-1",
        eventID: 42,
        channel: "email",
        kind: "awaiting_decision",
        recipient: "p-1",
        address: "ann@contoso.example",
        messageID: "lockbox.42.awaiting_decision.0011223344556677@provider.example",
        state: "failed",
        attempts: 10,
        nextAttemptAtMs: 9,
        lastError: unicode,
        createdAtMs: 1,
        finishedAtMs: 2
    )
    static let enrollmentCode = EnrollmentCode(tenantID: "contoso", code: "lbxe_" + unicode, expiresAtMs: .max)
    static let token = Token(id: "t-1", principalID: "p-1", createdAtMs: 1, expiresAtMs: 2, revoked: true)
    static let operation = PreapprovedOperation(service: .teams, operation: "Get-Mailbox", description: unicode)

    /// One populated value of every message type in proto/lockbox.proto.
    static let all: [any ProtoMessage] = [
        approvalRule, customerVote, autoApproval,
        header,
        RequestFrame(header: header, payload: binary, cancel: true),
        status,
        StreamEnd(status: status),
        ResponseFrame(callID: 7, payload: binary, end: StreamEnd(status: status), goaway: true),
        accessRequest,
        internalDecision,
        customerDecision,
        grant,
        auditRecord,
        role,
        settings,
        Tenant(id: "contoso", displayName: unicode, settings: settings, createdAtMs: 3),
        principal,
        token,
        IssuedToken(token: token, secret: "lbx_secret"),
        operation,
        PingRequest(),
        PingResponse(version: "0.1.0", serverTimeMs: 1_790_000_000_000),
        CreateAccessRequestRequest(
            tenantID: "contoso",
            service: .onedrive,
            ticketNumber: "SR-1",
            justification: unicode,
            requestedDurationSeconds: 60
        ),
        GetAccessRequestRequest(requestID: "req-1", signingKeyID: "ed25519:0123456789abcdef"),
        ListAccessRequestsRequest(
            tenantID: "contoso",
            status: .pendingCustomer,
            createdAfterMs: 10,
            service: .exchange,
            requestID: "req-1",
            pageSize: 500,
            pageToken: "cursor"
        ),
        ListAccessRequestsResponse(requests: [accessRequest, AccessRequest(id: "req-2")], nextPageToken: "next"),
        CancelAccessRequestRequest(requestID: "req-1", reason: unicode),
        RevokeAccessRequest(requestID: "req-1", reason: unicode),
        WatchAccessRequestsRequest(tenantID: "contoso", since: .max),
        AccessRequestEvent(
            request: accessRequest,
            activity: "Approve",
            live: true,
            eventID: 41,
            status: .approved,
            occurredAtMs: 1_790_000_000_000
        ),
        SetPrincipalEmailRequest(principalID: "p-1", email: "ann@contoso.example"),
        webhook,
        AddWebhookRequest(tenantID: "contoso", url: "https://hooks.contoso.example/" + unicode),
        AddWebhookResponse(webhook: webhook, secret: "whsec_0123"),
        ListWebhooksRequest(tenantID: "contoso"),
        ListWebhooksResponse(webhooks: [webhook, Webhook(id: "wh-2")]),
        RemoveWebhookRequest(webhookID: "wh-1"),
        notification,
        ListNotificationsRequest(tenantID: "contoso", state: "failed", pageSize: 100, pageToken: "99"),
        ListNotificationsResponse(notifications: [notification, LockboxProto.Notification(id: 1)], nextPageToken: "1"),
        signedDecision,
        tenantRoot,
        tenantKey,
        tenantPolicy,
        AdoptTenantRootRequest(
            tenantID: "contoso",
            publicKey: Array(repeating: 7, count: 32),
            signature: binary,
            previousSignature: binary + [1]
        ),
        SignedStatementRequest(tenantID: "contoso", statement: binary, issuerKeyID: "ed25519:0123", signature: binary),
        SignedStatementRequest(
            tenantID: "contoso",
            statement: binary,
            issuerKeyID: "es256:0123",
            signature: binary,
            authenticatorData: binary + [5],
            clientDataJSON: Array("{\"type\":\"webauthn.get\"}".utf8)
        ),
        delegation,
        LockboxProto.Delegation(delegationID: "dlg_0"),
        ListDelegationsRequest(tenantID: "contoso", principalID: unicode, includeEnded: true, pageSize: 100),
        ListDelegationsResponse(delegations: [delegation, LockboxProto.Delegation(tenantID: "t")]),
        GetTenantTrustRequest(tenantID: "contoso"),
        LockboxProto.TenantTrust(roots: [tenantRoot, tenantRoot], keys: [tenantKey], policy: tenantPolicy),
        CheckAccessRequest(
            tenantID: "contoso",
            service: .exchange,
            operatorID: "op-1",
            operation: "Get-Mailbox",
            clientIP: "10.0.0.1",
            includeEvidence: true
        ),
        CheckAccessResponse(
            allowed: false,
            reason: .unverifiedApproval,
            requestID: "req-1",
            grantEndsAtMs: 9,
            evidence: binary + [4]
        ),
        ListGrantsRequest(tenantID: "contoso", operatorID: "op-1"),
        ListGrantsResponse(grants: [grant, grant]),
        CreateTenantRequest(tenantID: "contoso", displayName: unicode),
        CreateTenantResponse(tenant: Tenant(id: "contoso", settings: settings), enrollment: enrollmentCode),
        enrollmentCode,
        Int64Value(value: .min),
        IssueEnrollmentCodeRequest(tenantID: "contoso"),
        EnrollTenantAdminRequest(
            tenantID: "contoso",
            code: "lbxe_x",
            displayName: unicode,
            rootPublicKey: Array(repeating: 7, count: 32),
            rootSignature: binary
        ),
        EnrollTenantAdminResponse(admin: principal, token: IssuedToken(token: token, secret: "s")),
        SetTenantSettingsRequest(
            tenantID: "contoso",
            approvalWindowSeconds: Int64Value(value: 600),
            maxAccessDurationSeconds: Int64Value()
        ),
        SetLockboxEnabledRequest(tenantID: "contoso", enabled: true, reason: unicode),
        SuspendPrincipalRequest(principalID: "p-1", reason: unicode),
        ReactivatePrincipalRequest(principalID: "p-1", reason: "back"),
        GetTenantSettingsRequest(tenantID: "contoso"),
        CreatePrincipalRequest(displayName: "Ann", tenantID: "contoso", roles: [role]),
        ListPrincipalsRequest(tenantID: "contoso"),
        ListPrincipalsResponse(principals: [principal, Principal(id: "p-2")]),
        IssueTokenRequest(principalID: "p-1", ttlSeconds: 3600),
        RevokeTokenRequest(tokenID: "t-1"),
        ListRoleAssignmentsRequest(tenantID: "contoso"),
        ListRoleAssignmentsResponse(assignments: [role]),
        SearchAuditRequest(
            tenantID: "contoso",
            fromMs: 1,
            toMs: 2,
            activity: "Approve",
            actorID: "a",
            item: "req-1",
            pageSize: 100,
            pageToken: "c",
            kind: .lifecycle
        ),
        SearchAuditResponse(records: [auditRecord, AuditRecord(id: 2)], nextPageToken: "n"),
        ExportAuditRequest(tenantID: "contoso", fromMs: 1, toMs: 2, format: .csv, includeIntegrity: true),
        approval,
        checkpoint,
        signingKey,
        ListSigningKeysRequest(),
        ListSigningKeysResponse(keys: [signingKey, SigningKey(keyID: "k2")]),
        ListCheckpointsRequest(tenantID: "contoso", afterSeq: .max, pageSize: .max),
        ListCheckpointsResponse(checkpoints: [checkpoint, Checkpoint(seq: 1)]),
        CreateCheckpointRequest(tenantID: unicode),
        BindCertificateRequest(principalID: "p-1", certificateSHA256: binary + Array(repeating: 0xC3, count: 25)),
        AuditExportChunk(data: binary),
        ListPreapprovedOperationsRequest(service: .exchange),
        ListPreapprovedOperationsResponse(operations: [operation]),
        RemovePreapprovedOperationRequest(service: .exchange, operation: "Get-Mailbox"),
        Empty(),
    ]
}
