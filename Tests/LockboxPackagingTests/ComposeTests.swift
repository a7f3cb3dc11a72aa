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
        #expect(Set(services.keys) == ["postgres", "lockboxd"])
        let postgres = try #require(services["postgres"] as? [String: Any])
        let lockboxd = try #require(services["lockboxd"] as? [String: Any])
        #expect(postgres["healthcheck"] != nil)
        #expect(lockboxd["healthcheck"] != nil)
        let dependsOn = try #require(lockboxd["depends_on"] as? [String: Any])
        #expect((dependsOn["postgres"] as? [String: Any])?["condition"] as? String == "service_healthy")

        let environment = try #require(lockboxd["environment"] as? [String: Any]).mapValues { "\($0)" }
        let help = try Binaries.run("lockboxd", ["serve", "--help"]).stdout
        for key in environment.keys {
            #expect(key.hasPrefix("LOCKBOX_"))
            #expect(help.contains(key), "lockboxd does not read \(key)")
        }
        // The port published is the port lockboxd listens on, on all interfaces.
        #expect(environment["LOCKBOX_HOST"] == "0.0.0.0")
        let port = try #require(environment["LOCKBOX_PORT"])
        let ports = try #require(lockboxd["ports"] as? [String])
        #expect(ports == ["\(port):\(port)"])
        // The database URL names the postgres service and its user and database.
        let pgEnvironment = try #require(postgres["environment"] as? [String: Any]).mapValues { "\($0)" }
        let url = try #require(environment["LOCKBOX_DATABASE_URL"])
        let user = try #require(pgEnvironment["POSTGRES_USER"])
        let database = try #require(pgEnvironment["POSTGRES_DB"])
        #expect(url.hasPrefix("postgresql://\(user):"))
        #expect(url.hasSuffix("@postgres:5432/\(database)"))
        // Values that lockboxd parses are ones it accepts.
        if let grace = environment["LOCKBOX_GRACE_PERIOD"] {
            let check = try Binaries.run("lockboxd", ["serve", "--grace-period", grace, "--port", "70000"])
            #expect(!check.stderr.contains("must be a duration"), "\(grace) is not a duration lockboxd reads")
        }
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
