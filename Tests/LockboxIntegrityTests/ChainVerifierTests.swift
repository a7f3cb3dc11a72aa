import LockboxIntegrity
import Testing

/// The chain and its verifier as pure tables: a chain built here, changed one way at a time,
/// and the finding the verifier must name first.
@Suite struct ChainVerifierTests {
    static let signer = try! Signer(seed: [UInt8](repeating: 7, count: 32))
    static let stranger = try! Signer(seed: [UInt8](repeating: 9, count: 32))
    static let keys = [signer.publicKey]

    /// A chain of `count` records in scope "contoso", hashed as the sealer hashes them.
    static func chain(_ count: Int, scope: String = "contoso") -> [ChainedRecord] {
        var records: [ChainedRecord] = []
        var previous = ChainedRecord.genesis
        for index in 1...count {
            var record = ChainedRecord(
                scope: scope,
                seq: Int64(index),
                auditID: Int64(100 + index),
                timeMs: 1_800_000_000_000 + Int64(index),
                kind: "lifecycle",
                actorID: "pr_\(index)",
                actorDisplay: "Person \(index)",
                actorIP: "10.0.0.\(index)",
                activity: "CustomerApprove",
                item: "req_\(index)",
                decision: "Approve",
                details: "{\"n\": \(index)}"
            )
            record.hash = record.computedHash(seq: record.seq, previous: previous)
            previous = record.hash
            records.append(record)
        }
        return records
    }

    static func checkpoint(_ record: ChainedRecord, by signer: Signer = signer, at time: Int64 = 1) -> SignedCheckpoint
    {
        signer.sign(
            CheckpointStatement(
                scope: record.scope,
                seq: record.seq,
                hash: record.hash,
                signedAtMs: time,
                keyID: signer.keyID
            )
        )
    }

    static func verify(_ records: [ChainedRecord], _ checkpoints: [SignedCheckpoint]) -> ChainVerification {
        ChainVerifier.verify(records: records, checkpoints: checkpoints, keys: keys)
    }

    @Test func anUntouchedChainVerifies() {
        let records = Self.chain(10)
        let result = Self.verify(records, [Self.checkpoint(records[4]), Self.checkpoint(records[9])])
        #expect(result.isIntact, "\(result.findings)")
        #expect(result.records == 10)
    }

    @Test func theHashCoversEveryFieldAndThePlace() {
        let record = Self.chain(1)[0]
        let base = record.computedHash(seq: 1, previous: ChainedRecord.genesis)
        var changes: [ChainedRecord] = []
        for change in 0..<11 {
            var changed = record
            switch change {
            case 0: changed.scope = "fabrikam"
            case 1: changed.auditID += 1
            case 2: changed.timeMs += 1
            case 3: changed.kind = "settings"
            case 4: changed.actorID += "x"
            case 5: changed.actorDisplay += "x"
            case 6: changed.actorIP = "10.0.0.2"
            case 7: changed.activity = "CustomerDeny"
            case 8: changed.item += "x"
            case 9: changed.decision = "Deny"
            default: changed.details = "{\"n\":1}"
            }
            changes.append(changed)
        }
        for changed in changes {
            #expect(changed.computedHash(seq: 1, previous: ChainedRecord.genesis) != base)
        }
        #expect(record.computedHash(seq: 2, previous: ChainedRecord.genesis) != base)
        #expect(record.computedHash(seq: 1, previous: [UInt8](repeating: 1, count: 32)) != base)
        // Length prefixes: moving a byte from one field to the next changes the hash.
        var shifted = record
        shifted.actorID = "pr_1P"
        shifted.actorDisplay = "erson 1"
        #expect(shifted.computedHash(seq: 1, previous: ChainedRecord.genesis) != base)
    }

