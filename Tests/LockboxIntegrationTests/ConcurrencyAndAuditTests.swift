import Foundation
import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxServer
import LockboxStore
import LockboxTestSupport
import Testing

@Suite struct ConcurrencyTests {
    @Test func fiftyConcurrentDecisionsOneWinner() async throws {
        try await Harness.with(poolSize: 8) { h in
            let w = try await h.makeWorld()
            let id = try await h.createRequest(w).id
            try await h.approveInternally(w, id)
            let codes = await withTaskGroup(of: StatusCode.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let decision: Decision = index % 2 == 0 ? .approve : .deny
                        return await h.decideStatus(
                            w,
                            CustomerDecision(requestID: id, decision: decision),
                            token: index % 3 == 0 ? w.contosoAdmin : w.contosoApprover
                        )
                    }
                }
                return await group.reduce(into: [StatusCode]()) { $0.append($1) }
            }
            #expect(codes.filter { $0 == .ok }.count == 1)
            #expect(codes.filter { $0 == .failedPrecondition }.count == 49)
            let decisions = try await h.sql(
                "SELECT count(*) AS n FROM audit_records WHERE item = \(id) AND activity IN ('CustomerApprove', 'CustomerDeny')"
            )
            #expect(try decisions.first?.int64("n") == 1)
            let grants = try await h.sql("SELECT count(*) AS n FROM grants WHERE request_id = \(id)")
            let status = try await h.get(id, token: w.managerToken).status
            #expect(try grants.first?.int64("n") == (status == .approved ? 1 : 0))
        }
    }

    @Test func losersSeeTheCurrentState() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let id = try await h.createRequest(w).id
            try await h.approveInternally(w, id)
            try await h.approveByCustomer(w, id)
            await #expect(throws: RPCError(.failedPrecondition, "request is APPROVED")) {
                _ = try await h.decide(
                    w,
                    CustomerDecision(requestID: id, decision: .deny),
                    token: w.contosoAdmin
                )
            }
        }
    }

    @Test func fiftyConcurrentCreatesWithOneKeyMakeOneRequest() async throws {
        try await Harness.with(poolSize: 8) { h in
            let w = try await h.makeWorld()
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await h.createRequest(w, key: "ticket-SR-1001-attempt").id }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(ids).count == 1)
            let rows = try await h.sql("SELECT count(*) AS n FROM access_requests")
            #expect(try rows.first?.int64("n") == 1)
            let audits = try await h.sql(
                "SELECT count(*) AS n FROM audit_records WHERE activity = 'AccessRequestCreated'"
            )
            #expect(try audits.first?.int64("n") == 1)
        }
    }

    @Test func sameKeyDifferentPayloadIsRefused() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let first = try await h.createRequest(w, duration: 600, key: "k1")
            let again = try await h.createRequest(w, duration: 600, key: "k1")
            #expect(again == first)
            await #expect(
                throws: RPCError(.alreadyExists, "this idempotency key was already used for a different request")
            ) {
                _ = try await h.createRequest(w, duration: 900, key: "k1")
            }
            // Keys are per requester: another operator may use the same one.
            let other = try await h.createRequest(w, token: w.operator2Token, duration: 600, key: "k1")
            #expect(other.id != first.id)
        }
    }
}

