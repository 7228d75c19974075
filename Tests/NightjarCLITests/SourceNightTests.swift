import Foundation
import NightjarCore
import NightjarSandbox
import NightjarStore
import Testing

/// `nightjar run` with a mailbox source (a real Dovecot on loopback, IMAPS with the test CA) and
/// an SFTP drop (a real OpenSSH sshd on loopback, key authentication, the host key pinned), set
/// up as docs/operating.md tells a user to.
@Suite("nightjar run with mailbox and SFTP sources", .serialized)
struct SourceNightTests {
    static let passphrase = "sources-admin-passphrase"
    static let mailPassword = "Mailbox-Pass-5521!"

    final class Workspace: @unchecked Sendable {
        let parent = BinaryRunner.temporaryFolder("sources")
        var root: String { parent + "/ws" }

        init(origins: [String: String], caBundle: String? = nil) throws {
            _ = try BinaryRunner.run(["init", root, "--time-zone", "UTC"])
            var config = try String(contentsOfFile: root + "/nightjar.conf", encoding: .utf8)
            config +=
                "\n[origins]\n"
                + origins.sorted { $0.key < $1.key }.map { "\($0.key) = \"\($0.value)\"" }.joined(separator: "\n")
                + "\n"
            if let caBundle { config += "\n[sources]\nca_bundle = \"\(caBundle)\"\n" }
            try config.write(toFile: root + "/nightjar.conf", atomically: true, encoding: .utf8)
            #expect(
                try run(
                    ["vault", "init", "--admin", "alice", "--passphrase-stdin"],
                    stdin: SourceNightTests.passphrase + "\n"
                ).status == 0)
            #expect(
                try run(
                    [
                        "vault", "automation-key", "create", parent + "/night.key", "--all-clients", "--as", "alice",
                        "--passphrase-stdin",
                    ],
                    stdin: SourceNightTests.passphrase + "\n"
                ).status == 0)
        }

        func run(_ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
            try BinaryRunner.run(["--home", root] + arguments, stdin: stdin)
        }

        func admin(_ arguments: [String], stdin extra: String = "") throws -> BinaryRunner.Result {
            try run(
                arguments + ["--as", "alice", "--passphrase-stdin"], stdin: SourceNightTests.passphrase + "\n" + extra)
        }

        func install(definition: String, text: String? = nil, profiles: [String]) throws {
            let source =
                try text
                ?? String(
                    contentsOfFile: ScraperCommandTests.repository + "/scrapers/\(definition).scraper", encoding: .utf8)
            try source.write(toFile: root + "/scrapers/\(definition).scraper", atomically: true, encoding: .utf8)
            let approved = try admin(["scraper", "approve", root + "/scrapers/\(definition).scraper"])
            #expect(approved.status == 0, "\(approved.stderr)")
            for profile in profiles {
                try FileManager.default.copyItem(
                    atPath: ScraperCommandTests.repository + "/docs/examples/\(profile).profile",
                    toPath: root + "/profiles/\(profile).profile")
                let result = try admin(["profile", "approve", profile])
                #expect(result.status == 0, "\(result.stderr)")
            }
        }

        /// The night's result, its items and the folder of its reports (summary, traces, HAR files).
        func night(from: String, to: String) throws -> (
            result: BinaryRunner.Result, items: [[String: Any]], reports: String
        ) {
            let result = try run(["run", "--key-file", parent + "/night.key", "--from", from, "--to", to, "--json"])
            let report =
                ((try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any])?["report"]
                as? [String: Any]
            let items = (report?["run"] as? [String: Any])?["items"] as? [[String: Any]] ?? []
            let reports = ((report?["report_path"] as? String ?? "") as NSString).deletingLastPathComponent
            return (result, items, reports)
        }

        /// Every byte the night wrote under the workspace (reports, traces, HAR files, the database).
        func everythingWritten() -> [(String, Data)] {
            let files = FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []
            return files.compactMap { name in
                let path = root + "/" + name
                guard let data = FileManager.default.contents(atPath: path) else { return nil }
                return (name, data)
            }
        }

        deinit { try? FileManager.default.removeItem(atPath: parent) }
    }

    @Test func aMailboxNightImportsEachDocumentOnceReportsEveryRefusedMessageAndASecondNightReadsNothing() throws {
        let serverFolder = BinaryRunner.temporaryFolder("dovecot")
        defer { try? FileManager.default.removeItem(atPath: serverFolder) }
        let server = try SandboxMailServer(folder: serverFolder, users: ["ar-acme": SourceNightTests.mailPassword])
        defer { server.stop() }
        let mail = SandboxMail(data: SandboxData())
        let messages = mail.mailbox(client: "acme", to: "ar@acme.example")
        for (index, message) in messages.enumerated() {
            try server.deliver(message.bytes, to: "ar-acme", arrival: message.arrival, name: "\(index)-\(message.name)")
        }
        let workspace = try Workspace(
            origins: ["sandbox-mailbox": server.origin], caBundle: server.certificates.caCertificate)
        try workspace.install(
            definition: "sandbox-mailbox",
            profiles: ["sandbox-html-portal-remittance", "sandbox-totp-portal-remittance", "sandbox-mailbox"])
        let added = try workspace.admin(
            [
                "vault", "add", "acme/sandbox-mailbox", "--username", "ar-acme", "--password-stdin", "--origin",
                server.origin,
            ],
            stdin: SourceNightTests.mailPassword + "\n")
        #expect(added.status == 0, "\(added.stderr)")

        let (first, items, reports) = try workspace.night(from: "2026-08-01", to: "2026-10-31")
        // Refused messages are a failure a person must see: exit 1, never a quiet success.
        #expect(first.status == 1, "\(first.stdout)\n\(first.stderr)")
        let item = try #require(
            items.first { $0["portal"] as? String == "sandbox-mailbox" }, "\(first.stdout)\n\(first.stderr)")
        #expect(item["status"] as? String == "items_refused", "\(item)")
        // The advice resent under a `../` name has the bytes of the first one: kept once, seen once.
        let expected = messages.flatMap(\.documents).count - 1
        #expect(item["files_new"] as? Int == expected, "\(item)")
        #expect(item["files_seen"] as? Int == 1, "\(item)")
        let message = item["message"] as? String ?? ""
        for refusal in ["zip bomb", "over the 1 MB limit", "more than 200 MIME parts"] {
            #expect(message.contains(refusal), "\(refusal) not in \(message)")
        }
        #expect(
            message.contains("multipart without a boundary") || message.contains("not a readable MIME message"),
            "\(message)")
        // Every document was read by a profile or as X12: batches for each, no unread file.
        #expect((item["unread_files"] as? [Any])?.isEmpty ?? true, "\(item)")
        #expect(item["batches"] as? Int == expected, "\(item)")
        let database = try Database(path: workspace.root + "/data/nightjar.sqlite")
        #expect(
            try database.scalar(
                Int64.self, "SELECT count(*) FROM inbox_file WHERE client = 'acme' AND portal = 'sandbox-mailbox'")
                == Int64(expected))
        let formats = try database.query("SELECT DISTINCT format FROM source_file WHERE client_id = 'acme'").map {
            try $0.string("format")
        }.sorted()
        #expect(
            formats == [
                "profile:sandbox-html-portal-remittance", "profile:sandbox-mailbox",
                "profile:sandbox-totp-portal-remittance", "x12-820",
            ], "\(formats)")
        // The summary says what to do about the refused messages.
        let summary = try String(contentsOfFile: reports + "/summary.txt", encoding: .utf8)
        #expect(
            summary.contains("NEEDS ATTENTION") && summary.contains("acme/sandbox-mailbox items_refused"), "\(summary)")
        // The IMAP conversation is kept beside the HAR files, the password masked.
        let trace = try String(contentsOfFile: reports + "/acme-sandbox-mailbox.trace", encoding: .utf8)
        #expect(trace.contains("UID SEARCH SINCE 1-Aug-2026 BEFORE 1-Nov-2026"), "\(trace.prefix(2000))")
        for (name, data) in workspace.everythingWritten() {
            #expect(
                data.range(of: Data(SourceNightTests.mailPassword.utf8)) == nil, "the mailbox password is in \(name)")
        }

        // A second night over the same range reads nothing again and reports nothing again.
        let (second, secondItems, _) = try workspace.night(from: "2026-08-01", to: "2026-10-31")
        #expect(second.status == 0, "\(second.stdout)\n\(second.stderr)")
        let again = try #require(secondItems.first { $0["portal"] as? String == "sandbox-mailbox" })
        #expect(again["status"] as? String == "no_documents", "\(again)")
        #expect(again["files_new"] as? Int == 0 && again["files_seen"] as? Int == 0, "\(again)")
        #expect(again["message"] == nil || again["message"] is NSNull, "\(again)")
        #expect(
            try database.scalar(Int64.self, "SELECT count(*) FROM source_file WHERE client_id = 'acme'")
                == Int64(expected))
    }

    @Test func aMailboxRecordedWithScraperRecordReplaysOfflineAndCatchesAChangedDefinition() throws {
        let serverFolder = BinaryRunner.temporaryFolder("dovecot")
        defer { try? FileManager.default.removeItem(atPath: serverFolder) }
        let server = try SandboxMailServer(folder: serverFolder, users: ["ar-acme": SourceNightTests.mailPassword])
        defer { server.stop() }
        // The mailbox without its two largest messages, so a recording stays small.
        let messages = SandboxMail(data: SandboxData()).mailbox(client: "acme", to: "ar@acme.example").filter {
            !["over-cap", "thousand-parts"].contains($0.name)
        }
        for (index, message) in messages.enumerated() {
            try server.deliver(message.bytes, to: "ar-acme", arrival: message.arrival, name: "\(index)-\(message.name)")
        }
        let workspace = try Workspace(
            origins: ["sandbox-mailbox": server.origin], caBundle: server.certificates.caCertificate)
        try workspace.install(definition: "sandbox-mailbox", profiles: [])
        #expect(
            try workspace.admin(
                [
                    "vault", "add", "acme/sandbox-mailbox", "--username", "ar-acme", "--password-stdin", "--origin",
                    server.origin,
                ],
                stdin: SourceNightTests.mailPassword + "\n"
            ).status == 0)
        let tried = try workspace.admin([
            "scraper", "try", "sandbox-mailbox", "--client", "acme", "--from", "2026-08-01", "--to", "2026-10-31",
            "--json",
        ])
        #expect(tried.status == 0, "\(tried.stdout)\(tried.stderr)")
        #expect(tried.stdout.contains("FAB-"), "\(tried.stdout)")
        let recorded = try workspace.admin([
            "scraper", "record", "sandbox-mailbox", "--client", "acme", "--from", "2026-08-01", "--to", "2026-10-31",
        ])
        #expect(recorded.status == 0, "\(recorded.stdout)\(recorded.stderr)")
        let scrapers = workspace.root + "/scrapers"
        #expect(FileManager.default.fileExists(atPath: scrapers + "/sandbox-mailbox.maildir/cur"))
        for name in (try? FileManager.default.contentsOfDirectory(atPath: scrapers + "/sandbox-mailbox.maildir/cur"))
            ?? []
        {
            let bytes = try #require(
                FileManager.default.contents(atPath: scrapers + "/sandbox-mailbox.maildir/cur/" + name))
            #expect(bytes.range(of: Data(SourceNightTests.mailPassword.utf8)) == nil)
        }
        server.stop()
        // Offline: the recording replays with the server gone.
        let replayed = try workspace.run(["scraper", "test", scrapers + "/sandbox-mailbox.scraper"])
        #expect(replayed.status == 0, "\(replayed.stdout)\(replayed.stderr)")
        #expect(
            replayed.stdout.contains("ok   ") && replayed.stdout.contains("refused as recorded"), "\(replayed.stdout)")
        // A definition that no longer reads Excel attachments no longer produces the recorded files.
        let text = try String(contentsOfFile: scrapers + "/sandbox-mailbox.scraper", encoding: .utf8)
        try text.replacingOccurrences(of: "    attachments name \"*.xlsx\" expect type xlsx\n", with: "")
            .write(toFile: scrapers + "/sandbox-mailbox.scraper", atomically: true, encoding: .utf8)
        let broken = try workspace.run(["scraper", "test", scrapers + "/sandbox-mailbox.scraper"])
        #expect(broken.status == 1)
        #expect(
            broken.stdout.contains("no longer downloaded: FAB-") && broken.stdout.contains(".xlsx"), "\(broken.stdout)")
    }

    @Test func aMailboxDefinitionChangedSinceItsApprovalIsNotRun() throws {
        let serverFolder = BinaryRunner.temporaryFolder("dovecot")
        defer { try? FileManager.default.removeItem(atPath: serverFolder) }
        let server = try SandboxMailServer(folder: serverFolder, users: ["ar-acme": SourceNightTests.mailPassword])
        defer { server.stop() }
        let workspace = try Workspace(
            origins: ["sandbox-mailbox": server.origin], caBundle: server.certificates.caCertificate)
        try workspace.install(definition: "sandbox-mailbox", profiles: [])
        #expect(
            try workspace.admin(
                [
                    "vault", "add", "acme/sandbox-mailbox", "--username", "ar-acme", "--password-stdin", "--origin",
                    server.origin,
                ],
                stdin: SourceNightTests.mailPassword + "\n"
            ).status == 0)
        let path = workspace.root + "/scrapers/sandbox-mailbox.scraper"
        try (try String(contentsOfFile: path, encoding: .utf8)).replacingOccurrences(
            of: "subject \"Zahlungsavis\"", with: ""
        )
        .write(toFile: path, atomically: true, encoding: .utf8)
        let (night, items, _) = try workspace.night(from: "2026-08-01", to: "2026-10-31")
        #expect(night.status == 1)
        #expect(items.first?["status"] as? String == "skipped_unapproved", "\(items)")
        let log = (try? String(contentsOfFile: serverFolder + "/dovecot.log", encoding: .utf8)) ?? ""
        #expect(!log.contains("Login: user=<ar-acme>"), "\(log)")
    }

    @Test func aWrongMailboxPasswordIsAuthFailedOnceAndNotRetriedTheSameNight() throws {
        let serverFolder = BinaryRunner.temporaryFolder("dovecot")
        defer { try? FileManager.default.removeItem(atPath: serverFolder) }
        let server = try SandboxMailServer(folder: serverFolder, users: ["ar-acme": SourceNightTests.mailPassword])
        defer { server.stop() }
        let workspace = try Workspace(
            origins: ["sandbox-mailbox": server.origin], caBundle: server.certificates.caCertificate)
        try workspace.install(definition: "sandbox-mailbox", profiles: [])
        #expect(
            try workspace.admin(
                [
                    "vault", "add", "acme/sandbox-mailbox", "--username", "ar-acme", "--password-stdin", "--origin",
                    server.origin,
                ],
                stdin: "not-the-password\n"
            ).status == 0)
        let (first, items, _) = try workspace.night(from: "2026-08-01", to: "2026-10-31")
        #expect(first.status == 1)
        #expect(items.first?["status"] as? String == "auth_failed", "\(items) \(first.stderr)")
        // The second night does not sign in again: a retry could lock the mailbox.
        let (_, again, _) = try workspace.night(from: "2026-08-01", to: "2026-10-31")
        #expect(again.first?["status"] as? String == "login_refused", "\(again)")
        let log = try String(contentsOfFile: serverFolder + "/dovecot.log", encoding: .utf8)
        #expect(log.split(separator: "\n").filter { $0.contains("auth failed") }.count == 1, "\(log)")
    }

    @Test func anSFTPNightReadsTheRangeOncePinsTheHostKeyAndArchives() throws {
        let serverFolder = BinaryRunner.temporaryFolder("sshd")
        defer { try? FileManager.default.removeItem(atPath: serverFolder) }
        let server = try SandboxSFTPServer(folder: serverFolder)
        defer { server.stop() }
        let data = SandboxData()
        let payments = data.payments(
            portal: "sandbox-html-portal", client: "acme", from: "2026-08-01", to: "2026-09-30")
        try #require(payments.count >= 2)
        try FileManager.default.createDirectory(
            atPath: server.local("/outbound/archive"), withIntermediateDirectories: true)
        for payment in payments {
            let day = payment.date.replacingOccurrences(of: "-", with: "")
            try data.htmlPortalCSV(payment).write(
                toFile: server.local("/outbound/REMIT_\(day)_\(payment.trace).csv"), atomically: true, encoding: .utf8)
        }
        try data.htmlPortalCSV(payments[0]).write(
            toFile: server.local("/outbound/REMIT_20261215_late.csv"), atomically: true, encoding: .utf8)
        let definition = """
            sftp bigbank "Big Bank lockbox drop"
            origin "sftp://sftp.bigbank.example"
            sign in key
            after import move "\(server.remote("/outbound/archive"))"
            remittances {
              files in "\(server.remote("/outbound"))" name "REMIT_*.csv" dated by name "yyyyMMdd" expect type csv
            }
            """
        let workspace = try Workspace(origins: ["bigbank": server.origin])
        try workspace.install(definition: "bigbank", text: definition, profiles: ["sandbox-html-portal-remittance"])
        try server.clientKey.write(toFile: workspace.parent + "/id_ed25519", atomically: true, encoding: .utf8)
        try server.knownHostsLine().write(toFile: workspace.parent + "/known_hosts", atomically: true, encoding: .utf8)
        let added = try workspace.admin(
            [
                "vault", "add", "acme/bigbank", "--username", server.user, "--field", "passphrase",
                "--field-file", "private_key=\(workspace.parent)/id_ed25519", "--field-file",
                "known_hosts=\(workspace.parent)/known_hosts",
                "--origin", server.origin,
            ], stdin: SandboxSFTPServer.keyPassphrase + "\n")
        #expect(added.status == 0, "\(added.stderr)")

        let (first, items, _) = try workspace.night(from: "2026-08-01", to: "2026-09-30")
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        let item = try #require(items.first, "\(first.stdout)\n\(first.stderr)")
        #expect(item["status"] as? String == "ok", "\(item)")
        #expect(item["files_new"] as? Int == payments.count, "\(item)")
        #expect(item["batches"] as? Int == payments.count, "\(item)")
        let archived = try FileManager.default.contentsOfDirectory(atPath: server.local("/outbound/archive"))
        #expect(archived.count == payments.count)
        #expect(FileManager.default.fileExists(atPath: server.local("/outbound/REMIT_20261215_late.csv")))
        for (name, bytes) in workspace.everythingWritten() {
            #expect(
                bytes.range(of: Data(SandboxSFTPServer.keyPassphrase.utf8)) == nil, "the key's passphrase is in \(name)"
            )
        }

        // Nothing is read twice; a replaced server key stops the credential with host_key_changed.
        let (second, secondItems, _) = try workspace.night(from: "2026-08-01", to: "2026-09-30")
        #expect(second.status == 0)
        #expect(secondItems.first?["files_new"] as? Int == 0, "\(secondItems)")
        try server.changeHostKey()
        let (third, thirdItems, _) = try workspace.night(from: "2026-08-01", to: "2026-09-30")
        #expect(third.status == 1)
        #expect(thirdItems.first?["status"] as? String == "host_key_changed", "\(thirdItems)")
    }

    /// The base64 body of the attachment named `name` in a message, decoded.
    static func attachment(_ name: String, in message: [UInt8]) -> [UInt8]? {
        let text = String(decoding: message, as: UTF8.self)
        guard let header = text.range(of: "filename=\"\(name)\"\r\n"),
            let start = text.range(of: "\r\n\r\n", range: header.upperBound..<text.endIndex),
            let end = text.range(of: "\r\n--", range: start.upperBound..<text.endIndex)
        else { return nil }
        let body = text[start.upperBound..<end.lowerBound].replacingOccurrences(of: "\r\n", with: "")
        return Data(base64Encoded: body).map(Array.init)
    }

    @Test func theMorningMailReachesEachApprovedRecipientWithExactlyTheirClientsAndAFailedNightTheOperators() throws {
        let serverFolder = BinaryRunner.temporaryFolder("sshd-mail")
        let sinkFolder = BinaryRunner.temporaryFolder("smtp")
        defer {
            try? FileManager.default.removeItem(atPath: serverFolder)
            try? FileManager.default.removeItem(atPath: sinkFolder)
        }
        let server = try SandboxSFTPServer(folder: serverFolder)
        defer { server.stop() }
        let smtpPassword = "Smtp-Relay-Pass-6610!"
        let sink = try SandboxSMTPServer(folder: sinkFolder, password: smtpPassword)
        defer { sink.stop() }
        let data = SandboxData()
        for payment in data.payments(
            portal: "sandbox-html-portal", client: "acme", from: "2026-08-01", to: "2026-09-30")
        {
            try data.htmlPortalCSV(payment).write(
                toFile: server.local(
                    "/outbound/REMIT_\(payment.date.replacingOccurrences(of: "-", with: ""))_\(payment.trace).csv"),
                atomically: true, encoding: .utf8)
        }
        let workspace = try Workspace(origins: ["bigbank": server.origin], caBundle: sink.certificates.caCertificate)
        var config = try String(contentsOfFile: workspace.root + "/nightjar.conf", encoding: .utf8)
        config +=
            "\n[mail]\nserver = \"\(sink.url)\"\nfrom = \"nightjar@firm.example\"\noperators = \"ops@firm.example\"\ncredential = \"firm/smtp\"\n"
            + "review_url = \"https://review.firm.example\"\n"
        try config.write(toFile: workspace.root + "/nightjar.conf", atomically: true, encoding: .utf8)
        try workspace.install(
            definition: "bigbank",
            text: """
                sftp bigbank "Big Bank lockbox drop"
                origin "sftp://sftp.bigbank.example"
                sign in key
                remittances {
                  files in "\(server.remote("/outbound"))" name "REMIT_*.csv" dated by name "yyyyMMdd" expect type csv
                }
                """, profiles: ["sandbox-html-portal-remittance"])
        try server.clientKey.write(toFile: workspace.parent + "/id_ed25519", atomically: true, encoding: .utf8)
        try server.knownHostsLine().write(toFile: workspace.parent + "/known_hosts", atomically: true, encoding: .utf8)
        for client in ["acme", "globex"] {
            let added = try workspace.admin(
                [
                    "vault", "add", "\(client)/bigbank", "--username", server.user, "--field", "passphrase",
                    "--field-file", "private_key=\(workspace.parent)/id_ed25519", "--field-file",
                    "known_hosts=\(workspace.parent)/known_hosts",
                    "--origin", server.origin,
                ], stdin: SandboxSFTPServer.keyPassphrase + "\n")
            #expect(added.status == 0, "\(added.stderr)")
        }
        #expect(
            try workspace.admin(
                [
                    "vault", "add", "firm/smtp", "--username", sink.username, "--password-stdin", "--origin",
                    "smtp://127.0.0.1:\(sink.port)",
                ],
                stdin: smtpPassword + "\n"
            ).status == 0)
        for (client, address) in [
            ("acme", "alice@acme.example"), ("acme", "bob@firm.example"), ("globex", "bob@firm.example"),
            ("globex", "carol@globex.example"),
        ] {
            let result = try workspace.admin(["vault", "recipient", "add", client, address])
            #expect(result.status == 0, "\(result.stderr)")
        }

        let (first, items, reports) = try workspace.night(from: "2026-08-01", to: "2026-09-30")
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(items.count == 2, "the mail's own credential is not a source: \(items)")
        let messages = sink.messages()
        let byRecipient = Dictionary(grouping: messages, by: { $0.recipients.joined(separator: ",") })
        #expect(
            byRecipient.keys.sorted() == ["alice@acme.example", "bob@firm.example", "carol@globex.example"],
            "\(byRecipient.keys)")
        let expected = [
            "alice@acme.example": ["acme"], "bob@firm.example": ["acme", "globex"], "carol@globex.example": ["globex"],
        ]
        for (address, clients) in expected {
            let message = try #require(byRecipient[address]?.first)
            #expect(byRecipient[address]?.count == 1)
            #expect(message.tls, "sent without TLS to \(address)")
            #expect(message.from == "nightjar@firm.example")
            let text = String(decoding: message.bytes, as: UTF8.self)
            for client in ["acme", "globex"] {
                let attached = SourceNightTests.attachment("morning-report-\(client).html", in: message.bytes)
                if clients.contains(client) {
                    // Byte for byte the report written to disk.
                    let onDisk = try #require(
                        FileManager.default.contents(atPath: reports + "/morning-report-\(client).html"))
                    #expect(attached == Array(onDisk), "\(address): the \(client) report differs from the file")
                } else {
                    #expect(
                        attached == nil && !text.contains("morning-report-\(client)"),
                        "\(address) got \(client)'s report")
                }
            }
            #expect(
                text.contains("Subject: Nightjar morning report: \(clients.joined(separator: ", "))"),
                "\(text.prefix(600))")
            for secret in [smtpPassword, SandboxSFTPServer.keyPassphrase] {
                #expect(
                    message.bytes.firstRange(of: Array(secret.utf8)) == nil
                        && !text.contains(Data(secret.utf8).base64EncodedString()))
            }
        }
        let log = try String(contentsOfFile: reports + "/mail.txt", encoding: .utf8)
        #expect(log.split(separator: "\n").filter { $0.hasPrefix("sent ") }.count == 3, "\(log)")

        // A night that fails mails the operators its summary (and still the recipients).
        try server.changeHostKey()
        let (failed, _, failedReports) = try workspace.night(from: "2026-08-01", to: "2026-09-30")
        #expect(failed.status == 1)
        let toOperators = sink.messages().filter { $0.recipients == ["ops@firm.example"] }
        #expect(toOperators.count == 1, "\(sink.messages().map(\.recipients))")
        let summary = try #require(FileManager.default.contents(atPath: failedReports + "/summary.txt"))
        #expect(
            toOperators.first.flatMap { SourceNightTests.attachment("summary.txt", in: $0.bytes) } == Array(summary))
        #expect(
            !sink.messages().contains {
                $0.recipients.contains("ops@firm.example") == false && !expected.keys.contains($0.recipients.joined())
            })
    }
}
