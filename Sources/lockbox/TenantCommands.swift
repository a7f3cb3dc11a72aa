import ArgumentParser
import Foundation
import LockboxIntegrity
import LockboxProto
import LockboxRPC
import LockboxTrust

struct Tenants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create tenants and enroll their first admin; switch the lockbox; read and change settings.",
        subcommands: [
            Create.self, Enroll.self, EnrollmentCode.self, Lockbox.self, Policy.self, AdoptRoot.self, Settings.self,
        ]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: """
                Create a tenant and print its single-use enrollment code (provider admins). Give the code to \
                the customer's first global admin, who runs `lockbox tenants enroll`.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant id: 2 to 63 of a-z, 0-9 and '-'.") var id: String
        @Option(help: "Display name.") var name: String
        @Flag(help: "Print only the enrollment code.") var codeOnly = false

        func run() async throws {
            let response = try await connection.call(
                LockboxMethods.createTenant,
                CreateTenantRequest(tenantID: id, displayName: name)
            )
            if codeOnly { print(response.enrollment?.code ?? "") } else { connection.show(response) }
        }
    }

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: """
                Redeem an enrollment code as the tenant's first global admin, and print your own token once. \
                Needs no --token: the code is the credential. Brings the tenant's root key: the one in \
                --root-key-file, made there (mode 600) when the file does not exist. Keep that file safe, \
                and keep the printed root key id and public key out of band: data planes pin it.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant id.") var tenant: String
        @Option(help: "The enrollment code you were given.") var code: String
        @Option(help: "Your display name.") var name: String
        @Option(help: "The tenant's root key file (made when missing).") var rootKeyFile: String
        @Flag(help: "Print only your token's secret.") var tokenOnly = false

        func run() async throws {
            let (root, created) = try KeyFile.readOrCreate(rootKeyFile)
            let statement = TenantRootStatement(tenantID: tenant, publicKey: root.publicKey, previousKeyID: "")
            let response = try await connection.call(
                LockboxMethods.enrollTenantAdmin,
                EnrollTenantAdminRequest(
                    tenantID: tenant,
                    code: code,
                    displayName: name,
                    rootPublicKey: root.publicKey,
                    rootSignature: root.signature(over: statement.canonicalBytes)
                )
            )
            if created { FileHandle.standardError.write(Data("wrote the tenant's root key to \(rootKeyFile)\n".utf8)) }
            FileHandle.standardError.write(Data("tenant root \(KeyFile.describe(root))\n".utf8))
            if tokenOnly { print(response.token?.secret ?? "") } else { connection.show(response) }
        }
    }

    struct EnrollmentCode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enrollment-code",
            abstract: """
                Issue a new enrollment code for a tenant that has no global admin yet, replacing the old one \
                (provider admins).
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant id.") var tenant: String
        @Flag(help: "Print only the code.") var codeOnly = false

        func run() async throws {
            let code = try await connection.call(
                LockboxMethods.issueEnrollmentCode,
                IssueEnrollmentCodeRequest(tenantID: tenant)
            )
            if codeOnly { print(code.code) } else { connection.show(code) }
        }
    }

    struct Lockbox: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: """
                Switch a tenant's lockbox on or off (its global admins). Off, an internal approval grants \
                access without the customer; a reason is required and recorded.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant id.") var tenant: String
        @Argument(help: "on or off.") var state: String
        @Option(help: "Why; required to switch it off.") var reason: String = ""

        func run() async throws {
            guard state == "on" || state == "off" else { throw ValidationError("state must be on or off") }
            let settings = try await connection.call(
                LockboxMethods.setLockboxEnabled,
                SetLockboxEnabledRequest(tenantID: tenant, enabled: state == "on", reason: reason)
            )
            connection.show(settings)
        }
    }

    struct Settings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or change a tenant's limits.",
            subcommands: [Get.self, Set.self]
        )

        struct Get: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a tenant's settings.")
            @OptionGroup var connection: ConnectionOptions
            @Argument(help: "Tenant id.") var tenant: String

            func run() async throws {
                connection.show(
                    try await connection.call(
                        LockboxMethods.getTenantSettings,
                        GetTenantSettingsRequest(tenantID: tenant)
                    )
                )
            }
        }

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: """
                    Change the limits given, and only those (the tenant's global admins). The lockbox itself is \
                    switched with `lockbox tenants lockbox`.
                    """
            )
            @OptionGroup var connection: ConnectionOptions
            @Argument(help: "Tenant id.") var tenant: String
            @Option(help: "Customer approval window, such as 12h (5m to 7 days).") var approvalWindow: String?
            @Option(help: "Longest access a request may ask for, such as 2h (1m to 4h).") var maxDuration: String?

            func run() async throws {
                guard approvalWindow != nil || maxDuration != nil else {
                    throw ValidationError("give --approval-window, --max-duration or both")
                }
                var request = SetTenantSettingsRequest(tenantID: tenant)
                if let approvalWindow {
                    request.approvalWindowSeconds = Int64Value(
                        value: try parseSeconds(approvalWindow, what: "approval window")
                    )
                }
                if let maxDuration {
                    request.maxAccessDurationSeconds = Int64Value(
                        value: try parseSeconds(maxDuration, what: "max duration")
                    )
                }
                connection.show(try await connection.call(LockboxMethods.setTenantSettings, request))
            }
        }
    }
}

