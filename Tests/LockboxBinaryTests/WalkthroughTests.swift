import Foundation
import LockboxTestSupport
import Testing

/// Runs the README's walkthrough verbatim against a live lockboxd, so the README cannot rot.
@Suite struct WalkthroughTests {
    /// The command lines of the block after `<!-- walkthrough -->` (or another marker).
    static func walkthrough(_ name: String = "walkthrough") throws -> [String] {
        let readme = try String(contentsOf: packageRoot.appending(path: "README.md"), encoding: .utf8)
        guard let marker = readme.range(of: "<!-- \(name) -->\n```sh\n"),
            let end = readme.range(of: "\n```", range: marker.upperBound..<readme.endIndex)
        else { throw DaemonFailed(stderr: "README has no walkthrough block") }
        return readme[marker.upperBound..<end.lowerBound].split(separator: "\n").map(String.init)
    }

    @Test func readmeWalkthroughPasses() async throws {
        let lines = try Self.walkthrough()
        #expect(lines.count >= 10)
        let tenantLines = try Self.walkthrough("walkthrough: tenant")
        #expect(tenantLines.count >= 14)
        let verifyLines = try Self.walkthrough("walkthrough: verify")
        #expect(verifyLines.count >= 6)
        let approverLines = try Self.walkthrough("walkthrough: two approvers")
        #expect(approverLines.count >= 10)
        let delegationLines = try Self.walkthrough("walkthrough: delegation")
        #expect(delegationLines.count >= 10)

        // A scratch "repository root" with the demo and the binaries where the walkthrough
        // expects them, and a mail sink keeping Lockbox's email in .lockbox/mail/ as scripts/run's does.
        let work = FileManager.default.temporaryDirectory.appending(path: "walkthrough-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work.appending(path: ".build"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let sink = try await SMTPSink(directory: work.appending(path: ".lockbox/mail"))
        defer { sink.stop() }
        let url = try await TestDatabase.migratedURLs().runtime
        let daemon = try Daemon(
            arguments: [
                "serve", "--port", "0", "--database-url", url, "--smtp-host", "127.0.0.1", "--smtp-port",
                "\(sink.port)", "--smtp-security", "none", "--smtp-from", "lockbox@lockbox.localhost",
            ]
        )
        let port = try await daemon.waitUntilListening()
        let bootstrap = try Binaries.run("lockboxd", ["bootstrap", "--database-url", url])
        let admin = try #require(
            bootstrap.stdout.split(separator: "\n").first { $0.hasPrefix("token") }?.split(separator: " ").last
        )

        try FileManager.default.createSymbolicLink(
            at: work.appending(path: ".build/release"),
            withDestinationURL: Binaries.directory
        )
        let demo = try Binaries.runPath(
            packageRoot.appending(path: "scripts/demo").path,
            [String(admin), work.appending(path: ".lockbox").path],
            environment: ["LOCKBOX_SERVER": "127.0.0.1:\(port)", "LOCKBOX_BIN": Binaries.directory.path]
        )
        try #require(demo.status == 0, "scripts/demo failed: \(demo.stderr)")

        // The lines verbatim, each followed by a marker with its exit status.
        var script = "cd \(work.path)\n"
        for line in lines + tenantLines + approverLines + delegationLines + verifyLines {
            script += line + "\n"
            if !line.hasPrefix("#") && !line.isEmpty { script += "echo \"[[exit $?]]\"\n" }
        }
        let scriptURL = work.appending(path: "walkthrough.sh")
        try script.write(to: scriptURL, atomically: true, encoding: .utf8)
        let run = try Binaries.runPath("/bin/bash", [scriptURL.path])
        let output = run.stdout
        // Split at every line end: the email the walkthrough shows ends its lines with CRLF,
        // which is one Character in Swift, not "\n".
        let statuses = output.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("[[exit ") }.map {
            String($0.dropFirst(7).dropLast(2))
        }
        // export, source, create, decide-internal, the approver's email, approve, check, revoke, check,
        // search; then Fabrikam: create, enroll, root, approver, token, key, certify, request,
        // decide-internal, signed approve, check with evidence, verify the evidence, revoke, check;
        // then two approvers: policy, approver, token, key, certify, request, decide-internal,
        // Gus approves, check (denied), Hana approves, check (allowed), extend, decide-internal,
        // two approvals, get;
        // then delegation: create, list, revoke REQ3, request, decide-internal, Gus's approval, his
        // approval for Hana, check (allowed), revoke the delegation, check (denied), audit verify;
        // then keys, export, verify, sed, verify the tampered copy, verify-approval
        let walkthrough = ["0", "0", "0", "0", "0", "0", "0", "0", "7", "0"]
        let tenant = Array(repeating: "0", count: 13) + ["7"]
        let approvers = Array(repeating: "0", count: 8) + ["7", "0", "0", "0", "0", "0", "0", "0"]
        let delegation = Array(repeating: "0", count: 9) + ["7", "0"]
        let verify = ["0", "0", "0", "0", "1", "0"]
        #expect(statuses == walkthrough + tenant + approvers + delegation + verify, "\(output)\n\(run.stderr)")
        #expect(run.stderr.contains(" under dlg_"), "\(run.stderr)")
        #expect(output.split(separator: "\n").contains { $0.hasPrefix("delegate_id ") }, "\(output)")
        #expect(output.contains("ok: ") && output.contains("chain \"fabrikam\""), "\(output)")
        #expect(
            output.split(separator: "\n").contains { $0.hasPrefix("approvals_required ") && $0.hasSuffix(" 2") },
            "\(output)"
        )
        #expect(output.split(separator: "\n").contains { $0.hasPrefix("extends_request_id ") }, "\(output)")
        #expect(output.contains("ok: p_"), "verify-evidence: \(output)")
        #expect(output.contains("tenant root ed25519:") || run.stderr.contains("tenant root ed25519:"))
        // The approver's email, as the README shows it: to the approver, the facts, how to decide, no link.
        #expect(output.contains("To: <chris@contoso.example>"), "\(output)")
        #expect(output.contains("awaits your decision"))
        #expect(output.contains("Ticket:          SR-1001"))
        #expect(output.contains("lockbox requests approve req_"))
        let emails = try FileManager.default.contentsOfDirectory(atPath: sink.directory.path)
            .filter { $0.hasSuffix(".eml") }
            .map { try String(contentsOf: sink.directory.appending(path: $0), encoding: .utf8) }
        #expect(!emails.isEmpty && emails.allSatisfy { !$0.contains("http") && !$0.contains("://") })
        #expect(output.contains("ok: contoso-audit.jsonl: chain \"contoso\""), "\(output)")
        #expect(output.contains("FAILED: tampered.jsonl: record seq "), "\(output)")
        #expect(output.contains(") was edited: its content does not match its hash"), "\(output)")
        #expect(output.contains("ok: signed by ed25519:"), "\(output)")
        #expect(output.contains("decision    Approve by "), "\(output)")
        #expect(output.contains("allowed: request req_"))
        #expect(output.contains("denied: REVOKED (request req_"))
        for activity in ["AccessRequestCreated", "InternalApprove", "CustomerApprove", "Get-Mailbox", "AccessRevoked"] {
            #expect(output.contains(activity), "audit search shows \(activity)")
        }
        #expect(output.contains("203.0.113.7"))
        #expect(output.contains("Provider Operator"))
        // The search table says how each operator action came out, not only --json.
        let actionRows = output.split(separator: "\n").filter {
            $0.contains("OPERATOR_ACTION") && $0.contains("Get-Mailbox")
        }
        #expect(actionRows.count == 2)
        #expect(actionRows.contains { $0.contains("denied: REVOKED") })
        #expect(actionRows.contains { $0.contains(" allowed ") })
        #expect(!run.stderr.contains("error:"), "\(run.stderr)")

        // The streaming commands, on the same server and demo.
        let env = try String(contentsOf: work.appending(path: ".lockbox/demo.env"), encoding: .utf8)
        var demoValues: [String: String] = [:]
        for line in env.split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst(7).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { demoValues[String(pair[0])] = String(pair[1]) }
        }
        let server = ["--server", "127.0.0.1:\(port)"]
        let export = try Binaries.run(
            "lockbox",
            [
                "audit", "export", "--tenant", "contoso", "--format", "csv", "--token",
                demoValues["CONTOSO_ADMIN_TOKEN"]!,
            ] + server
        )
        #expect(export.status == 0, "\(export.stderr)")
        // Where the approver's email stands, as Contoso's admin sees it.
        let deliveries = try Binaries.run(
            "lockbox",
            ["notifications", "list", "--json", "--token", demoValues["CONTOSO_ADMIN_TOKEN"]!] + server
        )
        #expect(deliveries.status == 0, "\(deliveries.stderr)")
        let listed = try #require(
            try JSONSerialization.jsonObject(with: Data(deliveries.stdout.utf8)) as? [String: Any]
        )
        let items = try #require(listed["items"] as? [[String: Any]])
        #expect(
            items.contains {
                $0["kind"] as? String == "awaiting_decision" && $0["state"] as? String == "sent"
                    && $0["attempts"] as? Int == 1 && $0["address"] as? String == "chris@contoso.example"
            },
            "\(deliveries.stdout)"
        )
        let csv = export.stdout.split(separator: "\n")
        #expect(csv.first == "id,time,tenant_id,kind,actor_id,actor_display,actor_ip,activity,item,decision,details")
        #expect(csv.contains { $0.contains(",AccessRevoked,") })

        let watchOutput = work.appending(path: "watch.out")
        _ = FileManager.default.createFile(atPath: watchOutput.path, contents: nil)
        let watch = Process()
        watch.executableURL = Binaries.url("lockbox")
        watch.arguments = ["requests", "watch", "--token", demoValues["APPROVER_TOKEN"]!] + server
        let watchStatus = work.appending(path: "watch.err")
        _ = FileManager.default.createFile(atPath: watchStatus.path, contents: nil)
        watch.standardOutput = try FileHandle(forWritingTo: watchOutput)
        watch.standardError = try FileHandle(forWritingTo: watchStatus)
        try watch.run()
        defer { if watch.isRunning { watch.terminate() } }
        // Live: every change committed from now on is printed.
        #expect(
            try await eventually {
                ((try? String(contentsOf: watchStatus, encoding: .utf8)) ?? "").contains("watching from event")
            },
            "lockbox requests watch said it is live"
        )
        let created = try Binaries.run(
            "lockbox",
            [
                "requests", "create", "--tenant", "contoso", "--service", "teams", "--ticket", "W-1",
                "--justification", "watch", "--duration", "10m", "--id-only", "--token", demoValues["OPERATOR_TOKEN"]!,
            ] + server
        )
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            try await eventually {
                ((try? String(contentsOf: watchOutput, encoding: .utf8)) ?? "").contains(
                    "AccessRequestCreated  \(id)  contoso  PENDING_INTERNAL"
                )
            },
            "lockbox requests watch printed the new request"
        )

        daemon.terminate()
        #expect(try await daemon.waitForExit() == 0)
    }

    @Test func everyCLICommandHasTruthfulHelp() throws {
        let commands: [[String]] = [
            [], ["ping"], ["requests"], ["requests", "create"], ["requests", "list"], ["requests", "get"],
            ["requests", "watch"],
            ["requests", "cancel"], ["requests", "decide-internal"], ["requests", "approve"], ["requests", "deny"],
            ["requests", "revoke"], ["access", "check"], ["grants", "list"], ["tenants", "create"],
            ["tenants", "settings", "get"], ["tenants", "settings", "set"], ["principals", "create"],
            ["principals", "list"], ["tokens", "issue"], ["tokens", "revoke"], ["roles", "assign"],
            ["roles", "remove"],
            ["roles", "list"], ["audit", "search"], ["audit", "export"], ["audit", "verify"], ["audit", "keys"],
            ["audit", "checkpoint"], ["audit", "checkpoints"], ["requests", "verify-approval"],
            ["operations", "list"], ["operations", "add"],
            ["operations", "remove"], ["principals", "set-email"], ["webhooks", "add"], ["webhooks", "list"],
            ["webhooks", "remove"], ["notifications", "list"],
        ]
        for command in commands {
            let help = try Binaries.run("lockbox", command + ["--help"])
            #expect(help.status == 0, "\(command) --help: \(help.stderr)")
            #expect(help.stdout.contains("USAGE: lockbox"), "\(command)")
            if !command.isEmpty && command != ["requests"] {
                #expect(help.stdout.contains("--server"), "\(command) --help documents --server")
            }
        }
        let top = try Binaries.run("lockbox", ["--help"])
        #expect(top.stdout.contains("7 access check denied"))
        // A bad value is a one-line error, never a stack trace.
        let bad = try Binaries.run(
            "lockbox",
            [
                "requests", "create", "--tenant", "t", "--service", "mail", "--ticket", "T", "--justification", "j",
                "--duration", "2h",
            ]
        )
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("service must be exchange, sharepoint, onedrive or teams"))
        let badDuration = try Binaries.run(
            "lockbox",
            [
                "requests", "create", "--tenant", "t", "--service", "teams", "--ticket", "T", "--justification", "j",
                "--duration", "soon",
            ]
        )
        #expect(badDuration.stderr.contains("duration must be a duration such as 90m"))
    }
}
