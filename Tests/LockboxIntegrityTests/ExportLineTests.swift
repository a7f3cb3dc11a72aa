import Testing

@testable import LockboxIntegrity

/// An integrity export's record line, written directly, is byte for byte the line `JSONEncoder`
/// wrote (sorted keys, slashes unescaped), so exports written before verify as they did and a
/// verifier that renders lines again finds the same bytes.
@Suite struct ExportLineTests {
    static let strings = [
        "", "plain", "quote \" and backslash \\", "slash / and </script>", "line\nfeed\r\ttab\u{8}\u{c}",
        "control \u{1}\u{1f}\u{7f}", "é ü 漢字 🔐", "\u{2028}\u{2029}", "bidi \u{202e}evil", "nul\u{0}byte",
        #"{"n": 1, "s": "a \"q\" \\ /"}"#,
    ]

    @Test func theDirectLineIsTheEncodersLine() {
        var records = ChainVerifierTests.chain(3)
        for (index, text) in Self.strings.enumerated() {
            for sealed in [nil, Int64(1_800_000_000_123)] as [Int64?] {
                var record = records[index % records.count]
                record.activity = text
                record.actorDisplay = "Person \(text)"
                record.actorID = text
                record.actorIP = text
                record.item = text
                record.kind = text
                record.decision = text
                record.details = text
                record.scope = text
                record.sealedAtMs = sealed
                record.seq = index % 2 == 0 ? Int64(index) : -Int64(index)
                record.timeMs = Int64.max - Int64(index)
                #expect(AuditExport.line(record) == AuditExport.encodedLine(record), "\(text.debugDescription)")
                records.append(record)
            }
        }
        for record in ChainVerifierTests.chain(20) {
            #expect(AuditExport.line(record) == AuditExport.encodedLine(record))
        }
    }
}
