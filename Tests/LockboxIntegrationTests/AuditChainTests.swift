import Foundation
import LockboxCore
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxServer
@testable import LockboxStore
import LockboxTestSupport
import NIOConcurrencyHelpers
import Testing

/// The audit log's hash chains, checkpoints and signed approvals, in process, against a real
/// PostgreSQL and over real sockets.
@Suite struct AuditChainTests {
    /// An integrity export of `tenant`'s chain, as `token` sees it.
    static func export(_ h: Harness, tenant: String = "", token: String) async throws -> AuditExport {
        var data: [UInt8] = []
        for try await chunk in h.client.serverStream(
            LockboxMethods.exportAudit,
            ExportAuditRequest(tenantID: tenant, includeIntegrity: true),
            options: CallOptions(authToken: token)
        ) {
            data += chunk.data
        }
        return try AuditExport.parse(String(decoding: data, as: UTF8.self))
    }

    @Test func recordsAreSealedIntoTheirTenantsChainAndSearchShowsWhich() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let id = try await h.createRequest(w).id
            let before = try await h.call(
                LockboxMethods.searchAudit,
                SearchAuditRequest(tenantID: "contoso", item: id),
                token: w.contosoAdmin
            )
            #expect(before.records.count == 1)
            #expect(before.records.allSatisfy { $0.seq == 0 && $0.hash.isEmpty }, "not sealed yet")
            try await h.integrity.sealPending()
            let after = try await h.call(
                LockboxMethods.searchAudit,
                SearchAuditRequest(tenantID: "contoso", item: id),
                token: w.contosoAdmin
            )
            #expect(after.records.allSatisfy { $0.seq > 0 && $0.hash.count == 32 })
            // Each tenant's chain, and the provider's, runs from 1 without gaps.
            for scope in ["contoso", "fabrikam", ""] {
                let rows = try await h.sql(
                    "SELECT count(*) AS n, coalesce(max(seq), 0) AS top FROM audit_seals WHERE tenant_id = \(scope)"
                )
                let count = try rows.first!.int64("n")
                let top = try rows.first!.int64("top")
                #expect(count > 0 && count == top, "scope \(scope)")
            }
            let waiting = try await h.sql("SELECT count(*) AS n FROM audit_unsealed").first!.int64("n")
            #expect(waiting == 0)
        }
    }

    @Test func anExportVerifiesAgainstThePublishedKeyAndOnlyIt() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            for _ in 0..<5 {
                let id = try await h.createRequest(w).id
                try await h.approveInternally(w, id)
                try await h.approveByCustomer(w, id)
            }
            let export = try await Self.export(h, tenant: "contoso", token: w.contosoAdmin)
            let keys = try await h.client.unary(LockboxMethods.listSigningKeys, ListSigningKeysRequest())
            #expect(keys.keys.map(\.keyID) == [h.signer.keyID], "published, and without a token")
            let published = keys.keys.map { PublicSigningKey(keyID: $0.keyID, publicKey: $0.publicKey) }
            let result = ChainVerifier.verify(records: export.records, checkpoints: export.checkpoints, keys: published)
            #expect(result.isIntact, "\(result.findings)")
            #expect(export.records.count > 15)
            #expect(export.records.allSatisfy { $0.scope == "contoso" })
            #expect(export.records.map(\.seq) == Array(1...Int64(export.records.count)))
            #expect(export.checkpoints.last?.statement.seq == Int64(export.records.count))
            let stranger = try Signer(seed: [UInt8](repeating: 3, count: 32))
            let wrong = ChainVerifier.verify(
                records: export.records,
                checkpoints: export.checkpoints,
                keys: [stranger.publicKey]
            )
            #expect(wrong.findings.first?.kind == .unknownKey)
            // A second export reuses the checkpoint when nothing happened in between.
            let again = try await Self.export(h, tenant: "contoso", token: w.contosoAdmin)
            #expect(again.checkpoints == export.checkpoints)
            // The provider-wide chain, for an auditor.
            let provider = try await Self.export(h, token: w.auditorToken)
            #expect(!provider.records.isEmpty && provider.records.allSatisfy { $0.scope == "" })
            #expect(
                ChainVerifier.verify(records: provider.records, checkpoints: provider.checkpoints, keys: published)
                    .isIntact
            )
        }
    }

    @Test func aTenantReadsOnlyItsOwnChain() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            _ = try await h.createRequest(w)
            // A tenant's admin asking for another tenant's chain, or the provider's, gets its own or nothing.
            await #expect(throws: RPCError.self) {
                _ = try await Self.export(h, tenant: "fabrikam", token: w.contosoAdmin)
            }
            let own = try await Self.export(h, token: w.contosoAdmin)
            #expect(own.records.allSatisfy { $0.scope == "contoso" })
            let status = await h.status(
                LockboxMethods.listCheckpoints,
                ListCheckpointsRequest(tenantID: "fabrikam"),
                token: w.contosoApprover
            )
            #expect(status == .notFound)
            for token in [w.operatorToken, w.managerToken, w.providerAdmin, w.serviceToken] {
                let created = await h.status(
                    LockboxMethods.createCheckpoint,
                    CreateCheckpointRequest(tenantID: "contoso"),
                    token: token
                )
                #expect(created == .permissionDenied)
            }
            let checkpoint = try await h.call(
                LockboxMethods.createCheckpoint,
                CreateCheckpointRequest(),
                token: w.contosoApprover
            )
            #expect(checkpoint.scope == "contoso" && checkpoint.seq > 0)
            let listed = try await h.call(
                LockboxMethods.listCheckpoints,
                ListCheckpointsRequest(),
                token: w.contosoAdmin
            )
            #expect(listed.checkpoints.contains(checkpoint))
            // Refused: a range, or CSV.
            await #expect(throws: RPCError.self) {
                for try await _ in h.client.serverStream(
                    LockboxMethods.exportAudit,
                    ExportAuditRequest(tenantID: "contoso", fromMs: 1, includeIntegrity: true),
                    options: CallOptions(authToken: w.contosoAdmin)
                ) {}
            }
        }
    }

    /// Transactions commit in another order than their ids, and some roll back: the chain
    /// takes each committed record once, in commit order, and no rolled-back one.
    @Test func theChainFollowsCommitOrderAndSkipsRollbacks() async throws {
        try await Harness.with { h in
            let audit = AuditStore()
            let first = try PGConnection(url: h.databaseURL)
            let second = try PGConnection(url: h.databaseURL)
            let third = try PGConnection(url: h.databaseURL)
            func entry(_ activity: String) -> AuditEntry {
                AuditEntry(
                    tenantID: "order",
                    kind: .settings,
                    actorID: "test",
                    actorDisplay: "test",
                    actorIP: "",
                    activity: activity,
                    item: "",
                    details: [:]
                )
            }
            try first.execute(script: "BEGIN")
            try audit.append(entry("first, committed last"), first)
            try second.execute(script: "BEGIN")
            try audit.append(entry("second, committed first"), second)
            try third.execute(script: "BEGIN")
            try audit.append(entry("rolled back"), third)
            try second.execute(script: "COMMIT")
            try await h.integrity.sealPending()
            try third.execute(script: "ROLLBACK")
            try await h.integrity.sealPending()
            try first.execute(script: "COMMIT")
            try await h.integrity.sealPending()
            let rows = try await h.sql(
                """
                SELECT s.seq, a.activity FROM audit_seals s
                JOIN audit_records a ON a.tenant_id = s.tenant_id AND a.audit_id = s.audit_id
                WHERE s.tenant_id = 'order' ORDER BY s.seq
                """
            )
            #expect(
                try rows.rows.map { try $0.string("activity") } == ["second, committed first", "first, committed last"]
            )
            #expect(try rows.rows.map { try $0.int64("seq") } == [1, 2])
            let checkpoint = try await h.integrity.checkpoint(scope: "order")
            #expect(checkpoint.seq == 2)
        }
    }

    @Test func aCustomersDecisionIsSignedWithItsGrant() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let approved = try await h.createRequest(w).id
            try await h.approveInternally(w, approved)
            #expect(try await h.get(approved, token: w.contosoAdmin).approval == nil)
            try await h.approveByCustomer(w, approved)
            let request = try await h.get(approved, token: w.operatorToken)
            let signed = try #require(request.approval)
            let statement = try SignedApprovalStatement(
                statement: signed.statement,
                keyID: signed.keyID,
                signature: signed.signature
            ).verify(with: [h.signer.publicKey]).get()
            #expect(statement.tenantID == "contoso")
            #expect(statement.requestID == approved)
            #expect(statement.operatorID == w.operatorID)
            #expect(statement.service == "exchange")
            #expect(statement.approverID == w.contosoApproverID)
            #expect(statement.decision == "Approve")
            #expect(statement.startsAtMs == request.grant?.startsAtMs)
            #expect(statement.endsAtMs == request.grant?.endsAtMs)
            #expect(statement.isInForce(atMs: h.clock.nowMillis()))

            let denied = try await h.createRequest(w).id
            try await h.approveInternally(w, denied)
            _ = try await h.decide(
                w,
                CustomerDecision(requestID: denied, decision: .deny),
                token: w.contosoApprover
            )
            let deniedSigned = try #require(try await h.get(denied, token: w.contosoAdmin).approval)
            let deniedStatement = try SignedApprovalStatement(
                statement: deniedSigned.statement,
                keyID: deniedSigned.keyID,
                signature: deniedSigned.signature
            ).verify(with: [h.signer.publicKey]).get()
            #expect(deniedStatement.decision == "Deny" && deniedStatement.endsAtMs == 0)
        }
    }
}

