import Foundation
import LockboxTestSupport
import Testing

/// The real `lockboxd` and `lockbox` executables, as a user runs them.
@Suite struct BinaryTests {
    @Test func pingAgainstARunningDaemon() async throws {
        let daemon = try Daemon(arguments: [
            "--host", "127.0.0.1", "--port", "0", "--database-url", try await TestDatabase.migratedURLs().runtime,
        ])
        let port = try await daemon.waitUntilListening()
        let ping = try Binaries.run("lockbox", ["ping", "--server", "127.0.0.1:\(port)"])
        #expect(ping.status == 0, "\(ping.stderr)")
        #expect(ping.stdout.hasPrefix("pong from lockboxd 0.1.0 in "))
        #expect(ping.stdout.hasSuffix(" ms\n"))

        // The environment works as well as the flag.
        let viaEnv = try Binaries.run("lockbox", ["ping"], environment: ["LOCKBOX_SERVER": "127.0.0.1:\(port)"])
        #expect(viaEnv.status == 0)

        daemon.terminate(signal: SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
        #expect(daemon.stderr.contains("call.method=lockbox.v1.Lockbox/Ping"))
        #expect(daemon.stderr.contains("call.status=OK"))
    }

    @Test func daemonReadsLockboxEnvironmentVariables() async throws {
        let daemon = try Daemon(
            arguments: ["serve"],
            environment: [
                "LOCKBOX_HOST": "127.0.0.1", "LOCKBOX_PORT": "0", "LOCKBOX_LOG_LEVEL": "warning",
                "LOCKBOX_DATABASE_URL": try await TestDatabase.migratedURLs().runtime,
            ]
        )
        let port = try await daemon.waitUntilListening()
        #expect(try Binaries.run("lockbox", ["ping", "--server", "127.0.0.1:\(port)"]).status == 0)
        daemon.terminate(signal: SIGINT)
        #expect(try await daemon.waitForExit() == 0)
        // warning level: no per-call info lines.
        #expect(!daemon.stderr.contains("call.method"))
    }

    @Test func pingWithNoServerFailsWithUnavailable() throws {
        let ping = try Binaries.run("lockbox", ["ping", "--server", "127.0.0.1:1"])
        #expect(ping.status == 6)
        #expect(ping.stderr.hasPrefix("error: UNAVAILABLE: "))
        #expect(!ping.stderr.contains("Fatal"))
    }

    @Test func badConfigurationIsAClearError() throws {
        let badPort = try Binaries.run("lockboxd", ["--port", "70000"])
        #expect(badPort.status != 0)
        #expect(badPort.stderr.contains("--port (LOCKBOX_PORT) must be an integer in 0...65535, got \"70000\""))
        let badDuration = try Binaries.run("lockboxd", ["--idle-timeout", "soon"])
        #expect(
            badDuration.stderr.contains("--idle-timeout (LOCKBOX_IDLE_TIMEOUT) must be a positive duration such as 10s")
        )
        // Email options are checked before anything starts, with a message that says what to give.
        let noSender = try Binaries.run("lockboxd", ["serve", "--smtp-host", "relay.example"])
        #expect(noSender.status != 0)
        #expect(noSender.stderr.contains("--smtp-from must be the sender's address"), "\(noSender.stderr)")
        let badSecurity = try Binaries.run(
            "lockboxd",
            ["serve", "--smtp-host", "relay.example", "--smtp-from", "a@b.example", "--smtp-security", "ssl"]
        )
        #expect(badSecurity.stderr.contains("--smtp-security (LOCKBOX_SMTP_SECURITY) must be starttls, tls or none"))
        let passwordFile = FileManager.default.temporaryDirectory.appending(path: "smtp-\(UUID().uuidString)")
        try Data("secret\n".utf8).write(to: passwordFile)
        defer { try? FileManager.default.removeItem(at: passwordFile) }
        chmod(passwordFile.path, 0o644)
        let readable = try Binaries.run(
            "lockboxd",
            [
                "serve", "--smtp-host", "relay.example", "--smtp-from", "a@b.example", "--smtp-username", "u",
                "--smtp-password-file", passwordFile.path,
            ]
        )
        #expect(readable.status != 0)
        #expect(readable.stderr.contains("the SMTP password file"), "\(readable.stderr)")
        #expect(readable.stderr.contains("readable by others"), "\(readable.stderr)")
        let badServer = try Binaries.run("lockbox", ["ping", "--server", "nowhere"])
        #expect(badServer.status != 0)
        #expect(badServer.stderr.contains("server must be host:port"))
    }

