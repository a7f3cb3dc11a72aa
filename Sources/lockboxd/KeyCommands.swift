import ArgumentParser
import Foundation
import LockboxCore
import LockboxIntegrity
import LockboxServer
import LockboxStore
import Logging

/// `lockboxd keys`: making a server signing key one the database trusts.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a server signing key trusted: introduce it as the database's owner, or cross-sign it.",
        discussion: """
            lockboxd serve refuses to start with a key the database does not trust, and ListSigningKeys serves \
            only trusted keys. A key is trusted when the database's owner role introduced it (keys add, or \
            migrate --signing-key-file), or a trusted key cross-signed it (keys cross-sign). The database \
            records each key's arrival in every audit chain.
            """,
        subcommands: [AddKey.self, CrossSignKey.self]
    )
}

struct AddKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Introduce a signing key, connected as the database's owner role (as migrate is).",
        discussion: """
            Give the key's public half (--public-key, as lockboxd keygen prints it), so that the owner need not \
            hold the private key, or the key file itself. Run as the runtime role, the database refuses it.
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The key's public half: 64 hex digits, as `lockboxd keygen` prints it.")
    var publicKey: String?
    @Option(Settings.signingKeyFile) var signingKeyFile: String?

    func run() async throws {
        let key: PublicSigningKey
        if let publicKey {
            guard let raw = [UInt8](hex: publicKey.lowercased()), raw.count == 32 else {
                throw ValidationError("--public-key must be 64 hex digits (a raw Ed25519 public key)")
            }
            key = PublicSigningKey(keyID: PublicSigningKey.keyID(for: raw), publicKey: raw)
        } else {
            let file = try resolving { try Settings.signingKeyFile.value(signingKeyFile, environment) }
            key = try SigningKey.load(file: file).publicKey
        }
        let logger = bootstrapLogging(.warning)
        try await KeyCommand.introduce(key, by: nil, database: database, what: "lockboxd keys add", logger: logger)
    }
}

struct CrossSignKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cross-sign",
        abstract: "Introduce a new signing key with a trusted key's signature; the runtime role may run it.",
        discussion: """
            For rotation: the key in --signing-key-file (or LOCKBOX_SIGNING_KEY), already trusted, signs the \
            new key's introduction. Start lockboxd with the new key afterwards; the old key stays published, \
            so what it signed still verifies.
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(Settings.signingKeyFile) var signingKeyFile: String?
    @Option(help: "File holding the new key (what `lockboxd keygen --output` wrote).")
    var newKeyFile: String

    func run() async throws {
        let file = try resolving { try Settings.signingKeyFile.value(signingKeyFile, environment) }
        let introducer = try SigningKey.load(file: file)
        let key = try SigningKey.load(file: newKeyFile).publicKey
        let logger = bootstrapLogging(.warning)
        try await KeyCommand.introduce(
            key,
            by: introducer,
            database: database,
            what: "lockboxd keys cross-sign",
            logger: logger
        )
    }
}

enum KeyCommand {
    /// Introduces `key`, printing what happened; exits 5 when the database or the rules refuse it.
    static func introduce(
        _ key: PublicSigningKey,
        by introducer: Signer?,
        database: DatabaseOptions,
        what: String,
        logger: Logger
    ) async throws {
        let config = try database.resolve(environment)
        let pool = PGPool(configuration: config.database, logger: logger)
        do {
            try await LockboxApplication.waitForSchema(
                config.migrations,
                pool: pool,
                wait: config.databaseWait,
                logger: logger
            )
            let outcome = try await SigningKeys.introduce(
                key,
                by: introducer,
                pool: pool,
                actor: AuditActor(id: "lockboxd", display: what, ip: "", tokenID: "")
            )
            await pool.shutdown()
            switch outcome {
            case .introduced: print("introduced \(key.keyID)")
            case .alreadyTrusted: print("\(key.keyID) is trusted already")
            }
        } catch let error as SigningKeys.Refusal {
            await pool.shutdown()
            FileHandle.standardError.write(Data("keys: \(error)\n".utf8))
            throw ExitCode(5)
        } catch let error as LockboxApplication.StartupError {
            await pool.shutdown()
            FileHandle.standardError.write(Data("keys: \(error)\n".utf8))
            throw ExitCode(error.exitCode)
        }
    }
}
