import Foundation
import NightjarCore
import NightjarHTTP
import NightjarMail
import NightjarSandbox
import NightjarScript
import Testing

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
                try server.deliver(
                    message.bytes, to: "ar-acme", arrival: message.arrival, name: "\(index)-\(message.name)")
            }
        }

        func credential(password: String = Fixture.password) -> ScriptCredential {
            ScriptCredential(
                client: "acme", portal: "sandbox-mailbox", fields: ["username": "ar-acme", "password": password],
                allowedOrigins: [server.origin])
        }

        func options(_ name: String, readOnly: Bool = false) -> SourceRunOptions {
            SourceRunOptions(
                range: MailTestSupport.range, originOverride: server.origin, downloadDirectory: folder + "/" + name,
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
        let reader = MailboxReader(
            definition: try MailTestSupport.sandboxMailbox(), credential: fixture.credential(),
            options: fixture.options("first"),
            memory: memory, loginGuard: LoginJournal())
        let outcome = await reader.run()
        #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "")")
        let expected = fixture.messages.flatMap(\.documents).map { HTTPSession.sanitise($0) }.sorted()
        #expect(outcome.downloads.map(\.fileName).sorted() == expected)
        let notes = outcome.refused.joined(separator: "\n")
        #expect(
            notes.contains("multipart without a boundary") || notes.contains("not a readable MIME message"), "\(notes)")
        #expect(notes.contains("zip bomb"), "\(notes)")
        #expect(notes.contains("scan.csv is 1572864 bytes, over the 1 MB limit"), "\(notes)")
        #expect(notes.contains("more than 200 MIME parts"), "\(notes)")
        // Every saved file is inside the staging folder, its name without a path.
        for download in outcome.downloads {
            #expect(download.path.hasPrefix(fixture.folder + "/first/"))
            #expect(!download.fileName.contains("/") && !download.fileName.contains(".."))
        }
        // Nothing was marked read on the server (no `after import`).
        #expect(
            fixture.server.messages(of: "ar-acme").allSatisfy { !$0.flags.contains("S") },
            "\(fixture.server.messages(of: "ar-acme"))")
        let second = await MailboxReader(
            definition: try MailTestSupport.sandboxMailbox(), credential: fixture.credential(),
            options: fixture.options("second"),
            memory: memory, loginGuard: LoginJournal()
        ).run()
        #expect(second.failure == nil)
        #expect(second.downloads.isEmpty)
        #expect(second.notes.isEmpty && second.refused.isEmpty, "\(second.notes) \(second.refused)")
        let trace = reader.conversation.joined(separator: "\n")
        #expect(
            trace.contains(
                "UID SEARCH SINCE 1-Aug-2026 BEFORE 1-Nov-2026 FROM \"remittance@sandbox-mailbox.example\" SUBJECT \"Remittance\""
            ), "\(trace.prefix(3000))")
        #expect(!trace.contains(Fixture.password))
    }
}

extension MailboxServerTests {
    @Test func aCredentialNotBoundToTheServerIsNeverSentThere() async throws {
        let fixture = try Fixture()
        let elsewhere = ScriptCredential(
            client: "acme", portal: "sandbox-mailbox", fields: ["username": "ar-acme", "password": Fixture.password],
            allowedOrigins: ["imaps://imap.sandbox-mailbox.example:993"])
        let outcome = await MailboxReader(
            definition: try MailTestSupport.sandboxMailbox(), credential: elsewhere,
            options: fixture.options("elsewhere"),
            loginGuard: LoginJournal()
        ).run()
        #expect(outcome.failure?.failureClass == .originRefused, "\(outcome.failure?.message ?? "no failure")")
        let log = (try? String(contentsOfFile: fixture.serverFolder + "/dovecot.log", encoding: .utf8)) ?? ""
        #expect(!log.contains("user=<ar-acme>"), "\(log)")
    }
}

/// OAuth2 sign-in against Dovecot's oauth2 passdb: the refresh token is exchanged at a token
/// endpoint the test runs (HTTPS, its own CA), and Dovecot asks an introspection endpoint (also
/// the test's) whether the access token it was given is live.
@Suite("mailbox OAuth2 sign-in (Dovecot oauth2 passdb)", .serialized)
struct MailboxOAuth2Tests {
    /// The provider: refresh tokens it honours, access tokens it issued, and what it was asked.
    final class Provider: @unchecked Sendable {
        private let lock = NSLock()
        private var issued: Set<String> = []
        private(set) var refreshes = 0
        let revoked = "refresh-token-revoked-7731"
        let good = "refresh-token-good-5508"

