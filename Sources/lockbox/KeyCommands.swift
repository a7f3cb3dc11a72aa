import ArgumentParser
import Foundation
import LockboxIntegrity
import LockboxOptionParsing
import LockboxProto
import LockboxRPC
import LockboxTrust

#if canImport(Glibc)
    import Glibc
#endif

/// A tenant key in a file: an Ed25519 seed, base64, readable by its owner only.
enum KeyFile {
    /// The key in `path`, refusing a file others may read.
    static func read(_ path: String) throws -> TenantSigner {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ValidationError("cannot read the key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw ValidationError("the key file \(path) is not a regular file")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw ValidationError("the key file \(path) is readable by others; chmod 600 it")
        }
        var bytes = [UInt8](repeating: 0, count: 512)
        let count = Glibc.read(fd, &bytes, bytes.count)
        guard count > 0 else { throw ValidationError("cannot read the key file \(path)") }
        let text = String(decoding: bytes[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let seed = Data(base64Encoded: text), let signer = try? TenantSigner(seed: Array(seed)) else {
            throw ValidationError("\(path) does not hold a key (32 bytes, base64, as lockbox keys generate writes)")
        }
        return signer
    }

    /// A new key in `path`, which must not exist: created with mode 600, never readable by others.
    static func create(_ path: String) throws -> TenantSigner {
        let seed = TenantSigner.newSeed()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ValidationError("cannot create \(path): \(String(cString: strerror(errno)))") }
        let text = Array((Data(seed).base64EncodedString() + "\n").utf8)
        let written = write(fd, text, text.count)
        close(fd)
        guard written == text.count else { throw ValidationError("cannot write \(path)") }
        return try TenantSigner(seed: seed)
    }

    /// The key in `path`, made there first when the file does not exist.
    static func readOrCreate(_ path: String) throws -> (signer: TenantSigner, created: Bool) {
        if FileManager.default.fileExists(atPath: path) { return (try read(path), false) }
        return (try create(path), true)
    }

    /// How a key is shown to people: its id and its public key.
    static func describe(_ signer: TenantSigner) -> String {
        "\(signer.keyID) (public key \(signer.publicKey.hex))"
    }
}

/// The key file a command signs with: --key-file, or LOCKBOX_KEY_FILE.
extension SignedStatementRequest {
    /// A statement signed with a tenant key (`signed.keyID` is the issuer's), for the trust calls.
    init(tenantID: String, signed: SignedBytes) {
        self.init(
            tenantID: tenantID,
            statement: signed.statement,
            issuerKeyID: signed.keyID,
            signature: signed.signature
        )
    }
}

struct KeyFileOption: ParsableArguments {
    @Option(help: "Your key file (lockbox keys generate). (env LOCKBOX_KEY_FILE)")
    var keyFile: String?

    func signer() throws -> TenantSigner {
        guard let path = keyFile ?? Environment(ProcessInfo.processInfo.environment)["LOCKBOX_KEY_FILE"] else {
            throw ValidationError("give --key-file FILE (or LOCKBOX_KEY_FILE): the key you sign with")
        }
        return try KeyFile.read(path)
    }

    func signerIfGiven() throws -> TenantSigner? {
        guard keyFile != nil || Environment(ProcessInfo.processInfo.environment)["LOCKBOX_KEY_FILE"] != nil else {
            return nil
        }
        return try signer()
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make, certify, revoke and list the keys a tenant's people sign with.",
        discussion: """
            A tenant's root key is made at enrollment (lockbox tenants enroll). The root, or a key it certified \
            to administer, certifies each approver's key to decide; only certified keys' signatures count.
            """,
        subcommands: [Generate.self, Show.self, Certify.self, Revoke.self, List.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new Ed25519 key to a file (mode 600) and print its id and public key."
        )
        @Option(help: "File to create; it must not exist yet.") var output: String
        @Flag(help: "Print only the public key (hex).") var publicKeyOnly = false

        func run() throws {
            let signer = try KeyFile.create(output)
            print(publicKeyOnly ? signer.publicKey.hex : "key \(KeyFile.describe(signer))")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a key file's id and public key.")
        @OptionGroup var key: KeyFileOption
        @Flag(help: "Print only the public key (hex).") var publicKeyOnly = false

        func run() throws {
            let signer = try key.signer()
            print(publicKeyOnly ? signer.publicKey.hex : "key \(KeyFile.describe(signer))")
        }
    }

    struct Certify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Certify a principal's public key, signed with your key (the root, or one that administers)."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var key: KeyFileOption
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "The principal who holds the key.") var principal: String
        @Option(help: "The key's public half: 64 hex digits (Ed25519), or a passkey's SPKI in hex.") var publicKey:
            String
        @Option(help: "ed25519 or es256-webauthn (a passkey).") var algorithm: String = "ed25519"
        @Option(help: "What the key may sign: decide, administer, or decide,administer.") var may: String = "decide"
        @Option(help: "How long the certificate holds: days such as 365d (at most 3650d), or 12h.")
        var validFor: String = "365d"
        @Flag(help: "Print only the certified key's id.") var idOnly = false

