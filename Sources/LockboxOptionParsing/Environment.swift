/// Reads `LOCKBOX_*` settings: a flag wins over the environment, which wins over the default.
package struct Environment: Sendable {
    package let values: [String: String]

    package init(_ values: [String: String]) { self.values = values }

    package subscript(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }
}
