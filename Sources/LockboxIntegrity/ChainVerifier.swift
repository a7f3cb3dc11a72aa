import Foundation

/// What is wrong with a chain, at which record or checkpoint.
public struct ChainFinding: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case edited, missing, inserted, reordered, outOfOrder, cutOff, unanchoredEnd
        case badSignature, unknownKey, checkpointMismatch, wrongScope, fork
        /// A seal time earlier than the one before it, a record recorded after it was sealed,
        /// or a record sealed without its seal time after one sealed with it.
        case timeReversed
    }

    public var kind: Kind
    /// The sequence number the finding is about.
    public var seq: Int64
    public var auditID: Int64?
    public var message: String

    public var description: String { message }
}

/// The outcome of verifying one chain.
public struct ChainVerification: Sendable {
    public var records: Int
    public var checkpoints: Int
    /// Sorted by sequence number: the first is where the chain first fails.
    public var findings: [ChainFinding]
    public var isIntact: Bool { findings.isEmpty }
}

/// Verifies an exported chain, offline (docs/audit-integrity.md, "Verification").
public enum ChainVerifier {
    /// Checks each record's hash against its content and its predecessor's hash, the sequence
    /// for gaps and disorder, and each checkpoint's signature and its agreement with the
    /// chain. `records` must start at sequence 1 (a whole chain), in the export's order. The
    /// export's last record must be covered by a checkpoint at its sequence (the export's own).
    ///
    /// - Parameter scope: the chain the export must be (a tenant id, "" for the provider's);
    ///   when nil, the chain its first line names.
    public static func verify(
        records: [ChainedRecord],
        checkpoints: [SignedCheckpoint],
        keys: [PublicSigningKey],
        scope expectedScope: String? = nil
    ) -> ChainVerification {
        var findings: [ChainFinding] = []
        let scope = expectedScope ?? records.first?.scope ?? checkpoints.first?.statement.scope ?? ""
        // Sequence numbers outside 1..<Int64.max are refused before any arithmetic on them.
        let valid = { (seq: Int64) in seq > 0 && seq < .max }
        for record in records where !valid(record.seq) {
            findings.append(
                ChainFinding(
                    kind: .outOfOrder,
                    seq: record.seq,
                    auditID: record.auditID,
                    message: "record seq \(record.seq) (audit id \(record.auditID)) has no valid sequence number"
                )
            )
        }
        let records = records.filter { valid($0.seq) }
        // What each sequence's predecessor hash is, as exported: the stored hash of the line before.
        var previousOf: [Int64: [UInt8]] = [:]
        var hashOf: [Int64: [UInt8]] = [:]
        for (index, record) in records.enumerated() {
            hashOf[record.seq] = hashOf[record.seq] ?? record.hash
            if record.seq == 1 {
                previousOf[1] = ChainedRecord.genesis
            } else if index > 0, records[index - 1].seq == record.seq - 1 {  // seq > 1 here
                previousOf[record.seq] = records[index - 1].hash
            }
        }
        var last: ChainedRecord?
        var shift: Shift?
        for (index, record) in records.enumerated() {
            defer { last = record }
            if record.scope != scope {
                findings.append(
                    ChainFinding(
                        kind: .wrongScope,
                        seq: record.seq,
                        auditID: record.auditID,
                        message: "record seq \(record.seq) (audit id \(record.auditID)) belongs to another chain"
                    )
                )
                continue
            }
            let expected = (last?.seq ?? 0) + 1
            if record.seq < expected {
                findings.append(
                    ChainFinding(
                        kind: .outOfOrder,
                        seq: record.seq,
                        auditID: record.auditID,
                        message: "record seq \(record.seq) (audit id \(record.auditID)) comes after seq \(expected - 1)"
                    )
                )
                continue
            }
            if record.seq > expected {
                let range = expected == record.seq - 1 ? "seq \(expected) is" : "seq \(expected)…\(record.seq - 1) are"
                findings.append(
                    ChainFinding(kind: .missing, seq: expected, auditID: nil, message: "record \(range) missing")
                )
            }
            if let previous = previousOf[record.seq],
                record.computedHash(seq: record.seq, previous: previous) != record.hash
            {
                if let finding = consequence(index: index, records: records, shift: &shift) {
                    findings[finding.index].message = finding.message
                } else if !findings.isEmpty, sealedInPlace(index: index, records: records) {
                    // Sealed at its own place after a record that was moved: the move's finding
                    // says it all.
                } else {
                    let finding = diagnose(index: index, records: records, previous: previous, previousOf: previousOf)
                    findings.append(finding)
                    if finding.kind == .inserted,
                        let inserted = records.firstIndex(where: {
                            $0.seq == finding.seq && $0.auditID == finding.auditID
                        })
                    {
                        shift = Shift(insertedIndex: inserted, lastSeq: finding.seq, findingIndex: findings.count - 1)
                        // Found from the record after it: that record is the first one pushed.
                        if inserted < index, let first = consequence(index: index, records: records, shift: &shift) {
                            findings[first.index].message = first.message
                        }
                    }
                }
            }
            if let finding = timeFinding(record, after: last) { findings.append(finding) }
        }
        let lastSeq = records.last?.seq ?? 0
        var anchored = false
        for checkpoint in checkpoints {
            let statement = checkpoint.statement
            let at = "checkpoint seq \(statement.seq) (signed at \(statement.signedAtMs) by \(statement.keyID))"
            guard statement.seq >= 0, statement.seq < .max else {
                findings.append(
                    ChainFinding(kind: .outOfOrder, seq: statement.seq, message: "\(at) has no valid sequence number")
                )
                continue
            }
            guard let key = keys.first(where: { $0.keyID == statement.keyID }) else {
                findings.append(
                    ChainFinding(
                        kind: .unknownKey,
                        seq: statement.seq,
                        message: "\(at) is signed with a key that is not among the trusted keys"
                    )
                )
                continue
            }
            guard key.verifies(checkpoint.signature, over: statement.canonicalBytes) else {
                findings.append(
                    ChainFinding(
                        kind: .badSignature,
                        seq: statement.seq,
                        message: "\(at): its signature does not verify (the checkpoint was replaced or edited)"
                    )
                )
                continue
            }
            guard statement.scope == scope else {
                findings.append(
                    ChainFinding(kind: .wrongScope, seq: statement.seq, message: "\(at) belongs to another chain")
                )
                continue
            }
            if statement.seq > lastSeq {
                findings.append(
                    ChainFinding(
                        kind: .cutOff,
                        seq: lastSeq + 1,
                        message:
                            "\(at) covers records up to seq \(statement.seq), but the chain ends at seq \(lastSeq): records seq \(lastSeq + 1)…\(statement.seq) were cut off"
                    )
                )
                continue
            }
            // An empty chain's checkpoint: seq 0 and the genesis hash.
            guard let hash = statement.seq == 0 ? ChainedRecord.genesis : hashOf[statement.seq] else {
                continue  // reported as missing
            }
            if hash != statement.hash {
                findings.append(
                    ChainFinding(
                        kind: .checkpointMismatch,
                        seq: statement.seq,
                        message:
                            "\(at) does not match record seq \(statement.seq): the history up to it was rewritten"
                    )
                )
            } else if statement.seq == lastSeq {
                anchored = true
            }
        }
        // A cut-off already says why the end is not anchored.
        if !anchored, !findings.contains(where: { $0.kind == .cutOff }) {
            findings.append(
                ChainFinding(
                    kind: .unanchoredEnd,
                    seq: lastSeq,
                    message:
                        "no valid checkpoint covers the last record, seq \(lastSeq): the export's end cannot be trusted (its closing checkpoint is missing, or records after it were cut off)"
                )
            )
        }
        // By sequence number; among one number's findings, in the order they were found.
        findings = findings.enumerated().sorted { ($0.element.seq, $0.offset) < ($1.element.seq, $1.offset) }
            .map(\.element)
        return ChainVerification(records: records.count, checkpoints: checkpoints.count, findings: findings)
    }