        func run() async throws {
            let issuer = try key.signer()
            guard let algorithm = KeyAlgorithm(rawValue: algorithm) else {
                throw ValidationError("--algorithm is ed25519 or es256-webauthn")
            }
            guard let raw = [UInt8](hex: publicKey.lowercased()), !raw.isEmpty, raw.count <= 512 else {
                throw ValidationError("--public-key is the key's bytes in hex")
            }
            guard let capabilities = Capabilities(names: may.split(separator: ",").map(String.init)),
                !capabilities.isEmpty
            else { throw ValidationError("--may is decide, administer, or both") }
            // Days, or any duration parseSeconds reads.
            let seconds: Int64
            if validFor.hasSuffix("d"), let days = Int64(validFor.dropLast()), days > 0, days <= 3650 {
                seconds = days * 86_400
            } else {
                seconds = try parseSeconds(validFor, what: "valid-for")
            }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let certificate = KeyCertificate(
                tenantID: tenant,
                principalID: principal,
                algorithm: algorithm,
                publicKey: raw,
                capabilities: capabilities,
                notBeforeMs: now - 300_000,
                notAfterMs: now + seconds * 1000,
                issuerKeyID: issuer.keyID
            )
            let signed = issuer.sign(certificate)
            let response = try await connection.call(
                LockboxMethods.certifyKey,
                SignedStatementRequest(tenantID: tenant, signed: signed)
            )
            if idOnly { print(response.keyID) } else { connection.show(response) }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a certified key, signed with your key: nothing it signs counts from then on."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var key: KeyFileOption
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "The key to revoke.") var keyID: String

        func run() async throws {
            let issuer = try key.signer()
            let signed = issuer.sign(KeyRevocation(tenantID: tenant, keyID: keyID, issuerKeyID: issuer.keyID))
            connection.show(
                try await connection.call(
                    LockboxMethods.revokeKey,
                    SignedStatementRequest(tenantID: tenant, signed: signed)
                )
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A tenant's roots, certified keys and policy.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id.") var tenant: String

        func run() async throws {
            let trust = try await connection.call(
                LockboxMethods.getTenantTrust,
                GetTenantTrustRequest(tenantID: tenant)
            )
            if connection.json {
                connection.show(trust)
                return
            }
            connection.show(trust.roots, columns: ["key_id", "attested_by", "adopted_at_ms"])
            print("")
            connection.show(
                trust.keys,
                columns: ["key_id", "principal_id", "algorithm", "may", "not_after_ms", "revoked"],
                computed: ["may": { $0.capabilities.joined(separator: ",") }]
            )
            if let policy = trust.policy {
                print("")
                print(
                    "policy version \(policy.version): lockbox \(policy.lockboxEnabled ? "on" : "off"), "
                        + "signatures \(policy.signaturesRequired ? "required" : "optional")"
                )
            }
        }
    }
}

extension Tenants {
    struct Policy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the tenant's policy, signed with your key (the root, or one that administers).",
            discussion: PolicyOptions.discussion
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var key: KeyFileOption
        @OptionGroup var policy: PolicyOptions

        func run() async throws { try await policy.set(connection: connection, key: key) }
    }