    @Test func helpDocumentsEveryOptionWithItsEnvironmentVariable() throws {
        let help = try Binaries.run("lockboxd", ["serve", "--help"])
        #expect(help.status == 0)
        for variable in [
            "LOCKBOX_HOST", "LOCKBOX_PORT", "LOCKBOX_MAX_FRAME_SIZE", "LOCKBOX_MAX_CONCURRENT_CALLS",
            "LOCKBOX_IDLE_TIMEOUT", "LOCKBOX_FRAME_READ_TIMEOUT", "LOCKBOX_GRACE_PERIOD", "LOCKBOX_DEFAULT_TIMEOUT",
            "LOCKBOX_LOG_LEVEL", "LOCKBOX_DATABASE_URL", "LOCKBOX_POOL_SIZE", "LOCKBOX_MIGRATIONS_DIR",
            "LOCKBOX_DATABASE_WAIT", "LOCKBOX_SWEEP_INTERVAL", "LOCKBOX_SMTP_HOST", "LOCKBOX_SMTP_PORT",
            "LOCKBOX_SMTP_SECURITY", "LOCKBOX_SMTP_USERNAME", "LOCKBOX_SMTP_PASSWORD_FILE", "LOCKBOX_SMTP_FROM",
            "LOCKBOX_SMTP_CA_FILE", "LOCKBOX_REMINDER_BEFORE", "LOCKBOX_NOTIFICATION_RETRY_BASE",
            "LOCKBOX_NOTIFICATION_ATTEMPTS", "LOCKBOX_WEBHOOK_DISABLE_AFTER", "LOCKBOX_WEBHOOK_CA_FILE",
            "LOCKBOX_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "LOCKBOX_EVENT_RETENTION",
        ] {
            #expect(help.stdout.contains(variable), "\(variable) missing from lockboxd serve --help")
        }
        let version = try Binaries.run("lockboxd", ["--version"])
        #expect(version.stdout == "0.1.0\n")
    }

    @Test func serveRefusesARoleThatCouldRewriteTheAuditLog() async throws {
        let database = try await TestDatabase.migratedURLs()
        for url in [database.owner, database.superuser] {
            let refused = try Binaries.run("lockboxd", ["serve", "--port", "0", "--database-url", url])
            #expect(refused.status == 3)
            #expect(refused.stderr.contains("refusing to serve"))
            #expect(refused.stderr.contains("--allow-privileged-database-role"))
        }
        // For development, it may be overridden: then every start says so.
        let daemon = try Daemon(arguments: [
            "serve", "--port", "0", "--database-url", database.owner, "--allow-privileged-database-role",
        ])
        _ = try await daemon.waitUntilListening()
        daemon.terminate()
        #expect(try await daemon.waitForExit() == 0)
        #expect(daemon.stderr.contains("serving as a privileged database role"))
        // A database that was never migrated is waited for, then refused with what to do.
        let empty = try await TestDatabase.create()
        let waiting = try Binaries.run(
            "lockboxd",
            ["serve", "--port", "0", "--database-url", empty.runtime, "--database-wait", "1s"]
        )
        #expect(waiting.status == 3)
        #expect(waiting.stderr.contains("run lockboxd migrate"))
    }
}
