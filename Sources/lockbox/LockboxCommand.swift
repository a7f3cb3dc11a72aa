import ArgumentParser
import Foundation
import LockboxOptionParsing
import LockboxProto
import LockboxRPC

@main
struct Lockbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockbox",
        abstract: "Command-line client for a Lockbox server.",
        discussion: """
            Every command takes --server (or LOCKBOX_SERVER, default 127.0.0.1:7443), --token (or LOCKBOX_TOKEN), \
            --timeout and --json.

            Exit codes: 0 OK; 2 invalid argument; 3 unauthenticated or permission denied; 4 not found; \
            5 failed precondition or already exists; 6 unavailable, deadline exceeded or cancelled; \
            7 access check denied; 1 anything else.
            """,
        subcommands: [
            Ping.self, Requests.self, Access.self, Grants.self, Tenants.self, Principals.self, Tokens.self,
            Roles.self, Audit.self, Operations.self, Webhooks.self, Notifications.self, Keys.self, PolicyCommands.self,
            Delegations.self,
        ]
    )
}

struct ConnectionOptions: ParsableArguments {
    @Option(help: "Server address host:port. (env LOCKBOX_SERVER, default 127.0.0.1:7443)")
    var server: String?

    @Option(help: "Bearer token. (env LOCKBOX_TOKEN)")
    var token: String?

    @Option(help: "Deadline for the call, such as 500ms or 10s. (default 30s)")
    var timeout: String?

    @Flag(help: "Print JSON instead of tables.")
    var json = false

    @Option(help: "Speak TLS, trusting these roots (PEM) for the server's certificate. (env LOCKBOX_TLS_CA_FILE)")
    var tlsCaFile: String?

    @Option(help: "Client certificate (PEM) for a server that requires one. (env LOCKBOX_TLS_CLIENT_CERT_FILE)")
    var tlsClientCertFile: String?

    @Option(help: "Its private key (PEM). (env LOCKBOX_TLS_CLIENT_KEY_FILE)")
    var tlsClientKeyFile: String?

    @Option(
        help:
            "The name the server's certificate must carry; default the host of --server. (env LOCKBOX_TLS_SERVER_NAME)"
    )
    var tlsServerName: String?

    @Flag(help: "Speak TLS, trusting the system's roots. (env LOCKBOX_TLS=1)")
    var tls = false

    @Flag(
        help: """
            Speak plaintext to a server that is not on loopback (the token crosses the network in clear). \
            (env LOCKBOX_PLAINTEXT=1)
            """
    )
    var plaintext = false

    /// TLS when any TLS option is given; plaintext otherwise.
    func tlsConfiguration(_ env: Environment) throws -> RPCClientTLS? {
        let ca = tlsCaFile ?? env["LOCKBOX_TLS_CA_FILE"]
        let cert = tlsClientCertFile ?? env["LOCKBOX_TLS_CLIENT_CERT_FILE"]
        let key = tlsClientKeyFile ?? env["LOCKBOX_TLS_CLIENT_KEY_FILE"]
        let serverName = tlsServerName ?? env["LOCKBOX_TLS_SERVER_NAME"]
        guard tls || env["LOCKBOX_TLS"] == "1" || ca != nil || cert != nil || key != nil || serverName != nil else {
            return nil
        }
        guard (cert == nil) == (key == nil) else {
            throw ValidationError("give both --tls-client-cert-file and --tls-client-key-file")
        }
        do {
            return try RPCClientTLS(
                caFile: ca,
                certificateChain: cert,
                privateKey: key,
                serverName: serverName
            )
        } catch {
            throw ValidationError("cannot use the TLS files: \(error)")
        }
    }

