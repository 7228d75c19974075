import NightjarCLI
import NightjarCore
import Testing

/// `nightjar.conf` for mailboxes, drops and the morning mail: what is accepted, and the line of what is not.
@Suite("source and mail settings")
struct SourceConfigTests {
    @Test func mailAndSourceSettingsAreRead() throws {
        let config = try WorkspaceConfig.parse(
            """
            [origins]
            sandbox-mailbox = "imaps://127.0.0.1:9993"
            bigbank = "sftp://127.0.0.1:2222"
            [sources]
            ca_bundle = "/etc/nightjar/ca.pem"
            [mail]
            server = "smtps://smtp.firm.example"
            from = "nightjar@firm.example"
            operators = "a@firm.example, b@firm.example"
            credential = "firm/smtp"
            """, file: "nightjar.conf")
        #expect(config.origins["bigbank"] == "sftp://127.0.0.1:2222")
        #expect(config.sourceCABundle == "/etc/nightjar/ca.pem")
        #expect(config.mail?.operators == ["a@firm.example", "b@firm.example"])
        #expect(config.mail?.credential == "firm/smtp")
        #expect(config.mail?.allowPlaintextLoopback == false)
    }

    @Test(arguments: [
        ("[origins]\nx = \"ftp://files.example\"\n", 2),
        ("[mail]\nserver = \"http://smtp.example\"\nfrom = \"a@b.example\"\n", 2),
        ("[mail]\nserver = \"smtp://smtp.example\"\n", 2), ("[mail]\nrelay = \"smtp://x\"\n", 2),
        ("[sources]\ncabundle = \"x\"\n", 2),
    ])
    func badSettingsNameTheirLine(_ text: String, _ line: Int) {
        #expect {
            _ = try WorkspaceConfig.parse(text, file: "nightjar.conf")
        } throws: { error in
            (error as? WorkspaceError)?.location?.line == line
        }
    }
}
