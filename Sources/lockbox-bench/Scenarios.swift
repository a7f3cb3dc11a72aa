import Foundation
import LockboxProto
import LockboxRPC
import LockboxTrust

/// The principals and tenant a database scenario works with, created through the API.
struct World: Sendable {
    var tenant: String
    var operatorID: String
    var operatorToken: String
    var managerID: String
    var managerToken: String
    var serviceID: String
    var serviceToken: String
    var approverToken: String
    /// The key the tenant's root certified to its admin, who approves: decisions are signed
    /// with it (a server from before signed decisions prepares nothing to sign, and is sent none).
    var approverKey: TenantSigner

    /// A customer approval of `requestID`, signed when the server prepares a statement.
    func approval(_ client: RPCClient, _ requestID: String) async throws -> CustomerDecision {
        let request = try await client.unary(
            LockboxMethods.getAccessRequest,
            GetAccessRequestRequest(requestID: requestID, signingKeyID: approverKey.keyID),
            options: CallOptions(authToken: approverToken)
        )
        var decision = CustomerDecision(requestID: requestID, decision: .approve)
        if !request.approveStatement.isEmpty {
            decision.signedDecision = SignedDecision(
                statement: request.approveStatement,
                keyID: approverKey.keyID,
                signature: approverKey.signature(over: request.approveStatement)
            )
        }
        return decision
    }

    static func make(_ client: RPCClient, adminToken: String) async throws -> World {
        func call<Request, Response>(
            _ method: UnaryMethod<Request, Response>,
            _ request: Request,
            token: String
        ) async throws -> Response {
            try await client.unary(method, request, options: CallOptions(authToken: token))
        }
        func provider(_ name: String, _ role: Role) async throws -> (String, String) {
            let principal = try await call(
                LockboxMethods.createPrincipal,
                CreatePrincipalRequest(displayName: name, roles: [RoleAssignment(role: role)]),
                token: adminToken
            )
            let token = try await call(
                LockboxMethods.issueToken,
                IssueTokenRequest(principalID: principal.id),
                token: adminToken
            )
            return (principal.id, token.secret)
        }
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let (operatorID, operatorToken) = try await provider("bench operator \(suffix)", .operator)
        let (managerID, managerToken) = try await provider("bench manager \(suffix)", .supportManager)
        let (serviceID, serviceToken) = try await provider("bench service \(suffix)", .service)
        let tenant = "bench-\(suffix)"
        let created = try await call(
            LockboxMethods.createTenant,
            CreateTenantRequest(tenantID: tenant, displayName: "Bench \(suffix)"),
            token: adminToken
        )
        // The tenant's root, made here as its first admin would, and the admin's own key.
        let root = try TenantSigner(seed: TenantSigner.newSeed())
        let approverKey = try TenantSigner(seed: TenantSigner.newSeed())
        let rootStatement = TenantRootStatement(tenantID: tenant, publicKey: root.publicKey, previousKeyID: "")
        let enrolled = try await client.unary(
            LockboxMethods.enrollTenantAdmin,
            EnrollTenantAdminRequest(
                tenantID: tenant,
                code: created.enrollment?.code ?? "",
                displayName: "bench admin",
                rootPublicKey: root.publicKey,
                rootSignature: root.signature(over: rootStatement.canonicalBytes)
            )
        )
        let approverToken = enrolled.token?.secret ?? ""
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let certificate = root.sign(
            KeyCertificate(
                tenantID: tenant,
                principalID: enrolled.admin?.id ?? "",
                algorithm: .ed25519,
                publicKey: approverKey.publicKey,
                capabilities: [.decide, .administer],
                notBeforeMs: now - 86_400_000,
                notAfterMs: now + 86_400_000 * 30,
                issuerKeyID: root.keyID
            )
        )
        // A server from before tenant roots has no such method: its decisions are not signed.
        _ = try? await call(
            LockboxMethods.certifyKey,
            SignedStatementRequest(
                tenantID: tenant,
                statement: certificate.statement,
                issuerKeyID: root.keyID,
                signature: certificate.signature
            ),
            token: approverToken
        )
        return World(
            tenant: tenant,
            operatorID: operatorID,
            operatorToken: operatorToken,
            managerID: managerID,
            managerToken: managerToken,
            serviceID: serviceID,
            serviceToken: serviceToken,
            approverToken: approverToken,
            approverKey: approverKey
        )
    }

    /// The check both the check and lifecycle scenarios make: a pre-approved operation on the
    /// world's tenant and service.
    var checkRequest: CheckAccessRequest {
        CheckAccessRequest(
            tenantID: tenant,
            service: .exchange,
            operatorID: operatorID,
            operation: "Get-Mailbox",
            clientIP: "203.0.113.9"
        )
    }