    func client() throws -> (RPCClient, CallOptions) {
        let env = Environment(ProcessInfo.processInfo.environment)
        let address = server ?? env["LOCKBOX_SERVER"] ?? "127.0.0.1:7443"
        guard let (host, port) = parseHostPort(address) else {
            throw ValidationError("server must be host:port, got \"\(address)\"")
        }
        var callTimeout = Duration.seconds(30)
        if let timeout {
            guard let parsed = parseDuration(timeout), parsed > .zero else {
                throw ValidationError("bad timeout \"\(timeout)\"")
            }
            callTimeout = parsed
        }
        let tls = try tlsConfiguration(env)
        if tls == nil, !(plaintext || env["LOCKBOX_PLAINTEXT"] == "1"),
            !isLoopback(host)
        {
            throw ValidationError(
                "\(host) is not loopback: give --tls-ca-file (or --tls) to speak TLS, or --plaintext to send the token in clear"
            )
        }
        let client = RPCClient(
            configuration: RPCClientConfiguration(host: host, port: port, defaultTimeout: callTimeout, tls: tls)
        )
        return (client, CallOptions(authToken: token ?? env["LOCKBOX_TOKEN"] ?? ""))
    }

    /// Makes one unary call; a failure becomes a one-line error and its exit code.
    func call<Request, Response>(
        _ method: UnaryMethod<Request, Response>,
        _ request: Request,
        idempotencyKey: String = ""
    ) async throws -> Response {
        let (client, options) = try client()
        var callOptions = options
        callOptions.idempotencyKey = idempotencyKey
        do {
            let response = try await client.unary(method, request, options: callOptions)
            await client.close()
            return response
        } catch {
            await client.close()
            throw fail(error)
        }
    }

    /// Makes one server-streaming call with no deadline, handing each message to `each`;
    /// a failure becomes a one-line error and its exit code.
    func stream<Request, Response>(
        _ method: ServerStreamingMethod<Request, Response>,
        _ request: Request,
        each: (Response) throws -> Void
    ) async throws {
        let (client, options) = try client()
        var streamOptions = options
        streamOptions.timeout = nil
        do {
            for try await message in client.serverStream(method, request, options: streamOptions) {
                try each(message)
            }
            await client.close()
        } catch let error as RPCError {
            await client.close()
            throw fail(error)
        }
    }

    func show(_ message: some ProtoMessage) {
        print(json ? Render.json(message) : Render.detail(message))
    }

    func show<Message: ProtoMessage>(
        _ messages: [Message],
        columns: [String],
        computed: [String: (Message) -> String] = [:],
        next: String = ""
    ) {
        if json {
            let objects = messages.map { Render.object($0) }
            var wrapper: [String: Any] = ["items": objects]
            if !next.isEmpty { wrapper["next_page_token"] = next }
            let data =
                (try? JSONSerialization.data(withJSONObject: wrapper, options: [.sortedKeys, .prettyPrinted])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(messages.isEmpty ? "(none)" : Render.table(messages, columns: columns, computed: computed))
            if !next.isEmpty { print("more: --page-token \(next)") }
        }
    }
}

/// Exit codes by status class, documented in `lockbox --help` and the README.
enum ExitStatus {
    static let accessDenied: Int32 = 7

    static func code(for status: StatusCode) -> Int32 {
        switch status {
        case .ok: 0
        case .invalidArgument, .outOfRange: 2
        case .unauthenticated, .permissionDenied: 3
        case .notFound: 4
        case .failedPrecondition, .alreadyExists, .aborted: 5
        case .unavailable, .deadlineExceeded, .cancelled: 6
        default: 1
        }
    }

