import NightjarHTTP
import Testing

@testable import NightjarScript

/// The server a mailbox or SFTP reader talks to, and the base every transport appends paths to.
@Suite struct SourceServerTests {
    static let definition = """
        mailbox remit-mail "Remittance mail"
        origin "imaps://imap.remit.example.test/"
        sign in password
        folder "INBOX"

        remittances {
          messages from "ar@remit.example.test" subject "Remittance" {
            attachments name "*.csv" expect type csv
          }
        }

        """

    @Test func theOverrideWinsAndNoServerEndsInASlash() throws {
        let definition = try ScriptTestSupport.parse(Self.definition)
        let range = ScriptTestSupport.range("2026-09-01", "2026-09-30")
        #expect(
            SourceRunOptions(range: range, downloadDirectory: "/tmp").server(of: definition)
                == "imaps://imap.remit.example.test")
        let overridden = SourceRunOptions(
            range: range, originOverride: "imaps://127.0.0.1:10993//", downloadDirectory: "/tmp")
        #expect(overridden.server(of: definition) == "imaps://127.0.0.1:10993")
    }

    @Test(arguments: [
        ("sftp://h:22/", "sftp://h:22"), ("sftp://h:22", "sftp://h:22"), ("https://h///", "https://h"), ("/", ""),
        ("", ""),
    ])
    func aBaseLosesOnlyItsTrailingSlashes(url: String, base: String) {
        #expect(url.withoutTrailingSlashes == base)
    }
}