    /// The records after an inserted one, each one place later than it was sealed.
    struct Shift {
        var insertedIndex: Int
        var lastSeq: Int64
        var findingIndex: Int
    }

    /// Whether the record at `index` is the next of the records an insertion pushed one place
    /// later (it verifies one place earlier, after the record before it, or after the record
    /// before the inserted one); then the insertion's finding is extended to cover it.
    static func consequence(index: Int, records: [ChainedRecord], shift: inout Shift?) -> (
        index: Int, message: String
    )? {
        guard var run = shift else { return nil }
        let record = records[index]
        guard record.seq == run.lastSeq + 1 else { return nil }
        let before =
            index == run.insertedIndex + 1
            ? (run.insertedIndex > 0 ? records[run.insertedIndex - 1].hash : ChainedRecord.genesis)
            : records[index - 1].hash
        guard record.computedHash(seq: record.seq - 1, previous: before) == record.hash else { return nil }
        run.lastSeq = record.seq
        shift = run
        let inserted = records[run.insertedIndex]
        let following =
            run.lastSeq == inserted.seq + 1 ? "seq \(run.lastSeq)" : "seq \(inserted.seq + 1)…\(run.lastSeq)"
        return (
            run.findingIndex,
            "record seq \(inserted.seq) (audit id \(inserted.auditID)) was inserted: the records after it "
                + "(\(following)) belong one place earlier"
        )
    }

