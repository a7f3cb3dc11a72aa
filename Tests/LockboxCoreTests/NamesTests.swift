import LockboxCore
import Testing

/// Display names: what may appear in one, and which pass for Lockbox's own actors.
@Suite struct NamesTests {
    @Test(arguments: [
        // (name, accepted)
        ("Olivia Operator", true),
        ("Zoë Ångström", true),
        ("李小龍", true),
        ("👩‍💻 Dana", true),  // a zero-width joiner inside an emoji is allowed
        ("Lockbox", false),
        ("lockbox", false),
        (" Provider   Operator ", false),
        ("Provider\u{00A0}Operator", false),  // a no-break space
        ("Provider\u{3000}Operator", false),  // an ideographic space
        ("Ｌｏｃｋｂｏｘ", false),  // fullwidth letters, folded by NFKC
        ("Lock\u{200B}box", false),  // a zero-width space
        ("Lock\u{00AD}box", false),  // a soft hyphen
        ("\u{FEFF}Lockbox", false),
        ("Unauthenticated Caller", false),
        ("Lockbox\t", false),  // a control character
        ("Mia\nManager", false),
        ("Mia\rManager", false),
        ("Mia\u{2028}Manager", false),  // a line separator
        ("Mia\u{0085}Manager", false),  // NEL, a C1 control
        ("Mia \u{202E}reganaM", false),  // a right-to-left override
        ("Mia \u{2066}x\u{2069}", false),
        ("Lockbox Support", true),
    ])
    func displayNames(name: String, accepted: Bool) {
        let result = Result { () throws(DomainError) in try InputLimits.checkDisplayName(name) }
        #expect(
            (try? result.get()) != nil ? accepted : !accepted,
            "\(name.unicodeScalars.map { $0.escaped(asASCII: true) })"
        )
    }

    @Test(arguments: [
        ("Provider\u{00A0}\u{2003}Operator", "provider operator"),
        ("  ＡＢＣ ", "abc"),
        ("a\u{200D}b", "ab"),
        ("ﬁle", "file"),  // a ligature, decomposed by NFKC
    ])
    func folding(name: String, folded: String) {
        #expect(Names.folded(name) == folded)
    }
}