    /// Each way of changing history, and the finding that must come first.
    @Test(arguments: [
        ("edited", ChainFinding.Kind.edited, Int64(4)),
        ("deleted", .missing, 4),
        ("inserted", .inserted, 4),
        ("inserted and rehashed", .inserted, 4),
        ("swapped", .reordered, 4),
        ("cut off", .cutOff, 8),
        ("checkpoint replaced", .badSignature, 10),
        ("unknown key", .unknownKey, 10),
        ("closing checkpoint removed", .unanchoredEnd, 10),
        ("checkpoint for another history", .checkpointMismatch, 5),
    ])
    func eachTamperingIsNamed(_ name: String, _ kind: ChainFinding.Kind, _ seq: Int64) {
        var records = Self.chain(10)
        var checkpoints = [Self.checkpoint(records[4]), Self.checkpoint(records[9])]
        switch name {
        case "edited":
            records[3].details = "{\"n\": 40}"
        case "deleted":
            records.remove(at: 3)
        case "inserted", "inserted and rehashed":
            var forged = records[3]
            forged.auditID = 999
            forged.activity = "Forged"
            if name == "inserted and rehashed" {
                forged.hash = forged.computedHash(seq: 4, previous: records[2].hash)
            }
            records.insert(forged, at: 3)
            for index in 4..<records.count { records[index].seq += 1 }
        case "swapped":
            records.swapAt(3, 4)
            records[3].seq = 4
            records[4].seq = 5
        case "cut off":
            records.removeLast(3)
        case "checkpoint replaced":
            checkpoints[1].statement.hash = [UInt8](repeating: 0xAB, count: 32)
        case "unknown key":
            checkpoints[1] = Self.checkpoint(records[9], by: Self.stranger)
        case "closing checkpoint removed":
            checkpoints.removeLast()
        default:
            var other = Self.chain(10)
            other[2].details = "{}"
            var previous = other[1].hash
            for index in 2..<10 {
                other[index].hash = other[index].computedHash(seq: other[index].seq, previous: previous)
                previous = other[index].hash
            }
            checkpoints[0] = Self.checkpoint(other[4])
        }
        let result = Self.verify(records, checkpoints)
        #expect(!result.isIntact)
        let first = result.findings.first
        #expect(first?.kind == kind, "\(name): \(result.findings)")
        #expect(first?.seq == seq, "\(name): \(result.findings)")
        // And no record finding that is only a consequence of it: a record after a moved one is
        // not "edited", and the records after an inserted one are not "reordered". (Checkpoints
        // that no longer match say so on their own.)
        let recordKinds: Set<ChainFinding.Kind> = [.edited, .missing, .inserted, .reordered, .outOfOrder]
        let rest = result.findings.dropFirst().map(\.kind).filter(recordKinds.contains)
        switch name {
        case "swapped":
            #expect(rest == [.reordered], "\(name): \(result.findings)")
        default:
            #expect(rest.isEmpty, "\(name): \(result.findings)")
        }
        if name.hasPrefix("inserted") {
            #expect(first?.message.contains("the records after it (seq 5…11) belong one place earlier") == true)
        }
    }

    /// A chain sealed with its seal times (hash version 2): time never goes backwards.
    static func timedChain(_ sealed: [Int64?], recorded: [Int64]? = nil) -> [ChainedRecord] {
        var records = Self.chain(sealed.count)
        var previous = ChainedRecord.genesis
        for index in records.indices {
            records[index].sealedAtMs = sealed[index]
            if let recorded { records[index].timeMs = recorded[index] }
            records[index].hash = records[index].computedHash(seq: records[index].seq, previous: previous)
            previous = records[index].hash
        }
        return records
    }

    @Test(
        arguments: [
            ([Int64?](arrayLiteral: nil, nil, 10, 10, 12), nil, [Int64]()),
            ([nil, 10, 9, 12], nil, [3]),  // a seal time went backwards
            ([10, nil, 12], nil, [2]),  // a version 1 record after a version 2 one
            ([10, 11, 12], [9, 15, 12], [2]),  // recorded after it was sealed
        ] as [([Int64?], [Int64]?, [Int64])]
    )
    func timeNeverGoesBackwards(sealed: [Int64?], recorded: [Int64]?, reversedAt: [Int64]) {
        let records = Self.timedChain(sealed, recorded: recorded ?? sealed.map { _ in 1 })
        let result = Self.verify(records, [Self.checkpoint(records.last!)])
        #expect(result.findings.map(\.kind) == reversedAt.map { _ in .timeReversed }, "\(result.findings)")
        #expect(result.findings.map(\.seq) == reversedAt)
    }

    @Test func anExportWithoutItsClosingCheckpointOrOfTheWrongChainFails() {
        // Nothing at all proves nothing.
        #expect(Self.verify([], []).findings.map(\.kind) == [.unanchoredEnd])
        // An empty chain is proved by its signed seq-0 checkpoint.
        let empty = Self.signer.sign(
            CheckpointStatement(
                scope: "contoso",
                seq: 0,
                hash: ChainedRecord.genesis,
                signedAtMs: 1,
                keyID: Self.signer.keyID
            )
        )
        #expect(Self.verify([], [empty]).isIntact)
        // A whole, valid chain of another tenant is not the chain asked for.
        let records = Self.chain(3, scope: "fabrikam")
        let result = ChainVerifier.verify(
            records: records,
            checkpoints: [Self.checkpoint(records[2])],
            keys: Self.keys,
            scope: "contoso"
        )
        #expect(result.findings.first?.kind == .wrongScope)
        // Sequence numbers that would overflow are refused, not trapped on.
        var extreme = Self.chain(2)
        extreme[1].seq = .max
        #expect(Self.verify(extreme, [Self.checkpoint(extreme[0])]).findings.contains { $0.kind == .outOfOrder })
        extreme[1].seq = .min
        #expect(Self.verify(extreme, [Self.checkpoint(extreme[0])]).findings.contains { $0.kind == .outOfOrder })
    }