        func token(_ request: SandboxRequest) -> SandboxResponse {
            let form = request.form
            guard form["grant_type"] == "refresh_token", form["client_id"] == "nightjar-ar" else {
                return SandboxResponse(
                    status: 400, headers: [("Content-Type", "application/json")],
                    body: Array(#"{"error":"invalid_client"}"#.utf8))
            }
            guard form["refresh_token"] == good else {
                return SandboxResponse(
                    status: 400, headers: [("Content-Type", "application/json")],
                    body: Array(
                        #"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#.utf8))
            }
            let access = "ya29.access-\(UUID().uuidString)"
            lock.withLock {
                issued.insert(access)
                refreshes += 1
            }
            return SandboxResponse(
                headers: [("Content-Type", "application/json")],
                body: Array(#"{"access_token":"\#(access)","expires_in":3599,"token_type":"Bearer"}"#.utf8))
        }

        func introspect(_ request: SandboxRequest) -> SandboxResponse {
            var token = request.form["token"] ?? ""
            if token.isEmpty, let header = request.header("Authorization"), header.hasPrefix("Bearer ") {
                token = String(header.dropFirst(7))
            }
            let active = lock.withLock { issued.contains(token) }
            let body = active ? #"{"active":true,"username":"ar-acme"}"# : #"{"active":false}"#
            return SandboxResponse(headers: [("Content-Type", "application/json")], body: Array(body.utf8))
        }
    }

    final class Fixture: @unchecked Sendable {
        let folder = MailTestSupport.temporaryFolder("oauth")
        /// Apart from the servers' folder: staging makes its folders private to this user.
        let downloads = MailTestSupport.temporaryFolder("oauth-downloads")
        let provider = Provider()
        let tokenEndpoint: SandboxServer
        let introspection: SandboxServer
        let server: SandboxMailServer
        let bundle: String

        init() throws {
            let certificates = try TestCertificates.generate(in: folder + "/token-tls")
            let provider = self.provider
            tokenEndpoint = try SandboxServer(tls: certificates) { provider.token($0) }
            introspection = try SandboxServer { provider.introspect($0) }
            server = try SandboxMailServer(
                folder: folder + "/dovecot", users: [:], introspection: introspection.url("/introspect"))
            let mail = SandboxMail(data: SandboxData())
            for (index, message) in mail.mailbox(client: "acme", to: "ar@acme.example").prefix(3).enumerated() {
                try server.deliver(
                    message.bytes, to: "ar-acme", arrival: message.arrival, name: "\(index)-\(message.name)")
            }
            // One bundle for both servers' CAs: the mailbox's and the token endpoint's.
            bundle = folder + "/ca-bundle.pem"
            let both =
                try String(contentsOfFile: server.certificates.caCertificate, encoding: .utf8) + "\n"
                + String(contentsOfFile: certificates.caCertificate, encoding: .utf8)
            try both.write(toFile: bundle, atomically: true, encoding: .utf8)
        }

        func credential(refreshToken: String) -> ScriptCredential {
            ScriptCredential(
                client: "acme", portal: "sandbox-mailbox",
                fields: [
                    "username": "ar-acme", "refresh_token": refreshToken, "client_id": "nightjar-ar",
                    "client_secret": "client-secret-3391", "token_url": tokenEndpoint.url("/token"),
                ],
                allowedOrigins: [server.origin, SourceOrigin.canonical(tokenEndpoint.url("/"))])
        }

        func options(_ name: String) -> SourceRunOptions {
            SourceRunOptions(
                range: MailTestSupport.range, originOverride: server.origin, downloadDirectory: downloads + "/" + name,
                tls: TLSSettings(caBundle: bundle))
        }

        deinit {
            server.stop()
            tokenEndpoint.stop()
            introspection.stop()
            try? FileManager.default.removeItem(atPath: folder)
            try? FileManager.default.removeItem(atPath: downloads)
        }
    }

    @Test func aRefreshedAccessTokenSignsInOverOAuthAndNoTokenIsInTheTrace() async throws {
        let fixture = try Fixture()
        let reader = MailboxReader(
            definition: try MailTestSupport.sandboxMailbox(signIn: "oauth2"),
            credential: fixture.credential(refreshToken: fixture.provider.good),
            options: fixture.options("good"), memory: MemoryOfReads(), loginGuard: LoginJournal())
        let outcome = await reader.run()
        let log = (try? String(contentsOfFile: fixture.folder + "/dovecot/dovecot.log", encoding: .utf8)) ?? ""
        #expect(
            outcome.failure == nil,
            "\(outcome.failure?.message ?? "")\n\(reader.conversation.suffix(15).joined(separator: "\n"))\n\(log.suffix(3000))"
        )
        #expect(fixture.provider.refreshes == 1)
        #expect(!outcome.downloads.isEmpty)
        let trace = reader.conversation.joined(separator: "\n")
        #expect(
            !trace.contains("ya29.access-") && !trace.contains(fixture.provider.good)
                && !trace.contains("client-secret-3391"), "\(trace.prefix(2000))")
        #expect(
            log.contains("user=<ar-acme>, method=XOAUTH2") || log.contains("user=<ar-acme>, method=OAUTHBEARER"),
            "\(log)")
    }

    @Test func aRevokedRefreshTokenIsAuthFailedAndTheMailboxIsNeverContacted() async throws {
        let fixture = try Fixture()
        let journal = LoginJournal()
        let outcome = await MailboxReader(
            definition: try MailTestSupport.sandboxMailbox(signIn: "oauth2"),
            credential: fixture.credential(refreshToken: fixture.provider.revoked),
            options: fixture.options("revoked"), memory: MemoryOfReads(), loginGuard: journal
        ).run()
        #expect(outcome.failure?.failureClass == .authFailed, "\(outcome.failure?.message ?? "no failure")")
        #expect(outcome.failure?.message.contains("invalid_grant") == true)
        #expect(outcome.downloads.isEmpty)
        #expect(journal.attempts.map(\.outcome) == ["auth_failed"])
        let log = (try? String(contentsOfFile: fixture.folder + "/dovecot/dovecot.log", encoding: .utf8)) ?? ""
        #expect(!log.contains("user=<ar-acme>"), "\(log)")
    }
}