    struct AdoptRoot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "adopt-root",
            abstract: "Give a tenant enrolled before roots its root, or replace the root (global admins).",
            discussion: """
                The root key file is made when it does not exist. To replace a root, give the current one \
                with --previous-root-key-file: it signs the new root too. Keep the printed key id: data \
                planes pin the root's public key.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant id.") var tenant: String
        @Option(help: "The new root's key file (made when missing).") var rootKeyFile: String
        @Option(help: "The current root's key file, to replace it.") var previousRootKeyFile: String?

        func run() async throws {
            let (root, created) = try KeyFile.readOrCreate(rootKeyFile)
            let previous = try previousRootKeyFile.map(KeyFile.read)
            let statement = TenantRootStatement(
                tenantID: tenant,
                publicKey: root.publicKey,
                previousKeyID: previous?.keyID ?? ""
            ).canonicalBytes
            let adopted = try await connection.call(
                LockboxMethods.adoptTenantRoot,
                AdoptTenantRootRequest(
                    tenantID: tenant,
                    publicKey: root.publicKey,
                    signature: root.signature(over: statement),
                    previousSignature: previous?.signature(over: statement) ?? []
                )
            )
            if created { FileHandle.standardError.write(Data("wrote a new root key to \(rootKeyFile)\n".utf8)) }
            FileHandle.standardError.write(Data("tenant root \(KeyFile.describe(root))\n".utf8))
            connection.show(adopted)
        }
    }
}

extension Access {
    struct VerifyEvidence: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-evidence",
            abstract: "Check a grant's evidence as a data plane does, against tenant roots you pin.",
            discussion: """
                Reads the evidence `lockbox access check --evidence FILE` saved, and checks it against the \
                pinned root public keys only (not against any server). Exits 0 when it allows the operation \
                now, 1 when not.
                """
        )
        @Option(help: "The evidence file.") var evidence: String
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "Operator principal id.") var `operator`: String
        @Option(help: "exchange, sharepoint, onedrive or teams.") var service: String
        @Option(help: "Operation name.") var operation: String
        @Option(help: "A pinned root public key of the tenant, 64 hex digits; repeat for several.") var root: [String]

        func run() throws {
            guard let data = FileManager.default.contents(atPath: evidence) else {
                throw ValidationError("cannot read \(evidence)")
            }
            let roots = try root.map { text -> [UInt8] in
                guard let raw = [UInt8](hex: text.lowercased()), raw.count == 32 else {
                    throw ValidationError("--root is 64 hex digits")
                }
                return raw
            }
            guard let parsed = try? AccessEvidence(canonicalBytes: Array(data)) else {
                print("FAILED: \(evidence) is not lockbox/evidence/v1")
                throw ExitCode(1)
            }
            let verdict = EvidenceVerifier(pinnedRoots: [tenant: roots]).verify(
                parsed,
                tenantID: tenant,
                operatorID: `operator`,
                service: service,
                operation: operation,
                nowMs: Int64(Date().timeIntervalSince1970 * 1000)
            )
            switch verdict {
            case .success(.approved(let decision)):
                print(
                    "ok: \(decision.approverID) approved with \(decision.keyID), until \(Render.time(decision.endsAtMs))"
                )
            case .success(.lockboxOff(let policy)):
                print("ok: the tenant's signed policy (version \(policy.version)) has the lockbox off")
            case .failure(let problem):
                print("FAILED: \(problem)")
                throw ExitCode(1)
            }
        }
    }
}

/// What a tenant policy says, as options: `lockbox keys policy` and `lockbox policy set`.
struct PolicyOptions: ParsableArguments {
    static let discussion = """
        The policy says whether the lockbox is on, whether decisions must be signed, what a \
        passkey's assertion must show, and how many approvers decide each service's requests. \
        It takes the next version, and states the whole policy: options left out take their \
        defaults (the lockbox on, signatures and user verification required, no passkey relying \
        party, one approval, any category, no pre-approval), never the server's word. What is \
        signed is printed first. CheckAccess follows the signed policy, not a switch in the \
        database.

