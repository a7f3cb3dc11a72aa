import LockboxCore
import LockboxIntegrity
import Testing

@testable import LockboxServer

/// The export's fast JSON line is byte for byte the line `JSONEncoder` writes (sorted keys,
/// slashes unescaped) for the same record: details as PostgreSQL's jsonb text prints them, with
/// every kind of character a string can hold, and times across the calendar.
@Suite struct ExportJSONTests {
    static func record(details: String, text: String = "Get-Mailbox", timeMs: Int64 = 1_796_539_552_263)
        -> StoredAuditRecord
    {
        StoredAuditRecord(
            id: 42,
            timeMs: timeMs,
            tenantID: "contoso",
            kind: .operatorAction,
            actorID: "prn_op",
            actorDisplay: "Provider \(text) Operator",
            actorIP: "10.0.0.1",
            activity: text,
            item: "req_1/\(text)",
            decision: .approve,
            detailsJSON: details
        )
    }

    static let strings = [
        "", "plain", "quote \" and backslash \\", "slash / and </script>", "line\nfeed\r\ttab\u{8}\u{c}",
        "control \u{1}\u{1f}\u{7f}", "é ü 漢字 🔐", "\u{2028}\u{2029}", "bidi \u{202e}evil", "nul\u{0}byte",
        "zero\u{200b}width", "combining e\u{301}",
    ]

    /// Details as PostgreSQL's jsonb text prints them: `{"a": 1, "b": "x"}`, keys in jsonb's order.
    static let details = [
        "{}",
        #"{"allowed": true, "reason": "ALLOWED", "service": "exchange", "token_id": "tok_1"}"#,
        #"{"n": -9223372036854775808, "m": 9223372036854775807, "z": 0, "neg": -12}"#,
        #"{"a10": 1, "a9": 2, "B": 3, "a": 4, "_x": 5, "é": 6, "Z": 7, "aa": 8}"#,
        #"{"nested": {"y": [1, "two", false, null, {"k": "v"}], "x": {}}, "list": []}"#,
        #"{"escaped": "quote \" back \\ slash \/ nl \n tab \t cr \r ff \f bs \b ctl \u0001 e\u0301 \ud83d\udd10"}"#,
        #"{"dup": 1, "dup": 2}"#,
        #"{"float": 1.5, "exp": 1e3}"#,
        #"{"big": 92233720368547758070}"#,
        "not json",
        #"{"unterminated": "x}"#,
        #"["array", "not", "object"]"#,
    ]

    @Test func theFastLineIsTheEncodersLine() {
        let format = AuditFormat()
        for details in Self.details {
            for text in Self.strings {
                let record = Self.record(details: details, text: text)
                #expect(
                    format.jsonLine(record) == format.generalJSONLine(record),
                    "\(details) / \(text.debugDescription)"
                )
            }
        }
        // Strings inside the details too.
        for text in Self.strings {
            var escaped: [UInt8] = []
            JSONText.append(text, to: &escaped)
            let details = #"{"k": "# + String(decoding: escaped, as: UTF8.self) + "}"
            let record = Self.record(details: details)
            #expect(format.jsonLine(record) == format.generalJSONLine(record), "\(details)")
        }
    }

    @Test func theFastTimeIsTheFormattersTime() {
        let format = AuditFormat()
        var times: [Int64] = [0, 1, 999, 1000, 86_399_999, 86_400_000, 951_782_400_000, 4_102_444_799_999]
        // Every month's edges for a century, leap years included, and odd milliseconds.
        var millis: Int64 = 946_684_800_000  // 2000-01-01
        while millis < 4_133_980_800_000 {  // 2101
            times.append(millis - 1)
            times.append(millis + 123)
            millis += 27 * 86_400_000 + 3_600_000 * 7 + 61_001
        }
        for time in times {
            #expect(AuditFormat.isoTime(time) == format.formattedTime(time), "\(time)")
        }
    }
}
