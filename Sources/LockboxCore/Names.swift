import Foundation

/// Names people read in the audit log, in emails and in the CLI's tables: principals' and
/// tenants' display names.
package enum Names {
    /// Whether `scalar` may appear in a name. Refused: control characters (C0, DEL, C1, which
    /// includes line feeds and tabs), line and paragraph separators, and the bidirectional
    /// controls that make text read in another order than it is stored.
    package static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return false
        default: break
        }
        switch scalar.value {
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0x061C: return false
        default: return true
        }
    }

    /// The form two names are compared in: Unicode compatibility normalization (NFKC), every
    /// kind of whitespace as one space, invisible format characters (zero-width spaces and
    /// joiners, soft hyphens) removed, trimmed, and lower-cased. "Provider\u{00A0}Operator",
    /// "Ｌｏｃｋｂｏｘ" and "Lock\u{200B}box" fold to the names they imitate.
    package static func folded(_ name: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in name.precomposedStringWithCompatibilityMapping.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = !out.isEmpty
                continue
            }
            if scalar.properties.generalCategory == .format { continue }
            if pendingSpace {
                out.append(" ")
                pendingSpace = false
            }
            out.append(scalar)
        }
        return String(out).lowercased()
    }
}
