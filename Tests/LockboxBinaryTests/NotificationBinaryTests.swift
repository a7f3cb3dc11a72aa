import Foundation
import LockboxProto
import LockboxRPC
import LockboxTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real lockboxd delivering email to a real SMTP server, and watches that never read.
@Suite(.serialized) struct NotificationBinaryTests {
    /// Two replicas deliver; the one caught in the middle of a send (the relay holds its
    /// RCPT) is killed. Every email still arrives, each exactly once.
    @Test func aReplicaKilledMidSendLeavesEveryEmailDeliveredOnce() async throws {
        let sink = try await SMTPSink(stallFirst: 60)
        defer { sink.stop() }
        let url = try await TestDatabase.migratedURLs().runtime
        let arguments = [
            "serve", "--port", "0", "--database-url", url, "--pool-size", "4", "--smtp-host", "127.0.0.1",
            "--smtp-port", "\(sink.port)", "--smtp-security", "none", "--smtp-from", "lockbox@provider.example",
        ]
        let daemons = try [Daemon(arguments: arguments), Daemon(arguments: arguments)]
        let api = API(
            client: RPCClient(configuration: RPCClientConfiguration(port: try await daemons[0].waitUntilListening()))
        )
        _ = try await daemons[1].waitUntilListening()
        let world = try await api.makeWorld(adminToken: try ReplicaTests.bootstrap(url))
        let recipients = ["admin@contoso.example", "approver@contoso.example"]
        for (id, email) in zip([world.contosoAdminID, world.contosoApproverID], recipients) {
            _ = try await api.call(
                LockboxMethods.setPrincipalEmail,
                SetPrincipalEmailRequest(principalID: id, email: email),
                token: world.contosoAdmin
            )
        }
        let request = try await api.createRequest(world).id
        try await api.approveInternally(world, request)

        // A replica is now inside a send: the relay holds it.
        try #require(
            try await eventually { sink.events().contains { $0.hasPrefix("stalled") } },
            "no delivery reached the relay"
        )
        // The message it holds is the one not accepted yet; the replica that logged sending it
        // is the one holding it (the row is locked: the other cannot have claimed it).
        let accepted = Set(
            sink.events().filter { $0.hasSuffix(" accepted") }.map { String($0.split(separator: " ")[1]) }
        )
        let holders = daemons.filter { daemon in
            daemon.stderr.split(separator: "\n").contains { line in
                guard line.contains("sending email"), let range = line.range(of: "message.id=") else { return false }
                let id = line[range.upperBound...].prefix { !$0.isWhitespace && $0 != "]" }
                return !accepted.contains("<\(id)>")
            }
        }
        try #require(holders.count == 1, "exactly one replica holds the stalled send")
        let victim = holders[0]
        victim.terminate(signal: SIGKILL)
        _ = try await victim.waitForExit()

        let messages = try await sink.wait(timeout: .seconds(30)) { $0.count >= 2 }
        // Any double would have arrived by now too.
        try await Task.sleep(for: .seconds(2))
        let final = sink.messages()
        #expect(final.count == 2, "\(final.map(\.message_id))")
        #expect(final.flatMap(\.rcpt_tos).sorted() == recipients)
        #expect(Set(final.map(\.message_id)).count == 2)
        #expect(messages.allSatisfy { ($0.body ?? "").contains(request) })
        // The killed replica's attempt never completed: nothing was half-delivered.
        #expect(sink.events().filter { $0.hasSuffix(" accepted") }.count == 2)
        let survivor = daemons.first { $0 !== victim }!
        await api.client.close()
        survivor.terminate()
        #expect(try await survivor.waitForExit() == 0)
    }

    /// Watches whose client never reads, while thousands of large events are recorded: the
    /// server's memory stays within a bound the test states, and other callers are served.
    @Test func watchersThatNeverReadCannotGrowTheServer() async throws {
        let (daemon, url) = try await AbuseTests.serve()
        let pid = daemon.process.processIdentifier
        let client = AbuseTests.client(daemon.port)
        let api = API(client: client)
        let world = try await api.makeWorld(adminToken: try ReplicaTests.bootstrap(url))
        for _ in 0..<20 { _ = try await client.unary(LockboxMethods.ping, PingRequest()) }
        let baseline = try #require(residentBytes(of: pid))
        // Four connections that never read, each with 16 watches of every contoso request.
        var silent: [RawConnection] = []
        for _ in 0..<4 {
            let connection = try await RawConnection(port: daemon.port, reading: false, receiveBuffer: 4096)
            for call in 1...16 {
                try await connection.sendCall(
                    id: UInt64(call),
                    method: LockboxMethods.watchAccessRequests.name,
                    payload: WatchAccessRequestsRequest(tenantID: "contoso").encode(),
                    token: world.contosoAdmin
                )
            }
            silent.append(connection)
        }
        // 1,500 requests with 2,000-byte justifications: each event is ~2.5 KB to each of 64
        // watches, 240 MB if it were buffered.
        let justification = String(repeating: "j", count: 2000)
        var peak = baseline
        for index in 0..<1500 {
            _ = try await api.call(
                LockboxMethods.createAccessRequest,
                CreateAccessRequestRequest(
                    tenantID: "contoso",
                    service: .exchange,
                    ticketNumber: "SR-\(index)",
                    justification: justification,
                    requestedDurationSeconds: 3600
                ),
                token: world.operatorToken
            )
            if index % 50 == 0 { peak = max(peak, residentBytes(of: pid) ?? 0) }
        }
        try await Task.sleep(for: .seconds(2))
        peak = max(peak, residentBytes(of: pid) ?? 0)
        // Still serving.
        let pinged = try await client.unary(
            LockboxMethods.ping,
            PingRequest(),
            options: CallOptions(timeout: .seconds(2))
        )
        #expect(!pinged.version.isEmpty)
        for connection in silent { await connection.close() }
        await client.close()
        daemon.terminate()
        _ = try await daemon.waitForExit()
        let bound = 64 << 20
        #expect(peak - baseline < bound, "peak RSS \(peak >> 20) MiB from a baseline of \(baseline >> 20) MiB")
        print("never-reading watchers: baseline \(baseline >> 20) MiB, peak \(peak >> 20) MiB")
    }
}