/// Cancelling an export on the wire: the server reads no further page, and the connection
/// carries on.
@Suite struct ExportCancelTests {
    @Test func aCancelledExportStopsReadingAndItsConnectionGoesOn() async throws {
        // An export page's statement.
        let pages = WatchTests.StatementCounter("(recorded_at_ms, audit_id) >")
        try await Harness.with(statements: pages.observer) { h in
            let w = try await h.makeWorld()
            // 20 pages of records.
            _ = try await h.sql(
                """
                INSERT INTO audit_records (tenant_id, recorded_at_ms, kind, actor_id, actor_display, activity, item)
                SELECT 'contoso', i, 'lifecycle', 'someone', 'Someone', 'Filler', 'req_' || i
                FROM generate_series(1, 10000) i
                """
            )
            var chunks = 0
            for try await _ in h.client.serverStream(
                LockboxMethods.exportAudit,
                ExportAuditRequest(tenantID: "contoso", format: .jsonLines),
                options: CallOptions(authToken: w.contosoAdmin)
            ) {
                chunks += 1
                break
            }
            #expect(chunks == 1)
            try await Task.sleep(for: .milliseconds(500))
            let read = pages.value
            #expect(read < 5, "the export read \(read) of 20 pages after it was cancelled")
            // The same client, and its connection, go on.
            let settings = try await h.call(
                LockboxMethods.getTenantSettings,
                GetTenantSettingsRequest(tenantID: "contoso"),
                token: w.contosoAdmin
            )
            #expect(settings.tenantID == "contoso")
            try await Task.sleep(for: .milliseconds(500))
            #expect(pages.value == read, "no page read after the cancel")
        }
    }
}
