import NightjarScript
import Testing

/// The file-name patterns of mailbox `attachments` rules and SFTP `files` queries.
@Suite struct NamePatternTests {
    @Test(arguments: [
        ("*.csv", "remit-2026-11.CSV", true),
        ("*.csv", "remit.csv.gpg", false),
        ("remit-????-??.csv", "remit-2026-11.csv", true),
        ("remit-????-??.csv", "remit-2026-1.csv", false),
        ("*", "", true),
        ("*.csv", " a.csv ", false),
        ("a.csv", " a.csv", false),
    ])
    func aFileNameFitsItsPattern(pattern: String, name: String, fits: Bool) {
        #expect(NamePattern.matches(pattern, name) == fits, "\(pattern) ~ \(name)")
    }

    @Test func noPatternTakesEveryName() {
        #expect(NamePattern.matches(nil, "anything.pdf"))
        #expect(NamePattern.matches(nil, ""))
    }
}
