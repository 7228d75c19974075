import Foundation
import NightjarCore
import NightjarHTTP
import NightjarSandbox
import Testing

@testable import NightjarScript

/// Finding 5: what docs/scraper-language.md says, with its own examples, against a small portal on
/// loopback: quoted form field names, `expired if` on a download, `text` matching case-sensitively.
/// (Plain http to another machine is PlainHTTPTests.)
@Suite struct DocumentedFeatureTests {
    /// A portal that signs in with any form, then serves `/remittance.csv`; `expireFirstDownload`
    /// answers the first download after each of the first sign-ins with its sign-in page.
    final class Portal: @unchecked Sendable {
        private let lock = NSLock()
        private var forms: [[String: String]] = []
        private var downloadsAnswered = 0
        let loginAnswer: String
        let expireFirstDownload: Bool
        var server: SandboxServer!

        init(loginAnswer: String = "Welcome", expireFirstDownload: Bool = false) throws {
            self.loginAnswer = loginAnswer
            self.expireFirstDownload = expireFirstDownload
            server = try SandboxServer { [unowned self] request in self.answer(request) }
        }

        var signIns: [[String: String]] { lock.withLock { forms } }

        func answer(_ request: SandboxRequest) -> SandboxResponse {
            switch (request.method, request.path) {
            case ("POST", "/login"):
                lock.withLock { forms.append(request.form) }
                return .html("<p>\(loginAnswer)</p>")
            case ("GET", "/login"):
                return .html("<form action='/login' method='post'><input name='user'></form>")
            case ("GET", "/remittance.csv"):
                let expired = lock.withLock { () -> Bool in
                    downloadsAnswered += 1
                    return expireFirstDownload && downloadsAnswered == 1
                }
                if expired { return .redirect("/login") }
                return .text("reference,amount\nINV-1,10.00\n", type: "text/csv")
            default:
                return .text("not found", status: 404)
            }
        }
    }

    static func run(_ body: String, portal: Portal) async throws -> ScraperOutcome {
        let origin = portal.server.url("")
        let definition = try ScriptTestSupport.parse(
            """
            portal documented "Documented"
            origin main "\(origin)"
            \(body)
            remittances {
              download get "/remittance.csv" kind remittance
            }
            """)
        let credential = ScriptCredential(
            client: "acme", portal: "documented", fields: ["username": "ap@acme.example", "password": "pw-Quoted$1"],
            allowedOrigins: [origin])
        let interpreter = ScraperInterpreter(
            definition: definition, credential: credential, transport: ScriptTestSupport.quickSession(),
            options: ScraperRunOptions(
                range: ScriptTestSupport.range(), originOverrides: [:],
                downloadDirectory: ScriptTestSupport.temporaryDirectory(), dryRun: false))
        return await interpreter.run()
    }

    @Test func quotedFormFieldNamesAreSentAsWritten() async throws {
        let portal = try Portal()
        defer { portal.server.stop() }
        // The guide's example: ASP.NET's `$` and Rails' brackets in field names.
        let outcome = try await Self.run(
            """
            login {
              post "/login" form { 'ctl00$Main$txtUser': vault.username, "user[email]": vault.username, 'ctl00$Main$txtPass': vault.password }
              expect status 200
            }
            """, portal: portal)
        #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "")")
        let form = try #require(portal.signIns.first)
        #expect(form["ctl00$Main$txtUser"] == "ap@acme.example")
        #expect(form["user[email]"] == "ap@acme.example")
        #expect(form["ctl00$Main$txtPass"] == "pw-Quoted$1")
        #expect(form.count == 3, "\(form.keys.sorted())")
    }

    @Test func expiredIfAppliesToADownloadThatAnswersWithTheSignInPage() async throws {
        let portal = try Portal(expireFirstDownload: true)
        defer { portal.server.stop() }
        let outcome = try await Self.run(
            """
            expired if url "/login"
            login {
              post "/login" form { user: vault.username, pass: vault.password }
              expect status 200
            }
            """, portal: portal)
        #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "")")
        // Signed in again and fetched the file once more: the document is the CSV, not the page.
        #expect(portal.signIns.count == 2)
        #expect(outcome.downloads.count == 1)
        let saved = try #require(outcome.downloads.first)
        #expect(try String(contentsOfFile: saved.path, encoding: .utf8).hasPrefix("reference,amount"))
    }

    @Test func withoutExpiredIfTheSignInPageIsNotTakenForTheDocument() async throws {
        let portal = try Portal(expireFirstDownload: true)
        defer { portal.server.stop() }
        let outcome = try await Self.run(
            """
            login {
              post "/login" form { user: vault.username, pass: vault.password }
              expect status 200
            }
            """, portal: portal)
        #expect(outcome.failure != nil)
        #expect(outcome.downloads.isEmpty)
        #expect(portal.signIns.count == 1)
    }

    @Test(arguments: [
        ("Invalid password", true), ("invalid password", false), ("INVALID PASSWORD", false), ("<p>Invalid", true),
    ])
    func textMatchesCaseSensitivelyOnTheBodyAsSent(written: String, fails: Bool) async throws {
        let portal = try Portal(loginAnswer: "Invalid password")
        defer { portal.server.stop() }
        let outcome = try await Self.run(
            """
            login {
              post "/login" form { user: vault.username, pass: vault.password }
              fail auth_failed if text "\(written)"
            }
            """, portal: portal)
        if fails {
            #expect(outcome.failure?.failureClass == .authFailed, "\(outcome.failure?.message ?? "no failure")")
            #expect(outcome.downloads.isEmpty)
        } else {
            #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "")")
            #expect(outcome.downloads.count == 1)
        }
    }
}