struct Principals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: """
            Create, list, suspend and reactivate principals, bind them to client certificates, and set where \
            they are emailed.
            """,
        subcommands: [Create.self, List.self, Suspend.self, Reactivate.self, BindCertificate.self, SetEmail.self]
    )

    struct BindCertificate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bind-certificate",
            abstract: """
                Bind a principal (a data-plane service's, typically) to its client certificate: its tokens then \
                work only over mutual TLS with that certificate. --clear removes the binding.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Principal id.") var principal: String
        @Option(help: "The client certificate, PEM.") var certificate: String?
        @Flag(help: "Remove the binding.") var clear = false

        func run() async throws {
            var sha256: [UInt8] = []
            switch (certificate, clear) {
            case (let path?, false):
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ValidationError("cannot read \(path)")
                }
                guard let der = Self.der(fromPEM: String(decoding: data, as: UTF8.self)) else {
                    throw ValidationError("\(path) holds no PEM certificate")
                }
                sha256 = Digest.sha256(der)
            case (nil, true):
                break
            default:
                throw ValidationError("give either --certificate FILE or --clear")
            }
            connection.show(
                try await connection.call(
                    LockboxMethods.bindCertificate,
                    BindCertificateRequest(principalID: principal, certificateSHA256: sha256)
                )
            )
        }

        /// The DER bytes of the first certificate in a PEM file.
        static func der(fromPEM text: String) -> [UInt8]? {
            guard let begin = text.range(of: "-----BEGIN CERTIFICATE-----"),
                let end = text.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<text.endIndex)
            else { return nil }
            let body = text[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
            return Data(base64Encoded: String(body)).map(Array.init)
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: """
                Suspend a principal: revoke all its tokens and end its active grants at once (provider admins \
                for provider principals, global admins for their tenant's).
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Principal id.") var principal: String
        @Option(help: "Why; recorded in the audit log.") var reason: String

        func run() async throws {
            connection.show(
                try await connection.call(
                    LockboxMethods.suspendPrincipal,
                    SuspendPrincipalRequest(principalID: principal, reason: reason)
                )
            )
        }
    }

    struct Reactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let a suspended principal authenticate again. Its old tokens and grants stay ended."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Principal id.") var principal: String
        @Option(help: "Why; recorded in the audit log.") var reason: String = ""

        func run() async throws {
            connection.show(
                try await connection.call(
                    LockboxMethods.reactivatePrincipal,
                    ReactivatePrincipalRequest(principalID: principal, reason: reason)
                )
            )
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a principal: a provider one (provider admins) or one of a tenant (its global admins)."
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Display name.") var name: String
        @Option(help: "Tenant id; omit for a provider principal.") var tenant: String = ""
        @Option(help: "A role to assign; repeat for several.") var role: [String] = []
        @Flag(help: "Print only the new principal's id.") var idOnly = false

        func run() async throws {
            let roles = try role.map { RoleAssignment(role: try parseRole($0), tenantID: tenant) }
            let principal = try await connection.call(
                LockboxMethods.createPrincipal,
                CreatePrincipalRequest(displayName: name, tenantID: tenant, roles: roles)
            )
            if idOnly { print(principal.id) } else { connection.show(principal) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's principals, or the provider's.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id; omit for provider principals.") var tenant: String = ""

        func run() async throws {
            let response = try await connection.call(
                LockboxMethods.listPrincipals,
                ListPrincipalsRequest(tenantID: tenant)
            )
            connection.show(
                response.principals,
                columns: ["id", "display_name", "tenant_id", "roles", "created_at_ms"]
            )
        }
    }
}

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Issue and revoke bearer tokens.",
        subcommands: [Issue.self, Revoke.self]
    )

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a token for a principal; the secret is shown once."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Principal id.") var principal: String
        @Option(help: "Expire after this long, such as 12h or 720h; omit for no expiry.") var ttl: String?
        @Flag(help: "Print only the secret.") var secretOnly = false

        func run() async throws {
            var request = IssueTokenRequest(principalID: principal)
            if let ttl { request.ttlSeconds = try parseSeconds(ttl, what: "ttl") }
            let issued = try await connection.call(LockboxMethods.issueToken, request)
            if secretOnly { print(issued.secret) } else { connection.show(issued) }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token; it stops working at once.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Token id (not the secret).") var tokenID: String

        func run() async throws {
            connection.show(try await connection.call(LockboxMethods.revokeToken, RevokeTokenRequest(tokenID: tokenID)))
        }
    }
}

struct Roles: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Assign, remove and list roles. A tenant's roles are changed only by its own global admins.",
        subcommands: [Assign.self, Remove.self, List.self]
    )

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a principal a role.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Principal id.") var principal: String
        @Argument(
            help: "Role: operator, support_manager, provider_admin, service, auditor, global_admin, lockbox_approver."
        )
        var role: String
        @Option(help: "Tenant id, for global_admin and lockbox_approver.") var tenant: String = ""

        func run() async throws {
            let assignment = RoleAssignment(principalID: principal, role: try parseRole(role), tenantID: tenant)
            connection.show(try await connection.call(LockboxMethods.assignRole, assignment))
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a role from a principal.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Principal id.") var principal: String
        @Argument(help: "Role.") var role: String
        @Option(help: "Tenant id, for tenant roles.") var tenant: String = ""

        func run() async throws {
            let assignment = RoleAssignment(principalID: principal, role: try parseRole(role), tenantID: tenant)
            connection.show(try await connection.call(LockboxMethods.removeRole, assignment))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a tenant's role assignments, or the provider's."
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant id; omit for provider roles.") var tenant: String = ""

        func run() async throws {
            let response = try await connection.call(
                LockboxMethods.listRoleAssignments,
                ListRoleAssignmentsRequest(tenantID: tenant)
            )
            connection.show(
                response.assignments,
                columns: ["principal_id", "role", "tenant_id", "assigned_by", "assigned_at_ms"]
            )
        }
    }
}
