import Foundation

/// The integrity form of an audit export (JSON Lines): one line per record, in chain order,
/// then the checkpoints, the last of them signed when the export was made. Field names are
/// docs/audit-integrity.md's; binary values are lower-case hex.
public struct AuditExport: Sendable {
    public var records: [ChainedRecord]
    public var checkpoints: [SignedCheckpoint]

    public init(records: [ChainedRecord] = [], checkpoints: [SignedCheckpoint] = []) {
        self.records = records
        self.checkpoints = checkpoints
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    struct RecordLine: Codable {
        var type = "record"
        var seq: Int64
        var hash: String
        var id: Int64
        var time_ms: Int64
        var tenant_id: String
        var kind: String
        var actor_id: String
        var actor_display: String
        var actor_ip: String
        var activity: String
        var item: String
        var decision: String
        var details_text: String
        /// Absent for records sealed before seal times were hashed.
        var sealed_at_ms: Int64?
    }

    struct CheckpointLine: Codable {
        var type = "checkpoint"
        var scope: String
        var seq: Int64
        var hash: String
        var signed_at_ms: Int64
        var key_id: String
        var signature: String
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// One record's line, with its newline: the fields in the encoder's sorted order, written
    /// directly (``encodedLine(_:)`` is the same line through `JSONEncoder`, which the tests
    /// hold equal to it).
    public static func line(_ record: ChainedRecord) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(400 + record.details.utf8.count)
        out.append(UInt8(ascii: "{"))
        JSONText.field("activity", record.activity, first: true, to: &out)
        JSONText.field("actor_display", record.actorDisplay, to: &out)
        JSONText.field("actor_id", record.actorID, to: &out)
        JSONText.field("actor_ip", record.actorIP, to: &out)
        JSONText.field("decision", record.decision, to: &out)
        JSONText.field("details_text", record.details, to: &out)
        JSONText.field("hash", record.hash.hex, to: &out)
        JSONText.field("id", record.auditID, to: &out)
        JSONText.field("item", record.item, to: &out)
        JSONText.field("kind", record.kind, to: &out)
        if let sealed = record.sealedAtMs { JSONText.field("sealed_at_ms", sealed, to: &out) }
        JSONText.field("seq", record.seq, to: &out)
        JSONText.field("tenant_id", record.scope, to: &out)
        JSONText.field("time_ms", record.timeMs, to: &out)
        JSONText.field("type", "record", to: &out)
        out.append(contentsOf: [UInt8(ascii: "}"), UInt8(ascii: "\n")])
        return String(decoding: out, as: UTF8.self)
    }

    /// One record's line through `JSONEncoder`, as the line was written before: what the
    /// direct writer must equal.
    static func encodedLine(_ record: ChainedRecord) -> String {
        let line = RecordLine(
            seq: record.seq,
            hash: record.hash.hex,
            id: record.auditID,
            time_ms: record.timeMs,
            tenant_id: record.scope,
            kind: record.kind,
            actor_id: record.actorID,
            actor_display: record.actorDisplay,
            actor_ip: record.actorIP,
            activity: record.activity,
            item: record.item,
            decision: record.decision,
            details_text: record.details,
            sealed_at_ms: record.sealedAtMs
        )
        return String(decoding: (try? encoder.encode(line)) ?? Data(), as: UTF8.self) + "\n"
    }

    /// One checkpoint's line, with its newline.
    public static func line(_ checkpoint: SignedCheckpoint) -> String {
        let statement = checkpoint.statement
        let line = CheckpointLine(
            scope: statement.scope,
            seq: statement.seq,
            hash: statement.hash.hex,
            signed_at_ms: statement.signedAtMs,
            key_id: statement.keyID,
            signature: checkpoint.signature.hex
        )
        return String(decoding: (try? encoder.encode(line)) ?? Data(), as: UTF8.self) + "\n"
    }

    /// A line must be exactly as the server writes it: no field the hash does not cover, no
    /// field twice, no other spelling of a value. What a verifier passes is then what any
    /// other reader of the file sees.
    static func canonical(_ line: Substring, _ rendered: String, at number: Int) throws(Malformed) {
        guard line.utf8.elementsEqual(rendered.utf8.dropLast()) else {
            throw Malformed(
                line: number,
                reason:
                    "not in the export's canonical form (an unknown or repeated field, or a value spelled otherwise)"
            )
        }
    }

    /// Reads an export. Lines that are neither records nor checkpoints are refused, and so is
    /// any line not exactly as the server writes it.
    public static func parse(_ text: String) throws(Malformed) -> AuditExport {
        var export = AuditExport()
        let decoder = JSONDecoder()
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let data = Data(line.utf8)
            struct Kind: Decodable { var type: String? }
            guard let kind = try? decoder.decode(Kind.self, from: data) else {
                throw Malformed(line: index + 1, reason: "not a JSON object")
            }
            switch kind.type {
            case "record":
                guard let record = try? decoder.decode(RecordLine.self, from: data),
                    let hash = [UInt8](hex: record.hash)
                else { throw Malformed(line: index + 1, reason: "not a record line of an integrity export") }
                let chained = ChainedRecord(
                    scope: record.tenant_id,
                    seq: record.seq,
                    auditID: record.id,
                    timeMs: record.time_ms,
                    kind: record.kind,
                    actorID: record.actor_id,
                    actorDisplay: record.actor_display,
                    actorIP: record.actor_ip,
                    activity: record.activity,
                    item: record.item,
                    decision: record.decision,
                    details: record.details_text,
                    hash: hash,
                    sealedAtMs: record.sealed_at_ms
                )
                try canonical(line, Self.line(chained), at: index + 1)
                export.records.append(chained)
            case "checkpoint":
                guard let checkpoint = try? decoder.decode(CheckpointLine.self, from: data),
                    let hash = [UInt8](hex: checkpoint.hash), let signature = [UInt8](hex: checkpoint.signature)
                else { throw Malformed(line: index + 1, reason: "not a checkpoint line") }
                let signed = SignedCheckpoint(
                    statement: CheckpointStatement(
                        scope: checkpoint.scope,
                        seq: checkpoint.seq,
                        hash: hash,
                        signedAtMs: checkpoint.signed_at_ms,
                        keyID: checkpoint.key_id
                    ),
                    signature: signature
                )
                try canonical(line, Self.line(signed), at: index + 1)
                export.checkpoints.append(signed)
            default:
                throw Malformed(
                    line: index + 1,
                    reason: "no \"type\" of record or checkpoint: export with --integrity to verify"
                )
            }
        }
        return export
    }
}

