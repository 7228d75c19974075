import NightjarDocuments
import Testing

/// The wildcard matcher of profiles' sheet names (and, through `NamePattern`, of sources' file names).
@Suite struct GlobTests {
    @Test(arguments: [
        ("remittance*", "Remittance 2026-11", true),
        ("remittance*", "  REMITTANCE  ", true),
        ("*advice", "Payment Advice", true),
        ("*advice", "Payment Advice 2", false),
        ("sheet?", "Sheet1", true),
        ("sheet?", "Sheet", false),
        ("sheet?", "Sheet12", false),
        ("a*b*c", "axxbyyc", true),
        ("a*b*c", "axxbyy", false),
        ("a*b*c", "abcbc", true),
        ("**", "", true),
        ("", "", true),
        ("", "x", false),
        ("x", "", false),
        ("?", "é", true),
        ("caf?", "CAFÉ", true),
    ])
    func aSheetNameFitsItsPattern(pattern: String, name: String, fits: Bool) {
        #expect(Glob(pattern).matches(name) == fits, "\(pattern) ~ \(name)")
    }

    /// One backtrack point: a pattern of many stars against a long near miss answers at once.
    @Test func manyStarsDoNotBacktrackWithoutEnd() {
        let pattern = String(repeating: "a*", count: 200) + "b"
        let name = String(repeating: "a", count: 20_000)
        #expect(!Glob(pattern).matches(name))
        #expect(Glob(pattern).matches(name + "b"))
    }

    @Test func theMatcherTakesItsInputAsGiven() {
        #expect(Glob.matches(pattern: Array("a?".unicodeScalars), Array("ab".unicodeScalars)))
        #expect(!Glob.matches(pattern: Array("a?".unicodeScalars), Array("Ab".unicodeScalars)))
        #expect(!Glob.matches(pattern: Array("a".unicodeScalars), Array(" a".unicodeScalars)))
    }
}