    func write(to path: String) throws {
        let text = """
            TENANT=\(tenant)
            OPERATOR_ID=\(operatorID)
            OPERATOR_TOKEN=\(operatorToken)
            MANAGER_ID=\(managerID)
            MANAGER_TOKEN=\(managerToken)
            SERVICE_ID=\(serviceID)
            SERVICE_TOKEN=\(serviceToken)
            APPROVER_TOKEN=\(approverToken)

            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// One timed call: its latency in microseconds, or its status code.
enum Timing: Sendable {
    case success(Int64)
    case failure(String)
}

/// What one worker iteration does, per scenario.
struct Operation: Sendable {
    let run: @Sendable (RPCClient, Int, Int) async -> [Timing]

    static func timed<Request, Response>(
        _ client: RPCClient,
        _ method: UnaryMethod<Request, Response>,
        _ request: Request,
        token: String
    ) async -> (Timing, Response?) {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let response = try await client.unary(method, request, options: CallOptions(authToken: token))
            let elapsed = clock.now - start
            return (
                .success(elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000),
                response
            )
        } catch {
            return (.failure("\(error.code)"), nil)
        }
    }

    static func createRequest(_ client: RPCClient, _ world: World, worker: Int, iteration: Int) async -> (
        Timing, AccessRequest?
    ) {
        await timed(
            client,
            LockboxMethods.createAccessRequest,
            CreateAccessRequestRequest(
                tenantID: world.tenant,
                service: .exchange,
                ticketNumber: "B-\(worker)-\(iteration)",
                justification: "benchmark",
                requestedDurationSeconds: 3600
            ),
            token: world.operatorToken
        )
    }

    /// The newest page of one tenant's audit log, optionally of one activity: what an admin
    /// portal asks most.
    static func search(tenant: String, token: String, activity: String, pageSize: UInt32) -> Operation {
        let request = SearchAuditRequest(tenantID: tenant, activity: activity, pageSize: pageSize)
        return Operation { client, _, _ in
            let (timing, response) = await timed(client, LockboxMethods.searchAudit, request, token: token)
            if case .success = timing, response?.records.count != Int(pageSize) { return [.failure("SHORT_PAGE")] }
            return [timing]
        }
    }

    static func make(_ scenario: LockboxBench.Scenario, world: World?, clients: [RPCClient]) async throws -> Operation {
        switch scenario {
        case .ping, .idle, .revoke, .search:
            return Operation { client, _, _ in
                [await timed(client, LockboxMethods.ping, PingRequest(), token: "").0]
            }
        case .create:
            let world = world!
            return Operation { client, worker, iteration in
                [await createRequest(client, world, worker: worker, iteration: iteration).0]
            }
        case .decide:
            let world = world!
            return Operation { client, worker, iteration in
                // Created untimed; the two decisions are timed.
                guard let request = await createRequest(client, world, worker: worker, iteration: iteration).1 else {
                    return [.failure("SETUP")]
                }
                let internalDecision = await timed(
                    client,
                    LockboxMethods.decideInternal,
                    InternalDecision(requestID: request.id, approve: true),
                    token: world.managerToken
                ).0
                // The statement to sign is fetched untimed; the signed decision is timed.
                guard let approval = try? await world.approval(client, request.id) else {
                    return [internalDecision, .failure("PREPARE")]
                }
                let customer = await timed(
                    client,
                    LockboxMethods.decideCustomer,
                    approval,
                    token: world.approverToken
                ).0
                return [internalDecision, customer]
            }
        case .check:
            let world = world!
            let id = try await clients[0].unary(
                LockboxMethods.createAccessRequest,
                CreateAccessRequestRequest(
                    tenantID: world.tenant,
                    service: .exchange,
                    ticketNumber: "B-check",
                    justification: "benchmark",
                    requestedDurationSeconds: 14400
                ),
                options: CallOptions(authToken: world.operatorToken)
            ).id
            _ = try await clients[0].unary(
                LockboxMethods.decideInternal,
                InternalDecision(requestID: id, approve: true),
                options: CallOptions(authToken: world.managerToken)
            )
            _ = try await clients[0].unary(
                LockboxMethods.decideCustomer,
                try await world.approval(clients[0], id),
                options: CallOptions(authToken: world.approverToken)
            )
            let check = world.checkRequest
            return Operation { client, _, _ in
                let (timing, response) = await timed(
                    client,
                    LockboxMethods.checkAccess,
                    check,
                    token: world.serviceToken
                )
                if case .success = timing, response?.allowed != true { return [.failure("DENIED")] }
                return [timing]
            }
        case .lifecycle:
            let world = world!
            return Operation { client, worker, iteration in
                let clock = ContinuousClock()
                let start = clock.now
                func fail(_ timing: Timing) -> [Timing] {
                    if case .failure = timing { return [timing] }
                    return [.failure("UNEXPECTED")]
                }
                let (created, request) = await createRequest(client, world, worker: worker, iteration: iteration)
                guard let request else { return fail(created) }
                let internalResult = await timed(
                    client,
                    LockboxMethods.decideInternal,
                    InternalDecision(requestID: request.id, approve: true),
                    token: world.managerToken
                ).0
                if case .failure = internalResult { return [internalResult] }
                guard let approval = try? await world.approval(client, request.id) else { return [.failure("PREPARE")] }
                let customer = await timed(
                    client,
                    LockboxMethods.decideCustomer,
                    approval,
                    token: world.approverToken
                ).0
                if case .failure = customer { return [customer] }
                let check = world.checkRequest
                for _ in 0..<5 {
                    let (timing, response) = await timed(
                        client,
                        LockboxMethods.checkAccess,
                        check,
                        token: world.serviceToken
                    )
                    if case .failure = timing { return [timing] }
                    if response?.allowed != true { return [.failure("DENIED")] }
                }
                let revoke = await timed(
                    client,
                    LockboxMethods.revokeAccess,
                    RevokeAccessRequest(requestID: request.id),
                    token: world.approverToken
                ).0
                if case .failure = revoke { return [revoke] }
                let elapsed = clock.now - start
                return [
                    .success(
                        elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
                    )
                ]
            }
        }
    }
}