        --approvals exchange=2 asks for two distinct approvers' signed decisions on Exchange \
        requests (1 to 5; a service without a rule takes one). One denial ends such a request, \
        unless --denial-counts names the service: then a denial only counts against the \
        threshold, and the request is denied once too few approvers are left to reach it.
        """

    @Argument(help: "Tenant id.") var tenant: String
    @Option(help: "on or off.") var lockbox: String?
    @Option(help: "required or optional: whether decisions must be signed.") var signatures: String?
    @Option(help: "required or preferred: whether a passkey must verify its user.") var userVerification: String?
    @Option(help: "The WebAuthn relying-party id of your portal's passkeys (\"\" for none).") var rpId: String?
    @Option(help: "An https:// origin your portal signs from; repeat for several, or none to remove them.")
    var origin: [String] = []
    @Option(
        help: "SERVICE=N: N distinct approvers (1 to 5) decide the service's requests; repeat per service, or none."
    )
    var approvals: [String] = []
    @Option(help: "A service whose denials only count against its threshold; repeat for several.")
    var denialCounts: [String] = []
    @Option(
        help: """
            A service where each person counts once per request: a delegate's decision in another's place \
            does not count beside their own. Repeat for several.
            """
    )
    var personCountsOnce: [String] = []
    @Option(
        help: """
            A justification category requests must carry (incident, service_request, security_investigation, \
            customer_requested); repeat for several, or none to accept any.
            """
    )
    var category: [String] = []
    @Option(
        help: """
            A pre-approval, SERVICE:CATEGORY:DURATION:OPERATION[,OPERATION...] such as \
            exchange:incident:1h:Get-Mailbox,Get-MessageTrace: such requests are approved by this signed \
            policy, without an approver. Repeat for several, or none to remove them.
            """
    )
    var autoApprove: [String] = []

    static let services = ["exchange", "sharepoint", "onedrive", "teams"]

    /// The approval rules the options name; nil when they name none (keep the policy's).
    func rules() throws -> [ApprovalRule]? {
        guard !approvals.isEmpty else {
            guard denialCounts.isEmpty, personCountsOnce.isEmpty else {
                throw ValidationError("--denial-counts and --person-counts-once need --approvals")
            }
            return nil
        }
        if approvals == ["none"] {
            guard denialCounts.isEmpty, personCountsOnce.isEmpty else {
                throw ValidationError("--denial-counts and --person-counts-once need a rule to apply to")
            }
            return []
        }
        var rules: [String: ApprovalRule] = [:]
        for item in approvals {
            let parts = item.split(separator: "=", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, Self.services.contains(parts[0]), let count = Int64(parts[1]),
                (1...ApprovalRule.maximumApprovals).contains(count)
            else {
                throw ValidationError(
                    "--approvals is SERVICE=N: exchange, sharepoint, onedrive or teams, and 1 to \(ApprovalRule.maximumApprovals)"
                )
            }
            guard rules[parts[0]] == nil else { throw ValidationError("--approvals names \(parts[0]) twice") }
            rules[parts[0]] = ApprovalRule(service: parts[0], approvalsRequired: count)
        }
        for service in denialCounts {
            guard rules[service] != nil else {
                throw ValidationError("--denial-counts \(service) needs --approvals \(service)=N")
            }
            rules[service]?.denialEnds = false
        }
        for service in personCountsOnce {
            guard rules[service] != nil else {
                throw ValidationError("--person-counts-once \(service) needs --approvals \(service)=N")
            }
            rules[service]?.personCountsOnce = true
        }
        return Array(rules.values)
    }

    /// The pre-approvals the options name; nil when they name none (keep the policy's).
    func autoApprovals() throws -> [AutoApprovalRule]? {
        guard !autoApprove.isEmpty else { return nil }
        if autoApprove == ["none"] { return [] }
        return try autoApprove.map { item in
            let parts = item.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 4, Self.services.contains(parts[0]), !parts[3].isEmpty else {
                throw ValidationError(
                    "--auto-approve is SERVICE:CATEGORY:DURATION:OPERATION[,OPERATION...], such as "
                        + "exchange:incident:1h:Get-Mailbox"
                )
            }
            return AutoApprovalRule(
                service: parts[0],
                category: try parseCategory(parts[1]) == .unspecified ? "" : parts[1],
                maxDurationSeconds: try parseSeconds(parts[2], what: "the pre-approval's duration"),
                operations: parts[3].split(separator: ",").map(String.init)
            )
        }
    }

    /// The categories the options name; nil when they name none (keep the policy's).
    func categories() throws -> [String]? {
        guard !category.isEmpty else { return nil }
        if category == ["none"] { return [] }
        let known = ["incident", "service_request", "security_investigation", "customer_requested"]
        if let unknown = category.first(where: { !known.contains($0) }) {
            throw ValidationError("--category \(unknown): use \(known.joined(separator: ", ")), or none")
        }
        return category
    }

    static func choice(_ value: String?, _ option: String, _ yes: String, _ no: String) throws -> Bool {
        guard let value else { return true }
        guard value == yes || value == no else { throw ValidationError("--\(option) is \(yes) or \(no)") }
        return value == yes
    }

    func set(connection: ConnectionOptions, key: KeyFileOption) async throws {
        let issuer = try key.signer()
        // Only the version comes from the server: every field signed is one these options
        // state (or its default), so a server that is not what it claims cannot get this key's
        // signature on a weaker policy than the one asked for.
        let trust = try await connection.call(
            LockboxMethods.getTenantTrust,
            GetTenantTrustRequest(tenantID: tenant)
        )
        let policy = TenantPolicy(
            tenantID: tenant,
            version: (trust.policy?.version ?? 0) + 1,
            lockboxEnabled: try Self.choice(lockbox, "lockbox", "on", "off"),
            signaturesRequired: try Self.choice(signatures, "signatures", "required", "optional"),
            userVerificationRequired: try Self.choice(userVerification, "user-verification", "required", "preferred"),
            rpID: rpId ?? "",
            origins: origin == ["none"] ? [] : origin,
            approvalRules: try rules() ?? [],
            justificationCategories: try categories() ?? [],
            autoApprovals: try autoApprovals() ?? [],
            issuerKeyID: issuer.keyID
        )
        FileHandle.standardError.write(
            Data(printable("signing: \(Self.describe(policy))", limit: 4000).appending("\n").utf8)
        )
        let signed = issuer.sign(policy)
        connection.show(
            try await connection.call(
                LockboxMethods.setTenantPolicy,
                SignedStatementRequest(tenantID: tenant, signed: signed)
            )
        )
    }

    /// The policy in one line, as the key signs it.
    static func describe(_ policy: TenantPolicy) -> String {
        var parts = [
            "policy version \(policy.version) of \(policy.tenantID)",
            "lockbox \(policy.lockboxEnabled ? "on" : "off")",
            "signatures \(policy.signaturesRequired ? "required" : "optional")",
            "user verification \(policy.userVerificationRequired ? "required" : "preferred")",
        ]
        if !policy.rpID.isEmpty {
            parts.append("rp-id \(policy.rpID), origins \(policy.origins.joined(separator: " "))")
        }
        for rule in policy.approvalRules {
            parts.append(
                "\(rule.service): \(rule.approvalsRequired) approvers\(rule.denialEnds ? "" : ", denials count")"
                    + (rule.personCountsOnce ? ", each person once" : "")
            )
        }
        if !policy.justificationCategories.isEmpty {
            parts.append("categories \(policy.justificationCategories.joined(separator: " "))")
        }
        for rule in policy.autoApprovals {
            parts.append(
                "pre-approved \(rule.service) \(rule.category) up to \(rule.maxDurationSeconds) s: "
                    + rule.operations.joined(separator: " ")
            )
        }
        return parts.joined(separator: "; ")
    }
}

/// `lockbox policy`: the tenant's signed policy, set and shown.
struct PolicyCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "The tenant's signed policy: the lockbox switch, signatures, and how many approvers decide.",
        subcommands: [Set.self, Show.self]
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the tenant's policy, signed with your key (the root, or one that administers).",
            discussion: PolicyOptions.discussion
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var key: KeyFileOption
        @OptionGroup var policy: PolicyOptions

        func run() async throws { try await policy.set(connection: connection, key: key) }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the tenant's policy in force (none before the first is set)."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant id.") var tenant: String

        func run() async throws {
            let trust = try await connection.call(
                LockboxMethods.getTenantTrust,
                GetTenantTrustRequest(tenantID: tenant)
            )
            guard let policy = trust.policy else {
                print("no signed policy: the lockbox is on, decisions are signed, one approval decides")
                return
            }
            connection.show(policy)
        }
    }
}
