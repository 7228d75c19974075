import Foundation
import NightjarCore
import NightjarSandbox
import NightjarStore
import Testing

/// `nightjar scraper ...` as an operator runs it: the real binary, a real vault, the sandbox
/// portals over loopback.
@Suite("nightjar scraper", .serialized)
struct ScraperCommandTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let passphrase = "alice-scraper-passphrase"

    /// A workspace with the shipped definitions, origins pointing at the sandbox, and an admin.
    struct Setup {
        let parent: String
        let root: String
        let portals: SandboxPortals

        init() throws {
            parent = BinaryRunner.temporaryFolder("scrapercli")
            root = parent + "/ws"
            portals = try SandboxPortals()
            _ = try BinaryRunner.run(["init", root])
            var config = try String(contentsOfFile: root + "/nightjar.conf", encoding: .utf8)
            config +=
                "\n[origins]\n"
                + ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"].map {
                    "\($0) = \"\(portals.origins[$0]!)\""
                }.joined(separator: "\n") + "\n"
            try config.write(toFile: root + "/nightjar.conf", atomically: true, encoding: .utf8)
            for portal in ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"] {
                try FileManager.default.copyItem(
                    atPath: ScraperCommandTests.repository + "/scrapers/\(portal).scraper",
                    toPath: root + "/scrapers/\(portal).scraper")
            }
            _ = try run(
                ["vault", "init", "--admin", "alice", "--passphrase-stdin"],
                stdin: ScraperCommandTests.passphrase + "\n")
        }

        func run(_ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
            try BinaryRunner.run(["--home", root] + arguments, stdin: stdin)
        }

        func asAlice(_ arguments: [String], extraInput: [String] = []) throws -> BinaryRunner.Result {
            try run(
                arguments + ["--as", "alice", "--passphrase-stdin"],
                stdin: ([ScraperCommandTests.passphrase] + extraInput).joined(separator: "\n") + "\n")
        }

        func addCredential(client: String, portal: String, password: String? = nil) throws {
            let account = portals.data.account(client: client, portal: portal)!
            let result = try asAlice(
                [
                    "vault", "add", "\(client)/\(portal)", "--username", account.username, "--password-stdin", "--totp",
                    "--origin", portals.origins[portal]!,
                ], extraInput: [password ?? account.password, account.totpSecret])
            #expect(result.status == 0, "\(result.stderr)")
        }

        func stop() {
            portals.stop()
            try? FileManager.default.removeItem(atPath: parent)
        }
    }

    @Test func checkReportsCleanDefinitionsAndExactErrors() throws {
        let folder = BinaryRunner.temporaryFolder("check")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let good = try BinaryRunner.run(
            ["scraper", "check"]
                + ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"].map {
                    ScraperCommandTests.repository + "/scrapers/\($0).scraper"
                })
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("ok — portal sandbox-html-portal"))
        let bad = folder + "/bad.scraper"
        try "portal bad\norigin main \"https://a.example\"\nremittances {\n  downlaod get \"/f\" kind remittance\n}\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let result = try BinaryRunner.run(["scraper", "check", bad])
        #expect(result.status == 65)
        #expect(result.stderr.contains("\(bad):4:3: unknown step `downlaod` (did you mean `download`?)"))
        let json = try BinaryRunner.run(["scraper", "check", bad, "--json"])
        #expect(json.stdout.contains("\"ok\" : false"))
    }

    @Test func anOperatorTriesADefinitionThenAnAdminApprovesItForTheNight() throws {
        let setup = try Setup()
        defer { setup.stop() }
        try setup.addCredential(client: "acme", portal: "sandbox-html-portal")
        let har = setup.parent + "/nw.har"
        var result = try setup.asAlice([
            "scraper", "try", "sandbox-html-portal", "--client", "acme", "--from", "2026-08-01", "--to", "2026-10-31",
            "--har", har,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let expected = setup.portals.data.payments(
            portal: "sandbox-html-portal", client: "acme", from: "2026-08-01", to: "2026-10-31")
        #expect(result.stdout.contains("acme/sandbox-html-portal: ok — \(expected.count) file(s)"))
        #expect(result.stderr.contains("is not approved"))
        let harText = try String(contentsOfFile: har, encoding: .utf8)
        let password = setup.portals.data.account(client: "acme", portal: "sandbox-html-portal")!.password
        #expect(!harText.contains(password) && !result.stdout.contains(password) && !result.stderr.contains(password))
        #expect(harText.contains("/payments/remittance"))

        // The night's automation key may not run an unapproved definition.
        result = try setup.asAlice(["vault", "automation-key", "create", setup.parent + "/night.key", "--all-clients"])
        #expect(result.status == 0, "\(result.stderr)")
        let night = [
            "scraper", "try", "sandbox-html-portal", "--client", "acme", "--from", "2026-08-01", "--to", "2026-08-31",
            "--key-file", setup.parent + "/night.key", "--json",
        ]
        result = try setup.run(night)
        #expect(result.status == 77)
        #expect(result.stderr.contains("scraper.unapproved"))
        result = try setup.asAlice(["scraper", "approve", setup.root + "/scrapers/sandbox-html-portal.scraper"])
        #expect(result.status == 0, "\(result.stderr)")
        result = try setup.run(night)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"status\" : \"ok\""))
        #expect(result.stdout.contains("\"sha256\""))
        // Any edit needs a new approval.
        try
            (try String(contentsOfFile: setup.root + "/scrapers/sandbox-html-portal.scraper", encoding: .utf8)
            + "\n# edited\n")
            .write(toFile: setup.root + "/scrapers/sandbox-html-portal.scraper", atomically: true, encoding: .utf8)
        #expect(try setup.run(night).status == 77)
        // The approval is in the signed audit log.
        result = try setup.asAlice(["vault", "audit"])
        #expect(result.stdout.contains("scraper-approve"))
    }

    @Test func aDryRunPrintsRequestsWithoutSendingOrShowingSecrets() throws {
        let setup = try Setup()
        defer { setup.stop() }
        try setup.addCredential(client: "globex", portal: "sandbox-totp-portal")
        let result = try setup.asAlice([
            "scraper", "try", "sandbox-totp-portal", "--client", "globex", "--from", "2026-09-01", "--to", "2026-09-30",
            "--dry-run",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        // The username is an identifier and shows; the password does not.
        let username = setup.portals.data.account(client: "globex", portal: "sandbox-totp-portal")!.username
        #expect(
            result.stdout.contains(
                "would send (line 13): POST \(setup.portals.origins["sandbox-totp-portal"]!)/signin  form: user=\(username)&pass=[REDACTED]"
            ))
        #expect(result.stdout.contains("from=2026-09-01"))
        #expect(setup.portals.totpPortal.requestCount == 0)
        #expect(
            !result.stdout.contains(
                setup.portals.data.account(client: "globex", portal: "sandbox-totp-portal")!.password))

        // And for real: password, then the TOTP code made from the vault's secret.
        let live = try setup.asAlice([
            "scraper", "try", "sandbox-totp-portal", "--client", "globex", "--from", "2026-09-01", "--to", "2026-09-30",
            "--json",
        ])
        #expect(live.status == 0, "\(live.stdout)\(live.stderr)")
        let expected = setup.portals.data.payments(
            portal: "sandbox-totp-portal", client: "globex", from: "2026-09-01", to: "2026-09-30")
        #expect(live.stdout.components(separatedBy: "\"sha256\"").count - 1 == expected.count)
        #expect(expected.allSatisfy { live.stdout.contains("\"reference\" : \"\($0.trace)\"") })
    }

    @Test func oneFailedLoginPerNightAndNeverASecondAfterACrash() throws {
        let setup = try Setup()
        defer { setup.stop() }
        try setup.addCredential(client: "initech", portal: "sandbox-json-api", password: "an-old-password")
        let username = setup.portals.data.account(client: "initech", portal: "sandbox-json-api")!.username
        let args = [
            "scraper", "try", "sandbox-json-api", "--client", "initech", "--from", "2026-08-01", "--to", "2026-08-31",
        ]
        var result = try setup.asAlice(args)
        #expect(result.status == 1)
        #expect(result.stdout.contains("auth_failed at "))
        #expect(result.stdout.contains("sandbox-json-api.scraper:19:3 (step `fail auth_failed if status 401`)"))
        result = try setup.asAlice(args)
        #expect(result.status == 1)
        #expect(result.stdout.contains("login_refused"))
        #expect(setup.portals.failedLogins(portal: "sandbox-json-api", username: username) == 1)

        // The operator fixes the password and says so: one more attempt is allowed, and it works.
        let account = setup.portals.data.account(client: "initech", portal: "sandbox-json-api")!
        result = try setup.asAlice(
            ["vault", "rotate", "initech/sandbox-json-api", "--password-stdin"], extraInput: [account.password])
        #expect(result.status == 0, "\(result.stderr)")
        result = try setup.asAlice(args + ["--retry-login"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")

        // A run killed while its login is in flight leaves an unfinished attempt: no second login tonight.
        try setup.addCredential(client: "acme", portal: "sandbox-json-api")
        var faults = PortalFaults()
        faults.stallSeconds = 30
        setup.portals.setFaults(faults, for: "sandbox-json-api")
        let process = Process()
        process.executableURL = BinaryRunner.executable("nightjar")
        process.arguments = [
            "--home", setup.root, "scraper", "try", "sandbox-json-api", "--client", "acme", "--from", "2026-08-01",
            "--to", "2026-08-31",
            "--as", "alice", "--passphrase-stdin",
        ]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data((ScraperCommandTests.passphrase + "\n").utf8))
        try input.fileHandleForWriting.close()
        let database = try Database(path: setup.root + "/data/nightjar.sqlite")
        var waited = 0
        while waited < 300,
            (try? database.scalar(
                Int64.self, "SELECT count(*) FROM login_attempt WHERE credential = 'acme/sandbox-json-api'")) ?? 0 == 0
        {
            usleep(50_000)
            waited += 1
        }
        usleep(300_000)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        setup.portals.setFaults(PortalFaults(), for: "sandbox-json-api")
        let before = setup.portals.jsonAPI.requestCount
        result = try setup.asAlice([
            "scraper", "try", "sandbox-json-api", "--client", "acme", "--from", "2026-08-01", "--to", "2026-08-31",
        ])
        #expect(result.status == 1)
        #expect(result.stdout.contains("login_refused"))
        #expect(result.stdout.contains("never finished"))
        #expect(setup.portals.jsonAPI.requestCount == before)
    }

    @Test func cassettesReplayFromTheCommandLine() throws {
        let result = try BinaryRunner.run(["scraper", "test", "--dir", ScraperCommandTests.repository + "/scrapers"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.components(separatedBy: "ok   ").count == 5, "\(result.stdout)")
        let folder = BinaryRunner.temporaryFolder("cassette")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let text = try String(
            contentsOfFile: ScraperCommandTests.repository + "/scrapers/sandbox-totp-portal.scraper", encoding: .utf8)
        try text.replacingOccurrences(of: "date xpath(result, \"span[@class='date']\")", with: "").write(
            toFile: folder + "/sandbox-totp-portal.scraper", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            atPath: ScraperCommandTests.repository + "/scrapers/sandbox-totp-portal.cassette",
            toPath: folder + "/sandbox-totp-portal.cassette")
        let broken = try BinaryRunner.run(["scraper", "test", folder + "/sandbox-totp-portal.scraper"])
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("FAIL"))
    }
}

