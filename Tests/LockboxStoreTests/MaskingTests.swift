import LockboxCore
import LockboxTestSupport
import Testing

@testable import LockboxStore

/// The database masks addresses and endpoints in the records its triggers write exactly as
/// LockboxCore.Masking masks them for ListNotifications.
@Suite struct MaskingTests {
    static let emails = [
        "ann@contoso.example", "a@b", "@contoso.example", "no-at-sign", "", "ü@contoso.example",
        "two@at@signs.example", "é\u{301}@x.example",
    ]
    static let urls = [
        "https://hooks.contoso.example/lockbox?token=secret", "https://hooks.contoso.example:8443/x",
        "https://user:pass@hooks.contoso.example/", "https://", "http://hooks.contoso.example/", "",
        "https://hooks.contoso.example#frag", "https://hooks.contoso.example", "https://a@b@host.example/x",
        "https://user@/x",
    ]

    @Test func theDatabaseMasksAsLockboxDoes() async throws {
        let pool = try await TestDatabase.migrated()
        defer { Task { await pool.shutdown() } }
        try await pool.withConnection { db in
            for email in Self.emails {
                let masked: String = try db.query("SELECT lockbox_mask_email(\(email)) AS m").first!.decode("m")
                #expect(masked == Masking.email(email), "\(email)")
            }
            for url in Self.urls {
                let masked: String = try db.query("SELECT lockbox_mask_url(\(url)) AS m").first!.decode("m")
                #expect(masked == Masking.url(url), "\(url)")
            }
        }
    }

    @Test(arguments: [
        ("ann@contoso.example", "a***@contoso.example"), ("@x", "***"), ("plain", "***"),
    ])
    func emails(address: String, masked: String) { #expect(Masking.email(address) == masked) }

    @Test(arguments: [
        ("https://hooks.contoso.example/lockbox?token=secret", "https://hooks.contoso.example/..."),
        ("https://user:pass@hooks.contoso.example/", "https://hooks.contoso.example/..."),
        ("https://a@b@hooks.contoso.example/", "https://hooks.contoso.example/..."),
        ("http://hooks.contoso.example/", "https://..."),
    ])
    func urls(url: String, masked: String) { #expect(Masking.url(url) == masked) }
}