@Suite struct AuditTests {
    @Test func eachTransitionWritesExactlyItsRecord() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            // The database's clock stamps each record, whatever the server's clock says.
            let wallBefore = Int64(Date().timeIntervalSince1970 * 1000)
            let id = try await h.createRequest(w).id
            try await h.approveInternally(w, id)
            try await h.approveByCustomer(w, id)
            _ = try await h.call(
                LockboxMethods.revokeAccess,
                RevokeAccessRequest(requestID: id, reason: "done early"),
                token: w.contosoApprover
            )
            let page = try await h.call(
                LockboxMethods.searchAudit,
                SearchAuditRequest(tenantID: "contoso", item: id),
                token: w.contosoAdmin
            )
            let records = Array(page.records.reversed())
            #expect(
                records.map(\.activity) == [
                    "AccessRequestCreated", "InternalApprove", "CustomerApprove", "AccessRevoked",
                ]
            )
            #expect(records.map(\.actorID) == [w.operatorID, w.managerID, w.contosoApproverID, w.contosoApproverID])
            #expect(records.map(\.decision) == [.unspecified, .approve, .approve, .unspecified])
            #expect(records.allSatisfy { $0.actorIP == "127.0.0.1" && $0.tenantID == "contoso" && $0.item == id })
            let wallAfter = Int64(Date().timeIntervalSince1970 * 1000) + 1
            #expect(records.allSatisfy { $0.timeMs >= wallBefore && $0.timeMs <= wallAfter })
            #expect(records.map(\.timeMs) == records.map(\.timeMs).sorted())
            func details(_ record: AuditRecord) throws -> [String: Any] {
                try JSONSerialization.jsonObject(with: Data(record.detailsJSON.utf8)) as? [String: Any] ?? [:]
            }
            #expect(try details(records[3])["reason"] as? String == "done early")
            #expect(try details(records[2])["to"] as? String == "APPROVED")
            #expect(try details(records[2])["grant_ends_at_ms"] as? Int64 == Harness.start + 3_600_000)
        }
    }

    @Test func detailsKeepQuotesBackslashesAndNewlines() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let text = "He said \"hi\" \\ then left\nnext line\ttab — ünïcode 🔐 </script>"
            let request = try await h.call(
                LockboxMethods.createAccessRequest,
                CreateAccessRequestRequest(
                    tenantID: "contoso",
                    service: .teams,
                    ticketNumber: "T-\"1\"",
                    justification: text,
                    requestedDurationSeconds: 60
                ),
                token: w.operatorToken
            )
            #expect(request.justification == text)
            let page = try await h.call(
                LockboxMethods.searchAudit,
                SearchAuditRequest(tenantID: "contoso", item: request.id),
                token: w.contosoAdmin
            )
            let details =
                try JSONSerialization.jsonObject(with: Data(try #require(page.records.first).detailsJSON.utf8))
                as? [String: Any]
            #expect(details?["justification"] as? String == text)
            #expect(details?["ticket_number"] as? String == "T-\"1\"")
        }
    }

    @Test func theDatabaseRefusesUpdateDeleteAndTruncate() async throws {
        try await Harness.with { h in
            _ = try await h.makeWorld()
            try await h.integrity.sealPending()
            _ = try await h.integrity.checkpoint(scope: "contoso")
            for statement: PGQuery in [
                "UPDATE audit_records SET activity = 'forged'",
                "DELETE FROM audit_records",
                "TRUNCATE audit_records CASCADE",
                "UPDATE audit_seals SET seq = seq + 1",
                "DELETE FROM audit_checkpoints",
                "TRUNCATE signing_keys",
            ] {
                do {
                    _ = try await h.sql(statement)
                    Issue.record("\(statement.sql) succeeded")
                } catch let error as StoreError {
                    #expect(error.code == .raised, "\(statement.sql): \(error)")
                    #expect(error.detail.contains("audit records are append-only"))
                }
            }
            let forged = try await h.sql("SELECT count(*) AS n FROM audit_records WHERE activity = 'forged'")
            #expect(try forged.first?.int64("n") == 0)
        }
    }

    @Test func aRolledBackOperationLeavesNoRecord() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let id = try await h.createRequest(w).id
            try await h.approveInternally(w, id)
            // Make the audit insert of a customer approval fail after it was written.
            _ = try await h.sql(
                """
                CREATE FUNCTION fail_customer_approve() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.activity = 'CustomerApprove' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$
                """
            )
            _ = try await h.sql(
                "CREATE TRIGGER fail_customer_approve AFTER INSERT ON audit_records FOR EACH ROW EXECUTE FUNCTION fail_customer_approve()"
            )
            await #expect(throws: RPCError(.internal, "internal error")) { try await h.approveByCustomer(w, id) }
            #expect(try await h.get(id, token: w.managerToken).status == .pendingCustomer)
            let audit = try await h.sql("SELECT count(*) AS n FROM audit_records WHERE activity = 'CustomerApprove'")
            #expect(try audit.first?.int64("n") == 0)
            let grants = try await h.sql("SELECT count(*) AS n FROM grants")
            #expect(try grants.first?.int64("n") == 0)
        }
    }

    @Test func paginationIsStableWhileRecordsArrive() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            for _ in 0..<12 { _ = try await h.createRequest(w) }
            let before = try await h.sql("SELECT audit_id FROM audit_records WHERE tenant_id = 'contoso'")
            let existing = Set(try before.rows.map { try $0.int64("audit_id") })
            var seen: [Int64] = []
            var token = ""
            repeat {
                let page = try await h.call(
                    LockboxMethods.searchAudit,
                    SearchAuditRequest(tenantID: "contoso", pageSize: 4, pageToken: token),
                    token: w.contosoAdmin
                )
                seen += page.records.map(\.id)
                token = page.nextPageToken
                // New records arrive between pages.
                _ = try await h.createRequest(w)
            } while !token.isEmpty
            #expect(seen.count == Set(seen).count, "no record twice")
            #expect(Set(seen).isSuperset(of: existing), "no record missed")
            #expect(seen == seen.sorted(by: >))
        }
    }

    /// A filter that matches little reads a bounded part of the log per page: a page may come
    /// back empty with a token, and paging on finds what is older, in order, once each, and
    /// ends. Across all tenants (an auditor) the same holds.
    @Test func aFilterThatMatchesLittleReadsABoundedPageAndPagingFindsWhatIsOlder() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let insert: PGQuery = """
                INSERT INTO audit_records (tenant_id, recorded_at_ms, kind, actor_id, actor_display, activity, details)
                SELECT 'contoso', \(Harness.start) + g, 'operator_action', 'prn_load', 'Load', \("Get-Mailbox"), '{}'::jsonb
                FROM generate_series(1, \(Int64(AuditStore.searchScanLimit * 2 + 500))) AS g
                """
            _ = try await h.sql(
                """
                INSERT INTO audit_records (tenant_id, recorded_at_ms, kind, actor_id, actor_display, activity, details)
                VALUES ('contoso', \(Harness.start), 'operator_action', 'prn_load', 'Load', 'Rare-Op', '{}'::jsonb)
                """
            )
            _ = try await h.sql(insert)
            let rare = try await h.sql("SELECT audit_id FROM audit_records WHERE activity = 'Rare-Op'").first!.int64(
                "audit_id"
            )
            for (token, tenant) in [(w.contosoAdmin, "contoso"), (w.auditorToken, "")] {
                var pages: [SearchAuditResponse] = []
                var next = ""
                repeat {
                    let page = try await h.call(
                        LockboxMethods.searchAudit,
                        SearchAuditRequest(tenantID: tenant, activity: "Rare-Op", pageSize: 5, pageToken: next),
                        token: token
                    )
                    pages.append(page)
                    next = page.nextPageToken
                } while !next.isEmpty && pages.count < 50
                #expect(
                    pages.first?.records.isEmpty == true && pages.first?.nextPageToken.isEmpty == false,
                    "the first page read its limit and found nothing: \(tenant)"
                )
                #expect(pages.flatMap(\.records).map(\.id) == [rare], "\(tenant)")
                #expect(next.isEmpty, "paging ends")
                #expect(pages.count >= 3 && pages.count <= 5, "\(pages.count) pages")
            }
        }
    }

    @Test func pageSizeIsBounded() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            for _ in 0..<3 { _ = try await h.createRequest(w) }
            let page = try await h.call(
                LockboxMethods.searchAudit,
                SearchAuditRequest(pageSize: 1_000_000),
                token: w.auditorToken
            )
            #expect(page.records.count <= Int(InputLimits.maximumPageSize))
            let small = try await h.call(
                LockboxMethods.searchAudit,
                SearchAuditRequest(pageSize: 2),
                token: w.auditorToken
            )
            #expect(small.records.count == 2)
            #expect(!small.nextPageToken.isEmpty)
        }
    }

    @Test func exportStreamsJSONLinesAndCSV() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            for _ in 0..<30 { _ = try await h.createRequest(w) }
            let count = try await h.sql("SELECT count(*) AS n FROM audit_records WHERE tenant_id = 'contoso'").first!
                .int64("n")
            func export(_ format: AuditExportFormat) async throws -> String {
                var data: [UInt8] = []
                for try await chunk in h.client.serverStream(
                    LockboxMethods.exportAudit,
                    ExportAuditRequest(tenantID: "contoso", format: format),
                    options: CallOptions(authToken: w.contosoAdmin)
                ) {
                    data += chunk.data
                }
                return String(decoding: data, as: UTF8.self)
            }
            let jsonl = try await export(.jsonLines).split(separator: "\n")
            #expect(jsonl.count == Int(count))
            for line in jsonl {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object?["tenant_id"] as? String == "contoso")
                #expect(object?["details"] is [String: Any])
            }
            let csv = try await export(.csv).split(separator: "\n")
            #expect(
                csv.first == "id,time,tenant_id,kind,actor_id,actor_display,actor_ip,activity,item,decision,details"
            )
            #expect(csv.count == Int(count) + 1)
        }
    }
}