/// What no recording may show: each value the sandbox handed out as a one-time or session value
/// (anti-forgery tokens, SSO codes and states, MFA steps, session ids, access tokens) and each
/// TOTP code it accepted.
enum OneTimeScan {
    /// The files under `folder` (recursively) whose names end with one of `suffixes`.
    static func files(under folder: String, endingWith suffixes: [String]) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: folder)
        var found: [String] = []
        while let relative = enumerator?.nextObject() as? String {
            if suffixes.contains(where: { relative.hasSuffix($0) }) { found.append(folder + "/" + relative) }
        }
        return found
    }

    /// Every (file, value) where a value shows, raw or percent-encoded; codes count only as whole numbers.
    static func leaks(in paths: [String], values: [String]) throws -> [(String, String)] {
        var leaks: [(String, String)] = []
        for path in paths {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            for value in values where !value.isEmpty {
                if value.allSatisfy(\.isNumber) {
                    if text.range(of: "(?<![0-9])\(value)(?![0-9])", options: .regularExpression) != nil {
                        leaks.append((path, value))
                    }
                } else if text.contains(value)
                    || text.contains(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value)
                {
                    leaks.append((path, value))
                }
            }
        }
        return leaks
    }
}

extension ScraperCommandTests {
    /// HAR files and cassettes made by `scraper record --har` against portals
    /// that hand out anti-forgery tokens, session cookies, TOTP steps and an SSO code and state in
    /// a redirect show none of them (nor do the shipped cassettes); recordings are owner-only, and
    /// `record` has replayed each cassette before writing it.
    @Test func recordingsHoldNoOneTimeValue() throws {
        let setup = try Setup()
        defer { setup.stop() }
        try setup.addCredential(client: "acme", portal: "sandbox-totp-portal")
        try setup.addCredential(client: "acme", portal: "sandbox-html-portal")
        for portal in ["sandbox-totp-portal", "sandbox-html-portal"] {
            // One live run makes both (a second sandbox-totp-portal login would wait for the next TOTP period).
            let recorded = try setup.asAlice([
                "scraper", "record", portal, "--client", "acme", "--from", "2026-08-01", "--to", "2026-09-30",
                "--cassette", setup.parent + "/\(portal).cassette", "--har", setup.parent + "/\(portal).har",
            ])
            #expect(recorded.status == 0, "\(recorded.stderr)")
            #expect(SecureFile.mode(of: setup.parent + "/\(portal).cassette") == 0o600)
            #expect(SecureFile.mode(of: setup.parent + "/\(portal).har") == 0o600)
        }
        let totpPortal = try String(contentsOfFile: setup.parent + "/sandbox-totp-portal.cassette", encoding: .utf8)
        #expect(totpPortal.contains("/sso/callback?code=[REDACTED]&state=[REDACTED]"))
        let values = setup.portals.issuedValues
        #expect(values.count >= 10)
        let paths = OneTimeScan.files(under: setup.parent, endingWith: [".har", ".cassette"])
        #expect(paths.count == 4)
        let leaks = try OneTimeScan.leaks(in: paths, values: values)
        #expect(leaks.isEmpty, "\(leaks.prefix(5))")
        // The shipped cassettes, recorded against a fresh sandbox, show none of its first values either.
        let shipped = ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"].map {
            ScraperCommandTests.repository + "/scrapers/\($0).cassette"
        }
        let shippedLeaks = try OneTimeScan.leaks(in: shipped, values: (1...3000).map { SandboxPortals.nonce($0) })
        #expect(shippedLeaks.isEmpty, "\(shippedLeaks.prefix(5))")
    }
}