    /// Whether the record verifies at its own place after some record near it: only the link to
    /// its neighbour broke, because that neighbour moved.
    static func sealedInPlace(index: Int, records: [ChainedRecord]) -> Bool {
        let record = records[index]
        let window = records[max(0, index - 8)..<min(records.count, index + 9)]
        return ([ChainedRecord.genesis] + window.map(\.hash)).contains {
            record.computedHash(seq: record.seq, previous: $0) == record.hash
        }
    }

    /// Time never goes backwards within a chain: each seal time is the database's clock when
    /// the record was sealed, so it is at least the one before it, and at least the record's
    /// own time. (Records' own times may step back by up to a transaction's length: a record
    /// is sealed once its transaction commits, and transactions commit in their own order.)
    static func timeFinding(_ record: ChainedRecord, after last: ChainedRecord?) -> ChainFinding? {
        let named = "record seq \(record.seq) (audit id \(record.auditID))"
        guard let sealed = record.sealedAtMs else {
            guard last?.sealedAtMs != nil else { return nil }
            return ChainFinding(
                kind: .timeReversed,
                seq: record.seq,
                auditID: record.auditID,
                message: "\(named) has no seal time, though the record before it has one"
            )
        }
        if record.timeMs > sealed {
            return ChainFinding(
                kind: .timeReversed,
                seq: record.seq,
                auditID: record.auditID,
                message: "\(named) was recorded at \(record.timeMs), after it was sealed at \(sealed)"
            )
        }
        if let before = last?.sealedAtMs, sealed < before {
            return ChainFinding(
                kind: .timeReversed,
                seq: record.seq,
                auditID: record.auditID,
                message:
                    "\(named) was sealed at \(sealed), before the record ahead of it (\(before)): time went backwards"
            )
        }
        return nil
    }

    /// Why a record's content does not match its hash. Its own hash is what it was sealed
    /// with, so it names the place it was sealed at: if the hash fits the record at a nearby
    /// position after a nearby hash, the records were reordered; if the next record fits this
    /// record's place, or this record fits the place before it, a record was inserted;
    /// otherwise it was edited (or records before it were removed and the rest renumbered).
    static func diagnose(
        index: Int,
        records: [ChainedRecord],
        previous: [UInt8],
        previousOf: [Int64: [UInt8]]
    ) -> ChainFinding {
        let record = records[index]
        let named = "record seq \(record.seq) (audit id \(record.auditID))"
        // A record that fits the place before it, where a record sits that itself verifies:
        // that one was inserted, with a hash forged to fit.
        if index > 0, let before = previousOf[record.seq - 1],
            record.computedHash(seq: record.seq - 1, previous: before) == record.hash,
            records[index - 1].computedHash(seq: record.seq - 1, previous: before) == records[index - 1].hash
        {
            let inserted = records[index - 1]
            return ChainFinding(
                kind: .inserted,
                seq: inserted.seq,
                auditID: inserted.auditID,
                message:
                    "record seq \(inserted.seq) (audit id \(inserted.auditID)) was inserted: the records after it belong one place earlier"
            )
        }
        let window = records[max(0, index - 8)..<min(records.count, index + 9)]
        let candidates = [ChainedRecord.genesis] + window.map(\.hash)
        for other in window where other.seq != record.seq {
            for candidate in candidates
            where record.computedHash(seq: other.seq, previous: candidate) == record.hash {
                return ChainFinding(
                    kind: .reordered,
                    seq: record.seq,
                    auditID: record.auditID,
                    message: "\(named) belongs at seq \(other.seq): records were reordered"
                )
            }
        }
        if index + 1 < records.count {
            let next = records[index + 1]
            if next.computedHash(seq: record.seq, previous: previous) == next.hash {
                return ChainFinding(
                    kind: .inserted,
                    seq: record.seq,
                    auditID: record.auditID,
                    message: "\(named) was inserted: the records after it belong one place earlier"
                )
            }
        }
        return ChainFinding(
            kind: .edited,
            seq: record.seq,
            auditID: record.auditID,
            message:
                "\(named) was edited: its content does not match its hash (or records before it were removed and the rest renumbered)"
        )
    }

