import Foundation
import LockboxProto
import Testing

/// Checks the binding against an independent implementation: protoc's own encoder and decoder.
/// Without protoc these tests fail rather than skip; scripts/test installs it.
@Suite struct WireCompatibilityTests {
    @Test func accessRequestSwiftToProtoc() throws {
        let text = try Protoc.decode(Samples.accessRequest.encode(), as: "AccessRequest")
        #expect(text.contains(#"id: "req-1""#))
        #expect(text.contains("service: SERVICE_EXCHANGE"))
        #expect(text.contains(#"ticket_number: "SR-12345""#))
        #expect(text.contains("requested_duration_seconds: 14400"))
        #expect(text.contains("status: REQUEST_STATUS_APPROVED"))
        #expect(text.contains("operations_performed: 9223372036854775807"))
        #expect(text.contains("last_operation_at_ms: -9223372036854775808"))
        #expect(text.contains("grant {"))
        #expect(text.contains("decision: DECISION_DENY"))
        // And back through protoc's encoder, unchanged.
        #expect(try AccessRequest(decoding: Protoc.encode(text, as: "AccessRequest")) == Samples.accessRequest)
    }

    @Test func protocToSwift() throws {
        let request = try AccessRequest(
            decoding: Protoc.encode(
                """
                id: "r-9" tenant_id: "fabrikam" service: SERVICE_TEAMS ticket_number: "T-1"
                justification: "caf\\303\\251" requested_duration_seconds: 3600 status: REQUEST_STATUS_PENDING_INTERNAL
                internal_decision { request_id: "r-9" approve: true comment: "ok" }
                """,
                as: "AccessRequest"
            )
        )
        #expect(request.id == "r-9")
        #expect(request.tenantID == "fabrikam")
        #expect(request.service == .teams)
        #expect(request.justification == "café")
        #expect(request.requestedDurationSeconds == 3600)
        #expect(request.status == .pendingInternal)
        #expect(request.internalDecision == InternalDecision(requestID: "r-9", approve: true, comment: "ok"))
        #expect(request.grant == nil)
    }

    @Test func decisionsBothWays() throws {
        let customerText = try Protoc.decode(Samples.customerDecision.encode(), as: "CustomerDecision")
        #expect(customerText.contains("approved_duration_seconds: 1800"))
        #expect(
            try CustomerDecision(decoding: Protoc.encode(customerText, as: "CustomerDecision"))
                == Samples.customerDecision
        )