    @Test func aLineNotAsTheServerWritesItIsRefused() throws {
        let records = Self.chain(1)
        let line = AuditExport.line(records[0])
        #expect(try AuditExport.parse(line).records == records)
        // A field the hash does not cover, a field twice, upper-case hex, other spacing.
        let variants = [
            line.replacingOccurrences(of: "{\"activity\"", with: "{\"details\":{\"x\":1},\"activity\""),
            line.replacingOccurrences(of: "{\"activity\"", with: "{\"item\":\"req_9\",\"activity\""),
            line.replacingOccurrences(of: records[0].hash.hex, with: records[0].hash.hex.uppercased()),
            line.replacingOccurrences(of: "\"seq\":1", with: "\"seq\": 1"),
        ]
        for variant in variants {
            #expect(variant != line)
            #expect(throws: AuditExport.Malformed.self, "\(variant)") { try AuditExport.parse(variant) }
        }
    }

    @Test func aRecordOfAnotherChainIsRefused() {
        var records = Self.chain(3)
        records[1].scope = "fabrikam"
        let result = Self.verify(records, [Self.checkpoint(records[2])])
        #expect(result.findings.contains { $0.kind == .wrongScope && $0.seq == 2 })
    }

    @Test func twoHistoriesSignedForOneSequenceAreAFork() {
        let mine = Self.chain(6)
        var theirs = Self.chain(6)
        theirs[4].details = "{\"n\": 50}"
        theirs[4].hash = theirs[4].computedHash(seq: 5, previous: theirs[3].hash)
        theirs[5].hash = theirs[5].computedHash(seq: 6, previous: theirs[4].hash)
        let forks = ChainVerifier.forks(
            (mine, [Self.checkpoint(mine[5])]),
            (theirs, [Self.checkpoint(theirs[5], at: 2)]),
            keys: Self.keys
        )
        #expect(forks.contains { $0.kind == .fork && $0.seq == 6 && $0.message.contains("signed two histories") })
        #expect(forks.contains { $0.kind == .fork && $0.seq == 5 })
        #expect(ChainVerifier.forks((mine, []), (mine, []), keys: Self.keys).isEmpty)
    }

    @Test func anExportRoundTripsThroughItsText() throws {
        let records = Self.chain(3)
        let checkpoints = [Self.checkpoint(records[2])]
        let text = records.map(AuditExport.line).joined() + checkpoints.map(AuditExport.line).joined()
        let parsed = try AuditExport.parse(text)
        #expect(parsed.records == records)
        #expect(parsed.checkpoints == checkpoints)
        #expect(throws: AuditExport.Malformed.self) { try AuditExport.parse("{\"id\": 1}\n") }
        #expect(throws: AuditExport.Malformed.self) { try AuditExport.parse("not json\n") }
    }

    @Test func aKeysFileIsCheckedAgainstItsKeys() throws {
        let text = KeysFile.render([(Self.signer.publicKey, 5)])
        #expect(try KeysFile.parse(text) == [Self.signer.publicKey])
        let lying = text.replacingOccurrences(of: Self.signer.keyID, with: Self.stranger.keyID)
        #expect(throws: KeysFile.Malformed.self) { try KeysFile.parse(lying) }
    }

    @Test func aSignedApprovalVerifiesOnlyAsSigned() throws {
        let statement = ApprovalStatement(
            tenantID: "contoso",
            requestID: "req_1",
            operatorID: "pr_op",
            service: "exchange",
            startsAtMs: 1000,
            endsAtMs: 2000,
            operations: ["get-mailbox", "search-mailbox"],
            approverID: "pr_ga",
            decision: "Approve",
            decidedAtMs: 1000,
            keyID: Self.signer.keyID
        )
        let signed = Self.signer.sign(statement)
        #expect(try signed.verify(with: Self.keys).get() == statement)
        #expect(statement.isInForce(atMs: 1500) && !statement.isInForce(atMs: 2000))
        #expect(statement.allows(operation: "Get-Mailbox") && !statement.allows(operation: "Set-Mailbox"))
        var altered = signed
        altered.statement[altered.statement.count - 20] ^= 1
        #expect(altered.verify(with: Self.keys) == .failure(.badSignature))
        #expect(signed.verify(with: [Self.stranger.publicKey]) == .failure(.unknownKey(Self.signer.keyID)))
        var truncated = Self.signer.sign(statement)
        truncated.statement.removeLast()
        truncated.signature = Self.signer.sign(truncated.statement)
        #expect(truncated.verify(with: Self.keys) == .failure(.malformed))
    }
}
