import NightjarVault
import Testing

/// Credentials bind to the servers of portals, mailboxes, SFTP drops and mail relays alike.
@Suite("origins of every source")
struct OriginSchemeTests {
    @Test(arguments: [
        ("imaps://imap.example.com", "imaps://imap.example.com:993"),
        ("IMAP://Imap.Example.com", "imap://imap.example.com:143"),
        ("sftp://sftp.bank.example:2222/outbound", "sftp://sftp.bank.example:2222"),
        ("sftp://sftp.bank.example", "sftp://sftp.bank.example:22"),
        ("smtps://smtp.firm.example", "smtps://smtp.firm.example:465"),
        ("smtp://127.0.0.1:2525", "smtp://127.0.0.1:2525"),
        ("https://portal.example", "https://portal.example:443"),
    ])
    func schemesHaveTheirDefaultPorts(_ text: String, _ expected: String) throws {
        #expect(try Origin(text).description == expected)
    }

    @Test(arguments: [
        "ftp://files.example.com", "imaps://user@imap.example.com", "sftp://", "gopher://x.example",
        "imaps://host:99999", "sftps://x.example",
    ])
    func otherSchemesAndShapesAreRefused(_ text: String) {
        #expect(throws: VaultError.self) { try Origin(text) }
    }
}
