import ArgumentParser
import Foundation
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxTrust

extension Audit {
    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the server's signing keys, current and past, as a keys file for `audit verify --keys`.",
            discussion: """
                Save it once, and keep it: verifying against a saved keys file trusts no later answer of the \
                server. Needs no token.
                """
        )
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let response = try await connection.call(LockboxMethods.listSigningKeys, ListSigningKeysRequest())
            let keys = try response.keys.map { key in
                let published = PublicSigningKey(keyID: key.keyID, publicKey: key.publicKey)
                guard PublicSigningKey.keyID(for: key.publicKey) == key.keyID else {
                    throw ValidationError("the server published key \(key.keyID) whose id does not match it")
                }
                return (key: published, firstSeenAtMs: key.firstSeenAtMs)
            }
            print(KeysFile.render(keys), terminator: "")
        }
    }

    struct Checkpoints: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the signed checkpoints of a chain.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id (tenant principals: their own; auditors: none for the provider-wide chain).")
        var tenant: String = ""
        @Option(help: "Only checkpoints after this sequence number.") var afterSeq: Int64 = 0
        @Option(help: "Page size (server caps it at 500).") var pageSize: UInt32 = 0

        func run() async throws {
            let response = try await connection.call(
                LockboxMethods.listCheckpoints,
                ListCheckpointsRequest(tenantID: tenant, afterSeq: afterSeq, pageSize: pageSize)
            )
            connection.show(response.checkpoints, columns: ["scope", "seq", "signed_at_ms", "key_id"])
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal what is pending and sign the chain's head now; print the checkpoint."
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id (tenant principals: their own; auditors: none for the provider-wide chain).")
        var tenant: String = ""

        func run() async throws {
            connection.show(
                try await connection.call(LockboxMethods.createCheckpoint, CreateCheckpointRequest(tenantID: tenant))
            )
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify an audit chain: saved integrity exports offline, or a tenant's whole chain online.",
            discussion: """
                Offline: --export FILE (from `lockbox audit export --integrity`) and --keys FILE (from \
                `lockbox audit keys`); no server is contacted. Reports the first record or checkpoint that \
                fails and why (edited, missing, inserted, reordered, cut off, bad signature, unknown key). \
                Give several exports of one chain oldest first: each must hold every record the checkpoints \
                of those before it cover, and any sequence number two of them disagree on is printed as a \
                fork. Then it lists, as notices, the newest view's changes made outside lockboxd (straight in \
                the database, which records them itself), the server keys introduced and the tenant roots \
                adopted; and, as CONSENT lines that fail the verification, every decision whose signature does \
                not chain to the tenant's root and every operator action allowed without a decision the \
                customer's key signed. --online adds the \
                server's chain as it is now (--server, or LOCKBOX_SERVER), as the \
                newest view; with no --export, verify is online. Online, the keys are --keys if given, else \
                those the server publishes. Exits 0 when everything verifies, 1 when not.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(name: .customLong("export"), help: "A saved integrity export; repeat for several, oldest first.")
        var exports: [String] = []
        @Option(help: "The keys file to trust.") var keys: String?
        @Flag(help: "Also export the chain from the server now and verify it as the newest view.") var online = false
        @Option(
            help: """
                The chain every view must be: a tenant id (online, tenant principals may leave it out for their \
                own; auditors leave it out for the provider-wide chain).
                """
        )
        var tenant: String?
        @Option(
            help: """
                A tenant root public key you keep (64 hex digits, as lockbox tenants enroll printed it); repeat \
                for several. Without it, the chain's first root is trusted as it stands.
                """
        )
        var tenantRoot: [String] = []

        func run() async throws {
            let online = online || exports.isEmpty
            let pinned = try tenantRoot.map { text -> [UInt8] in
                guard let raw = [UInt8](hex: text.lowercased()), raw.count == 32 else {
                    throw ValidationError("--tenant-root is 64 hex digits")
                }
                return raw
            }
            var trusted: [PublicSigningKey] = []
            if let keys {
                guard let data = FileManager.default.contents(atPath: keys) else {
                    throw ValidationError("cannot read \(keys)")
                }
                do { trusted = try KeysFile.parse(String(decoding: data, as: UTF8.self)) } catch {
                    throw ValidationError("\(keys): \(error)")
                }
            } else if !online {
                throw ValidationError("offline verification needs --keys FILE (from `lockbox audit keys`)")
            }
            // Oldest first: the saved exports in the order given, then the server's chain now.
            var views: [(name: String, export: AuditExport)] = []
            for path in exports {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ValidationError("cannot read \(path)")
                }
                views.append((path, try parse(String(decoding: data, as: UTF8.self), name: path)))
            }
            if online {
                if trusted.isEmpty {
                    let response = try await connection.call(LockboxMethods.listSigningKeys, ListSigningKeysRequest())
                    trusted = response.keys.compactMap { key in
                        PublicSigningKey.keyID(for: key.publicKey) == key.keyID
                            ? PublicSigningKey(keyID: key.keyID, publicKey: key.publicKey) : nil
                    }
                }
                var text = ""
                try await connection.stream(
                    LockboxMethods.exportAudit,
                    ExportAuditRequest(tenantID: tenant ?? "", includeIntegrity: true)
                ) { chunk in text += String(decoding: chunk.data, as: UTF8.self) }
                views.append(("the server's chain", try parse(text, name: "the server's export")))
            }
            let scope = tenant ?? views.first?.export.scope ?? ""
            var failed = false
            for (index, view) in views.enumerated() {
                // A later view must hold what every earlier view's checkpoints covered.
                let earlier = views[..<index].flatMap(\.export.checkpoints).filter { $0.statement.scope == scope }
                let result = ChainVerifier.verify(
                    records: view.export.records,
                    checkpoints: view.export.checkpoints + earlier,
                    keys: trusted,
                    scope: scope
                )
                if result.isIntact {
                    let last = view.export.checkpoints.last?.statement
                    print(
                        "ok: \(view.name): chain \"\(scope)\", \(result.records) records, "
                            + "\(view.export.checkpoints.count) checkpoints"
                            + (last.map { ", the last at seq \($0.seq) signed by \($0.keyID)" } ?? "")
                    )
                } else {
                    failed = true
                    print("FAILED: \(view.name): \(result.findings[0])")
                    for finding in result.findings.dropFirst().prefix(20) { print("  also: \(finding)") }
                    if result.findings.count > 21 { print("  and \(result.findings.count - 21) more") }
                }
                // Only the newest view's: the older ones hold the same records.
                if index == views.count - 1 {
                    let notices = ChainNotice.notices(view.export.records)
                    for notice in notices.prefix(50) { print("  notice: \(notice)") }
                    if notices.count > 50 { print("  and \(notices.count - 50) more notices") }
                    // Consent, from the chain alone: root changes, decisions that do not chain to the
                    // tenant's root, operator actions allowed without a decision its key signed.
                    if !scope.isEmpty {
                        let consent = ConsentAudit.check(
                            view.export.records,
                            pinnedRoots: pinned.isEmpty ? nil : pinned
                        )
                        for notice in consent.notices.prefix(50) { print("  notice: \(notice)") }
                        for finding in consent.findings.prefix(50) { print("CONSENT: \(view.name): \(finding)") }
                        if consent.findings.count > 50 { print("  and \(consent.findings.count - 50) more") }
                        if !consent.findings.isEmpty { failed = true }
                    }
                }
            }
            for first in views.indices {
                for second in views.indices where second > first {
                    let a = views[first].export
                    let b = views[second].export
                    for finding in ChainVerifier.forks(
                        (a.records, a.checkpoints),
                        (b.records, b.checkpoints),
                        keys: trusted
                    ) {
                        failed = true
                        print("FORK: \(views[first].name) and \(views[second].name): \(finding)")
                    }
                }
            }
            if failed { throw ExitCode(1) }
        }

        private func parse(_ text: String, name: String) throws -> AuditExport {
            do { return try AuditExport.parse(text) } catch { throw ValidationError("\(name): \(error)") }
        }
    }
}

extension AuditExport {
    /// The chain this export covers, as its first line names it.
    var scope: String { records.first?.scope ?? checkpoints.first?.statement.scope ?? "" }
}

extension Requests {
    struct VerifyApproval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a request's signed approval offline, against a saved keys file.",
            discussion: """
                Reads the request as `lockbox requests get ID --json` printed it, from --request FILE, or \
                fetches it (the approval is checked against --keys either way, not against the server). Prints \
                the statement and whether its grant's window holds now. Exits 0 when the signature verifies, \
                the statement is about that request and tenant, and the decision is an approval; 1 otherwise \
                (a signed denial prints, and exits 1). A valid signature proves the customer approved; it does \
                not prove the grant was not revoked since: only CheckAccess knows that.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Request id, to fetch it from the server.") var id: String?
        @Option(help: "A saved `lockbox requests get ID --json`.") var request: String?
        @Option(help: "The keys file to trust (from `lockbox audit keys`).") var keys: String

        func run() async throws {
            guard (id == nil) != (request == nil) else {
                throw ValidationError("give either a request id or --request FILE")
            }
            guard let keyData = FileManager.default.contents(atPath: keys) else {
                throw ValidationError("cannot read \(keys)")
            }
            let trusted: [PublicSigningKey]
            do { trusted = try KeysFile.parse(String(decoding: keyData, as: UTF8.self)) } catch {
                throw ValidationError("\(keys): \(error)")
            }
            let approval: SignedApprovalStatement
            let expected: (requestID: String, tenantID: String)
            if let id {
                let fetched = try await connection.call(
                    LockboxMethods.getAccessRequest,
                    GetAccessRequestRequest(requestID: id)
                )
                guard let signed = fetched.approval else {
                    // Not a usage error: the request exists and holds no signed decision.
                    print("FAILED: request \(id) carries no signed decision (it was not decided by the customer)")
                    throw ExitCode(1)
                }
                approval = SignedApprovalStatement(
                    statement: signed.statement,
                    keyID: signed.keyID,
                    signature: signed.signature
                )
                expected = (id, fetched.tenantID)
            } else {
                (approval, expected) = try Self.fromSavedRequest(request!)
            }
            switch approval.verify(with: trusted) {
            case .failure(let problem):
                print("FAILED: \(problem)")
                throw ExitCode(1)
            case .success(let statement):
                guard statement.requestID == expected.requestID, statement.tenantID == expected.tenantID else {
                    print(
                        "FAILED: the signed statement is about request \(statement.requestID) of \(statement.tenantID), "
                            + "not \(expected.requestID) of \(expected.tenantID): it was copied from another request"
                    )
                    throw ExitCode(1)
                }
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                print("key         \(statement.keyID), signature valid")
                print("tenant      \(statement.tenantID)")
                print("request     \(statement.requestID)")
                print("operator    \(statement.operatorID)")
                print("service     \(statement.service)")
                print(
                    "operations  "
                        + (statement.operations.isEmpty
                            ? "(not stated: a version 1 statement binds the service only)"
                            : statement.operations.joined(separator: ", "))
                )
                print(
                    "decision    \(statement.decision) by \(statement.approverID) at \(Render.time(statement.decidedAtMs))"
                )
                if statement.decision == DecisionWord.approve.rawValue {
                    print("window      \(Render.time(statement.startsAtMs)) to \(Render.time(statement.endsAtMs))")
                    print(
                        statement.isInForce(atMs: now)
                            ? "in force now, by this clock (revocation is not visible here: ask CheckAccess)"
                            : "not in force now, by this clock"
                    )
                    print("ok: signed by \(statement.keyID): the customer approved this grant")
                } else {
                    print("FAILED: the signed decision is \(statement.decision), not an approval")
                    throw ExitCode(1)
                }
            }
        }

        /// The `approval` object of a saved `requests get --json` (its bytes are base64), and the
        /// request and tenant the saved request is.
        static func fromSavedRequest(_ path: String) throws -> (
            SignedApprovalStatement, (requestID: String, tenantID: String)
        ) {
            guard let data = FileManager.default.contents(atPath: path),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { throw ValidationError("\(path) is not a saved request (lockbox requests get ID --json)") }
            guard let approval = object["approval"] as? [String: Any] else {
                print("FAILED: \(path) carries no signed decision (it was not decided by the customer)")
                throw ExitCode(1)
            }
            guard let statement = (approval["statement"] as? String).flatMap({ Data(base64Encoded: $0) }),
                let signature = (approval["signature"] as? String).flatMap({ Data(base64Encoded: $0) }),
                let keyID = approval["key_id"] as? String
            else { throw ValidationError("\(path): its approval is malformed") }
            guard let id = object["id"] as? String, let tenant = object["tenant_id"] as? String else {
                throw ValidationError("\(path) names no request id and tenant")
            }
            return (
                SignedApprovalStatement(statement: Array(statement), keyID: keyID, signature: Array(signature)),
                (id, tenant)
            )
        }
    }
}