    /// Evidence that two views of one chain disagree: records or validly signed checkpoints
    /// with one sequence number and two hashes.
    public static func forks(
        _ first: (records: [ChainedRecord], checkpoints: [SignedCheckpoint]),
        _ second: (records: [ChainedRecord], checkpoints: [SignedCheckpoint]),
        keys: [PublicSigningKey]
    ) -> [ChainFinding] {
        func signed(_ checkpoints: [SignedCheckpoint]) -> [Int64: SignedCheckpoint] {
            var result: [Int64: SignedCheckpoint] = [:]
            for checkpoint in checkpoints {
                guard checkpoint.verifies(with: keys) else { continue }
                result[checkpoint.statement.seq] = checkpoint
            }
            return result
        }
        var findings: [ChainFinding] = []
        let firstSigned = signed(first.checkpoints)
        for (seq, other) in signed(second.checkpoints) {
            if let mine = firstSigned[seq], mine.statement.hash != other.statement.hash {
                findings.append(
                    ChainFinding(
                        kind: .fork,
                        seq: seq,
                        message:
                            "fork: the server signed two histories at seq \(seq): hash \(mine.statement.hash.hex) at \(mine.statement.signedAtMs), and hash \(other.statement.hash.hex) at \(other.statement.signedAtMs)"
                    )
                )
            }
        }
        let secondBySeq = Dictionary(second.records.map { ($0.seq, $0) }, uniquingKeysWith: { a, _ in a })
        if let differing = first.records.first(where: { record in
            secondBySeq[record.seq].map { $0.hash != record.hash } ?? false
        }),
            let other = secondBySeq[differing.seq]
        {
            findings.append(
                ChainFinding(
                    kind: .fork,
                    seq: differing.seq,
                    auditID: differing.auditID,
                    message:
                        "fork: at seq \(differing.seq) one export holds audit id \(differing.auditID) with hash \(differing.hash.hex), the other audit id \(other.auditID) with hash \(other.hash.hex)"
                )
            )
        }
        return findings.sorted { $0.seq < $1.seq }
    }
}

/// What a verified chain says that its reader should know, though nothing was tampered with:
/// changes made beside lockboxd, straight in the database (the database records them itself,
/// marked unattributed: migrations/0011), and server keys introduced.
public struct ChainNotice: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case outsideLockboxd, keyIntroduced
    }

    public var kind: Kind
    public var seq: Int64
    public var message: String
    public var description: String { message }

    /// The notices of `records`, in chain order.
    public static func notices(_ records: [ChainedRecord]) -> [ChainNotice] {
        records.compactMap { record in
            guard let details = try? JSONSerialization.jsonObject(with: Data(record.details.utf8)) as? [String: Any]
            else { return nil }
            let named = "record seq \(record.seq) (audit id \(record.auditID))"
            let outside = details["unattributed"] as? Bool == true
            let role = details["database_role"] as? String ?? "?"
            let bySomeone = outside ? ", outside lockboxd, by the database role \(role)" : ""
            if record.activity == "SigningKeyAdded", let key = details["key_id"] as? String {
                let how =
                    details["introduced_by_owner"] as? Bool == true
                    ? "by the database's owner role"
                    : "cross-signed by \(details["attested_by"] as? String ?? "?")"
                return ChainNotice(
                    kind: .keyIntroduced,
                    seq: record.seq,
                    message: "\(named): server key \(key) introduced \(how)\(bySomeone)"
                )
            }
            if outside {
                return ChainNotice(
                    kind: .outsideLockboxd,
                    seq: record.seq,
                    message: "\(named): \(record.activity) was made outside lockboxd, by the database role \(role)"
                )
            }
            return nil
        }
    }
}
