import Foundation
import LockboxTestSupport
import Testing
import Yams

/// docker-compose.yml cannot be started here (no Docker engine), so its wiring is checked
/// against the real lockboxd: every LOCKBOX_* it sets must be one lockboxd reads.
@Suite struct ComposeTests {
    @Test func composeFileMatchesTheServer() throws {
        let text = try String(contentsOf: packageRoot.appending(path: "docker-compose.yml"), encoding: .utf8)
        let compose = try #require(try Yams.load(yaml: text) as? [String: Any])
        let services = try #require(compose["services"] as? [String: Any])
        #expect(Set(services.keys) == ["postgres", "migrate", "certs", "lockboxd", "prometheus", "mail"])
        let postgres = try #require(services["postgres"] as? [String: Any])
        let migrate = try #require(services["migrate"] as? [String: Any])
        let lockboxd = try #require(services["lockboxd"] as? [String: Any])
        #expect(postgres["healthcheck"] != nil)
        #expect(lockboxd["healthcheck"] != nil)
        // Migrations run once the database is up; lockboxd once they succeeded.
        let migrateDependsOn = try #require(migrate["depends_on"] as? [String: Any])
        #expect((migrateDependsOn["postgres"] as? [String: Any])?["condition"] as? String == "service_healthy")
        let dependsOn = try #require(lockboxd["depends_on"] as? [String: Any])
        #expect((dependsOn["migrate"] as? [String: Any])?["condition"] as? String == "service_completed_successfully")

        let environment = try #require(lockboxd["environment"] as? [String: Any]).mapValues { "\($0)" }
        let help = try Binaries.run("lockboxd", ["serve", "--help"]).stdout
        for key in environment.keys {
            #expect(key.hasPrefix("LOCKBOX_"))
            #expect(help.contains(key), "lockboxd does not read \(key)")
        }
        // Its email goes to the mail catcher, whose web page is published on loopback only.
        let mail = try #require(services["mail"] as? [String: Any])
        #expect(mail["ports"] as? [String] == ["127.0.0.1:8025:8025"])
        #expect(environment["LOCKBOX_SMTP_HOST"] == "mail")
        #expect(environment["LOCKBOX_SMTP_FROM"] != nil)
        // lockboxd listens on all of the container's interfaces, published on the host's loopback only.
        #expect(environment["LOCKBOX_HOST"] == "0.0.0.0")
        let port = try #require(environment["LOCKBOX_PORT"])
        let ports = try #require(lockboxd["ports"] as? [String])
        #expect(ports == ["127.0.0.1:\(port):\(port)"])
        // Two roles, each with a password, never the superuser: the owner migrates and grants the
        // runtime role, which lockboxd serves as.
        let pgEnvironment = try #require(postgres["environment"] as? [String: Any]).mapValues { "\($0)" }
        #expect(pgEnvironment["POSTGRES_INITDB_ARGS"]?.contains("--auth-host=scram-sha-256") == true)
        #expect(pgEnvironment["POSTGRES_INITDB_ARGS"]?.contains("trust") == false)
        let volumes = try #require(postgres["volumes"] as? [String])
        #expect(volumes.contains { $0.hasPrefix("./scripts/compose-init.sh:/docker-entrypoint-initdb.d/") })
        let initScript = try String(contentsOf: packageRoot.appending(path: "scripts/compose-init.sh"), encoding: .utf8)
        #expect(initScript.contains("CREATE ROLE lockbox_owner") && initScript.contains("CREATE ROLE lockbox_app"))
        #expect(initScript.contains("CREATE DATABASE lockbox OWNER lockbox_owner"))
        let url = try #require(environment["LOCKBOX_DATABASE_URL"])
        #expect(url.hasPrefix("postgresql://lockbox_app:"))
        #expect(url.hasSuffix("@postgres:5432/lockbox"))
        let migrateEnvironment = try #require(migrate["environment"] as? [String: Any]).mapValues { "\($0)" }
        #expect(migrateEnvironment["LOCKBOX_DATABASE_URL"]?.hasPrefix("postgresql://lockbox_owner:") == true)
        let command = try #require(migrate["command"] as? [String])
        #expect(command == ["migrate", "--runtime-role", "lockbox_app"])
        let migrateHelp = try Binaries.run("lockboxd", ["migrate", "--help"]).stdout
        #expect(migrateHelp.contains("--runtime-role"))
        // Values that lockboxd parses are ones it accepts.
        if let grace = environment["LOCKBOX_GRACE_PERIOD"] {
            let check = try Binaries.run("lockboxd", ["serve", "--grace-period", grace, "--port", "70000"])
            #expect(!check.stderr.contains("must be a duration"), "\(grace) is not a duration lockboxd reads")
        }
        // TLS from the certs one-shot's volume, and the metrics port Prometheus scrapes.
        #expect(environment["LOCKBOX_PLAINTEXT"] == nil)
        #expect(environment["LOCKBOX_TLS_CERT_FILE"] == "/tls/server.pem")
        #expect(environment["LOCKBOX_TLS_KEY_FILE"] == "/tls/server.key")
        #expect((dependsOn["certs"] as? [String: Any])?["condition"] as? String == "service_completed_successfully")
        let certs = try #require(services["certs"] as? [String: Any])
        let certsEntrypoint = try #require(certs["entrypoint"] as? [String])
        #expect(certsEntrypoint.first == "tls-dev-certs")
        let image = try String(contentsOf: packageRoot.appending(path: "Dockerfile"), encoding: .utf8)
        #expect(image.contains("install -D scripts/tls-dev-certs /out/bin/tls-dev-certs"))
        // The one-shot makes what lockboxd is told to read, with a name other containers use.
        let made = FileManager.default.temporaryDirectory.appending(path: "compose-tls-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: made) }
        let run = try Binaries.runPath(
            packageRoot.appending(path: "scripts/tls-dev-certs").path,
            [made.path] + Array(certsEntrypoint.dropFirst(2))
        )
        #expect(run.status == 0, "\(run.stderr)")
        for file in ["server.pem", "server.key", "ca.pem"] {
            #expect(FileManager.default.fileExists(atPath: made.appending(path: file).path), "\(file)")
        }
        let metricsPort = try #require(environment["LOCKBOX_METRICS_PORT"])
        let prometheusConfig = try String(
            contentsOf: packageRoot.appending(path: "deploy/prometheus.yml"),
            encoding: .utf8
        )
        #expect(prometheusConfig.contains("lockboxd:\(metricsPort)"))
        let prometheus = try #require(services["prometheus"] as? [String: Any])
        let prometheusVolumes = try #require(prometheus["volumes"] as? [String])
        #expect(prometheusVolumes.contains { $0.hasPrefix("./deploy/prometheus.yml:") })
        // The healthcheck runs a real lockbox command.
        let health = try #require((lockboxd["healthcheck"] as? [String: Any])?["test"] as? [String])
        #expect(Array(health.prefix(3)) == ["CMD", "lockbox", "ping"])
        #expect(try Binaries.run("lockbox", Array(health.dropFirst(2)) + ["--help"]).status == 0)
        // The image serves migrations from where the Dockerfile installs them.
        let dockerfile = try String(contentsOf: packageRoot.appending(path: "Dockerfile"), encoding: .utf8)
        #expect(dockerfile.contains("LOCKBOX_MIGRATIONS_DIR=/usr/local/share/lockbox/migrations"))
        #expect(dockerfile.contains("cp -r migrations /out/share/lockbox/migrations"))
        #expect(help.contains("LOCKBOX_MIGRATIONS_DIR"))
    }
}
