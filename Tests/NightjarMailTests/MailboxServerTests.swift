import Foundation
import Testing
import NightjarCore
import NightjarHTTP
import NightjarMail
import NightjarSandbox
import NightjarScript

/// A mailbox source against a real Dovecot on loopback (IMAPS with the test CA, Maildir).
@Suite("mailbox over IMAP (Dovecot)", .serialized)
struct MailboxServerTests {
    final class Fixture: @unchecked Sendable {
        let folder = MailTestSupport.temporaryFolder("mailbox")
        let serverFolder = MailTestSupport.temporaryFolder("dovecot")
        let server: SandboxMailServer
        let mail = SandboxMail(data: SandboxData())
        let messages: [SandboxMail.Message]
        static let password = "Dovecot-Pass-8841!"

        init() throws {
            server = try SandboxMailServer(folder: serverFolder, users: ["ar-acme": Fixture.password])
            messages = mail.mailbox(client: "acme", to: "ar@acme.example")
            for (index, message) in messages.enumerated() {
                try server.deliver(message.bytes, to: "ar-acme", arrival: message.arrival, name: "\(index)-\(message.name)")
            }
        }

        func credential(password: String = Fixture.password) -> ScriptCredential {
            ScriptCredential(client: "acme", portal: "fabrikam-mail", fields: ["username": "ar-acme", "password": password], allowedOrigins: [server.origin])
        }

        func options(_ name: String, readOnly: Bool = false) -> SourceRunOptions {
            SourceRunOptions(range: MailTestSupport.range, originOverride: server.origin, downloadDirectory: folder + "/" + name,
                             tls: TLSSettings(caBundle: server.certificates.caCertificate), readOnly: readOnly)
        }

        deinit {
            server.stop()
            if ProcessInfo.processInfo.environment["NIGHTJAR_KEEP_TEST_FOLDERS"] == nil {
                try? FileManager.default.removeItem(atPath: folder)
                try? FileManager.default.removeItem(atPath: serverFolder)
            }
        }
    }

    @Test func eachDocumentIsReadOnceAndEachBadMessageIsReportedAndTheNightGoesOn() async throws {
        let fixture = try Fixture()
        let memory = MemoryOfReads()
        let reader = MailboxReader(definition: try MailTestSupport.fabrikam(), credential: fixture.credential(), options: fixture.options("first"),
                                   memory: memory, loginGuard: LoginJournal())
        let outcome = await reader.run()
        #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "")")
        let expected = fixture.messages.flatMap(\.documents).map { HTTPSession.sanitise($0) }.sorted()
        #expect(outcome.downloads.map(\.fileName).sorted() == expected)
        let notes = outcome.refused.joined(separator: "\n")
        #expect(notes.contains("multipart without a boundary") || notes.contains("not a readable MIME message"), "\(notes)")
        #expect(notes.contains("zip bomb"), "\(notes)")
        #expect(notes.contains("scan.csv is 1572864 bytes, over the 1 MB limit"), "\(notes)")
        #expect(notes.contains("more than 200 MIME parts"), "\(notes)")
        // Every saved file is inside the staging folder, its name without a path.
        for download in outcome.downloads {
            #expect(download.path.hasPrefix(fixture.folder + "/first/"))
            #expect(!download.fileName.contains("/") && !download.fileName.contains(".."))
        }
        // Nothing was marked read on the server (no `after import`).
        #expect(fixture.server.messages(of: "ar-acme").allSatisfy { !$0.flags.contains("S") }, "\(fixture.server.messages(of: "ar-acme"))")
        let second = await MailboxReader(definition: try MailTestSupport.fabrikam(), credential: fixture.credential(), options: fixture.options("second"),
                                         memory: memory, loginGuard: LoginJournal()).run()
        #expect(second.failure == nil)
        #expect(second.downloads.isEmpty)
        #expect(second.notes.isEmpty && second.refused.isEmpty, "\(second.notes) \(second.refused)")
        let trace = reader.conversation.joined(separator: "\n")
        #expect(trace.contains("UID SEARCH SINCE 1-Aug-2026 BEFORE 1-Nov-2026 FROM \"remittance@fabrikam.example\" SUBJECT \"Remittance\""), "\(trace.prefix(3000))")
        #expect(!trace.contains(Fixture.password))
    }
}