/// The published keys, as `lockbox audit keys` saves them: `{"keys": [{"key_id", "public_key"}]}`.
public enum KeysFile {
    struct File: Codable {
        struct Key: Codable {
            var key_id: String
            var public_key: String
            var first_seen_at_ms: Int64?
        }
        var keys: [Key]
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { "keys file: \(reason)" }
    }

    public static func render(_ keys: [(key: PublicSigningKey, firstSeenAtMs: Int64)]) -> String {
        let file = File(
            keys: keys.map {
                File.Key(key_id: $0.key.keyID, public_key: $0.key.publicKey.hex, first_seen_at_ms: $0.firstSeenAtMs)
            }
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(file)) ?? Data(), as: UTF8.self) + "\n"
    }

    /// Reads the keys; a key whose id is not derived from its public key is refused.
    public static func parse(_ text: String) throws(Malformed) -> [PublicSigningKey] {
        guard let file = try? JSONDecoder().decode(File.self, from: Data(text.utf8)) else {
            throw Malformed(reason: "not a keys file (expected {\"keys\": [...]})")
        }
        var keys: [PublicSigningKey] = []
        for key in file.keys {
            guard let raw = [UInt8](hex: key.public_key), raw.count == 32 else {
                throw Malformed(reason: "key \(key.key_id): public_key is not 32 bytes of hex")
            }
            guard PublicSigningKey.keyID(for: raw) == key.key_id else {
                throw Malformed(reason: "key \(key.key_id): its id does not match its public key")
            }
            keys.append(PublicSigningKey(keyID: key.key_id, publicKey: raw))
        }
        return keys
    }
}