    static func hint(for status: StatusCode) -> String {
        switch status {
        case .unauthenticated: "pass a valid token with --token or LOCKBOX_TOKEN"
        case .permissionDenied: "this token's roles do not allow that"
        case .notFound: "check the id, and that your token may see it"
        case .failedPrecondition: "the request is not in a state that allows this"
        case .unavailable: "is lockboxd running, and its database up? (lockbox ping)"
        case .deadlineExceeded: "the server did not answer in time; try --timeout"
        case .invalidArgument: "see --help for the expected values"
        default: ""
        }
    }
}

func fail(_ error: RPCError) -> ExitCode {
    var hint = ExitStatus.hint(for: error.code)
    if error.message.contains("speaks TLS on this port") {
        hint =
            "the server speaks TLS: pass --tls-ca-file FILE (or LOCKBOX_TLS_CA_FILE) with the CA that signed "
            + "its certificate, or --tls to trust the system's roots"
    } else if error.message.contains("not speak TLS on this port") {
        hint = "the server speaks plaintext on this port: leave out --tls and --tls-ca-file (and LOCKBOX_TLS_CA_FILE)"
    } else if error.message.contains("certificate is not trusted") {
        hint = "check --tls-ca-file (the CA that signed the server's certificate) and the host name in --server"
    }
    FileHandle.standardError.write(Data("error: \(error.code): \(error.message)\n".utf8))
    if !hint.isEmpty { FileHandle.standardError.write(Data("hint: \(hint)\n".utf8)) }
    return ExitCode(ExitStatus.code(for: error.code))
}

// MARK: - Parsing helpers

func parseService(_ text: String) throws -> Service {
    guard let service = Service(protoName: "SERVICE_" + text.uppercased()), service != .unspecified else {
        throw ValidationError("service must be exchange, sharepoint, onedrive or teams, got \"\(text)\"")
    }
    return service
}

func parseRole(_ text: String) throws -> Role {
    let normalized = text.uppercased().replacingOccurrences(of: "-", with: "_")
    guard let role = Role(protoName: "ROLE_" + normalized), role != .unspecified else {
        throw ValidationError(
            "role must be operator, support_manager, provider_admin, service, auditor, global_admin or lockbox_approver"
        )
    }
    return role
}

func parseSeconds(_ text: String, what: String) throws -> Int64 {
    guard let duration = parseDuration(text) else {
        throw ValidationError("\(what) must be a duration such as 90m, 2h or 3600 (seconds), got \"\(text)\"")
    }
    return duration.components.seconds
}

/// A time as Unix milliseconds: ISO-8601 (2026-11-28T10:00:00Z), or a duration ago such as 24h.
func parseTime(_ text: String) throws -> Int64 {
    let formatter = ISO8601DateFormatter()
    if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
    if let ago = parseDuration(text) {
        return Int64(Date().timeIntervalSince1970 * 1000) - ago.components.seconds * 1000
    }
    throw ValidationError("time must be ISO-8601 such as 2026-11-28T10:00:00Z, or a duration ago such as 24h")
}

/// A justification category by its name (incident, service_request, security_investigation,
/// customer_requested); "" for none.
func parseCategory(_ text: String) throws -> JustificationCategory {
    guard !text.isEmpty else { return .unspecified }
    guard let category = JustificationCategory(protoName: "JUSTIFICATION_CATEGORY_" + text.uppercased()),
        category != .unspecified
    else {
        throw ValidationError(
            "--category is incident, service_request, security_investigation or customer_requested"
        )
    }
    return category
}

/// A time ahead as Unix milliseconds: ISO-8601 (2026-12-07T09:00:00Z), or +DURATION from now such as +2h.
func parseStart(_ text: String) throws -> Int64 {
    if text.hasPrefix("+"), let ahead = parseDuration(String(text.dropFirst())) {
        return Int64(Date().timeIntervalSince1970 * 1000) + ahead.components.seconds * 1000
    }
    if let date = ISO8601DateFormatter().date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
    throw ValidationError("--start-at must be ISO-8601 such as 2026-12-07T09:00:00Z, or +DURATION such as +2h")
}

struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that the server answers; print its version and the round-trip time."
    )

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let response = try await connection.call(LockboxMethods.ping, PingRequest())
        let elapsed = clock.now - start
        let millis = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        if connection.json {
            print(Render.json(response))
        } else {
            print("pong from lockboxd \(response.version) in \(String(format: "%.2f", millis)) ms")
        }
    }
}