        let internalText = try Protoc.decode(Samples.internalDecision.encode(), as: "InternalDecision")
        #expect(internalText.contains("approve: true"))
        #expect(
            try InternalDecision(decoding: Protoc.encode(internalText, as: "InternalDecision"))
                == Samples.internalDecision
        )

        let fromProtoc = try CustomerDecision(
            decoding: Protoc.encode(
                #"request_id: "x" decision: DECISION_CANCEL comment: "withdrawn""#,
                as: "CustomerDecision"
            )
        )
        #expect(fromProtoc == CustomerDecision(requestID: "x", decision: .cancel, comment: "withdrawn"))
    }

    @Test func grantBothWays() throws {
        let text = try Protoc.decode(Samples.grant.encode(), as: "Grant")
        #expect(text.contains("service: SERVICE_SHAREPOINT"))
        #expect(text.contains("ends_at_ms: 1790003700000"))
        #expect(text.contains(#"operations: "get-mailbox""#) && text.contains(#"operations: "get-mailboxstatistics""#))
        #expect(try Grant(decoding: Protoc.encode(text, as: "Grant")) == Samples.grant)
    }

    @Test func auditRecordBothWays() throws {
        let text = try Protoc.decode(Samples.auditRecord.encode(), as: "AuditRecord")
        #expect(text.contains("id: 9007199254740993"))
        #expect(text.contains(#"actor_ip: "2001:db8::1""#))
        #expect(text.contains(#"activity: "Get-Mailbox""#))
        #expect(try AuditRecord(decoding: Protoc.encode(text, as: "AuditRecord")) == Samples.auditRecord)
    }

    @Test func integrityMessagesBothWays() throws {
        let record = try Protoc.decode(Samples.auditRecord.encode(), as: "AuditRecord")
        #expect(record.contains("seq: 42"))
        #expect(record.contains(#"hash: "\000\377\000\177\200\377\000\021"#))
        let checkpoint = try Protoc.decode(Samples.checkpoint.encode(), as: "Checkpoint")
        #expect(checkpoint.contains("seq: 9223372036854775807"))
        #expect(checkpoint.contains(#"key_id: "ed25519:0123456789abcdef""#))
        #expect(try Checkpoint(decoding: Protoc.encode(checkpoint, as: "Checkpoint")) == Samples.checkpoint)
        let request = try Protoc.decode(Samples.accessRequest.encode(), as: "AccessRequest")
        #expect(request.contains("approval {"))
        #expect(try AccessRequest(decoding: Protoc.encode(request, as: "AccessRequest")) == Samples.accessRequest)
        let export = try ExportAuditRequest(
            decoding: Protoc.encode(#"tenant_id: "contoso" include_integrity: true"#, as: "ExportAuditRequest")
        )
        #expect(export == ExportAuditRequest(tenantID: "contoso", includeIntegrity: true))
        let keys = ListSigningKeysResponse(keys: [Samples.signingKey])
        let text = try Protoc.decode(keys.encode(), as: "ListSigningKeysResponse")
        #expect(text.contains(#"attested_by: "ed25519:fedcba9876543210""#))
        #expect(try ListSigningKeysResponse(decoding: Protoc.encode(text, as: "ListSigningKeysResponse")) == keys)
    }

    @Test func envelopeBothWays() throws {
        let frame = RequestFrame(header: Samples.header, payload: Samples.binary)
        let text = try Protoc.decode(frame.encode(), as: "RequestFrame")
        #expect(text.contains("call_id: 18446744073709551615"))
        #expect(text.contains(#"payload: "\000\377\000\177\200\377\000""#))
        #expect(try RequestFrame(decoding: Protoc.encode(text, as: "RequestFrame")) == frame)

        let response = try ResponseFrame(
            decoding: Protoc.encode(
                #"call_id: 3 end { status { code: NOT_FOUND message: "no such request" } }"#,
                as: "ResponseFrame"
            )
        )
        #expect(response.callID == 3)
        #expect(response.end?.status == Status(code: .notFound, message: "no such request"))
    }

    @Test func presenceAndEnrollmentBothWays() throws {
        // A setting that is not sent stays absent, and one that is sent with 0 is present.
        let partial = try SetTenantSettingsRequest(
            decoding: Protoc.encode(
                #"tenant_id: "contoso" max_access_duration_seconds { }"#,
                as: "SetTenantSettingsRequest"
            )
        )
        #expect(partial.approvalWindowSeconds == nil)
        #expect(partial.maxAccessDurationSeconds == Int64Value(value: 0))
        let text = try Protoc.decode(
            SetTenantSettingsRequest(tenantID: "t", approvalWindowSeconds: Int64Value(value: 600)).encode(),
            as: "SetTenantSettingsRequest"
        )
        #expect(text.contains("approval_window_seconds {"))
        #expect(!text.contains("max_access_duration_seconds"))

        let created = CreateTenantResponse(tenant: Tenant(id: "contoso"), enrollment: Samples.enrollmentCode)
        let createdText = try Protoc.decode(created.encode(), as: "CreateTenantResponse")
        #expect(createdText.contains("enrollment {"))
        #expect(try CreateTenantResponse(decoding: Protoc.encode(createdText, as: "CreateTenantResponse")) == created)

        let record = try AuditRecord(decoding: Protoc.encode("id: 1 kind: AUDIT_KIND_ENROLLMENT", as: "AuditRecord"))
        #expect(record.kind == .enrollment)
        let check = try CheckAccessResponse(
            decoding: Protoc.encode("reason: ACCESS_DENY_REASON_OPERATOR_SUSPENDED", as: "CheckAccessResponse")
        )
        #expect(check.reason == .operatorSuspended)
    }
}

enum Protoc {
    static let path: String? = ["/usr/bin/protoc", "/usr/local/bin/protoc"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func decode(_ bytes: [UInt8], as message: String) throws -> String {
        String(decoding: try run(["--decode=lockbox.v1.\(message)"], input: Data(bytes)), as: UTF8.self)
    }

    static func encode(_ text: String, as message: String) throws -> [UInt8] {
        [UInt8](try run(["--encode=lockbox.v1.\(message)"], input: Data(text.utf8)))
    }

    private static func run(_ arguments: [String], input: Data) throws -> Data {
        guard let path else {
            throw Failure(description: "protoc not found: install Debian protobuf-compiler (scripts/test does)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments + ["--proto_path=\(packageRoot.appending(path: "proto").path)", "lockbox.proto"]
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "protoc failed: \(String(decoding: errors, as: UTF8.self))")
        }
        return output
    }
}
