import ArgumentParser
import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import LockboxIntegrity
import LockboxOptionParsing

/// Where `serve` finds its Ed25519 signing key: a file, or the environment.
enum SigningKey {
    /// The key, from `file` (`--signing-key-file` or `LOCKBOX_SIGNING_KEY_FILE`) or else `LOCKBOX_SIGNING_KEY`.
    static func load(file: String?) throws -> Signer {
        let howToFix = "create one with `lockboxd keygen --output FILE` and pass --signing-key-file FILE"
        let text: String
        let source: String
        if let path = file {
            source = path
            text = try readPrivateFile(path)
        } else if let value = environment["LOCKBOX_SIGNING_KEY"] {
            source = "LOCKBOX_SIGNING_KEY"
            text = value
            // Not left for child processes or crash reports to find.
            unsetenv("LOCKBOX_SIGNING_KEY")
        } else {
            throw ValidationError("no signing key: \(howToFix)")
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let seed = Data(base64Encoded: trimmed), let signer = try? Signer(seed: Array(seed)) else {
            throw ValidationError("\(source) does not hold a signing key (32 bytes, base64); \(howToFix)")
        }
        return signer
    }
}

extension SigningKey {
    /// Reads a key file (following a symlink, as a mounted secret often is), refusing one that
    /// group or others may read. The mode is checked on the descriptor that is read.
    static func readPrivateFile(_ path: String, what: String = "signing key file") throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ValidationError("cannot read the \(what) \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw ValidationError("the \(what) \(path) is not a regular file")
        }
        let mode = Int(status.st_mode & 0o777)
        guard mode & 0o077 == 0 else {
            throw ValidationError(
                "the \(what) \(path) is readable by others (mode \(String(mode, radix: 8))); chmod 600 it"
            )
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= 4096 {
            let count = read(fd, &buffer, buffer.count)
            guard count >= 0 else { throw ValidationError("cannot read the \(what) \(path)") }
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// `lockboxd keygen`: writes a new signing key.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a new Ed25519 signing key for --signing-key-file.",
        discussion: """
            Writes the key (32 bytes, base64) to --output with mode 600, or to standard output, and prints its \
            key id and public half on standard error. Keep it secret: whoever holds it can sign checkpoints and \
            approvals. The database trusts it once its owner introduces it (lockboxd keys add --public-key, or \
            lockboxd migrate --signing-key-file) or a trusted key cross-signs it (lockboxd keys cross-sign).
            """
    )

    @Option(help: "File to create; it must not exist yet. Without it the key goes to standard output.")
    var output: String?

    func run() throws {
        let seed = Signer.newSeed()
        let signer = try Signer(seed: seed)
        let text = Data(seed).base64EncodedString() + "\n"
        if let output {
            // Created with O_EXCL and mode 600: never overwrites a key, never briefly readable.
            let fd = open(output, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else {
                throw ValidationError("cannot create \(output): \(String(cString: strerror(errno)))")
            }
            let bytes = Array(text.utf8)
            let written = write(fd, bytes, bytes.count)
            close(fd)
            guard written == bytes.count else { throw ValidationError("cannot write \(output)") }
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        FileHandle.standardError.write(
            Data("signing key \(signer.keyID)\npublic key \(signer.publicKey.publicKey.hex)\n".utf8)
        )
    }
}
