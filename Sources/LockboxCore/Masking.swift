/// What may be shown of an address or an endpoint to those who should not see it whole: the
/// other side in ListNotifications, and everyone in the audit log. The database masks the
/// same way in the records its triggers write (lockbox_mask_email and lockbox_mask_url in
/// migrations/0011); a store test holds the two equal.
package enum Masking {
    /// An email address keeps its first character and its domain: `a***@contoso.example`.
    package static func email(_ address: String) -> String {
        let scalars = address.unicodeScalars
        guard let at = scalars.firstIndex(of: "@"), at != scalars.startIndex else { return "***" }
        return String(scalars.first!) + "***" + String(scalars[at...])
    }

    /// An endpoint keeps its host (and port): `https://hooks.contoso.example/...`. Credentials
    /// before an `@`, the path and the query are dropped.
    package static func url(_ url: String) -> String {
        let prefix = "https://"
        guard url.hasPrefix(prefix) else { return "https://..." }
        let authority = url.unicodeScalars.dropFirst(prefix.unicodeScalars.count).prefix {
            !"/?#".unicodeScalars.contains($0)
        }
        let host = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
        return host.isEmpty ? "https://..." : prefix + String(String.UnicodeScalarView(host)) + "/..."
    }
}
