import Foundation
import LockboxProto
import LockboxRPC
import LockboxTestSupport
import Testing

/// The real lockboxd over TLS, with certificates made by scripts/tls-dev-certs.
@Suite(.serialized) struct TLSTests {
    /// A fresh CA with server and client certificates, in a directory of its own.
    static func certificates(_ name: String = "Lockbox test CA") throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appending(path: "tls-\(UUID().uuidString)")
        let made = try Binaries.runPath(
            packageRoot.appending(path: "scripts/tls-dev-certs").path,
            [directory.path, name]
        )
        try #require(made.status == 0, "\(made.stderr)")
        return directory
    }

    static func serve(_ certificates: URL, _ extra: [String] = [], database: String) throws -> Daemon {
        try Daemon(
            arguments: [
                "serve", "--port", "0", "--database-url", database,
                "--tls-cert-file", certificates.appending(path: "server.pem").path,
                "--tls-key-file", certificates.appending(path: "server.key").path,
            ] + extra
        )
    }

    static func api(port: Int, trusting ca: URL?, client: URL? = nil) throws -> API {
        let tls = try RPCClientTLS(
            caFile: ca?.appending(path: "ca.pem").path,
            certificateChain: client?.appending(path: "client.pem").path,
            privateKey: client?.appending(path: "client.key").path
        )
        return API(
            client: RPCClient(configuration: RPCClientConfiguration(port: port, defaultTimeout: .seconds(10), tls: tls))
        )
    }

    static func bootstrap(_ url: String) throws -> String { try ReplicaTests.bootstrap(url) }

    @Test func aWholeLifecycleOverTLSAndOnlyForClientsThatTrustTheServer() async throws {
        let certificates = try Self.certificates()
        defer { try? FileManager.default.removeItem(at: certificates) }
        let url = try await TestDatabase.migratedURLs().runtime
        let daemon = try Self.serve(certificates, database: url)
        let port = try await daemon.waitUntilListening()
        let api = try Self.api(port: port, trusting: certificates)
        let world = try await api.makeWorld(adminToken: try Self.bootstrap(url))
        let created = try await api.call(
            LockboxMethods.createAccessRequest,
            CreateAccessRequestRequest(
                tenantID: "contoso",
                service: .exchange,
                ticketNumber: "TLS-1",
                justification: "over TLS",
                requestedDurationSeconds: 3600
            ),
            token: world.operatorToken
        )
        try await api.approveInternally(world, created.id)
        try await api.approveByCustomer(world, created.id)
        let check = try await api.call(
            LockboxMethods.checkAccess,
            CheckAccessRequest(
                tenantID: "contoso",
                service: .exchange,
                operatorID: world.operatorID,
                operation: "Get-Mailbox",
                clientIP: "203.0.113.7"
            ),
            token: world.serviceToken
        )
        #expect(check.allowed)
        await api.client.close()

        // A client that trusts another CA, one that trusts only the system's roots, and one
        // that speaks plaintext: none gets an answer.
        let stranger = try Self.certificates("Someone else's CA")
        defer { try? FileManager.default.removeItem(at: stranger) }
        for untrusting in [try Self.api(port: port, trusting: stranger), try Self.api(port: port, trusting: nil)] {
            let status = await untrusting.status(LockboxMethods.ping, PingRequest(), token: "")
            #expect(status == .unavailable)
            await untrusting.client.close()
        }
        let plain = API(
            client: RPCClient(configuration: RPCClientConfiguration(port: port, defaultTimeout: .seconds(3)))
        )
        #expect(await plain.status(LockboxMethods.ping, PingRequest(), token: "") != .ok)
        await plain.client.close()

        // The CLI over TLS.
        let environment = ["LOCKBOX_SERVER": "127.0.0.1:\(port)"]
        let ping = try Binaries.run(
            "lockbox",
            ["ping", "--tls-ca-file", certificates.appending(path: "ca.pem").path],
            environment: environment
        )
        #expect(ping.status == 0, "\(ping.stdout)\(ping.stderr)")
        let refused = try Binaries.run(
            "lockbox",
            ["ping", "--tls-ca-file", stranger.appending(path: "ca.pem").path, "--timeout", "3s"],
            environment: environment
        )
        #expect(refused.status == 6, "\(refused.stdout)\(refused.stderr)")
        daemon.terminate()
        #expect(try await daemon.waitForExit() == 0, "\(daemon.stderr)")
    }

    @Test func mutualTLSRefusesAClientWithoutACertificate() async throws {
        let certificates = try Self.certificates()
        defer { try? FileManager.default.removeItem(at: certificates) }
        let other = try Self.certificates("Another client CA")
        defer { try? FileManager.default.removeItem(at: other) }
        let url = try await TestDatabase.migratedURLs().runtime
        let daemon = try Self.serve(
            certificates,
            ["--tls-client-ca-file", certificates.appending(path: "ca.pem").path],
            database: url
        )
        let port = try await daemon.waitUntilListening()
        let without = try Self.api(port: port, trusting: certificates)
        #expect(await without.status(LockboxMethods.ping, PingRequest(), token: "") == .unavailable)
        await without.client.close()
        // A certificate from a CA the server does not take is refused too.
        let foreign = API(
            client: RPCClient(
                configuration: RPCClientConfiguration(
                    port: port,
                    defaultTimeout: .seconds(10),
                    tls: try RPCClientTLS(
                        caFile: certificates.appending(path: "ca.pem").path,
                        certificateChain: other.appending(path: "client.pem").path,
                        privateKey: other.appending(path: "client.key").path
                    )
                )
            )
        )
        #expect(await foreign.status(LockboxMethods.ping, PingRequest(), token: "") == .unavailable)
        await foreign.client.close()
        let with = try Self.api(port: port, trusting: certificates, client: certificates)
        #expect(await with.status(LockboxMethods.ping, PingRequest(), token: "") == .ok)
        await with.client.close()
        daemon.terminate()
        #expect(try await daemon.waitForExit() == 0, "\(daemon.stderr)")
    }

    /// A service principal bound to its client certificate: its token works over mutual TLS
    /// with that certificate, and not with another certificate from the same CA.
    @Test func aBoundServiceTokenNeedsItsCertificate() async throws {
        let certificates = try Self.certificates()
        defer { try? FileManager.default.removeItem(at: certificates) }
        // A second client certificate from the same CA.
        let sibling = FileManager.default.temporaryDirectory.appending(path: "tls-sibling-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: certificates, to: sibling)
        defer { try? FileManager.default.removeItem(at: sibling) }
        for file in ["client.pem", "client.key"] {
            try FileManager.default.removeItem(at: sibling.appending(path: file))
        }
        let reissued = try Binaries.runPath(packageRoot.appending(path: "scripts/tls-dev-certs").path, [sibling.path])
        try #require(reissued.status == 0, "\(reissued.stderr)")

        let url = try await TestDatabase.migratedURLs().runtime
        let daemon = try Self.serve(
            certificates,
            ["--tls-client-ca-file", certificates.appending(path: "ca.pem").path],
            database: url
        )
        let port = try await daemon.waitUntilListening()
        let own = try Self.api(port: port, trusting: certificates, client: certificates)
        let other = try Self.api(port: port, trusting: certificates, client: sibling)
        let world = try await own.makeWorld(adminToken: try Self.bootstrap(url))
        let check = CheckAccessRequest(
            tenantID: "contoso",
            service: .exchange,
            operatorID: world.operatorID,
            operation: "Get-Mailbox",
            clientIP: "203.0.113.7"
        )
        // Unbound, the token works from either certificate.
        #expect(await other.status(LockboxMethods.checkAccess, check, token: world.serviceToken) == .ok)
        // Bound with the CLI to the first client certificate.
        let service = try await own.call(
            LockboxMethods.listPrincipals,
            ListPrincipalsRequest(),
            token: world.providerAdmin
        )
        .principals.first { $0.displayName == "Mail Store" }
        let bind = try Binaries.run(
            "lockbox",
            [
                "principals", "bind-certificate", try #require(service?.id),
                "--certificate", certificates.appending(path: "client.pem").path,
                "--tls-ca-file", certificates.appending(path: "ca.pem").path,
                "--tls-client-cert-file", certificates.appending(path: "client.pem").path,
                "--tls-client-key-file", certificates.appending(path: "client.key").path,
            ],
            environment: ["LOCKBOX_SERVER": "127.0.0.1:\(port)", "LOCKBOX_TOKEN": world.providerAdmin]
        )
        #expect(bind.status == 0, "\(bind.stdout)\(bind.stderr)")
        #expect(await own.status(LockboxMethods.checkAccess, check, token: world.serviceToken) == .ok)
        #expect(await other.status(LockboxMethods.checkAccess, check, token: world.serviceToken) == .unauthenticated)
        // Other principals are not bound.
        #expect(
            await other.status(LockboxMethods.listGrants, ListGrantsRequest(), token: world.operatorToken) == .ok
        )
        // The binding is audited.
        let records = try await own.call(
            LockboxMethods.searchAudit,
            SearchAuditRequest(activity: "PrincipalCertificateBound"),
            token: world.auditorToken
        )
        #expect(records.records.count == 1)
        for api in [own, other] { await api.client.close() }
        daemon.terminate()
        #expect(try await daemon.waitForExit() == 0, "\(daemon.stderr)")
    }

    /// SIGHUP with a new certificate: new connections see it, and a connection opened before
    /// goes on with its calls.
    @Test func sighupLoadsANewCertificateWithoutDroppingConnections() async throws {
        let first = try Self.certificates("First CA")
        defer { try? FileManager.default.removeItem(at: first) }
        let second = try Self.certificates("Second CA")
        defer { try? FileManager.default.removeItem(at: second) }
        // The daemon reads its certificate from paths the test then overwrites.
        let live = FileManager.default.temporaryDirectory.appending(path: "tls-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: live, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: live) }
        for file in ["server.pem", "server.key"] {
            try FileManager.default.copyItem(at: first.appending(path: file), to: live.appending(path: file))
        }
        let url = try await TestDatabase.migratedURLs().runtime
        let daemon = try Self.serve(live, database: url)
        let port = try await daemon.waitUntilListening()
        let old = try Self.api(port: port, trusting: first)
        #expect(await old.status(LockboxMethods.ping, PingRequest(), token: "") == .ok)

        for file in ["server.pem", "server.key"] {
            try FileManager.default.removeItem(at: live.appending(path: file))
            try FileManager.default.copyItem(at: second.appending(path: file), to: live.appending(path: file))
        }
        daemon.terminate(signal: SIGHUP)
        #expect(try await eventually { daemon.stderr.contains("reloaded the TLS certificate") }, "\(daemon.stderr)")
        let fresh = try Self.api(port: port, trusting: second)
        #expect(await fresh.status(LockboxMethods.ping, PingRequest(), token: "") == .ok)
        let stale = try Self.api(port: port, trusting: first)
        #expect(await stale.status(LockboxMethods.ping, PingRequest(), token: "") == .unavailable)
        // The connection made before the reload still carries calls.
        #expect(await old.status(LockboxMethods.ping, PingRequest(), token: "") == .ok)
        for api in [old, fresh, stale] { await api.client.close() }
        daemon.terminate()
        #expect(try await daemon.waitForExit() == 0, "\(daemon.stderr)")
    }

    @Test func plaintextMustBeAskedFor() async throws {
        let url = try await TestDatabase.migratedURLs().runtime
        let refused = try Binaries.run(
            "lockboxd",
            ["serve", "--port", "0", "--database-url", url],
            environment: ["LOCKBOX_PLAINTEXT": "0"]
        )
        #expect(refused.status == 64, "\(refused.stderr)")
        #expect(refused.stderr.contains("lockboxd serves TLS: give --tls-cert-file and --tls-key-file, or --plaintext"))
    }
    /// A client on the wrong side of TLS is told which side, and what to pass: never a type's
    /// name or a frame length.
    @Test func aClientOnTheWrongSideOfTLSIsToldWhatToDo() async throws {
        let certificates = try Self.certificates()
        defer { try? FileManager.default.removeItem(at: certificates) }
        let database = try await TestDatabase.migratedURLs().runtime
        let tls = try Self.serve(certificates, database: database)
        let tlsPort = try await tls.waitUntilListening()
        let plain = try Daemon(arguments: ["serve", "--port", "0", "--database-url", database])
        let plainPort = try await plain.waitUntilListening()
        func ping(_ port: Int, _ extra: [String]) throws -> Binaries.Output {
            try Binaries.run(
                "lockbox",
                ["ping", "--timeout", "5s"] + extra,
                environment: ["LOCKBOX_SERVER": "127.0.0.1:\(port)", "LOCKBOX_TLS_CA_FILE": ""]
            )
        }
        let plaintextToTLS = try ping(tlsPort, [])
        #expect(plaintextToTLS.status == 6)
        #expect(plaintextToTLS.stderr.contains("speaks TLS on this port"), "\(plaintextToTLS.stderr)")
        #expect(plaintextToTLS.stderr.contains("hint: the server speaks TLS: pass --tls-ca-file FILE"))
        let tlsToPlaintext = try ping(plainPort, ["--tls-ca-file", certificates.appending(path: "ca.pem").path])
        #expect(tlsToPlaintext.status == 6)
        #expect(
            tlsToPlaintext.stderr.contains("hint: the server speaks plaintext on this port"),
            "\(tlsToPlaintext.stderr)"
        )
        for output in [plaintextToTLS, tlsToPlaintext] {
            for word in ["Error(", "NIOSSL", "announcedLength", "BoringSSL"] {
                #expect(!output.stderr.contains(word), "\(output.stderr)")
            }
        }
        for daemon in [tls, plain] {
            daemon.terminate()
            #expect(try await daemon.waitForExit() == 0, "\(daemon.stderr)")
        }
    }
}
